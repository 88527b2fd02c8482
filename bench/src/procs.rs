//! The servers under test as child processes: start one on a free port,
//! time it to its first answered request, read its CPU time and RSS from
//! /proc, stop it with SIGTERM.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

use crate::http::{Call, HttpConn};

/// Raises this process's open-file limit to its hard limit; children
/// inherit it, so every server the bench starts gets it too.
pub fn raise_nofile_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
    limit.rlim_cur
}

/// A port nobody listens on right now.
pub fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

pub struct Server {
    pub name: String,
    pub addr: SocketAddr,
    pub pid: u32,
    /// From spawn to the first answered request.
    pub start_time: Duration,
    child: Child,
}

/// How to start one server: binary, arguments (`{addr}` is replaced by the
/// listen address), and the path it answers cheaply (any status counts).
#[derive(Clone, Debug)]
pub struct Launch {
    pub name: String,
    pub binary: PathBuf,
    pub args: Vec<String>,
    pub probe: String,
    pub log: PathBuf,
}

impl Launch {
    pub fn new(name: &str, binary: &Path, args: &[&str], probe: &str, log_dir: &Path) -> Self {
        Self {
            name: name.to_string(),
            binary: binary.to_path_buf(),
            args: args.iter().map(|a| a.to_string()).collect(),
            probe: probe.to_string(),
            log: log_dir.join(format!("{name}.log")),
        }
    }

    /// Starts the server and waits (up to `patience`) for its first answer.
    pub async fn start(&self, patience: Duration) -> anyhow::Result<Server> {
        let addr = free_addr()?;
        let args: Vec<String> = self
            .args
            .iter()
            .map(|a| a.replace("{addr}", &addr.to_string()))
            .collect();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("log file {}", self.log.display()))?;
        let started = Instant::now();
        let mut child = Command::new(&self.binary)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        let pid = child.id().context("child pid")?;
        let deadline = started + patience;
        loop {
            if let Ok(mut conn) = HttpConn::connect(addr).await
                && conn.send(&Call::get(&self.probe, None)).await.is_ok()
            {
                break;
            }
            if let Some(status) = child.try_wait()? {
                bail!(
                    "{} exited with {status} before answering; see {}",
                    self.name,
                    self.log.display()
                );
            }
            if Instant::now() > deadline {
                bail!("{} did not answer within {patience:?}", self.name);
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok(Server {
            name: self.name.clone(),
            addr,
            pid,
            start_time: started.elapsed(),
            child,
        })
    }
}

impl Server {
    /// Resident set size now, in bytes.
    pub fn rss(&self) -> u64 {
        rss_of(self.pid).unwrap_or(0)
    }

    /// User + system CPU time used so far.
    pub fn cpu(&self) -> Duration {
        cpu_of(self.pid).unwrap_or_default()
    }

    /// SIGTERM, then SIGKILL if it has not stopped within 10 s.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        // SAFETY: kill(2) with a pid we spawned and still own.
        unsafe {
            libc::kill(self.pid as i32, libc::SIGTERM);
        }
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            self.child.kill().await?;
        }
        Ok(())
    }
}

fn rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn cpu_of(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which may itself hold spaces and ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat(5); `rest` starts at 3.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(Duration::from_micros(ticks * 1_000_000 / per_sec))
}

/// CPU cores a process used between two readings.
pub fn cores(cpu_before: Duration, cpu_after: Duration, wall: Duration) -> f64 {
    (cpu_after.saturating_sub(cpu_before)).as_secs_f64() / wall.as_secs_f64().max(1e-9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_cpu_and_rss() {
        let pid = std::process::id();
        assert!(rss_of(pid).unwrap() > 0);
        assert!(cpu_of(pid).is_some());
    }
}
