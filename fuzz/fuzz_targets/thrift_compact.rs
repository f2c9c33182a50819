//! Arbitrary bytes as one Thrift compact-protocol message: walked with
//! `protocol::Reader` (`message_begin`, then skip a struct), and decoded as
//! the arguments and the reply of every function of the Aduib and demo IDLs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    aduib_fuzz::thrift_message(aduib_thrift::Protocol::Compact, data);
});
