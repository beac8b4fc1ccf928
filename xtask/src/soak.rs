//! `cargo xtask soak`: mixed traffic for N minutes against the sandbox bank and the broker
//! (real processes, the SQLite store by default): browsers that sign in, read accounts,
//! balances and transactions, make and look up payments and sign out, while the bank
//! expires every token now and then (so sessions refresh) and faults are injected (the
//! bank's API failing with 503, the token endpoint failing, the bank slow).
//!
//! Every report interval it prints the requests, the answers by kind, the p50/p99 latency of
//! the interval and the RSS of both processes. It fails when the broker dies, answers `500`
//! (`internal`), or its RSS keeps growing: the last third of the run's samples must stay
//! within 10 % (and 16 MB) of the middle third's peak.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, ensure, Context, Result};
use rand::Rng;

use crate::procs::free_port;
use crate::stack::{self, StackOptions};
use crate::{note, step};

/// Options of `cargo xtask soak`.
#[derive(clap::Args)]
pub struct Args {
    /// How long the traffic runs.
    #[arg(long, default_value_t = 10.0)]
    minutes: f64,
    /// Browsers sending at once.
    #[arg(long, default_value_t = 8)]
    browsers: usize,
    /// The broker's store: `sqlite` (a file in the target directory) or `memory`.
    #[arg(long, default_value = "sqlite")]
    store: String,
    /// Seconds between reports.
    #[arg(long, default_value_t = 30)]
    every: u64,
    /// Build and run the release binaries.
    #[arg(long)]
    release: bool,
}

/// What the browsers saw, for one report interval.
#[derive(Default)]
struct Window {
    requests: u64,
    /// `"200"`, `"502 upstream_unavailable"`, `"error: connection refused"`, …
    answers: BTreeMap<String, u64>,
    latencies_us: Vec<u64>,
}

impl Window {
    fn record(&mut self, kind: String, took: Duration) {
        self.requests += 1;
        *self.answers.entry(kind).or_default() += 1;
        self.latencies_us.push(took.as_micros() as u64);
    }
}

