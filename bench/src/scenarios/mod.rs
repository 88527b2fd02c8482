//! The scenarios of issue 9, each against freshly started servers: the
//! plan (sizes and durations, all flags), how servers are launched, and
//! how the deliveries of a live run are counted.

pub mod chat;
pub mod fanout;
pub mod http_rw;
pub mod members;
pub mod memory;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::load::{Latency, SteadyRun, Timing, histogram};
use crate::pg::PgDatabase;
use crate::procs::Launch;
use crate::socket::{Tally, record_latencies};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
pub enum Scenario {
    Http,
    Post,
    Get,
    Chat,
    Fanout,
    Members,
    Memory,
}

/// Sizes and durations of a run; every one is a flag.
#[derive(Clone, Debug, clap::Args)]
pub struct Plan {
    /// Connection counts of the closed-loop HTTP scenarios.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 16, 64, 256])]
    pub concurrency: Vec<usize>,
    /// Unrecorded warm-up before each measured window, seconds.
    #[arg(long, default_value_t = 1.0)]
    pub warmup_secs: f64,
    /// Measured window of each closed-loop point, seconds.
    #[arg(long, default_value_t = 5.0)]
    pub secs: f64,
    /// Accounts (members of one server) whose sessions the HTTP workers use.
    #[arg(long, default_value_t = 16)]
    pub http_users: usize,
    /// Channels the HTTP scenarios post to and read from.
    #[arg(long, default_value_t = 10)]
    pub channels: usize,
    /// Messages seeded before `GET /messages` is measured.
    #[arg(long, default_value_t = 100_000)]
    pub messages: u64,
    /// Sockets of the `chat` scenario (one account and server each).
    #[arg(long, default_value_t = 64)]
    pub chat_sockets: usize,
    /// Listening sockets of the fan-out scenario, one run each.
    #[arg(long, value_delimiter = ',', default_values_t = [100, 1_000, 10_000])]
    pub fanout: Vec<usize>,
    /// Accounts the fan-out listeners belong to (sockets spread over them).
    #[arg(long, default_value_t = 10)]
    pub fanout_users: usize,
    /// Fan-out post rate, as deliveries per second (rate = this / N).
    #[arg(long, default_value_t = 20_000.0)]
    pub fanout_deliveries_per_sec: f64,
    /// Posting time of each fan-out run, seconds.
    #[arg(long, default_value_t = 10.0)]
    pub fanout_secs: f64,
    /// Members who connect at once (also the sign-ups of the memory figure).
    #[arg(long, default_value_t = 1_000)]
    pub members: usize,
    /// Messages per second posted while they connect.
    #[arg(long, default_value_t = 50.0)]
    pub storm_rate: f64,
    /// Posting time of the connect storm, seconds (members connect after 1 s).
    #[arg(long, default_value_t = 10.0)]
    pub storm_secs: f64,
    /// Servers of the many-rooms scenario.
    #[arg(long, default_value_t = 100)]
    pub rooms: usize,
    /// Accounts per server there.
    #[arg(long, default_value_t = 10)]
    pub room_users: usize,
    /// Sockets per account there (servers of room_users x this sockets).
    #[arg(long, default_value_t = 10)]
    pub sockets_per_user: usize,
    /// Messages per second over all servers there.
    #[arg(long, default_value_t = 500.0)]
    pub rooms_rate: f64,
    /// Posting time there, seconds.
    #[arg(long, default_value_t = 10.0)]
    pub rooms_secs: f64,
    /// Idle socket counts at which RSS is read.
    #[arg(long, value_delimiter = ',', default_values_t = [10_000, 19_500])]
    pub memory_sockets: Vec<usize>,
    /// Restarts on an existing database, timed to the first answer.
    #[arg(long, default_value_t = 5)]
    pub startup_runs: usize,
    /// Sign-ups and logins in flight at once (argon2 is the cost).
    #[arg(long, default_value_t = 4)]
    pub signup_parallel: usize,
    /// Socket handshakes in flight at once (except the connect storm).
    #[arg(long, default_value_t = 256)]
    pub connect_parallel: usize,
    /// Where the bench creates and drops its PostgreSQL databases.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres_admin_url: String,
    /// Skip the PostgreSQL scenarios.
    #[arg(long)]
    pub no_postgres: bool,
    /// Run only these scenarios (default: all).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<Scenario>,
}

