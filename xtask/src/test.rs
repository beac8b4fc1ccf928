//! `cargo xtask test`: the whole suite.
//!
//! 1. tools: installs what is missing (wasm target, wasm-bindgen-cli = Cargo.lock's version,
//!    wasm-pack, wasm-opt from npm `binaryen`, Chromium, ChromeDriver, redis-server);
//!    lint: `cargo fmt --check` and `cargo clippy -D warnings` on the workspace (all targets)
//!    and on valv-client for `wasm32-unknown-unknown`;
//! 2. native: `cargo test --workspace` (unit, integration and end-to-end tests; the end-to-end
//!    ones find Chromium, ChromeDriver and redis-server through `VALV_*` variables);
//! 3. www: the demo app's modules (amounts, dates, the balance chart) under `node --test`;
//! 4. newman: SEB's own Postman collections against the sandbox bank;
//! 5. package: the npm package (wasm-pack), a Vite + TypeScript build that imports it, and
//!    the package loaded and called in Node without a bundler;
//! 6. browser: valv-client's wasm-bindgen-test suite in headless Chromium against a live
//!    broker + sandbox;
//! 7. e2e: the demo app driven in headless Chromium by Playwright (`tests/e2e`, npm
//!    `playwright-core` with the system Chromium, axe-core), against a live broker + sandbox;
//! 8. msrv: the workspace checked (`cargo check --all-targets`) with the toolchain of its
//!    declared `rust-version`, installed by rustup when missing;
//! 9. fuzz: every fuzz target of `fuzz/` for a few seconds (cargo-fuzz, installed when missing).

use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::procs::{free_port, run, run_group, Server};
use crate::stack::{self, StackOptions};
use crate::tools::{self, Needs, Tools};
use crate::{note, root, step};

/// A part of the suite.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Part {
    /// `cargo fmt --check`, `cargo clippy -D warnings` (native and wasm).
    Lint,
    /// `cargo test --workspace`.
    Native,
    /// SEB's Postman collections with newman against the sandbox.
    Newman,
    /// The npm package build, the Vite check and the Node check.
    Package,
    /// The wasm-bindgen-test suite in headless Chromium.
    Browser,
    /// A short pass of every fuzz target (`cargo xtask fuzz --seconds 10`).
    Fuzz,
    /// The demo app's modules (`node --test www/test`).
    Www,
    /// The demo app end to end in headless Chromium (Playwright, axe-core).
    E2e,
    /// The workspace checked with the toolchain of its declared `rust-version`.
    Msrv,
}

/// Options of `cargo xtask test`.
#[derive(clap::Args)]
pub struct Args {
    /// Run only these parts (repeatable); default: all.
    #[arg(long, value_enum)]
    only: Vec<Part>,
    /// Do not install missing tools; fail naming them instead.
    #[arg(long)]
    no_install: bool,
    /// Save the demo app's main screens (desktop and phone) as PNG in `docs/screenshots`
    /// while the e2e part runs.
    #[arg(long)]
    screenshots: bool,
}

/// Seconds per fuzz target in the suite's short pass (longer runs: `cargo xtask fuzz`).
const FUZZ_SECONDS: u64 = 10;

/// Runs the suite.
pub fn run_cmd(args: Args) -> Result<()> {
    let parts = if args.only.is_empty() {
        vec![Part::Lint, Part::Native, Part::Www, Part::Newman, Part::Package, Part::Browser, Part::E2e, Part::Msrv, Part::Fuzz]
    } else {
        args.only.clone()
    };
    let started = Instant::now();
    let needs = Needs {
        wasm: parts.iter().any(|p| matches!(p, Part::Lint | Part::Package | Part::Browser | Part::E2e)),
        system: parts.iter().any(|p| matches!(p, Part::Native | Part::Browser | Part::E2e)),
    };
    let tools = tools::ensure(needs, !args.no_install)?;
    if parts.contains(&Part::Lint) {
        tools::lint_components(!args.no_install)?;
    }
    let mut timings = Vec::new();
    for part in &parts {
        let t = Instant::now();
        match part {
            Part::Lint => lint(&tools)?,
            Part::Native => native(&tools)?,
            Part::Newman => newman()?,
            Part::Package => package(&tools)?,
            Part::Browser => browser(&tools)?,
            Part::Www => www()?,
            Part::E2e => e2e(&tools, !parts.contains(&Part::Package), args.screenshots)?,
            Part::Msrv => msrv(!args.no_install)?,
            Part::Fuzz => {
                crate::fuzz::run_cmd(crate::fuzz::Args { seconds: FUZZ_SECONDS, targets: Vec::new(), no_install: args.no_install })?
            }
        }
        timings.push((*part, t.elapsed()));
    }
    step("All tests passed");
    for (part, d) in timings {
        note(&format!("{part:?}: {:.0} s", d.as_secs_f64()));
    }
    note(&format!("total: {:.0} s", started.elapsed().as_secs_f64()));
    Ok(())
}

