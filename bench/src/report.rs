//! The results of a run and how they are written: `docs/benchmarks.md`
//! (every figure beside its ceiling and the ratio, the targets,
//! machine, versions and command), SVG plots and `results.json` in the
//! directory beside it. Nothing in the report is typed by hand.

use std::fmt::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::load::{Latency, LoadResult};
use crate::plot::{Chart, Series};
use crate::scenarios::chat::Chat;
use crate::scenarios::fanout::FanoutPoint;
use crate::scenarios::http_rw::{Compared, Pair};
use crate::scenarios::members::Members;
use crate::scenarios::memory::Memory;
use crate::scenarios::{Db, Delivery};

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Meta {
    pub date: String,
    pub commit: String,
    pub rustc: String,
    pub guildhall: String,
    pub cpu: String,
    pub cores: usize,
    pub ram_gib: f64,
    pub nofile: u64,
    pub command: String,
    pub note: Option<String>,
    pub elapsed_secs: f64,
    pub plan: String,
    /// `/proc/loadavg` before and after the run: the machine is shared, and
    /// other work on it moves absolute figures (ratios much less).
    pub load_before: String,
    pub load_after: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Results {
    pub meta: Meta,
    pub http: Option<Vec<LoadResult>>,
    pub post: Vec<Compared>,
    pub get: Vec<Compared>,
    pub chat: Option<Chat>,
    pub fanout: Option<Vec<FanoutPoint>>,
    pub members: Option<Members>,
    pub memory: Option<Memory>,
    pub failures: Vec<String>,
    /// An earlier run to compare with (`--before`), shown side by side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Box<Results>>,
}

/// One line of the summary: a scenario, Guildhall's figure, the ceiling's,
/// the ratio and the target.
struct Row {
    scenario: String,
    guildhall: String,
    ceiling: String,
    ratio: String,
    target: &'static str,
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1048576.0)
}

fn kib(bytes: f64) -> String {
    format!("{:.1} KiB", bytes / 1024.0)
}

fn rate(per_sec: f64) -> String {
    let whole = per_sec.round() as u64;
    let digits = whole.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}", a / b)
    } else {
        "-".into()
    }
}

fn lat(l: &Latency) -> String {
    format!("p50 {} ms, p99 {} ms", ms(l.p50_ms), ms(l.p99_ms))
}

fn load(r: &LoadResult) -> String {
    format!(
        "{}/s, {}, {:.2} cores",
        rate(r.per_sec),
        lat(&r.latency),
        r.server_cores
    )
}

fn delivered(d: &Delivery) -> String {
    format!(
        "{}/s, {}, lost {} of {}",
        rate(d.per_sec),
        lat(&d.latency),
        d.lost,
        d.expected
    )
}

