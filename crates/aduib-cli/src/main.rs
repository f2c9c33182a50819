//! `aduib`: the workbench engine on the command line.

mod bench;
mod call;
mod cli;
mod grpc;
mod input;
mod output;
mod raw;
mod serve;
mod thrift;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

// The server and the bench generator allocate a few small buffers per call;
// glibc's malloc spent ~17% of the gRPC server's CPU on them (perf), mimalloc
// far less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How a command ended, as scripts see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: the server answered, with an error.
    ServerError,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ADUIB_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Call(args) => call::call(args).await,
        Command::Stream(args) => call::stream(args).await,
        Command::ClientStream(args) => call::client_stream(args).await,
        Command::Bidi(args) => call::bidi(args).await,
        Command::Health(args) => call::health(args).await,
        Command::Grpc(command) => grpc::run(command).await,
        Command::Thrift(command) => thrift::run(command).await,
        Command::Jsonrpc(args) => raw::jsonrpc(args).await,
        Command::Http(args) => raw::http(args).await,
        Command::Bench(args) => bench::run(args).await,
    };
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::ServerError) => ExitCode::from(1),
        Err(error) => {
            // One line: the error and its causes.
            eprintln!("aduib: {error:#}");
            ExitCode::from(2)
        }
    }
}
