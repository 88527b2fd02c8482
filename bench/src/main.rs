//! `guildhall-bench`: runs the scenarios of issue 9 against freshly started
//! release builds of Guildhall and of its bare ceilings, then writes the
//! report (`docs/benchmarks.md` by default, plots beside it). `scripts/bench`
//! builds everything and runs this; `--smoke` is the seconds-long CI run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use guildhall_bench::procs::raise_nofile_limit;
use guildhall_bench::report::{Meta, Results};
use guildhall_bench::scenarios::{self, Ctx, Plan, Scenario};

#[derive(Debug, Parser)]
#[command(
    name = "guildhall-bench",
    about = "Guildhall's benchmark and its ceilings"
)]
struct Cli {
    #[command(flatten)]
    plan: Plan,
    /// The Markdown report; plots and results.json go to the directory of
    /// the same name without the extension.
    #[arg(long, default_value = "docs/benchmarks.md")]
    out: PathBuf,
    /// Tiny sizes and sub-second windows (overrides the size flags): checks
    /// that every scenario runs, in seconds. Asserts no timing.
    #[arg(long)]
    smoke: bool,
    /// Where `guildhall` and the `bare_*` binaries are (default: beside this one).
    #[arg(long)]
    bins: Option<PathBuf>,
    /// A sentence for the report's header.
    #[arg(long)]
    note: Option<String>,
    /// An earlier run's results.json: the report shows each summary line
    /// before and after.
    #[arg(long)]
    before: Option<PathBuf>,
    /// Write the report again from an earlier run's results.json (after
    /// a change to the report's layout), running nothing.
    #[arg(long)]
    from_results: Option<PathBuf>,
    /// Keep the work directory (server logs, SQLite files) and print it.
    #[arg(long)]
    keep_work: bool,
}

fn smoke(plan: &mut Plan) {
    plan.concurrency = vec![1, 4];
    plan.warmup_secs = 0.1;
    plan.secs = 0.3;
    plan.http_users = 2;
    plan.channels = 2;
    plan.messages = 200;
    plan.chat_sockets = 4;
    plan.fanout = vec![10, 40];
    plan.fanout_users = 2;
    plan.fanout_deliveries_per_sec = 400.0;
    plan.fanout_secs = 0.5;
    plan.members = 8;
    plan.storm_rate = 20.0;
    plan.storm_secs = 1.5;
    plan.rooms = 2;
    plan.room_users = 2;
    plan.sockets_per_user = 2;
    plan.rooms_rate = 20.0;
    plan.rooms_secs = 0.5;
    plan.memory_sockets = vec![20, 50];
    plan.startup_runs = 2;
}