impl Results {
    fn summary(&self, md: &mut String) {
        md.push_str("## Summary against the targets of issue 9\n\n");
        md.push_str("Ratios are Guildhall over the ceiling measured in the same run.\n\n");
        md.push_str("| scenario | Guildhall | ceiling, same run | ratio | target |\n|---|---|---|---|---|\n");
        for row in self.rows() {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                row.scenario, row.guildhall, row.ceiling, row.ratio, row.target
            );
        }
        md.push('\n');
    }

    /// Each summary line of this run beside the same line of `before`.
    fn comparison(&self, before: &Results, md: &mut String) {
        let _ = writeln!(
            md,
            "## Before and after\n\nThe run before is commit `{}` of {} (its own report: that commit's `docs/benchmarks.md`); this run is commit `{}`. Both columns are Guildhall's figure and, after the semicolon, its ratio to the ceiling measured in the same run.\n",
            before.meta.commit, before.meta.date, self.meta.commit
        );
        md.push_str("| scenario | before | after | target |\n|---|---|---|---|\n");
        let earlier = before.rows();
        for row in self.rows() {
            let then = earlier
                .iter()
                .find(|r| r.scenario == row.scenario)
                .map_or_else(
                    || "-".to_string(),
                    |r| format!("{}; {}", r.guildhall, r.ratio),
                );
            let _ = writeln!(
                md,
                "| {} | {then} | {}; {} | {} |",
                row.scenario, row.guildhall, row.ratio, row.target
            );
        }
        md.push('\n');
    }

    fn rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        for (list, what) in [
            (&self.post, "`POST /messages`"),
            (&self.get, "`GET /messages` newest 50"),
        ] {
            for compared in list {
                let target = match (std::ptr::eq(list, &self.post), compared.db) {
                    (true, Db::Sqlite) => ">= 0.65 x, p99 <= 10 ms",
                    (true, Db::Postgres) => ">= 1.5 x (batched inserts), p99 <= 15 ms",
                    (false, _) => ">= 3 x (served from memory), p99 <= 10 ms",
                };
                if let Some(pair) = compared
                    .points
                    .iter()
                    .find(|p| p.guildhall.concurrency == 64)
                {
                    rows.push(Row {
                        scenario: format!("{what}, {}, 64 connections", compared.db.label()),
                        guildhall: load(&pair.guildhall),
                        ceiling: format!("{}: {}", compared.ceiling, load(&pair.bare)),
                        ratio: format!("{:.2}", pair.ratio()),
                        target,
                    });
                }
            }
        }
        if let Some(chat) = &self.chat {
            let sqlite_post = self.post.iter().find(|c| c.db == Db::Sqlite);
            let post = sqlite_post.and_then(|c| near(&c.points, chat.guildhall.concurrency));
            let (at, post, insert) = post
                .map(|p| (p.guildhall.concurrency, p.guildhall.per_sec, p.bare.per_sec))
                .unwrap_or_default();
            rows.push(Row {
                scenario: format!(
                    "`chat` with ack, {} sockets, SQLite",
                    chat.guildhall.concurrency
                ),
                guildhall: format!(
                    "{}/s, ack {}",
                    rate(chat.guildhall.per_sec),
                    lat(&chat.guildhall.latency)
                ),
                ceiling: format!(
                    "bare-insert at {at}: {}/s; `POST` at {at}: {}/s",
                    rate(insert),
                    rate(post)
                ),
                ratio: format!(
                    "{} (x `POST`: {})",
                    ratio(chat.guildhall.per_sec, insert),
                    ratio(chat.guildhall.per_sec, post)
                ),
                target: ">= the `POST` figure, ack p99 <= 10 ms",
            });
        }
        for point in self.fanout.iter().flatten() {
            rows.push(Row {
                scenario: format!("fan-out, one channel, N = {}", rate(point.n as f64)),
                guildhall: delivered(&point.guildhall),
                ceiling: format!("bare-broadcast: {}", delivered(&point.bare)),
                ratio: format!("{:.2}", point.ratio()),
                target: "every message on every socket, >= 0.95 x, p99 <= bare p99 + `POST` p99",
            });
        }
        if let Some(m) = &self.members {
            rows.push(Row {
                scenario: format!(
                    "{} members connecting at once while messages flow",
                    rate(m.members as f64)
                ),
                guildhall: format!(
                    "{}; {} presence packets",
                    delivered(&m.storm),
                    rate(m.storm.presence_updates as f64)
                ),
                ceiling: format!("bare-broadcast: {}", delivered(&m.storm_bare)),
                ratio: "-".into(),
                target: "every message delivered, p99 <= 100 ms",
            });
            if let Some(r) = &m.rooms {
                rows.push(Row {
                    scenario: format!(
                        "{} sockets in {} servers of {}, {} msg/s",
                        rate((r.servers * r.sockets_per_server) as f64),
                        r.servers,
                        r.sockets_per_server,
                        rate(r.guildhall.rate)
                    ),
                    guildhall: delivered(&r.guildhall),
                    ceiling: format!("bare-broadcast: {}", delivered(&r.bare)),
                    ratio: format!(
                        "{} (p99 x{})",
                        ratio(r.guildhall.per_sec, r.bare.per_sec),
                        ratio(r.guildhall.latency.p99_ms, r.bare.latency.p99_ms)
                    ),
                    target: ">= 0.95 x, p99 <= 1.5 x",
                });
            }
            rows.push(Row {
                scenario: "idle RSS".into(),
                guildhall: mib(m.idle_rss),
                ceiling: "-".into(),
                ratio: "-".into(),
                target: "<= 16 MiB",
            });
            rows.push(Row {
                scenario: format!("RSS after {} sign-ups and logins", rate(m.members as f64)),
                guildhall: format!(
                    "{} (idle + {})",
                    mib(m.rss_after_signups),
                    mib(m.rss_after_signups.saturating_sub(m.idle_rss))
                ),
                ceiling: "-".into(),
                ratio: "-".into(),
                target: "<= idle + 64 MiB",
            });
            rows.push(Row {
                scenario: "start to first answered request, existing database".into(),
                guildhall: format!("median {} ms", ms(median(&m.startup_ms))),
                ceiling: format!("bare-http: median {} ms", ms(median(&m.bare_startup_ms))),
                ratio: ratio(median(&m.startup_ms), median(&m.bare_startup_ms)),
                target: "<= 200 ms",
            });
        }
        if let Some(memory) = &self.memory {
            for point in &memory.points {
                let (g, b) = point.per_socket(memory);
                rows.push(Row {
                    scenario: format!(
                        "RSS per idle socket at {} sockets",
                        rate(point.sockets as f64)
                    ),
                    guildhall: kib(g),
                    ceiling: format!("bare-broadcast: {}", kib(b)),
                    ratio: ratio(g, b),
                    target: "<= 1.1 x",
                });
            }
        }
        rows
    }

    fn details(&self, md: &mut String) {
        if let Some(http) = &self.http {
            md.push_str("## bare-http (the HTTP ceiling)\n\n| connections | req/s | p50 ms | p99 ms | server cores |\n|---|---|---|---|---|\n");
            for r in http {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {:.2} |",
                    r.concurrency,
                    rate(r.per_sec),
                    ms(r.latency.p50_ms),
                    ms(r.latency.p99_ms),
                    r.server_cores
                );
            }
            md.push('\n');
        }
        for (title, list) in [
            ("`POST /messages`, bearer auth", &self.post),
            ("`GET /messages` newest 50", &self.get),
        ] {
            for c in list {
                let _ = writeln!(md, "## {title}, {}\n", c.db.label());
                if let Some((n, per_sec)) = c.seeded {
                    let _ = writeln!(
                        md,
                        "Seeded with {} messages over the channels through `POST /messages` at 64 connections: {}/s.\n",
                        rate(n as f64),
                        rate(per_sec)
                    );
                }
                let _ = writeln!(
                    md,
                    "| connections | Guildhall req/s | p50 ms | p99 ms | cores | errors | {0} req/s | p50 ms | p99 ms | cores | ratio |\n|---|---|---|---|---|---|---|---|---|---|---|",
                    c.ceiling
                );
                for p in &c.points {
                    let (g, b) = (&p.guildhall, &p.bare);
                    let _ = writeln!(
                        md,
                        "| {} | {} | {} | {} | {:.2} | {} | {} | {} | {} | {:.2} | {:.2} |",
                        g.concurrency,
                        rate(g.per_sec),
                        ms(g.latency.p50_ms),
                        ms(g.latency.p99_ms),
                        g.server_cores,
                        g.errors + b.errors,
                        rate(b.per_sec),
                        ms(b.latency.p50_ms),
                        ms(b.latency.p99_ms),
                        b.server_cores,
                        p.ratio()
                    );
                }
                for first in c
                    .points
                    .iter()
                    .filter_map(|p| p.guildhall.first_error.as_ref())
                    .take(1)
                {
                    let _ = writeln!(md, "\nFirst error: `{}`", first.replace('`', "'"));
                }
                md.push('\n');
            }
        }
        if let Some(chat) = &self.chat {
            md.push_str("## `chat` over Socket.IO with ack, SQLite\n\n| | sockets | msg/s | ack p50 ms | ack p99 ms | server cores | error acks |\n|---|---|---|---|---|---|---|\n");
            for (name, r) in [
                ("Guildhall", &chat.guildhall),
                ("bare-broadcast", &chat.bare_broadcast),
            ] {
                let _ = writeln!(
                    md,
                    "| {name} | {} | {} | {} | {} | {:.2} | {} |",
                    r.concurrency,
                    rate(r.per_sec),
                    ms(r.latency.p50_ms),
                    ms(r.latency.p99_ms),
                    r.server_cores,
                    r.errors
                );
            }
            md.push('\n');
        }
        if let Some(points) = &self.fanout {
            md.push_str("## Fan-out of one channel\n\n");
            md.push_str(&delivery_header("N"));
            for p in points {
                md.push_str(&delivery_row(&rate(p.n as f64), "Guildhall", &p.guildhall));
                md.push_str(&delivery_row(&rate(p.n as f64), "bare-broadcast", &p.bare));
            }
            md.push('\n');
        }
        if let Some(m) = &self.members {
            let _ = writeln!(
                md,
                "## {} members\n\nSign-ups and logins: {} in {:.1} s ({} argon2 hashes). RSS idle {}, after them {}.\n",
                rate(m.members as f64),
                rate(m.members as f64),
                m.signup_secs,
                rate(2.0 * m.members as f64),
                mib(m.idle_rss),
                mib(m.rss_after_signups)
            );
            md.push_str("### Connecting at once while messages flow\n\n");
            md.push_str(&delivery_header("sockets"));
            md.push_str(&delivery_row(
                &rate(m.storm.sockets as f64),
                "Guildhall",
                &m.storm,
            ));
            md.push_str(&delivery_row(
                &rate(m.storm_bare.sockets as f64),
                "bare-broadcast",
                &m.storm_bare,
            ));
            let _ = writeln!(
                md,
                "\nHandshake to confirmation: Guildhall {}, bare-broadcast {}. Presence updates delivered meanwhile: {}.\n",
                lat(&m.storm.connect),
                lat(&m.storm_bare.connect),
                rate(m.storm.presence_updates as f64)
            );
            let list = |v: &[f64]| v.iter().map(|t| ms(*t)).collect::<Vec<_>>().join(", ");
            let _ = writeln!(
                md,
                "### Start to first answered request\n\nGuildhall on the existing database ({} members): {} ms. bare-http: {} ms.\n",
                rate(m.members as f64),
                list(&m.startup_ms),
                list(&m.bare_startup_ms)
            );
            if let Some(r) = &m.rooms {
                let _ = writeln!(
                    md,
                    "### {} sockets in {} servers of {}\n",
                    rate((r.servers * r.sockets_per_server) as f64),
                    r.servers,
                    r.sockets_per_server
                );
                md.push_str(&delivery_header("sockets"));
                md.push_str(&delivery_row(
                    &rate(r.guildhall.sockets as f64),
                    "Guildhall",
                    &r.guildhall,
                ));
                md.push_str(&delivery_row(
                    &rate(r.bare.sockets as f64),
                    "bare-broadcast",
                    &r.bare,
                ));
                md.push('\n');
            }
        }
        if let Some(memory) = &self.memory {
            md.push_str("## Memory per idle socket\n\n| sockets | Guildhall RSS | per socket | bare-broadcast RSS | per socket | ratio |\n|---|---|---|---|---|---|\n");
            let _ = writeln!(
                md,
                "| 0 (Guildhall: one account signed up) | {} | - | {} | - | - |",
                mib(memory.guildhall_idle),
                mib(memory.bare_idle)
            );
            for p in &memory.points {
                let (g, b) = p.per_socket(memory);
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} | {} |",
                    rate(p.sockets as f64),
                    mib(p.guildhall_rss),
                    kib(g),
                    mib(p.bare_rss),
                    kib(b),
                    ratio(g, b)
                );
            }
            md.push('\n');
        }
    }

    /// Reads the `results.json` of an earlier run, to write its report again.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        Ok(serde_json::from_slice(&std::fs::read(path)?)?)
    }

    /// Writes the report to `out` and its plots and `results.json` to
    /// `out` without its extension (`docs/benchmarks/`).
    pub fn write(&self, out: &Path) -> anyhow::Result<()> {
        let dir = out.with_extension("");
        std::fs::create_dir_all(&dir)?;
        let dir_name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let m = &self.meta;
        let mut md = String::new();
        md.push_str("# Guildhall benchmarks\n\n");
        md.push_str(
            "<!-- Written by scripts/bench (bench/, issue 9). Do not edit: run it again. -->\n\n",
        );
        let _ = writeln!(
            md,
            "Measured at commit `{}` on {}{}. Every figure below was written by `{}`; none is typed by hand.\n",
            m.commit,
            m.date,
            m.note
                .as_ref()
                .map(|n| format!(". {n}"))
                .unwrap_or_default(),
            m.command
        );
        let _ = writeln!(
            md,
            "- Machine: {}, {} cores, {:.1} GiB RAM; open-file limit {} (bench and servers)\n- Versions: {}; {}\n- Load generator on the same machine as the servers; the run took {:.0} s; load average (1, 5, 15 min) {} before, {} after\n- Plan: `{}`\n",
            m.cpu,
            m.cores,
            m.ram_gib,
            m.nofile,
            m.guildhall,
            m.rustc,
            m.elapsed_secs,
            m.load_before,
            m.load_after,
            m.plan
        );
        if !self.failures.is_empty() {
            md.push_str("## Failures\n\n");
            for f in &self.failures {
                let _ = writeln!(md, "- {}", f.replace('\n', " "));
            }
            md.push('\n');
        }
        self.summary(&mut md);
        if let Some(before) = &self.before {
            self.comparison(before, &mut md);
        }
        let plots = self.plots();
        if !plots.is_empty() {
            md.push_str("## Plots\n\n");
            for (file, chart) in &plots {
                std::fs::write(dir.join(file), chart.svg())?;
                let _ = writeln!(md, "![{}]({dir_name}/{file})\n", chart.title);
            }
        }
        self.details(&mut md);
        md.push_str(METHOD);
        std::fs::write(out, md)?;
        std::fs::write(
            dir.join("results.json"),
            serde_json::to_string_pretty(self)?,
        )?;
        Ok(())
    }

    fn plots(&self) -> Vec<(String, Chart)> {
        let mut plots = Vec::new();
        for (file, what, list) in [
            ("post", "POST /messages", &self.post),
            ("get", "GET /messages", &self.get),
        ] {
            if list.is_empty() {
                continue;
            }
            let series = |pick: fn(&LoadResult) -> f64| {
                let mut out = Vec::new();
                for (group, c) in list.iter().enumerate() {
                    out.push(Series {
                        name: format!("Guildhall {}", c.db.label()),
                        points: c
                            .points
                            .iter()
                            .map(|p| (p.guildhall.concurrency as f64, pick(&p.guildhall)))
                            .collect(),
                        dashed: false,
                        group,
                    });
                    out.push(Series {
                        name: c.ceiling.clone(),
                        points: c
                            .points
                            .iter()
                            .map(|p| (p.bare.concurrency as f64, pick(&p.bare)))
                            .collect(),
                        dashed: true,
                        group,
                    });
                }
                out
            };
            let throughput = Chart {
                title: format!("{what}: throughput"),
                x_label: "connections",
                y_label: "requests per second",
                log_x: true,
                series: series(|r| r.per_sec),
            };
            let p99 = Chart {
                title: format!("{what}: p99 latency"),
                x_label: "connections",
                y_label: "p99 ms",
                log_x: true,
                series: series(|r| r.latency.p99_ms),
            };
            plots.push((format!("{file}-throughput.svg"), throughput));
            plots.push((format!("{file}-p99.svg"), p99));
        }
        if let Some(points) = self.fanout.as_ref().filter(|p| !p.is_empty()) {
            let series = |pick: fn(&Delivery) -> f64| {
                vec![
                    Series {
                        name: "Guildhall".into(),
                        points: points
                            .iter()
                            .map(|p| (p.n as f64, pick(&p.guildhall)))
                            .collect(),
                        dashed: false,
                        group: 0,
                    },
                    Series {
                        name: "bare-broadcast".into(),
                        points: points.iter().map(|p| (p.n as f64, pick(&p.bare))).collect(),
                        dashed: true,
                        group: 0,
                    },
                ]
            };
            plots.push((
                "fanout-deliveries.svg".into(),
                Chart {
                    title: "Fan-out: deliveries per second".into(),
                    x_label: "listening sockets (N)",
                    y_label: "deliveries per second",
                    log_x: true,
                    series: series(|d| d.per_sec),
                },
            ));
            plots.push((
                "fanout-p99.svg".into(),
                Chart {
                    title: "Fan-out: p99 post to delivery".into(),
                    x_label: "listening sockets (N)",
                    y_label: "p99 ms",
                    log_x: true,
                    series: series(|d| d.latency.p99_ms),
                },
            ));
        }
        if let Some(memory) = self.memory.as_ref().filter(|m| !m.points.is_empty()) {
            let mb = |b: u64| b as f64 / 1048576.0;
            let g = std::iter::once((0.0, mb(memory.guildhall_idle))).chain(
                memory
                    .points
                    .iter()
                    .map(|p| (p.sockets as f64, mb(p.guildhall_rss))),
            );
            let b = std::iter::once((0.0, mb(memory.bare_idle))).chain(
                memory
                    .points
                    .iter()
                    .map(|p| (p.sockets as f64, mb(p.bare_rss))),
            );
            plots.push((
                "memory.svg".into(),
                Chart {
                    title: "RSS against idle sockets".into(),
                    x_label: "idle sockets",
                    y_label: "RSS MiB",
                    log_x: false,
                    series: vec![
                        Series {
                            name: "Guildhall".into(),
                            points: g.collect(),
                            dashed: false,
                            group: 0,
                        },
                        Series {
                            name: "bare-broadcast".into(),
                            points: b.collect(),
                            dashed: true,
                            group: 0,
                        },
                    ],
                },
            ));
        }
        plots
    }
}

