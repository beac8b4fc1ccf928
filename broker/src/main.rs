//! `valv-broker --config PATH [--check]`: loads and validates the configuration (TOML plus
//! `VALV_…` environment overrides), then serves. The first stdout line is
//! `listening on http://ADDR` (tests and `cargo xtask` read the port from it).

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;

/// mimalloc: fewer and cheaper allocator calls on the proxy path than glibc's malloc
/// (measured with `cargo xtask bench`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Valv's token-holding backend-for-frontend.
#[derive(Debug, Parser)]
#[command(name = "valv-broker", version)]
struct Args {
    /// Configuration file (TOML).
    #[arg(long, env = "VALV_CONFIG")]
    config: Option<PathBuf>,
    /// Validate the configuration (and keys, store, mTLS identities) and exit.
    #[arg(long)]
    check: bool,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    // Access-log lines are written in batches, warnings and errors at once (see `logging`).
    let (writer, log_guard) = valv_broker::logging::batched_stderr();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_sessions=warn,tower_sessions_core=warn")),
        )
        .event_format(valv_broker::logging::LineFormat)
        .fmt_fields(valv_broker::logging::LineFields)
        .with_writer(writer)
        .init();
    let env: Vec<(String, String)> = std::env::vars().collect();
    let config = match valv_broker::config::Config::load(args.config.as_deref(), &env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("valv-broker: configuration error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("valv-broker: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(config, args.check));
    drop(runtime);
    drop(log_guard);
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("valv-broker: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(config: valv_broker::config::Config, check: bool) -> anyhow::Result<()> {
    let listen = config.listen;
    let (router, state) = valv_broker::startup::build(config).await?;
    if check {
        println!("configuration OK");
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| anyhow::anyhow!("listen: cannot bind {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}")?;
        out.flush()?;
    }
    tracing::info!(%addr, "broker started");
    let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
    let metrics = match state.config.metrics_listen {
        Some(at) => {
            let l = tokio::net::TcpListener::bind(at).await.map_err(|e| anyhow::anyhow!("metrics_listen: cannot bind {at}: {e}"))?;
            tracing::info!(addr = %l.local_addr()?, "metrics served on their own listener");
            let state = state.clone();
            Some(tokio::spawn(valv_broker::startup::serve_metrics(l, state, async move {
                let _ = metrics_stopped.await;
            })))
        }
        None => None,
    };
    valv_broker::startup::serve_router(listener, router, shutdown_signal()).await?;
    let _ = stop_metrics.send(());
    if let Some(m) = metrics {
        let _ = m.await;
    }
    valv_broker::startup::drain(&state, std::time::Duration::from_secs(30)).await;
    tracing::info!("broker stopped");
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: draining in-flight requests");
}
