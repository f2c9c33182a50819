//! `aduib`: the workbench engine on the command line.

mod bench;
mod call;
mod cli;
mod grpc;
mod history;
mod input;
mod output;
mod raw;
mod registry;
mod serve;
mod session;
mod task;
mod thrift;

use std::process::ExitCode;

use clap::Parser;

use aduib_workbench::request::CallMode;

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

async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    // Commands that send no recorded exchange need no workbench.
    let command = match cli.command {
        Command::Serve(args) => return serve::run(args).await,
        Command::Bench(args) => return bench::run(args).await,
        Command::Health(args) => return call::health(args).await,
        Command::Registry(command) => return registry::run(command).await,
        Command::Fanout(args) => return registry::fanout(args).await,
        sending => sending,
    };
    let workbench = session::workbench(cli.no_history)?;
    let result = match command {
        Command::Call(args) => call::send(&workbench, args, CallMode::Unary).await,
        Command::Stream(args) => call::send(&workbench, args, CallMode::ServerStream).await,
        Command::ClientStream(args) => call::send(&workbench, args, CallMode::ClientStream).await,
        Command::Bidi(args) => call::send(&workbench, args, CallMode::Bidi).await,
        Command::Grpc(command) => grpc::run(&workbench, command).await,
        Command::Thrift(command) => thrift::run(&workbench, command).await,
        Command::Jsonrpc(args) => raw::jsonrpc(&workbench, args).await,
        Command::Http(args) => raw::http(&workbench, args).await,
        Command::History(command) => history::run(&workbench, command).await,
        Command::Task(command) => task::run(&workbench, command).await,
        Command::Serve(_)
        | Command::Bench(_)
        | Command::Health(_)
        | Command::Registry(_)
        | Command::Fanout(_) => {
            unreachable!("answered above")
        }
    };
    session::flush(&workbench);
    result
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ADUIB_LOG")
                // nacos-sdk logs each reconnect as an error; what matters
                // of it (no gRPC, polling instead) aduib-registry says once.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,nacos_sdk=off")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = run(cli).await;
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