/// Formatting and lints, before anything runs: a change that does not pass them fails here.
fn lint(tools: &Tools) -> Result<()> {
    step("Lint: cargo fmt --check, cargo clippy -D warnings (workspace, all targets; valv-client for wasm32)");
    run(Command::new("cargo").current_dir(root()).args(["fmt", "--all", "--", "--check"]))?;
    run(Command::new("cargo").current_dir(root()).env("PATH", &tools.path).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(Command::new("cargo").current_dir(root()).env("PATH", &tools.path).args([
        "clippy",
        "-p",
        "valv-client",
        "--target",
        "wasm32-unknown-unknown",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))
}

/// The workspace's declared `rust-version` (`[workspace.package]`, as cargo reports it for
/// its packages: they all inherit it).
fn declared_rust_version() -> Result<String> {
    let out = crate::procs::output(Command::new("cargo").current_dir(root()).args(["metadata", "--format-version", "1", "--no-deps"]))
        .context("cargo metadata failed")?;
    let meta: serde_json::Value = serde_json::from_str(&out).context("reading cargo metadata")?;
    let versions: std::collections::BTreeSet<&str> =
        meta["packages"].as_array().into_iter().flatten().filter_map(|p| p["rust_version"].as_str()).collect();
    match versions.into_iter().collect::<Vec<_>>().as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => bail!("no package declares a rust-version"),
        many => bail!("the packages declare different rust-versions: {many:?}"),
    }
}

/// Checks that the declared `rust-version` builds the workspace: with that toolchain
/// (installed by rustup, minimal profile, when missing) and the locked dependencies.
fn msrv(install: bool) -> Result<()> {
    let version = declared_rust_version()?;
    step(&format!("rust-version {version}: cargo +{version} check --workspace --all-targets --locked"));
    let installed = crate::procs::output(Command::new("rustup").args(["toolchain", "list"])).unwrap_or_default();
    if !installed.lines().any(|l| l.starts_with(&format!("{version}-")) || l.starts_with(&format!("{version}."))) {
        if !install {
            bail!("the Rust {version} toolchain is missing: run `rustup toolchain install {version} --profile minimal`");
        }
        note(&format!("Rust {version}: missing, installing (rustup, minimal profile)"));
        run(Command::new("rustup").args(["toolchain", "install", &version, "--profile", "minimal"]))?;
    }
    run(Command::new("cargo").current_dir(root()).env("CARGO_TARGET_DIR", crate::target_dir().join("msrv")).args([
        &format!("+{version}"),
        "check",
        "--workspace",
        "--all-targets",
        "--locked",
    ]))
}

fn native(tools: &Tools) -> Result<()> {
    step("Native tests: cargo test --workspace");
    // The end-to-end tests start these binaries as real processes.
    let bins = stack::build(stack::Build::Suite)?;
    let bin_dir = bins.broker.parent().context("cargo built no valv-broker")?.to_path_buf();
    run(Command::new("cargo")
        .current_dir(root())
        .args(["test", "--workspace"])
        .env("PATH", &tools.path)
        .env("VALV_BIN_DIR", bin_dir)
        .env("VALV_CHROMEDRIVER", &tools.chromedriver)
        .env("VALV_CHROMIUM", &tools.chromium)
        .env("VALV_REDIS_SERVER", &tools.redis_server)
        .env_remove("VALV_SKIP_REDIS"))
}

fn www() -> Result<()> {
    step("The demo app's modules: node --test www/test");
    run(Command::new("node").current_dir(root()).args(["--test", "www/test/"]))
}

fn newman() -> Result<()> {
    step("SEB's Postman collections (newman) against the sandbox bank");
    let dir = root().join("sandbox/newman");
    if !dir.join("package.json").exists() {
        bail!("{} is missing", dir.join("package.json").display());
    }
    npm_install(&dir)?;
    let bin = stack::build(stack::Build::Suite)?;
    let mut cmd = Command::new(&bin.sandbox);
    cmd.args(["--addr", "127.0.0.1:0", "--controls"]);
    let sandbox = Server::start("sandbox-newman", cmd)?;
    let result = run(Command::new("node").current_dir(root()).arg("sandbox/newman/run.mjs").arg(&sandbox.url));
    if result.is_err() {
        eprintln!("{}", sandbox.log_tail());
    }
    result
}

/// `npm ci` when there is a lock file, else `npm install`.
fn npm_install(dir: &std::path::Path) -> Result<()> {
    let verb = if dir.join("package-lock.json").exists() { "ci" } else { "install" };
    run(Command::new("npm").current_dir(dir).args([verb, "--no-audit", "--no-fund", "--loglevel=error"]))
}

fn package(tools: &Tools) -> Result<()> {
    crate::wasm::build(&tools.path)?;
    step("The package in a bundler: Vite + strict TypeScript (wasm-client/scripts/vite-check)");
    let dir = root().join("wasm-client/scripts/vite-check");
    // Installs valv-client from the freshly built package (a file: dependency), like npm users.
    // npm keeps an installed copy whose version did not change, so the old copy goes first:
    // the check must read this build's `.d.ts`.
    let installed = dir.join("node_modules/valv-client");
    if installed.exists() {
        std::fs::remove_dir_all(&installed).with_context(|| format!("removing {}", installed.display()))?;
    }
    run(Command::new("npm").current_dir(&dir).args(["install", "--no-audit", "--no-fund", "--loglevel=error", "--install-links"]))?;
    run(Command::new("npm").current_dir(&dir).args(["run", "check"]))?;
    step("The package without a bundler: loaded and called in Node (wasm-client/scripts/node-check.mjs)");
    run(Command::new("node").current_dir(root()).arg("wasm-client/scripts/node-check.mjs"))
}

fn browser(tools: &Tools) -> Result<()> {
    step("Browser tests: valv-client in headless Chromium against a live broker + sandbox");
    let test_port = free_port()?;
    let test_origin = format!("http://127.0.0.1:{test_port}");
    let state_dir = crate::target_dir().join("xtask/browser");
    let _ = std::fs::remove_dir_all(&state_dir);
    std::fs::create_dir_all(&state_dir)?;
    let stack = stack::start(&StackOptions {
        broker_port: free_port()?,
        sandbox_port: free_port()?,
        controls: true,
        store: format!("sqlite://{}", state_dir.join("sessions.db").display()),
        cors: vec![test_origin.clone()],
        state_dir,
        build: stack::Build::Suite,
        rate_limits: crate::stack::RATE_LIMITS_UNREACHABLE,
    })?;
    note(&format!("test page origin: {test_origin}"));
    let runner =
        tools::which("wasm-bindgen-test-runner", &tools.path).context("wasm-bindgen-test-runner (from wasm-bindgen-cli) not found")?;
    // In a group of its own: the runner's chromedriver leaves its Chromium running otherwise.
    let result = run_group(
        Command::new("cargo")
            .current_dir(root().join("wasm-client"))
            .args(["test", "-p", "valv-client", "--target", "wasm32-unknown-unknown", "--test", "browser"])
            .env("PATH", &tools.path)
            .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", runner)
            .env("CHROMEDRIVER", &tools.chromedriver)
            .env("WASM_BINDGEN_TEST_ADDRESS", format!("127.0.0.1:{test_port}"))
            .env("WASM_BINDGEN_TEST_TIMEOUT", "300")
            .env("VALV_TEST_BROKER", &stack.broker.url)
            .env("VALV_TEST_SANDBOX", &stack.bank_url),
    );
    if result.is_err() {
        eprintln!("{}\n{}", stack.broker.log_tail(), stack.sandbox.log_tail());
    }
    result
}

/// The demo app end to end: `node --test tests/e2e` with Playwright driving the system
/// Chromium against a broker (serving `www/`) and the sandbox with its test controls.
fn e2e(tools: &Tools, build_package: bool, screenshots: bool) -> Result<()> {
    if build_package {
        crate::wasm::build(&tools.path)?;
    }
    step("The demo app end to end: Playwright + axe-core in headless Chromium (tests/e2e)");
    let dir = root().join("tests/e2e");
    npm_install(&dir)?;
    let state_dir = crate::target_dir().join("xtask/e2e");
    let _ = std::fs::remove_dir_all(&state_dir);
    let stack = stack::start(&StackOptions {
        broker_port: free_port()?,
        sandbox_port: free_port()?,
        controls: true,
        store: format!("sqlite://{}", state_dir.join("sessions.db").display()),
        cors: Vec::new(),
        state_dir,
        build: stack::Build::Suite,
        rate_limits: "",
    })?;
    let mut cmd = Command::new("node");
    cmd.current_dir(&dir)
        .args(["--test", "--test-concurrency=1", "--test-reporter=spec"])
        .env("VALV_APP", &stack.broker.url)
        .env("VALV_BANK", &stack.bank_url)
        .env("VALV_CHROMIUM", &tools.chromium);
    if screenshots {
        let shots = root().join("docs/screenshots");
        note(&format!("screenshots: {}", shots.display()));
        cmd.env("VALV_SCREENSHOTS", shots);
    }
    let result = run(&mut cmd);
    if result.is_err() {
        eprintln!("{}\n{}", stack.broker.log_tail(), stack.sandbox.log_tail());
    }
    result
}
