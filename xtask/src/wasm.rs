//! `cargo xtask wasm`: the npm package of valv-client (wasm-pack, wasm-opt, finishing script).

use std::ffi::OsString;
use std::process::Command;

use anyhow::Result;

use crate::procs::run;
use crate::tools::{self, Needs};
use crate::{root, step};

/// Options of `cargo xtask wasm`.
#[derive(clap::Args)]
pub struct Args {
    /// Do not install missing tools; fail naming them instead.
    #[arg(long)]
    no_install: bool,
}

/// Builds the package.
pub fn run_cmd(args: Args) -> Result<()> {
    let tools = tools::ensure(Needs { wasm: true, system: false }, !args.no_install)?;
    build(&tools.path)
}

/// `wasm-pack build wasm-client --release --target web` on the pinned nightly with std
/// rebuilt for `-Cpanic=immediate-abort` (and `-Zlocation-detail=none`: no source paths of
/// the build machine in the published wasm), then the finishing script, which minifies the glue,
/// completes `wasm-client/pkg/package.json` and copies the package to `www/pkg`.
pub fn build(path: &OsString) -> Result<()> {
    step(&format!("Building the valv-client npm package (wasm-pack, release, {}, wasm-opt)", tools::WASM_RELEASE_TOOLCHAIN));
    let mut rustflags = std::env::var("RUSTFLAGS").unwrap_or_default();
    rustflags.push_str(" -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none");
    run(Command::new("wasm-pack")
        .env("PATH", path)
        .env("RUSTUP_TOOLCHAIN", tools::WASM_RELEASE_TOOLCHAIN)
        .env("RUSTFLAGS", rustflags.trim_start())
        .current_dir(root())
        .args(["build", "wasm-client", "--release", "--target", "web", "--", "-Zbuild-std=std,panic_abort"]))?;
    run(Command::new("node").env("PATH", path).current_dir(root()).args(["wasm-client/scripts/finish-package.mjs", "--www"]))
}
