//! `valv-sandbox` binary: an offline SEB-like bank on loopback.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use valv_sandbox::{Client, SandboxConfig};

/// An offline bank that behaves like SEB's PSD2 sandbox.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081", env = "VALV_SANDBOX_ADDR")]
    addr: SocketAddr,
    /// Serve the test controls under /__sandbox/ (and honour login_hint).
    #[arg(long)]
    controls: bool,
    /// Register a client `id:secret:redirect_uri` (repeatable). The demo client
    /// `valv-demo` is always registered.
    #[arg(long = "client", value_parser = Client::parse_flag)]
    clients: Vec<Client>,
    /// TOML file with `[[clients]]` (id, secret, redirect_uri), `controls`, `[settings]`.
    #[arg(long)]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let args = Args::parse();
    let mut config = SandboxConfig::default();
    if let Some(path) = &args.config {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        config.merge_file(&text).with_context(|| format!("parsing {}", path.display()))?;
    }
    for c in args.clients {
        config.add_client(c);
    }
    config.controls |= args.controls;
    let listener = tokio::net::TcpListener::bind(args.addr).await.with_context(|| format!("binding {}", args.addr))?;
    let addr = listener.local_addr()?;
    let ids: Vec<&str> = config.clients.iter().map(|c| c.id.as_str()).collect();
    println!("valv-sandbox listening on http://{addr}");
    tracing::info!(clients = ?ids, controls = config.controls, "sandbox ready");
    valv_sandbox::run(listener, config, async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
    .await?;
    Ok(())
}