impl Plan {
    pub fn timing(&self) -> Timing {
        Timing {
            warmup: Duration::from_secs_f64(self.warmup_secs),
            duration: Duration::from_secs_f64(self.secs),
        }
    }

    pub fn runs(&self, scenario: Scenario) -> bool {
        self.only.is_empty() || self.only.contains(&scenario)
    }

    pub fn databases(&self) -> Vec<Db> {
        if self.no_postgres {
            vec![Db::Sqlite]
        } else {
            vec![Db::Sqlite, Db::Postgres]
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Db {
    Sqlite,
    Postgres,
}

impl Db {
    pub fn label(self) -> &'static str {
        match self {
            Db::Sqlite => "SQLite",
            Db::Postgres => "PostgreSQL",
        }
    }
}

/// How long a server may take to answer after start (the read ceilings
/// seed 100,000 rows first).
pub const START_PATIENCE: Duration = Duration::from_secs(120);

/// Where binaries are, where logs and SQLite files go.
pub struct Ctx {
    pub plan: Plan,
    pub bins: PathBuf,
    pub work: PathBuf,
}

/// A database made for one scenario, dropped (PostgreSQL) when done.
pub struct FreshDb {
    pub url: String,
    pg: Option<PgDatabase>,
}

impl FreshDb {
    pub async fn remove(self) -> anyhow::Result<()> {
        match self.pg {
            Some(pg) => pg.drop_now().await,
            None => Ok(()),
        }
    }
}

impl Ctx {
    pub fn log_dir(&self) -> &Path {
        &self.work
    }

    /// A new empty database for `tag`.
    pub async fn fresh_db(&self, db: Db, tag: &str) -> anyhow::Result<FreshDb> {
        match db {
            Db::Sqlite => {
                let path = self
                    .work
                    .join(format!("{tag}-{}.db", crate::clock::now_us()));
                Ok(FreshDb {
                    url: format!("sqlite://{}", path.display()),
                    pg: None,
                })
            }
            Db::Postgres => {
                let pg = PgDatabase::create(&self.plan.postgres_admin_url, tag).await?;
                Ok(FreshDb {
                    url: pg.url.clone(),
                    pg: Some(pg),
                })
            }
        }
    }

    /// Guildhall on `database_url`, with REST rate limits off and the socket
    /// event budget and socket cap raised so that the bench measures work,
    /// not refusals.
    pub fn guildhall(&self, database_url: &str, tag: &str) -> Launch {
        Launch::new(
            &format!("guildhall-{tag}"),
            &self.bins.join("guildhall"),
            &[
                "--listen",
                "{addr}",
                "--database-url",
                database_url,
                "--rate-limits",
                "false",
                "--socket-events-per-minute",
                "1000000000",
                // Fan-out and memory scenarios share a few accounts over
                // thousands of sockets.
                "--max-sockets-per-user",
                "1000000",
                "--login-attempts-per-minute",
                "1000000",
            ],
            "/auth/me",
            self.log_dir(),
        )
    }

    /// A bare ceiling program (`bare-insert` runs `bare_insert`).
    pub fn bare(&self, program: &str, database_url: Option<&str>, tag: &str) -> Launch {
        let mut args = vec!["--listen", "{addr}"];
        if let Some(url) = database_url {
            args.extend(["--database-url", url]);
        }
        let rows = self.plan.messages.to_string();
        let channels = self.plan.channels.to_string();
        args.extend(["--rows", &rows, "--channels", &channels]);
        Launch::new(
            &format!("{program}-{tag}"),
            &self.bins.join(program.replace('-', "_")),
            &args,
            "/ping",
            self.log_dir(),
        )
    }
}

/// How the messages of a live run reached the listening sockets.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Delivery {
    pub sockets: usize,
    /// Sockets that could not connect.
    pub failed_sockets: u64,
    /// Sockets the server closed during the run.
    pub closed_sockets: u64,
    /// Post rate asked for, per second.
    pub rate: f64,
    pub posted: u64,
    pub post_errors: u64,
    /// Deliveries owed: each message posted after a socket connected, to
    /// every socket entitled to it.
    pub expected: u64,
    /// Of those, how many arrived (duplicates not counted).
    pub received: u64,
    pub lost: u64,
    /// Message deliveries per second, first post to last delivery.
    pub per_sec: f64,
    /// Post (sent) to delivery.
    pub latency: Latency,
    pub post_latency: Latency,
    /// Socket handshake to the server's confirmation.
    pub connect: Latency,
    pub presence_updates: u64,
    pub first_error: Option<String>,
}

/// Counts what `tallies` (socket `i` in group `socket_group(i)`) got of
/// `run`'s messages (message `seq` to group `message_group(seq)`).
pub fn deliveries(
    tallies: Vec<anyhow::Result<Tally>>,
    run: &SteadyRun,
    rate: f64,
    socket_group: impl Fn(usize) -> usize,
    message_group: impl Fn(u64) -> usize,
) -> Delivery {
    let mut out = Delivery {
        sockets: tallies.len(),
        rate,
        posted: run.posted.iter().filter(|p| p.ok).count() as u64,
        post_errors: run.posted.iter().filter(|p| !p.ok).count() as u64,
        post_latency: run.post_latency,
        first_error: run.first_error.clone(),
        ..Delivery::default()
    };
    let mut latency = histogram();
    let mut connect = histogram();
    let mut last_us = 0;
    let first_us = run.posted.first().map(|p| p.sent_us).unwrap_or(0);
    let mut seen = vec![false; run.posted.len()];
    for (i, tally) in tallies.into_iter().enumerate() {
        let tally = match tally {
            Ok(tally) => tally,
            Err(e) => {
                out.failed_sockets += 1;
                out.first_error.get_or_insert(format!("socket: {e:#}"));
                continue;
            }
        };
        out.closed_sockets += u64::from(tally.closed);
        out.presence_updates += tally.presence;
        let _ = connect.record(tally.connect_us.max(1));
        record_latencies(&mut latency, &tally);
        last_us = last_us.max(tally.last_us);
        seen.iter_mut().for_each(|s| *s = false);
        for &seq in &tally.seqs {
            if let Some(s) = seen.get_mut(seq as usize) {
                *s = true;
            }
        }
        let group = socket_group(i);
        for p in &run.posted {
            if p.ok && p.sent_us >= tally.connected_us && message_group(p.seq) == group {
                out.expected += 1;
                out.received += u64::from(seen[p.seq as usize]);
            }
        }
    }
    out.lost = out.expected - out.received;
    out.latency = Latency::of(&latency);
    out.connect = Latency::of(&connect);
    let span = last_us.saturating_sub(first_us) as f64 / 1e6;
    out.per_sec = if span > 0.0 {
        latency.len() as f64 / span
    } else {
        0.0
    };
    out
}

/// Connections a steady-rate poster spreads its posts over: an open loop
/// must not be held back by its own connections when answers slow down
/// (500 msg/s at 200 ms a post needs 100).
pub const POSTERS: usize = 128;

/// How long a live run waits for deliveries still on their way: at most
/// `DRAIN`, and no longer than `DRAIN_QUIET` without a new delivery.
pub const DRAIN: Duration = Duration::from_secs(10);
pub const DRAIN_QUIET: Duration = Duration::from_secs(2);

/// Waits until at most `owed` deliveries arrived (or they stopped coming),
/// then stops the crowd and returns what each socket saw.
pub async fn drain(crowd: crate::socket::Crowd, owed: u64) -> Vec<anyhow::Result<Tally>> {
    crowd.delivered(owed, DRAIN_QUIET, DRAIN).await;
    crowd.finish().await
}
