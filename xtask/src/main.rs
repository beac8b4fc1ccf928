//! `cargo xtask` — Valv's developer commands: `demo`, `test`, `bench`, `fuzz`, `soak`, `cluster`, `wasm`.

mod bench;
mod cluster;
mod cpuwork;
mod demo;
mod fuzz;
mod procs;
mod proxybench;
mod soak;
mod stack;
mod stormbench;
mod test;
mod tools;
mod wasm;
mod wasmsize;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Valv's developer commands.
#[derive(Parser)]
#[command(name = "cargo xtask", about = "Valv's developer commands")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the wasm package, start the sandbox bank (:8081) and the broker (:8080) and serve the demo.
    Demo(demo::Args),
    /// The whole suite: installs what is missing, then native, Postman (newman) and browser tests.
    Test(test::Args),
    /// Sizes and speeds against baselines measured in the same run.
    Bench(bench::Args),
    /// The fuzz targets of fuzz/ under libFuzzer (cargo-fuzz), each for --seconds.
    Fuzz(fuzz::Args),
    /// Mixed traffic with injected faults for --minutes; reports errors, p99 and RSS over time.
    Soak(soak::Args),
    /// Redis, the sandbox bank and N broker replicas behind HAProxy, on loopback.
    Cluster(cluster::Args),
    /// Build the npm package of valv-client into wasm-client/pkg (and www/pkg).
    Wasm(wasm::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Test(args) => test::run_cmd(args),
        Command::Bench(args) => bench::run(args),
        Command::Fuzz(args) => fuzz::run_cmd(args),
        Command::Soak(args) => soak::run(args),
        Command::Cluster(args) => cluster::run(args),
        Command::Wasm(args) => wasm::run_cmd(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

/// Cargo's target directory (`CARGO_TARGET_DIR` or the workspace's `target/`), for scratch
/// state: asked of cargo itself.
pub fn target_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let out = std::process::Command::new("cargo")
            .current_dir(root())
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .stderr(std::process::Stdio::inherit())
            .output();
        out.ok()
            .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
            .and_then(|v| v["target_directory"].as_str().map(PathBuf::from))
            .unwrap_or_else(|| root().join("target"))
    })
    .clone()
}

/// Prints a step heading.
pub fn step(text: &str) {
    eprintln!("\n\x1b[1m==> {text}\x1b[0m");
}

/// Prints a detail line under a step.
pub fn note(text: &str) {
    eprintln!("    {text}");
}
