//! Finding — and, where missing, installing — the tools the suite needs.
//!
//! Every install prints what it does. Nothing here needs the internet beyond the package
//! registries (crates.io, npm, Debian apt).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::procs::{output, run};
use crate::{note, root};

/// `binaryen` (npm) version providing `wasm-opt`; wasm-pack's own download needs GitHub.
const BINARYEN: &str = "binaryen@132.0.0";

/// `esbuild` (npm), which minifies the package's generated JavaScript glue.
const ESBUILD: &str = "esbuild@0.25.12";

/// The toolchain the published wasm is built with: a pinned nightly, for its std rebuilt
/// with `-Cpanic=immediate-abort` (no panic messages, locations or formatting code in what
/// the browser downloads). Any stable toolchain builds the crate too, only larger.
pub const WASM_RELEASE_TOOLCHAIN: &str = "nightly-2026-05-20";

/// The installed tool paths and the `PATH` to run wasm-pack and the test runner with.
pub struct Tools {
    /// `PATH` with the npm tool bin dir and cargo's bin dir first.
    pub path: OsString,
    /// ChromeDriver binary.
    pub chromedriver: PathBuf,
    /// Chromium binary.
    pub chromium: PathBuf,
    /// `redis-server` binary.
    pub redis_server: PathBuf,
}

/// What to install.
#[derive(Clone, Copy)]
pub struct Needs {
    /// wasm target, wasm-bindgen-cli, wasm-pack, wasm-opt.
    pub wasm: bool,
    /// Chromium, ChromeDriver, redis-server.
    pub system: bool,
}

/// Makes sure every needed tool is there; installs what is missing when `install` is set.
pub fn ensure(needs: Needs, install: bool) -> Result<Tools> {
    crate::step("Tools");
    let cargo_bin = cargo_home().join("bin");
    let npm_bin = crate::target_dir().join("tools/node_modules/.bin");
    let mut paths = vec![npm_bin.clone(), cargo_bin.clone()];
    paths.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    let path = std::env::join_paths(paths).context("building PATH")?;

    which("node", &path).context("Node.js is required (it runs the npm tools and newman): install Node 18 or newer")?;
    if needs.wasm {
        wasm_target(install)?;
        wasm_bindgen_cli(&path, install)?;
        wasm_pack(&path, install)?;
        wasm_opt(&npm_bin, install)?;
        esbuild(&npm_bin, install)?;
        wasm_release_toolchain(install)?;
    }
    let mut tools = Tools {
        path: path.clone(),
        chromedriver: PathBuf::from("chromedriver"),
        chromium: PathBuf::from("chromium"),
        redis_server: PathBuf::from("redis-server"),
    };
    if needs.system {
        apt(&[("chromium", "chromium"), ("chromedriver", "chromium-driver"), ("redis-server", "redis-server")], &path, install)?;
        tools.chromedriver = which("chromedriver", &path)?;
        tools.chromium = which("chromium", &path)?;
        tools.redis_server = which("redis-server", &path)?;
    }
    Ok(tools)
}

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
}

/// Finds `name` on `path`.
pub fn which(name: &str, path: &OsString) -> Result<PathBuf> {
    std::env::split_paths(path).map(|d| d.join(name)).find(|p| p.is_file()).with_context(|| format!("`{name}` not found on PATH"))
}

/// rustfmt and clippy (rustup components; a `minimal` toolchain profile has neither).
pub fn lint_components(install: bool) -> Result<()> {
    let has = |args: &[&str]| Command::new("cargo").args(args).output().is_ok_and(|o| o.status.success());
    if has(&["fmt", "--version"]) && has(&["clippy", "--version"]) {
        note("rustfmt, clippy: installed");
        return Ok(());
    }
    if !install {
        bail!("rustfmt or clippy is missing: run `rustup component add rustfmt clippy`");
    }
    note("rustfmt or clippy: missing, installing (rustup component add rustfmt clippy)");
    run(Command::new("rustup").args(["component", "add", "rustfmt", "clippy"]))
}

fn wasm_target(install: bool) -> Result<()> {
    const T: &str = "wasm32-unknown-unknown";
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if installed.lines().any(|l| l.trim() == T) {
        note(&format!("rust target {T}: installed"));
        return Ok(());
    }
    if !install {
        bail!("the {T} target is missing: run `rustup target add {T}`");
    }
    note(&format!("rust target {T}: missing, installing"));
    run(Command::new("rustup").args(["target", "add", T]))
}