/// The point at `concurrency`, else the nearest one.
fn near(points: &[Pair], concurrency: usize) -> Option<&Pair> {
    points
        .iter()
        .min_by_key(|p| p.guildhall.concurrency.abs_diff(concurrency))
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn delivery_header(first: &str) -> String {
    format!(
        "| {first} | server | msg/s posted | deliveries/s | p50 ms | p99 ms | max ms | lost / owed | post p99 ms | sockets closed | post errors |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
}

fn delivery_row(first: &str, server: &str, d: &Delivery) -> String {
    format!(
        "| {first} | {server} | {} | {} | {} | {} | {} | {} / {} | {} | {} | {} |\n",
        if d.rate >= 10.0 {
            format!("{:.0}", d.rate)
        } else {
            format!("{:.1}", d.rate)
        },
        rate(d.per_sec),
        ms(d.latency.p50_ms),
        ms(d.latency.p99_ms),
        ms(d.latency.max_ms),
        d.lost,
        d.expected,
        ms(d.post_latency.p99_ms),
        d.closed_sockets + d.failed_sockets,
        d.post_errors
    )
}

const METHOD: &str = "## How the figures are measured\n\n\
- Servers are release builds started fresh by the bench for each scenario (a fresh SQLite file, or a PostgreSQL database created and dropped by the bench), Guildhall with `--rate-limits false` and `--socket-events-per-minute` raised. The load generator runs on the same machine and shares its cores.\n\
- HTTP scenarios are closed loops: each connection (HTTP/1.1 keep-alive) sends its next request when the last is answered. Guildhall and its ceiling run alternately at each concurrency, after an unrecorded warm-up. Latencies are HDR histograms (1 % precision). Server cores are the server's user + system CPU time (`/proc/PID/stat`) over the measured window.\n\
- `POST /messages` workers use the sessions of several members (bearer tokens) and spread over the channels; `GET /messages` reads `?channel_id=..&limit=50` of a channel seeded with the others to the message count.\n\
- Live scenarios post with `POST /messages` at a steady rate (an open loop); each message carries its sequence number and send time, and every socket records each one it receives. A delivery is owed to a socket for every message sent after its connection was confirmed, in a channel it reads; lost = owed - received after draining (up to 10 s, until 2 s pass without a delivery). Deliveries per second run from the first post to the last delivery; latency from the post being sent to its delivery.\n\
- Sockets are raw Engine.IO v4 / Socket.IO v5 clients over WebSocket; fan-out listeners of Guildhall share a few accounts (several sockets per account), which argon2's cost per sign-up makes necessary at 10,000.\n\
- RSS is VmRSS from `/proc/PID/status`, read after the traffic has settled; per idle socket = (RSS with the sockets - idle RSS) / sockets.\n\
- Start time is from spawning the process to its first answered HTTP request (polled every millisecond).\n";
