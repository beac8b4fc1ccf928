//! `cargo xtask fuzz`: the fuzz targets of `fuzz/` (the broker's parsers, sealed values, the
//! configuration, token answers and the PSD2 model) under libFuzzer through cargo-fuzz, each
//! for a given time. A crash fails the command and leaves its input under
//! `target/fuzz/artifacts/<target>/`; the corpus grows in `target/fuzz/corpus/<target>/`
//! from the seeds committed in `fuzz/seeds/<target>/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::procs::{describe, run};
use crate::tools::{self, FuzzTools};
use crate::{note, root, step};

/// Options of `cargo xtask fuzz`.
#[derive(clap::Args)]
pub struct Args {
    /// Seconds of fuzzing per target.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Only these targets (repeatable); default: all of `fuzz/Cargo.toml`.
    #[arg(long = "target")]
    pub targets: Vec<String>,
    /// Do not install cargo-fuzz when it is missing; fail naming it instead.
    #[arg(long)]
    pub no_install: bool,
}

/// What one target's run did.
struct Outcome {
    target: String,
    execs: u64,
    /// libFuzzer's own average (the build check before the run is not in it).
    per_sec: u64,
    corpus: u64,
    coverage: u64,
    crash: Option<PathBuf>,
}

/// Runs every target for `args.seconds`.
pub fn run_cmd(args: Args) -> Result<()> {
    step("Fuzzing: cargo-fuzz (libFuzzer)");
    let tools = tools::fuzz_tools(!args.no_install)?;
    let all = targets(&tools)?;
    let chosen: Vec<String> = if args.targets.is_empty() {
        all.clone()
    } else {
        for t in &args.targets {
            if !all.contains(t) {
                bail!("no fuzz target {t:?}; there are: {}", all.join(", "));
            }
        }
        args.targets.clone()
    };
    let work = crate::target_dir().join("fuzz");
    step(&format!("Building {} fuzz targets (instrumented, in {})", chosen.len(), work.display()));
    let mut build = cargo_fuzz(&tools, "build", &work);
    run(&mut build)?;

    let mut outcomes = Vec::new();
    for target in &chosen {
        step(&format!("{target}: {} s", args.seconds));
        outcomes.push(fuzz_one(&tools, &work, target, args.seconds)?);
    }
    step("Fuzzing summary");
    note(&format!("{:<14} {:>12} {:>10} {:>8} {:>8}  result", "target", "execs", "execs/s", "corpus", "cov"));
    for o in &outcomes {
        let result = match &o.crash {
            Some(p) => format!("CRASH: {}", p.display()),
            None => "no crash".to_owned(),
        };
        note(&format!("{:<14} {:>12} {:>10} {:>8} {:>8}  {result}", o.target, o.execs, o.per_sec, o.corpus, o.coverage));
    }
    let crashed: Vec<&Outcome> = outcomes.iter().filter(|o| o.crash.is_some()).collect();
    if !crashed.is_empty() {
        for o in &crashed {
            let input = o.crash.as_deref().map(Path::display).map(|d| d.to_string()).unwrap_or_default();
            let plus = tools.toolchain.join(" ");
            note(&format!("reproduce: cargo {plus} fuzz run --fuzz-dir fuzz {} {input}", o.target));
        }
        bail!("{} fuzz target(s) crashed", crashed.len());
    }
    Ok(())
}

/// The fuzz targets (`cargo fuzz list`: the `[[bin]]`s of `fuzz/Cargo.toml`).
fn targets(tools: &FuzzTools) -> Result<Vec<String>> {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root()).args(&tools.toolchain).args(["fuzz", "list", "--fuzz-dir", "fuzz"]).env_remove("RUSTUP_TOOLCHAIN");
    let out = cmd.output().with_context(|| format!("could not run `{}`", describe(&cmd)))?;
    if !out.status.success() {
        bail!("`{}` failed: {}", describe(&cmd), String::from_utf8_lossy(&out.stderr).trim());
    }
    let names: Vec<String> =
        String::from_utf8_lossy(&out.stdout).lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect();
    if names.is_empty() {
        bail!("fuzz/Cargo.toml names no fuzz targets");
    }
    Ok(names)
}

/// `cargo [+nightly] fuzz <verb>` with the shared build options.
fn cargo_fuzz(tools: &FuzzTools, verb: &str, work: &Path) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root())
        .args(&tools.toolchain)
        .args(["fuzz", verb, "--fuzz-dir", "fuzz", "--sanitizer", tools.sanitizer])
        // Many units build the instrumented dependency tree in minutes, not tens of them.
        .args(["--codegen-units", "16", "--target-dir"])
        .arg(work.join("build"))
        // cargo-fuzz picks the toolchain from `+nightly`; an outer `cargo xtask` must not.
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO_TARGET_DIR");
    cmd
}

fn fuzz_one(tools: &FuzzTools, work: &Path, target: &str, seconds: u64) -> Result<Outcome> {
    let corpus = work.join("corpus").join(target);
    let artifacts = work.join("artifacts").join(target);
    let logs = work.join("logs");
    for d in [&corpus, &artifacts, &logs] {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let before: Vec<PathBuf> = list(&artifacts);
    let log_path = logs.join(format!("{target}.log"));
    let log = std::fs::File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
    let mut cmd = cargo_fuzz(tools, "run", work);
    cmd.arg(target).arg(&corpus);
    let seeds = root().join("fuzz/seeds").join(target);
    if seeds.is_dir() {
        cmd.arg(&seeds);
    }
    cmd.arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg("-print_final_stats=1")
        .arg("-max_len=8192")
        .stdout(Stdio::null())
        .stderr(log.try_clone()?);
    note(&format!("$ {} (log: {})", describe(&cmd), log_path.display()));
    let status = cmd.status().with_context(|| format!("could not start `{}`", describe(&cmd)))?;
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    let stat = |name: &str| -> u64 {
        text.lines().rev().find_map(|l| l.strip_prefix(&format!("stat::{name}:"))).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
    };
    // libFuzzer's status lines: `#N\tDONE   cov: C ft: F corp: …` (also NEW, REDUCE, pulse).
    let last_done = text.lines().rev().find(|l| l.starts_with('#') && l.contains("cov:")).unwrap_or("");
    let field = |key: &str| -> u64 {
        let mut words = last_done.split_whitespace();
        while let Some(w) = words.next() {
            if w == key {
                return words.next().and_then(|v| v.trim_end_matches(|c: char| !c.is_ascii_digit()).parse().ok()).unwrap_or(0);
            }
        }
        0
    };
    let crash = list(&artifacts).into_iter().find(|p| !before.contains(p));
    if !status.success() && crash.is_none() {
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        for l in tail.into_iter().rev() {
            eprintln!("      {l}");
        }
        bail!("fuzzing {target} failed ({status}) without leaving a crash input; see {}", log_path.display());
    }
    if let Some(p) = &crash {
        for l in text.lines().filter(|l| l.contains("panicked") || l.contains("ERROR: ") || l.contains("SUMMARY")).take(6) {
            eprintln!("      {l}");
        }
        note(&format!("crash input: {}", p.display()));
    }
    Ok(Outcome {
        target: target.to_owned(),
        execs: stat("number_of_executed_units"),
        per_sec: stat("average_exec_per_sec"),
        corpus: list(&corpus).len() as u64,
        coverage: field("cov:"),
        crash,
    })
}

fn list(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default()
}