/// The `wasm-bindgen` version locked in `Cargo.lock` (wasm-bindgen-cli must match it exactly).
pub fn locked_wasm_bindgen() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines.next().and_then(|l| l.trim().strip_prefix("version = \"")) {
                return Ok(v.trim_end_matches('"').to_string());
            }
        }
    }
    bail!("wasm-bindgen is not in Cargo.lock")
}

fn version_of(program: &str, path: &OsString) -> Option<String> {
    let bin = which(program, path).ok()?;
    output(Command::new(bin).arg("--version"))
}

fn wasm_bindgen_cli(path: &OsString, install: bool) -> Result<()> {
    let want = locked_wasm_bindgen()?;
    let have = version_of("wasm-bindgen", path);
    if have.as_deref().is_some_and(|v| v.split_whitespace().nth(1) == Some(want.as_str())) {
        note(&format!("wasm-bindgen-cli {want}: installed"));
        return Ok(());
    }
    if !install {
        bail!("wasm-bindgen-cli {want} is missing (found {have:?}): run `cargo install wasm-bindgen-cli --version {want}`");
    }
    note(&format!("wasm-bindgen-cli {want}: {}, installing (a few minutes)", have.unwrap_or_else(|| "missing".into())));
    // No --locked: the registry mirror lacks some of the newest versions its lock file names.
    run(Command::new("cargo").args(["install", "wasm-bindgen-cli", "--version", &want, "--force"]))
}

fn wasm_pack(path: &OsString, install: bool) -> Result<()> {
    if let Some(v) = version_of("wasm-pack", path) {
        note(&format!("{v}: installed"));
        return Ok(());
    }
    if !install {
        bail!("wasm-pack is missing: run `cargo install wasm-pack`");
    }
    note("wasm-pack: missing, installing from crates.io (a few minutes)");
    run(Command::new("cargo").args(["install", "wasm-pack"]))
}

fn wasm_opt(npm_bin: &Path, install: bool) -> Result<()> {
    npm_tool(npm_bin, "wasm-opt", BINARYEN, install)
}

fn esbuild(npm_bin: &Path, install: bool) -> Result<()> {
    npm_tool(npm_bin, "esbuild", ESBUILD, install)
}

/// An npm tool in `target/tools` (`bin` from the npm package `spec`).
fn npm_tool(npm_bin: &Path, bin: &str, spec: &str, install: bool) -> Result<()> {
    if npm_bin.join(bin).is_file() {
        note(&format!("{bin} (npm {spec}): installed in target/tools"));
        return Ok(());
    }
    if !install {
        bail!("{bin} is missing: run `npm install --prefix target/tools {spec}`");
    }
    note(&format!("{bin}: missing, installing npm {spec} into target/tools"));
    let dir = crate::target_dir().join("tools");
    std::fs::create_dir_all(&dir)?;
    run(Command::new("npm").args(["install", "--no-audit", "--no-fund", "--prefix"]).arg(&dir).arg(spec))
}

/// The pinned nightly of [`WASM_RELEASE_TOOLCHAIN`] with `rust-src` (std is rebuilt from
/// it) and the wasm target, installed by rustup when missing.
fn wasm_release_toolchain(install: bool) -> Result<()> {
    let tc = WASM_RELEASE_TOOLCHAIN;
    let components = output(Command::new("rustup").args(["component", "list", "--installed", "--toolchain", tc])).unwrap_or_default();
    let has = |c: &str| components.lines().any(|l| l.trim().starts_with(c));
    if has("rust-src") && has("rust-std-wasm32-unknown-unknown") {
        note(&format!("toolchain {tc} (the published wasm's, with rust-src): installed"));
        return Ok(());
    }
    if !install {
        bail!("toolchain {tc} is missing: run `rustup toolchain install {tc} --profile minimal --component rust-src --target wasm32-unknown-unknown`");
    }
    note(&format!("toolchain {tc}: missing, installing (rustup, minimal profile with rust-src and the wasm target)"));
    run(Command::new("rustup").args([
        "toolchain",
        "install",
        tc,
        "--profile",
        "minimal",
        "--component",
        "rust-src",
        "--target",
        "wasm32-unknown-unknown",
    ]))
}

/// `twiggy` (crates.io), which `cargo xtask bench` reads the wasm's contributors with; installed
/// into cargo's bin directory when missing.
pub fn twiggy(path: &OsString, install: bool) -> Result<PathBuf> {
    if let Some(v) = version_of("twiggy", path) {
        note(&format!("{v}: installed"));
        return which("twiggy", path);
    }
    if !install {
        bail!("twiggy is missing: run `cargo install twiggy --locked`");
    }
    note("twiggy: missing, installing from crates.io (a few minutes)");
    run(Command::new("cargo").args(["install", "twiggy", "--locked"]))?;
    which("twiggy", path)
}