fn output(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The three load averages of `/proc/loadavg`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn meta(bins: &Path, nofile: u64) -> Meta {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let ram_kib: f64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let mut commit = output("git", &["rev-parse", "--short=12", "HEAD"]);
    let changes = output(
        "git",
        &[
            "status",
            "--porcelain",
            "--",
            ".",
            ":!docs/benchmarks.md",
            ":!docs/benchmarks",
        ],
    );
    if !changes.is_empty() && changes != "unknown" {
        commit.push_str(" (with uncommitted changes)");
    }
    let guildhall = bins.join("guildhall");
    Meta {
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        commit,
        rustc: output("rustc", &["--version"]),
        guildhall: output(&guildhall.to_string_lossy(), &["--version"]),
        cpu,
        cores,
        ram_gib: ram_kib / 1048576.0,
        nofile,
        command: std::env::var("GUILDHALL_BENCH_COMMAND")
            .unwrap_or_else(|_| std::env::args().collect::<Vec<_>>().join(" ")),
        load_before: load_average(),
        ..Meta::default()
    }
}

/// Runs one scenario; a failure is recorded and the run goes on.
async fn attempt<T>(
    failures: &mut Vec<String>,
    name: &str,
    run: impl Future<Output = anyhow::Result<T>>,
) -> Option<T> {
    eprintln!("== {name}");
    let started = Instant::now();
    match run.await {
        Ok(value) => {
            eprintln!("   done in {:.0} s", started.elapsed().as_secs_f64());
            Some(value)
        }
        Err(e) => {
            eprintln!("   FAILED: {e:#}");
            failures.push(format!("{name}: {e:#}"));
            None
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let mut cli = Cli::parse();
    let before = cli.before.as_deref().map(Results::read).transpose()?;
    if let Some(path) = &cli.from_results {
        let mut results = Results::read(path)?;
        if before.is_some() {
            results.before = before.map(Box::new);
        }
        results.write(&cli.out)?;
        eprintln!("wrote {} from {}", cli.out.display(), path.display());
        return Ok(ExitCode::SUCCESS);
    }
    if cli.smoke {
        smoke(&mut cli.plan);
    }
    let nofile = raise_nofile_limit();
    let bins = match &cli.bins {
        Some(dir) => dir.clone(),
        None => std::env::current_exe()?
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    };
    let work = tempfile::Builder::new()
        .prefix("guildhall-bench")
        .tempdir()?;
    let mut results = Results {
        meta: meta(&bins, nofile),
        ..Results::default()
    };
    results.meta.note = cli.note.clone();
    results.before = before.map(Box::new);
    results.meta.plan = plan_line(&cli.plan);
    let ctx = Ctx {
        plan: cli.plan.clone(),
        bins,
        work: work.path().to_path_buf(),
    };
    let started = Instant::now();
    let plan = &ctx.plan;
    let failures = &mut results.failures;
    if plan.runs(Scenario::Http) {
        results.http = attempt(failures, "bare-http", scenarios::http_rw::bare_http(&ctx)).await;
    }
    for db in plan.databases() {
        if plan.runs(Scenario::Post) {
            let name = format!("POST /messages on {}", db.label());
            if let Some(c) = attempt(failures, &name, scenarios::http_rw::post(&ctx, db)).await {
                results.post.push(c);
            }
        }
        if plan.runs(Scenario::Get) {
            let name = format!("GET /messages on {}", db.label());
            if let Some(c) = attempt(failures, &name, scenarios::http_rw::get(&ctx, db)).await {
                results.get.push(c);
            }
        }
    }
    if plan.runs(Scenario::Chat) {
        results.chat = attempt(failures, "chat", scenarios::chat::chat(&ctx)).await;
    }
    if plan.runs(Scenario::Fanout) {
        results.fanout = attempt(failures, "fan-out", scenarios::fanout::fanout(&ctx)).await;
    }
    if plan.runs(Scenario::Members) {
        results.members = attempt(failures, "members", scenarios::members::members(&ctx)).await;
    }
    if plan.runs(Scenario::Memory) {
        results.memory = attempt(failures, "memory", scenarios::memory::memory(&ctx)).await;
    }
    results.meta.elapsed_secs = started.elapsed().as_secs_f64();
    results.meta.load_after = load_average();
    results.write(&cli.out)?;
    eprintln!("wrote {}", cli.out.display());
    if cli.keep_work {
        eprintln!("work directory kept: {}", work.keep().display());
    }
    if results.failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("{} scenario(s) failed", results.failures.len());
        Ok(ExitCode::FAILURE)
    }
}

/// The sizes of the run, as flags.
fn plan_line(plan: &Plan) -> String {
    let list = |v: &[usize]| v.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
    format!(
        "--concurrency {} --warmup-secs {} --secs {} --http-users {} --channels {} --messages {} \
         --chat-sockets {} --fanout {} --fanout-users {} --fanout-deliveries-per-sec {} --fanout-secs {} \
         --members {} --storm-rate {} --storm-secs {} --rooms {} --room-users {} --sockets-per-user {} \
         --rooms-rate {} --rooms-secs {} --memory-sockets {} --startup-runs {}{}",
        list(&plan.concurrency),
        plan.warmup_secs,
        plan.secs,
        plan.http_users,
        plan.channels,
        plan.messages,
        plan.chat_sockets,
        list(&plan.fanout),
        plan.fanout_users,
        plan.fanout_deliveries_per_sec,
        plan.fanout_secs,
        plan.members,
        plan.storm_rate,
        plan.storm_secs,
        plan.rooms,
        plan.room_users,
        plan.sockets_per_user,
        plan.rooms_rate,
        plan.rooms_secs,
        list(&plan.memory_sockets),
        plan.startup_runs,
        if plan.no_postgres {
            " --no-postgres"
        } else {
            ""
        }
    )
}
