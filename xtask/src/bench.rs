//! `cargo xtask bench`: what Valv costs, against baselines measured in the same run.
//!
//! - size: gzipped `.wasm` + JS glue of the valv-client package, beside the minified browser
//!   bundles of oidc-client-ts 3.5.0 and @azure/msal-browser 5.30.0, fetched from npm now
//!   and gzipped the same way (the published figures are printed when npm is unreachable);
//! - proxy: throughput (wrk, c=64) and latency (c=1) of a 1 KB and a 64 KB call to a static
//!   upstream straight, through Debian's nginx as a plain proxy, and through the broker with
//!   each store (see `proxybench`); a table on stdout and `target/bench/results.json`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::procs::output;
use crate::tools::{self, Needs};
use crate::{note, root, step};

/// Options of `cargo xtask bench`.
#[derive(clap::Args)]
pub struct Args {
    /// Use the package already in wasm-client/pkg instead of rebuilding it.
    #[arg(long)]
    no_build: bool,
    /// Only the size benchmark.
    #[arg(long)]
    size_only: bool,
    /// Only the proxy benchmark.
    #[arg(long)]
    proxy_only: bool,
    /// A smoke run: 1 s per measurement instead of 5 s.
    #[arg(long)]
    quick: bool,
    /// Only the CPU work per proxied call (callgrind: nginx, the hyper floor, the broker); no wrk runs.
    #[arg(long)]
    cpu_only: bool,
    /// Sessions to create for the memory measurement (default 100,000; 2,000 with --quick).
    #[arg(long)]
    sessions: Option<usize>,
    /// Do not install missing tools (wrk, nginx, HAProxy, Redis, valgrind); fail naming them instead.
    #[arg(long)]
    no_install: bool,
}

/// Runs the benchmarks.
pub fn run(args: Args) -> Result<()> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    step(&format!("cargo xtask bench{} on {cores} cores", if args.quick { " --quick" } else { "" }));
    if !args.proxy_only {
        let tools = tools::ensure(Needs { wasm: true, system: false }, !args.no_install)?;
        if !args.no_build || !root().join("wasm-client/pkg/valv_client_bg.wasm").exists() {
            crate::wasm::build(&tools.path)?;
        }
        size()?;
        let twiggy = tools::twiggy(&tools.path, !args.no_install)?;
        crate::wasmsize::contributors(&tools.path, &twiggy)?;
    }
    if args.size_only {
        return Ok(());
    }
    let tools = tools::bench_tools(!args.no_install)?;
    let bins = crate::stack::build(crate::stack::Build::Release)?;
    let dir = crate::proxybench::scratch();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let d = crate::proxybench::Durations { seconds: if args.quick { 1 } else { 5 }, counted_calls: if args.quick { 200 } else { 2000 } };
    let proxy = crate::proxybench::run(&tools, &bins, &dir, &d, !args.cpu_only)?;
    if args.cpu_only {
        step("CPU work per proxied call (callgrind, 1 KB, kept-alive connection)");
        let nginx = proxy.work.first().map_or(1.0, |w| w.per_call);
        println!("| system | instructions per call | vs nginx |");
        println!("| --- | ---: | ---: |");
        for w in &proxy.work {
            println!("| {} | {:.0} | {:.2}× |", w.system, w.per_call, w.per_call / nginx);
        }
        return Ok(());
    }
    let cluster_dir = crate::target_dir().join("bench/cluster");
    let _ = std::fs::remove_dir_all(&cluster_dir);
    let cluster = crate::cluster::start(
        &tools,
        &bins,
        &crate::cluster::Options {
            replicas: 3,
            port: crate::procs::free_port()?,
            bank_port: crate::procs::free_port()?,
            controls: true,
            dir: cluster_dir,
            rate_limits: crate::stack::RATE_LIMITS_UNREACHABLE,
        },
    )?;
    let idle_rss = crate::stormbench::rss(&cluster);
    let storm = crate::stormbench::storm(&cluster, 1000)?;
    let logins = crate::stormbench::logins(&cluster, 4, if args.quick { 2 } else { 5 })?;
    let sessions = args.sessions.unwrap_or(if args.quick { 2_000 } else { 100_000 });
    crate::stormbench::make_sessions(&cluster, sessions, 4)?;
    let memory = Memory { replicas: cluster.brokers.len(), idle: idle_rss, sessions, loaded: crate::stormbench::rss(&cluster) };
    drop(cluster);
    report(cores, args.quick, &proxy, &storm, logins, &memory)
}

/// Resident memory of the replicas, summed.
struct Memory {
    replicas: usize,
    idle: u64,
    sessions: usize,
    loaded: u64,
}