/// How the fuzz targets are built: cargo-fuzz under the nightly toolchain with
/// AddressSanitizer when rustup has one, else under the default toolchain without a
/// sanitizer (cargo-fuzz's stable mode: coverage-guided, panics and assertions only).
pub struct FuzzTools {
    /// `cargo` arguments before `fuzz` (`+nightly` or nothing).
    pub toolchain: Vec<String>,
    /// `--sanitizer` value.
    pub sanitizer: &'static str,
}

/// Makes sure `cargo fuzz` is there (installing cargo-fuzz from crates.io when missing) and
/// picks the toolchain.
pub fn fuzz_tools(install: bool) -> Result<FuzzTools> {
    let path = std::env::join_paths(
        std::iter::once(cargo_home().join("bin")).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .context("building PATH")?;
    match output(Command::new("cargo").env("PATH", &path).args(["fuzz", "--version"])) {
        Some(v) => note(&format!("{}: installed", v.trim())),
        None if !install => bail!("cargo-fuzz is missing: run `cargo install cargo-fuzz --locked`"),
        None => {
            note("cargo-fuzz: missing, installing from crates.io (a few minutes)");
            run(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))?;
        }
    }
    let nightly =
        output(Command::new("rustup").args(["toolchain", "list"])).is_some_and(|list| list.lines().any(|l| l.starts_with("nightly")));
    Ok(if nightly {
        note("toolchain: nightly, with AddressSanitizer");
        FuzzTools { toolchain: vec!["+nightly".into()], sanitizer: "address" }
    } else {
        note("toolchain: no nightly in rustup; the default toolchain without a sanitizer");
        FuzzTools { toolchain: Vec::new(), sanitizer: "none" }
    })
}

/// Installs the Debian packages of the `(binary, package)` pairs whose binary is not on `path`.
pub fn apt(tools: &[(&str, &str)], path: &OsString, install: bool) -> Result<()> {
    let missing: Vec<&str> = tools.iter().filter(|(bin, _)| which(bin, path).is_err()).map(|(_, pkg)| *pkg).collect();
    for (bin, pkg) in tools {
        if !missing.contains(pkg) {
            note(&format!("{bin}: installed"));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let list = missing.join(" ");
    if !install {
        bail!("missing system packages: run `apt-get install {list}`");
    }
    let root_user = output(Command::new("id").arg("-u")).as_deref() == Some("0");
    let sudo = !root_user && output(Command::new("sudo").args(["-n", "true"])).is_some();
    if !root_user && !sudo {
        bail!("missing system packages and not root: run `sudo apt-get install {list}`");
    }
    note(&format!("installing Debian packages: {list}"));
    let apt_get = |args: &[&str]| {
        let mut c = if sudo { Command::new("sudo") } else { Command::new("apt-get") };
        if sudo {
            c.arg("apt-get");
        }
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run(&mut apt_get(&["update", "-q"]))?;
    let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
    args.extend(&missing);
    run(&mut apt_get(&args))
}

/// The load generator and the reference servers of `cargo xtask bench` and `cargo xtask
/// cluster`, from Debian's packages.
pub struct BenchTools {
    /// `wrk`.
    pub wrk: PathBuf,
    /// `nginx`.
    pub nginx: PathBuf,
    /// `haproxy`.
    pub haproxy: PathBuf,
    /// `redis-server`.
    pub redis_server: PathBuf,
    /// `valgrind` (callgrind counts the proxies' instructions).
    pub valgrind: PathBuf,
    /// `callgrind_control`.
    pub callgrind_control: PathBuf,
}

/// Finds (installing when missing and allowed) wrk, nginx, HAProxy, Redis and valgrind.
pub fn bench_tools(install: bool) -> Result<BenchTools> {
    crate::step("Tools: wrk, nginx, HAProxy, Redis, valgrind");
    let mut paths: Vec<PathBuf> = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).collect();
    paths.extend(["/usr/sbin", "/sbin"].map(PathBuf::from));
    let path = std::env::join_paths(paths).context("building PATH")?;
    apt(
        &[("wrk", "wrk"), ("nginx", "nginx-light"), ("haproxy", "haproxy"), ("redis-server", "redis-server"), ("valgrind", "valgrind")],
        &path,
        install,
    )?;
    Ok(BenchTools {
        wrk: which("wrk", &path)?,
        nginx: which("nginx", &path)?,
        haproxy: which("haproxy", &path)?,
        redis_server: which("redis-server", &path)?,
        valgrind: which("valgrind", &path)?,
        callgrind_control: which("callgrind_control", &path)?,
    })
}
