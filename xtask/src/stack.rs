//! Starting the sandbox bank and the broker together (demo, browser tests, benchmarks).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use base64::Engine as _;
use rand::RngCore as _;

use crate::procs::Server;
use crate::{note, root, step};

/// How to start the pair.
pub struct StackOptions {
    /// Broker port (the demo's is 8080).
    pub broker_port: u16,
    /// Sandbox port (the demo's is 8081).
    pub sandbox_port: u16,
    /// `/__sandbox/` test controls on.
    pub controls: bool,
    /// The broker's session store URL (`sqlite://…`, `memory`, `redis://…`).
    pub store: String,
    /// Extra origins allowed to call the broker with credentials.
    pub cors: Vec<String>,
    /// Directory for the generated configuration and the session key.
    pub state_dir: PathBuf,
    /// How the binaries are built.
    pub build: Build,
    /// The lines of the broker's `[rate_limits]` (empty: its defaults).
    pub rate_limits: &'static str,
}

/// The running pair; both stop when this is dropped (broker first).
pub struct Stack {
    /// The broker.
    pub broker: Server,
    /// The sandbox bank.
    pub sandbox: Server,
    /// The bank's address as the browser uses it (`http://localhost:PORT`: another site).
    pub bank_url: String,
}

/// The broker's OAuth client at the sandbox.
const CLIENT_ID: &str = "valv-demo";
/// Its secret: a sandbox test value, handed to the broker through the environment only.
const CLIENT_SECRET: &str = "valv-demo-secret";

/// The two server binaries, where cargo built them.
pub struct Bins {
    /// `valv-sandbox`.
    pub sandbox: PathBuf,
    /// `valv-broker`.
    pub broker: PathBuf,
    /// `valv-hyper-floor`, the proxy benchmark's floor (release builds only).
    pub floor: Option<PathBuf>,
}

/// How the two server binaries are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// `cargo build --release -p valv-sandbox -p valv-broker -p valv-hyper-floor` (bench,
    /// `--release`; the floor's dependencies are the broker's, so it adds no build of them).
    Release,
    /// `cargo build -p valv-sandbox -p valv-broker`: the binaries alone (demo, cluster, soak).
    Debug,
    /// From the build `cargo test --workspace` makes, so that every part of the suite shares
    /// one set of compiled dependencies (another feature set would build them all again).
    Suite,
}

impl Build {
    /// `Release` when `release`, else `Debug`.
    pub fn release_if(release: bool) -> Self {
        if release {
            Build::Release
        } else {
            Build::Debug
        }
    }
}

/// Builds both binaries (see [`Build`]) and finds them through cargo (so `CARGO_TARGET_DIR`
/// is honoured).
pub fn build(how: Build) -> Result<Bins> {
    step("Building valv-sandbox and valv-broker");
    let bins = match how {
        Build::Release => {
            crate::procs::cargo_build_bins(&["--release", "-p", "valv-sandbox", "-p", "valv-broker", "-p", "valv-hyper-floor", "--bins"])?
        }
        Build::Debug => crate::procs::cargo_build_bins(&["-p", "valv-sandbox", "-p", "valv-broker", "--bins"])?,
        Build::Suite => crate::procs::workspace_test_build_bins()?,
    };
    let get = |n: &str| bins.get(n).cloned().with_context(|| format!("cargo built no `{n}` executable"));
    Ok(Bins { sandbox: get("valv-sandbox")?, broker: get("valv-broker")?, floor: bins.get("valv-hyper-floor").cloned() })
}

/// A 32-byte session key in `dir/session-key`, created on first use.
pub fn session_key(dir: &Path) -> Result<PathBuf> {
    let path = dir.join("session-key");
    if !path.exists() {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        std::fs::write(&path, base64::engine::general_purpose::STANDARD.encode(key))
            .with_context(|| format!("writing {}", path.display()))?;
        restrict(&path)?;
        note(&format!("generated a session key in {}", path.display()));
    }
    Ok(path)
}

#[cfg(unix)]
fn restrict(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

#[cfg(not(unix))]
fn restrict(_: &Path) -> Result<()> {
    Ok(())
}

/// `[rate_limits]` lines for load generators: every limit enforced, none ever reached.
pub const RATE_LIMITS_UNREACHABLE: &str = valv_testkit::RATE_LIMITS_UNREACHABLE;

/// The broker configuration of `cargo xtask` (valv-testkit's template, as the tests use it):
/// provider `seb` at the sandbox, its secret from `VALV_DEMO_CLIENT_SECRET`, listening on
/// `listen` and serving `www`; `edit` sets what else differs.
pub fn broker_toml<'a>(
    listen: &'a str,
    origin: &'a str,
    store: &'a str,
    bank: &'a str,
    key: &'a Path,
    www: &'a Path,
    edit: impl FnOnce(&mut valv_testkit::BrokerToml<'a>),
) -> String {
    let mut toml = valv_testkit::BrokerToml::new(listen, origin, store, bank, CLIENT_ID, "VALV_DEMO_CLIENT_SECRET", key);
    toml.www = Some(www);
    edit(&mut toml);
    toml.render()
}

/// Starts the sandbox and the broker configured against it.
pub fn start(opts: &StackOptions) -> Result<Stack> {
    let bin = build(opts.build)?;
    std::fs::create_dir_all(&opts.state_dir)?;
    let key = session_key(&opts.state_dir)?;
    let broker_origin = format!("http://127.0.0.1:{}", opts.broker_port);
    let bank_url = format!("http://localhost:{}", opts.sandbox_port);

    let sandbox_config = opts.state_dir.join("sandbox.toml");
    std::fs::write(&sandbox_config, valv_testkit::sandbox_toml(CLIENT_ID, CLIENT_SECRET, &format!("{broker_origin}/auth/callback")))?;
    let broker_config = opts.state_dir.join("broker.toml");
    let cors: Vec<&str> = opts.cors.iter().map(String::as_str).collect();
    std::fs::write(
        &broker_config,
        broker_toml(&format!("127.0.0.1:{}", opts.broker_port), &broker_origin, &opts.store, &bank_url, &key, &root().join("www"), |t| {
            t.cors = &cors;
            t.rate_limits = opts.rate_limits;
        }),
    )?;

    step("Starting the sandbox bank and the broker");
    let mut sandbox = Command::new(&bin.sandbox);
    sandbox.args(["--addr", &format!("127.0.0.1:{}", opts.sandbox_port), "--config"]).arg(&sandbox_config);
    if opts.controls {
        sandbox.arg("--controls");
    }
    let sandbox = Server::start("sandbox", sandbox)?;
    let mut broker = Command::new(&bin.broker);
    broker.current_dir(root()).arg("--config").arg(&broker_config).env("VALV_DEMO_CLIENT_SECRET", CLIENT_SECRET);
    let broker = Server::start("broker", broker)?;
    Ok(Stack { broker, sandbox, bank_url })
}
