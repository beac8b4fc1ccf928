//! `cargo xtask demo`: the demo app on 127.0.0.1:8080 against the sandbox bank on localhost:8081.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::stack::{self, StackOptions};
use crate::tools::{self, Needs};
use crate::{note, root, step};

/// Options of `cargo xtask demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Session store: `sqlite://PATH` (default `.valv/sessions.db`), `memory` or `redis://HOST:PORT`.
    #[arg(long)]
    store: Option<String>,
    /// Turn on the sandbox's `/__sandbox/` test controls (faults, token lifetimes, counters).
    #[arg(long)]
    controls: bool,
    /// Skip rebuilding the wasm package (use the one already in www/pkg).
    #[arg(long)]
    no_wasm: bool,
    /// Do not install missing tools for the wasm build; fail naming them instead.
    #[arg(long)]
    no_install: bool,
}

/// Runs the demo until Ctrl-C.
pub fn run(args: Args) -> Result<()> {
    if !args.no_wasm || !root().join("www/pkg/valv_client.js").exists() {
        let tools = tools::ensure(Needs { wasm: true, system: false }, !args.no_install)?;
        crate::wasm::build(&tools.path)?;
    }
    let state_dir = root().join(".valv");
    let store = args.store.unwrap_or_else(|| format!("sqlite://{}", state_dir.join("sessions.db").display()));
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst)).context("installing the Ctrl-C handler")?;
    }
    let mut stack = stack::start(&StackOptions {
        broker_port: 8080,
        sandbox_port: 8081,
        controls: args.controls,
        store: store.clone(),
        cors: Vec::new(),
        state_dir,
        build: crate::stack::Build::Debug,
        rate_limits: "",
    })?;
    step("Valv demo is running");
    note("app:      http://127.0.0.1:8080/");
    note(&format!("bank:     {}  (sandbox, another site than the app)", stack.bank_url));
    note(&format!("sessions: {store}"));
    note("log in with a sandbox person: 9311219639, 9311219589, 8811215477, 8811212862, 8311211356");
    note(&format!("or sign in with Mobile BankID: the sandbox's BankID app is {}/phone (linked beside the QR code)", stack.bank_url));
    note("Ctrl-C stops both servers.");
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(200));
    }
    step("Stopping");
    // Ctrl-C in a terminal reaches the servers too; they drain and exit. Drop waits for them.
    stack.broker.wait(Duration::from_secs(10));
    stack.sandbox.wait(Duration::from_secs(10));
    drop(stack);
    note("stopped");
    Ok(())
}