fn report(
    cores: usize,
    quick: bool,
    proxy: &crate::proxybench::Proxy,
    storm: &crate::stormbench::Storm,
    logins: f64,
    memory: &Memory,
) -> Result<()> {
    let rows = &proxy.rows;
    step(&format!("Proxy overhead ({cores} cores, wrk on the same machine; c=64 throughput, c=1 latency)"));
    let direct = |body: &str| rows.iter().find(|(s, b, _)| s == "direct" && *b == body).map(|r| r.2);
    println!("| system | body | req/s (c=64) | vs direct | p50 (c=1) | added p50 | p99 (c=1) |");
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
    let mut json = Vec::new();
    for (system, body, f) in rows {
        let base = direct(body).unwrap_or(*f);
        let ratio = f.per_sec / base.per_sec;
        let added = f.p50_us - base.p50_us;
        println!("| {system} | {body} | {:.0} | {ratio:.2}× | {:.0} µs | {:+.0} µs | {:.0} µs |", f.per_sec, f.p50_us, added, f.p99_us);
        json.push(serde_json::json!({
            "system": system, "body": body, "requestsPerSecond": f.per_sec, "ratioToDirect": ratio,
            "p50Micros": f.p50_us, "addedP50Micros": added, "p99Micros": f.p99_us,
        }));
    }
    step("CPU work per 1 KB proxied call (callgrind: instructions in user space, all threads)");
    println!();
    println!("| system | instructions per call | vs nginx |");
    println!("| --- | ---: | ---: |");
    let nginx = proxy.work.first().map_or(1.0, |w| w.per_call);
    let mut work_json = Vec::new();
    for w in &proxy.work {
        println!("| {} | {:.0} | {:.2}× |", w.system, w.per_call, w.per_call / nginx);
        work_json.push(serde_json::json!({"system": w.system, "instructionsPerCall": w.per_call}));
    }
    step("Refresh storm and logins (3 replicas on Redis behind HAProxy)");
    println!();
    println!("| measurement | result | must be |");
    println!("| --- | ---: | --- |");
    println!("| refresh storm: concurrent calls on one expired session | {} | |", storm.calls);
    println!("| refresh storm: token calls at the bank | {} | 1 |", storm.token_calls);
    println!("| refresh storm: failed calls | {} | 0 |", storm.failures);
    println!("| refresh storm: until every call was answered | {:.0} ms | |", storm.all_served.as_secs_f64() * 1000.0);
    println!("| full authorization-code logins per second (4 browsers) | {logins:.0} | |");
    let mb = |b: u64| b as f64 / 1_048_576.0;
    println!(
        "| broker RSS, {} replicas together: idle / after {} sessions were made and used | {:.1} MB / {:.1} MB | bounded: each replica caches at most {} sessions |",
        memory.replicas,
        memory.sessions,
        mb(memory.idle),
        mb(memory.loaded),
        100_000
    );
    let out = crate::target_dir().join("bench/results.json");
    std::fs::write(
        &out,
        serde_json::to_string_pretty(&serde_json::json!({
            "cores": cores, "quick": quick, "proxy": json, "instructions": work_json,
            "refreshStorm": {"calls": storm.calls, "tokenCalls": storm.token_calls, "failures": storm.failures,
                             "allServedMillis": storm.all_served.as_secs_f64() * 1000.0},
            "loginsPerSecond": logins,
            "memory": {"replicas": memory.replicas, "idleBytes": memory.idle, "sessions": memory.sessions, "loadedBytes": memory.loaded},
        }))?,
    )?;
    note(&format!("written to {}", out.display()));
    Ok(())
}

/// Bytes after gzip -9.
fn gzipped(bytes: &[u8]) -> Result<usize> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::best());
    enc.write_all(bytes)?;
    Ok(enc.finish()?.len())
}

fn kb(n: usize) -> String {
    format!("{:.1} KB", n as f64 / 1000.0)
}

fn size() -> Result<()> {
    step("Size: valv-client (gzip -9) against OIDC browser libraries");
    let pkg = root().join("wasm-client/pkg");
    let mut files = vec![pkg.join("valv_client_bg.wasm"), pkg.join("valv_client.js")];
    collect_js(&pkg.join("snippets"), &mut files);
    let mut raw = 0;
    let mut gz = 0;
    for f in &files {
        let bytes = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
        let g = gzipped(&bytes)?;
        note(&format!("{:<48} {:>9} raw {:>9} gzip", f.strip_prefix(root()).unwrap_or(f).display(), kb(bytes.len()), kb(g)));
        raw += bytes.len();
        gz += g;
    }
    note(&format!("{:<48} {:>9} raw {:>9} gzip", "valv-client total (wasm + glue)", kb(raw), kb(gz)));
    let dir = crate::target_dir().join("bench/npm");
    std::fs::create_dir_all(&dir)?;
    for (spec, file, published) in [
        ("oidc-client-ts@3.5.0", "package/dist/browser/oidc-client-ts.min.js", 18_100),
        ("@azure/msal-browser@5.30.0", "package/lib/msal-browser.min.js", 78_800),
    ] {
        let (size, how) = match npm_file(&dir, spec, file) {
            Ok(bytes) => (gzipped(&bytes)?, "measured now"),
            Err(e) => {
                note(&format!("could not fetch {spec} from npm ({e:#}); using its published size"));
                (published, "published figure")
            }
        };
        note(&format!(
            "{:<48} {:>23} gzip   valv-client = {:.2}× ({how})",
            format!("{spec} ({})", file.rsplit('/').next().unwrap_or(file)),
            kb(size),
            gz as f64 / size as f64
        ));
    }
    Ok(())
}

fn collect_js(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_js(&p, out);
        } else if p.extension().is_some_and(|e| e == "js") {
            out.push(p);
        }
    }
}

/// Downloads `spec` with `npm pack` (cached in `dir`) and returns one file of it.
fn npm_file(dir: &Path, spec: &str, file: &str) -> Result<Vec<u8>> {
    let tgz_name = spec.trim_start_matches('@').replace(['/', '@'], "-") + ".tgz";
    let tgz = dir.join(&tgz_name);
    if !tgz.exists() {
        output(Command::new("npm").current_dir(dir).args(["pack", "--silent", spec])).with_context(|| format!("npm pack {spec} failed"))?;
    }
    let out = Command::new("tar").arg("-xzOf").arg(&tgz).arg(file).output().context("running tar")?;
    anyhow::ensure!(out.status.success() && !out.stdout.is_empty(), "{file} not found in {tgz_name}");
    Ok(out.stdout)
}
