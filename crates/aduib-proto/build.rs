//! Compiles the protos with protox (pure Rust) and hands the descriptor set to
//! tonic's code generator, so building needs no system `protoc`.

use std::path::PathBuf;

use prost::Message;

const PROTOS: &[&str] = &["aduib_rpc_v2.proto", "demo/aduib/demo/v1/rich.proto"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let includes = [root.clone(), root.join("demo")];
    let files: Vec<PathBuf> = PROTOS.iter().map(|p| root.join(p)).collect();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    println!(
        "cargo:rerun-if-changed={}",
        root.join("demo/aduib/demo/v1/geometry.proto").display()
    );
    let descriptors = protox::compile(&files, &includes)?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    // The encoded set backs server reflection.
    std::fs::write(out.join("descriptors.bin"), descriptors.encode_to_vec())?;
    tonic_prost_build::configure()
        .compile_well_known_types(false)
        .compile_fds(descriptors)?;
    Ok(())
}