/// Runs the soak (see the module header).
pub fn run(args: Args) -> Result<()> {
    ensure!(args.minutes > 0.0, "--minutes must be more than 0");
    ensure!(args.browsers > 0, "--browsers must be at least 1");
    let state_dir = crate::target_dir().join("xtask/soak");
    let _ = std::fs::remove_dir_all(&state_dir);
    std::fs::create_dir_all(&state_dir)?;
    let store = match args.store.as_str() {
        "sqlite" => format!("sqlite://{}", state_dir.join("sessions.db").display()),
        "memory" => "memory".to_owned(),
        other => bail!("--store {other:?}: use sqlite or memory"),
    };
    let stack = stack::start(&StackOptions {
        broker_port: free_port()?,
        sandbox_port: free_port()?,
        controls: true,
        store,
        cors: Vec::new(),
        state_dir,
        build: stack::Build::release_if(args.release),
        rate_limits: stack::RATE_LIMITS_UNREACHABLE,
    })?;
    let broker = stack.broker.url.clone();
    let bank = stack.sandbox.url.clone();
    step(&format!("Soak: {} browsers for {} min against {broker} ({} store)", args.browsers, args.minutes, args.store));

    let window = Arc::new(Mutex::new(Window::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_secs_f64(args.minutes * 60.0);
    let mut threads = Vec::new();
    for _ in 0..args.browsers {
        let (broker, window, stop) = (broker.clone(), window.clone(), stop.clone());
        threads.push(std::thread::spawn(move || browser(&broker, &window, &stop)));
    }
    let chaos = {
        let (bank, stop) = (bank.clone(), stop.clone());
        std::thread::spawn(move || chaos(&bank, &stop))
    };

    let started = Instant::now();
    let mut samples: Vec<(f64, u64)> = Vec::new();
    let mut totals: BTreeMap<String, u64> = BTreeMap::new();
    let mut total_requests = 0u64;
    note(&format!("{:>6} {:>9} {:>8} {:>8} {:>10} {:>10}  answers", "min", "requests", "p50 ms", "p99 ms", "broker MB", "bank MB"));
    let mut failure = None;
    while Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        std::thread::sleep(left.min(Duration::from_secs(args.every)));
        let w = std::mem::take(&mut *window.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        let rss = stack.broker.rss().unwrap_or(0);
        let bank_rss = stack.sandbox.rss().unwrap_or(0);
        let minutes = started.elapsed().as_secs_f64() / 60.0;
        samples.push((minutes, rss));
        let mut lat = w.latencies_us.clone();
        lat.sort_unstable();
        let pct =
            |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(0) as f64 / 1000.0;
        let answers: Vec<String> = w.answers.iter().map(|(k, n)| format!("{k}×{n}")).collect();
        note(&format!(
            "{minutes:>6.1} {:>9} {:>8.1} {:>8.1} {:>10.1} {:>10.1}  {}",
            w.requests,
            pct(0.50),
            pct(0.99),
            rss as f64 / 1e6,
            bank_rss as f64 / 1e6,
            answers.join(" ")
        ));
        total_requests += w.requests;
        for (k, n) in w.answers {
            *totals.entry(k).or_default() += n;
        }
        if rss == 0 {
            failure = Some("the broker is gone (no RSS to read)".to_owned());
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let _ = chaos.join();

    step("Soak summary");
    note(&format!("{total_requests} requests in {:.1} min", started.elapsed().as_secs_f64() / 60.0));
    for (k, n) in &totals {
        note(&format!("{n:>9}  {k}"));
    }
    if let Some(calls) = ureq::get(format!("{bank}/__sandbox/counters"))
        .call()
        .ok()
        .and_then(|mut r| r.body_mut().read_to_string().ok())
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .map(|c| c["tokenCalls"].clone())
    {
        note(&format!("token calls at the bank: {calls}"));
    }
    let verdict = rss_verdict(&samples);
    note(&verdict.0);
    if let Some(f) = failure {
        eprintln!("{}", stack.broker.log_tail());
        bail!("{f}");
    }
    let internal: u64 = totals.iter().filter(|(k, _)| k.starts_with("500")).map(|(_, n)| n).sum();
    if internal > 0 {
        eprintln!("{}", stack.broker.log_tail());
        bail!("the broker answered 500 {internal} times");
    }
    let panics = stack.broker.log_tail().matches("panicked").count();
    ensure!(panics == 0, "the broker's log shows a panic:\n{}", stack.broker.log_tail());
    ensure!(verdict.1, "{}", verdict.0);
    Ok(())
}

/// The RSS judgement: the last third of the samples against the middle third's peak.
fn rss_verdict(samples: &[(f64, u64)]) -> (String, bool) {
    if samples.len() < 3 {
        return ("RSS: too few samples for a trend (run longer than 3 report intervals)".to_owned(), true);
    }
    let third = samples.len() / 3;
    let middle = samples[third..2 * third].iter().map(|s| s.1).max().unwrap_or(0);
    let last = samples[2 * third..].iter().map(|s| s.1).max().unwrap_or(0);
    let first = samples[0].1;
    let allowed = middle + (middle / 10).max(16 << 20);
    let text = format!(
        "broker RSS: {:.1} MB at the first report, {:.1} MB peak in the middle third, {:.1} MB peak in the last third (limit {:.1} MB)",
        first as f64 / 1e6,
        middle as f64 / 1e6,
        last as f64 / 1e6,
        allowed as f64 / 1e6
    );
    (text, last <= allowed)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().max_redirects(0).http_status_as_error(false).timeout_global(Some(Duration::from_secs(30))).build().into()
}

/// How an answer is counted: the status, with the broker's error code when there is one.
fn kind(result: &Result<(u16, String), ureq::Error>) -> String {
    match result {
        Ok((status, body)) if *status >= 400 => {
            let code = serde_json::from_str::<serde_json::Value>(body).ok().and_then(|v| v["error"].as_str().map(str::to_owned));
            match code {
                Some(c) => format!("{status} {c}"),
                None => status.to_string(),
            }
        }
        Ok((status, _)) => status.to_string(),
        Err(e) => format!("error: {e}"),
    }
}

/// One browser: sign in, use the session for a while, sometimes sign out, again.
fn browser(broker: &str, window: &Mutex<Window>, stop: &AtomicBool) {
    let agent = agent();
    let mut rng = rand::thread_rng();
    let record = |kind: String, took: Duration| window.lock().unwrap_or_else(std::sync::PoisonError::into_inner).record(kind, took);
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        let cookie = match crate::proxybench::login_cookie(&agent, broker) {
            Ok(c) => {
                record("login ok".to_owned(), t.elapsed());
                c
            }
            Err(e) => {
                record(format!("login failed ({})", e.to_string().chars().take(60).collect::<String>()), t.elapsed());
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
        };
        // The first account's IBAN (the payments' debtor) and id, once read.
        let mut debtor: Option<String> = None;
        let mut account: Option<String> = None;
        let uses = rng.gen_range(20..200);
        for _ in 0..uses {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let roll = rng.gen_range(0..100);
            let t = Instant::now();
            let result = if roll < 50 || debtor.is_none() {
                let r = call(&agent, "GET", &format!("{broker}/api/seb/ais/v7/identified2/accounts"), &cookie, None);
                if let Ok((200, body)) = &r {
                    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
                        debtor = v["accounts"][0]["iban"].as_str().map(str::to_owned);
                        account = v["accounts"][0]["resourceId"].as_str().map(str::to_owned);
                    }
                }
                r
            } else if roll < 80 {
                call(
                    &agent,
                    "GET",
                    &format!(
                        "{broker}/api/seb/ais/v7/identified2/accounts/{}/transactions?bookingStatus=both",
                        account.as_deref().unwrap_or("-")
                    ),
                    &cookie,
                    None,
                )
            } else if roll < 90 {
                call(&agent, "GET", &format!("{broker}/auth/session"), &cookie, None)
            } else {
                let body = serde_json::json!({
                    "templateId": "swedish-domestic-private-credit-transfers",
                    "instructedAmount": {"currency": "SEK", "amount": format!("{}.{:02}", rng.gen_range(1..500), rng.gen_range(0..100))},
                    "debtorAccount": {"iban": debtor.clone().unwrap_or_default()},
                    "creditorAccount": {"iban": "SE2550000000054400047903"},
                    "debtorAccountMessage": "soak",
                    "creditorAccountMessage": "soak",
                    "requestedExecutionDate": date_in_days(3),
                })
                .to_string();
                let url = format!("{broker}/api/seb/pis/v7/identified2/payments/swedish-domestic-private-credit-transfers");
                let r = call(&agent, "POST", &url, &cookie, Some(&body));
                if let Ok((201, created)) = &r {
                    if let Some(id) =
                        serde_json::from_str::<serde_json::Value>(created).ok().and_then(|v| v["paymentId"].as_str().map(str::to_owned))
                    {
                        record(kind(&r), t.elapsed());
                        let t = Instant::now();
                        let s = call(&agent, "GET", &format!("{url}/{id}/status"), &cookie, None);
                        record(kind(&s), t.elapsed());
                        continue;
                    }
                }
                r
            };
            let k = kind(&result);
            record(k.clone(), t.elapsed());
            if k.starts_with("401") {
                break; // the session ended (the bank revoked it): sign in again
            }
        }
        if rng.gen_bool(0.5) {
            let t = Instant::now();
            let r = call(&agent, "POST", &format!("{broker}/auth/logout"), &cookie, None);
            record(format!("logout {}", kind(&r)), t.elapsed());
        }
    }
}

fn call(agent: &ureq::Agent, method: &str, url: &str, cookie: &str, body: Option<&str>) -> Result<(u16, String), ureq::Error> {
    let mut resp = match (method, body) {
        ("GET", _) => agent.get(url).header("cookie", cookie).header("x-valv-csrf", "1").header("accept", "application/json").call()?,
        (_, Some(b)) => agent
            .post(url)
            .header("cookie", cookie)
            .header("x-valv-csrf", "1")
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .send(b)?,
        (_, None) => agent.post(url).header("cookie", cookie).header("x-valv-csrf", "1").send_empty()?,
    };
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    Ok((status, text))
}

/// The bank misbehaving: tokens expired now and then (refreshes), API and token failures,
/// latency — one kind of trouble every few seconds.
fn chaos(bank: &str, stop: &AtomicBool) {
    let agent = agent();
    let mut rng = rand::thread_rng();
    let control = |path: &str, method: &str, body: &str| -> Result<()> {
        let url = format!("{bank}{path}");
        let resp = if method == "PUT" {
            agent.put(&url).header("content-type", "application/json").send(body)
        } else {
            agent.post(&url).header("content-type", "application/json").send(body)
        }
        .with_context(|| format!("{method} {path}"))?;
        ensure!(resp.status().is_success(), "{method} {path}: {}", resp.status());
        Ok(())
    };
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(rng.gen_range(2000..5000)));
        let result = match rng.gen_range(0..4) {
            0 => control("/__sandbox/tokens/expire", "POST", "{}"),
            1 => control("/__sandbox/faults", "PUT", r#"{"rules": [{"endpoint": "ais", "failNext": 5, "status": 503}]}"#),
            2 => control("/__sandbox/faults", "PUT", r#"{"rules": [{"endpoint": "token", "failNext": 2, "status": 503}]}"#),
            _ => control("/__sandbox/faults", "PUT", r#"{"rules": [{"endpoint": "ais", "latencyMs": 300, "latencyNext": 20}]}"#),
        };
        if let Err(e) = result {
            note(&format!("chaos: {e:#}"));
        }
    }
}

/// `YYYY-MM-DD`, `days` from today (UTC).
fn date_in_days(days: i64) -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    // Days to civil date (H. Hinnant's algorithm).
    let z = secs / 86_400 + days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}
