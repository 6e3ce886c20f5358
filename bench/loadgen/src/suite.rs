//! `tidings-loadgen suite`: the compare driver. It starts each peer pinned to its core,
//! runs every scenario against it with worker processes of this binary on the other
//! core, reads CPU time and RSS from `/proc`, repeats the whole set `--runs` times (the
//! echo scenarios `--echo-runs` times) and prints one markdown table of medians with the
//! ratios Tidings/peer.
//!
//! Every wait is bounded; every child (peer, worker) has its own `--max-seconds` and is
//! killed when its handle drops.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::histogram::Histogram;
use crate::{Args, admin, now_micros, procfs};

/// The core the servers run on (Tidings with 2 workers gets both).
const SERVER_CPUS: &str = "0";
/// The core the load generator runs on.
const CLIENT_CPUS: &str = "1";
/// Most connections one worker process opens (fd limit ~19.9k per process).
const PER_WORKER: usize = 10_000;
/// Handshakes in flight per worker.
const CONCURRENCY: usize = 200;

/// How a child process is scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Priority {
    /// The default time-sharing class.
    Normal,
    /// `SCHED_FIFO` priority 1: a latency run is not preempted by ordinary processes of
    /// the machine (on the development VM, its agent wakes once a second and holds a
    /// core for ~3.4 ms at nice −10). Only for servers that do their work on one thread:
    /// threads of one process that share a core under `SCHED_FIFO` are not time-sliced,
    /// and Node then used 980 µs of CPU per polling echo instead of 130.
    Realtime,
}

impl Priority {
    /// `Realtime` when `chrt -f 1` works here (it needs `CAP_SYS_NICE`), else `Normal`.
    fn best_available() -> Self {
        let works = Command::new("chrt")
            .args(["-f", "1", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if works { Self::Realtime } else { Self::Normal }
    }
}

/// `program` pinned to `cpus` with `priority`: `[chrt -f 1] taskset -c <cpus> <program>`.
fn pinned(cpus: &str, priority: Priority, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = match priority {
        Priority::Normal => Command::new("taskset"),
        Priority::Realtime => {
            let mut chrt = Command::new("chrt");
            chrt.args(["-f", "1", "taskset"]);
            chrt
        }
    };
    command.args(["-c", cpus]).arg(program);
    command
}

/// Sizes of one run of the scenarios.
#[derive(Clone, Debug)]
struct Plan {
    quick: bool,
    idle_steps: Vec<usize>,
    settle: Duration,
    broadcasts: [(usize, u64, u64); 2],
    echo_clients: usize,
    echo_warmup_ms: u64,
    echo_measure_ms: u64,
    worker_seconds: u64,
}

impl Plan {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                quick,
                idle_steps: vec![100, 200, 300],
                settle: Duration::from_millis(300),
                broadcasts: [(100, 100, 10), (500, 20, 1)],
                echo_clients: 10,
                echo_warmup_ms: 300,
                echo_measure_ms: 1200,
                worker_seconds: 120,
            }
        } else {
            Self {
                quick,
                idle_steps: vec![1_000, 10_000, 19_000],
                settle: Duration::from_secs(3),
                broadcasts: [(1_000, 1_000, 10), (10_000, 100, 1)],
                echo_clients: 100,
                // METHOD.md's window: 20,000 round trips, so p99.9 is the 20th-worst.
                echo_warmup_ms: 3_000,
                echo_measure_ms: 20_000,
                worker_seconds: 900,
            }
        }
    }
}

/// What a peer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Tidings with N worker threads.
    Tidings(usize),
    /// Node.js socket.io.
    Node,
    /// socketioxide.
    Socketioxide,
    /// The raw WebSocket floor.
    Floor,
}

/// A server the suite compares.
#[derive(Clone, Debug)]
struct PeerSpec {
    kind: Kind,
    /// Column heading.
    label: &'static str,
    /// Program and arguments (before `--addr`/`--admin`).
    command: Vec<String>,
    /// `taskset` CPU list.
    cpus: &'static str,
}

impl PeerSpec {
    fn speaks_socketio(&self) -> bool {
        self.kind != Kind::Floor
    }

    /// Does all its work on one thread, so its echo runs may use `Priority::Realtime`
    /// (Node runs V8's and libuv's threads beside its event loop).
    fn one_thread(&self) -> bool {
        matches!(
            self.kind,
            Kind::Tidings(1) | Kind::Socketioxide | Kind::Floor
        )
    }
}

/// A running peer; killed on drop.
struct Peer {
    child: Child,
    addr: SocketAddr,
    admin: SocketAddr,
    gc: bool,
}

fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

impl Peer {
    fn start(spec: &PeerSpec, max_seconds: u64, priority: Priority) -> anyhow::Result<Self> {
        let addr = free_port()?;
        let admin = free_port()?;
        let (program, args) = spec
            .command
            .split_first()
            .context("a peer command is never empty")?;
        let child = pinned(spec.cpus, priority, program)
            .args(args)
            .args(["--addr", &addr.to_string(), "--admin", &admin.to_string()])
            .args(["--max-seconds", &max_seconds.to_string()])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", spec.label))?;
        let mut peer = Self {
            child,
            addr,
            admin,
            gc: spec.kind == Kind::Node,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(addr).is_err() || TcpStream::connect(admin).is_err() {
            if let Some(status) = peer.child.try_wait()? {
                bail!("{} exited at start with {status}", spec.label);
            }
            if Instant::now() > deadline {
                bail!("{} did not listen within 30 s", spec.label);
            }
            thread::sleep(Duration::from_millis(20));
        }
        Ok(peer)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn cpu(&self) -> u64 {
        procfs::cpu_micros(self.pid()).unwrap_or(0)
    }

    /// RSS in KiB, after a full garbage collection for Node.
    fn rss(&self) -> anyhow::Result<u64> {
        if self.gc {
            admin::get(self.admin, "/gc", Duration::from_secs(30))?;
            thread::sleep(Duration::from_millis(200));
        }
        procfs::rss_kib(self.pid())
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A worker process of the load generator; asked to quit, then killed, on drop.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    errors: Vec<String>,
}

/// A worker's answer to `report`.
#[derive(Debug, Default)]
struct Report {
    ticks: u64,
    first: u64,
    last: u64,
    closed: u64,
    latency: Histogram,
}

impl Worker {
    fn spawn(loadgen: &Path, args: &[String]) -> anyhow::Result<Self> {
        let mut child = pinned(CLIENT_CPUS, Priority::Normal, loadgen)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot start a loadgen worker")?;
        let stdin = child.stdin.take().context("worker stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("worker stdout")?);
        Ok(Self {
            child,
            stdin,
            stdout,
            errors: Vec::new(),
        })
    }

    /// The next line that starts with `word`, keeping `error` lines on the way.
    fn line(&mut self, word: &str) -> anyhow::Result<Vec<String>> {
        loop {
            let mut line = String::new();
            if self.stdout.read_line(&mut line)? == 0 {
                bail!("worker exited before answering {word:?}");
            }
            let line = line.trim_end();
            if let Some(error) = line.strip_prefix("error ") {
                if self.errors.len() < 3 {
                    self.errors.push(error.to_owned());
                }
                continue;
            }
            let mut fields = line.split(' ');
            if fields.next() == Some(word) {
                return Ok(fields.map(str::to_owned).collect());
            }
        }
    }

    fn connected(&mut self) -> anyhow::Result<(u64, u64, u64)> {
        let fields = self.line("connected")?;
        let number = |index: usize| -> anyhow::Result<u64> {
            Ok(fields.get(index).context("short connected line")?.parse()?)
        };
        Ok((number(0)?, number(1)?, number(2)?))
    }

    fn command(&mut self, command: &str) -> anyhow::Result<()> {
        writeln!(self.stdin, "{command}")?;
        self.stdin.flush()?;
        Ok(())
    }

    fn report(&mut self) -> anyhow::Result<Report> {
        self.command("report")?;
        let fields = self.line("report")?;
        let number = |index: usize| -> anyhow::Result<u64> {
            Ok(fields.get(index).context("short report line")?.parse()?)
        };
        Ok(Report {
            ticks: number(0)?,
            first: number(1)?,
            last: number(2)?,
            closed: number(3)?,
            latency: Histogram::from_line(&fields[4..].join(" ")).context("report histogram")?,
        })
    }

    fn reset(&mut self) -> anyhow::Result<()> {
        self.command("reset")?;
        self.line("reset")?;
        Ok(())
    }

    fn cpu(&self) -> u64 {
        procfs::cpu_micros(self.child.id()).unwrap_or(0)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.command("quit");
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The measurements of one run of one peer: metric key → value.
type Values = BTreeMap<&'static str, f64>;

/// CPU of the peer, the generator and the whole machine over one measured phase.
struct CpuWindow {
    peer: u64,
    clients: u64,
    machine: u64,
    own: u64,
}

impl CpuWindow {
    fn start(peer: &Peer, workers: &[&Worker]) -> Self {
        Self {
            peer: peer.cpu(),
            clients: workers.iter().map(|worker| worker.cpu()).sum(),
            machine: procfs::machine_busy_micros(),
            own: procfs::cpu_micros(std::process::id()).unwrap_or(0),
        }
    }

    /// (peer µs, generator µs, foreign µs) since `start`.
    fn end(&self, peer: &Peer, workers: &[&Worker], extra_clients: u64) -> (u64, u64, u64) {
        let peer_cpu = peer.cpu().saturating_sub(self.peer);
        let clients = workers
            .iter()
            .map(|worker| worker.cpu())
            .sum::<u64>()
            .saturating_sub(self.clients)
            + extra_clients;
        let own = procfs::cpu_micros(std::process::id())
            .unwrap_or(0)
            .saturating_sub(self.own);
        let machine = procfs::machine_busy_micros().saturating_sub(self.machine);
        let foreign = machine.saturating_sub(peer_cpu + clients + own);
        (peer_cpu, clients, foreign)
    }
}

/// Everything the scenarios need to know.
struct Suite {
    loadgen: PathBuf,
    plan: Plan,
    /// Scenario failures that mean broken code (nothing connected, nothing delivered).
    failures: Vec<String>,
    /// Partial failures worth a note (some connections failed, deliveries missing).
    notes: Vec<String>,
    /// Each echo run's slow round trips (`<peer> <transport> <ms>:<µs>,…`), in run order.
    slow_round_trips: Vec<String>,
    /// Every echo round trip of all runs, by peer label and metric prefix (`ew`, `ep`).
    pooled_echo: BTreeMap<(&'static str, &'static str), Histogram>,
    /// The best priority for echo runs this machine permits.
    realtime: Priority,
}

impl Suite {
    /// How the server and the client of `spec`'s echo runs are scheduled.
    fn echo_priority(&self, spec: &PeerSpec) -> Priority {
        if spec.one_thread() {
            self.realtime
        } else {
            Priority::Normal
        }
    }

    fn worker_args(&self, peer: &Peer, mode: &str, count: usize, offset: usize) -> Vec<String> {
        [
            "worker",
            "--target",
            &peer.addr.to_string(),
            "--mode",
            mode,
            "--count",
            &count.to_string(),
            "--offset",
            &offset.to_string(),
            "--concurrency",
            &CONCURRENCY.to_string(),
            "--max-seconds",
            &self.plan.worker_seconds.to_string(),
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// Opens `count` more connections in new workers of up to [`PER_WORKER`] each;
    /// returns the workers, how many opened and the wall time.
    fn connect(
        &mut self,
        label: &str,
        peer: &Peer,
        mode: &str,
        count: usize,
        offset: usize,
    ) -> anyhow::Result<(Vec<Worker>, u64, Duration)> {
        let started = Instant::now();
        let mut workers = Vec::new();
        let mut at = 0;
        while at < count {
            let share = (count - at).min(PER_WORKER);
            workers.push(Worker::spawn(
                &self.loadgen,
                &self.worker_args(peer, mode, share, offset + at),
            )?);
            at += share;
        }
        let mut open = 0;
        let mut failed = 0;
        for worker in &mut workers {
            let (ok, bad, _) = worker.connected()?;
            open += ok;
            failed += bad;
        }
        let elapsed = started.elapsed();
        if failed > 0 {
            let errors: Vec<String> = workers
                .iter()
                .flat_map(|worker| worker.errors.clone())
                .collect();
            let note = format!(
                "{label}: {failed} of {count} {mode} connections failed: {}",
                errors.join("; ")
            );
            if open == 0 {
                bail!(note);
            }
            eprintln!("suite: {note}");
            self.notes.push(note);
        }
        Ok((workers, open, elapsed))
    }

    /// Idle connections: RSS per connection and setup CPU, over the steps of the plan.
    fn idle(&mut self, spec: &PeerSpec, mode: &str, values: &mut Values) -> anyhow::Result<()> {
        let peer = Peer::start(spec, self.plan.worker_seconds + 60, Priority::Normal)?;
        thread::sleep(self.plan.settle);
        let base = peer.rss()?;
        let slab_base = procfs::slab_kib();
        let sockets_base = procfs::tcp_sockets();
        let mut all = Vec::new();
        let mut rss = Vec::new();
        let mut previous = 0;
        // Setup cost over every step after the first (1k → 10k → 19k in a full run): the
        // more connections, the less the 10 ms tick of /proc CPU times weighs.
        let (mut setup_cpu, mut setup_open, mut setup_time) = (0, 0, Duration::ZERO);
        let steps = self.plan.idle_steps.clone();
        for (index, &step) in steps.iter().enumerate() {
            let added = step - previous;
            let window = CpuWindow::start(&peer, &[]);
            let (workers, open, elapsed) =
                self.connect(spec.label, &peer, mode, added, previous)?;
            let (cpu, _, foreign) = window.end(&peer, &[], workers.iter().map(Worker::cpu).sum());
            all.extend(workers);
            thread::sleep(self.plan.settle);
            let now = peer.rss()?;
            rss.push(now);
            let prefix = if mode == "upgrade" { "up" } else { "ws" };
            if index >= 1 {
                setup_cpu += cpu;
                setup_open += open;
                setup_time += elapsed;
                values.insert(
                    key(prefix, "setup_cpu"),
                    setup_cpu as f64 / setup_open as f64,
                );
                values.insert(
                    key(prefix, "setup_rate"),
                    setup_open as f64 / setup_time.as_secs_f64(),
                );
            }
            if index == 1 {
                values.insert(
                    key(prefix, "rss_at"),
                    (now.saturating_sub(base)) as f64 * 1.024 / step as f64,
                );
                let slab = procfs::slab_kib().saturating_sub(slab_base) as f64 * 1.024;
                let sockets = procfs::tcp_sockets().saturating_sub(sockets_base).max(1) as f64;
                values.insert(key(prefix, "kernel"), slab / sockets);
                values.insert(
                    "foreign",
                    values.get("foreign").copied().unwrap_or(0.0) + foreign as f64 / 1e6,
                );
            }
            previous = step;
        }
        if let [.., before, last] = rss[..] {
            let steps = &self.plan.idle_steps;
            let added = (steps[steps.len() - 1] - steps[steps.len() - 2]) as f64;
            let prefix = if mode == "upgrade" { "up" } else { "ws" };
            values.insert(
                key(prefix, "slope"),
                last.saturating_sub(before) as f64 * 1.024 / added,
            );
        }
        for worker in &mut all {
            let report = worker.report()?;
            if report.closed > 0 {
                self.notes.push(format!(
                    "{}: {} idle {mode} connections closed by the server",
                    spec.label, report.closed
                ));
            }
        }
        Ok(())
    }

    /// Broadcast fan-out: `clients` receive `count` ticks each.
    fn broadcast(
        &mut self,
        spec: &PeerSpec,
        which: usize,
        values: &mut Values,
    ) -> anyhow::Result<()> {
        let (clients, count, batch) = self.plan.broadcasts[which];
        let peer = Peer::start(spec, self.plan.worker_seconds + 60, Priority::Normal)?;
        let mode = if spec.speaks_socketio() { "ws" } else { "raw" };
        let (mut workers, open, _) = self.connect(spec.label, &peer, mode, clients, 0)?;
        thread::sleep(Duration::from_millis(500));
        for worker in &mut workers {
            worker.reset()?;
        }
        let expected = open * count;
        let refs: Vec<&Worker> = workers.iter().collect();
        let window = CpuWindow::start(&peer, &refs);
        let started = now_micros();
        let path = format!("/broadcast?n={count}&size=16&batch={batch}");
        let admin_addr = peer.admin;
        let trigger =
            thread::spawn(move || admin::get(admin_addr, &path, Duration::from_secs(300)));
        let mut last_progress = (0, Instant::now());
        let deadline = Instant::now() + Duration::from_secs(300);
        let mut total;
        loop {
            thread::sleep(Duration::from_millis(50));
            total = 0;
            for worker in &mut workers {
                total += worker.report()?.ticks;
            }
            if total >= expected {
                break;
            }
            if total != last_progress.0 {
                last_progress = (total, Instant::now());
            } else if last_progress.1.elapsed() > Duration::from_secs(5)
                || Instant::now() > deadline
            {
                break;
            }
        }
        let refs: Vec<&Worker> = workers.iter().collect();
        let (cpu, client_cpu, foreign) = window.end(&peer, &refs, 0);
        match trigger.join() {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => bail!("{}: broadcast trigger: {error:#}", spec.label),
            Err(_) => bail!("{}: broadcast trigger panicked", spec.label),
        }
        let mut latency = Histogram::new();
        let mut last = 0;
        let mut delivered = 0;
        for worker in &mut workers {
            let report = worker.report()?;
            latency.merge(&report.latency);
            last = last.max(report.last);
            delivered += report.ticks;
            let _ = report.first;
        }
        if delivered == 0 {
            bail!("{}: broadcast to {clients} delivered nothing", spec.label);
        }
        if delivered < expected {
            let note = format!(
                "{}: broadcast to {clients}: {delivered} of {expected} deliveries",
                spec.label
            );
            eprintln!("suite: {note}");
            self.notes.push(note);
        }
        let prefix = if which == 0 { "b1" } else { "b10" };
        let wall = last.saturating_sub(started).max(1) as f64 / 1e6;
        values.insert(key(prefix, "rate"), delivered as f64 / wall);
        values.insert(key(prefix, "cpu"), cpu as f64 / delivered as f64);
        values.insert(
            key(prefix, "client_cpu"),
            client_cpu as f64 / delivered as f64,
        );
        values.insert(
            key(prefix, "p50"),
            latency.percentile(50.0).unwrap_or(0) as f64 / 1000.0,
        );
        values.insert(
            key(prefix, "p99"),
            latency.percentile(99.0).unwrap_or(0) as f64 / 1000.0,
        );
        values.insert(
            "foreign",
            values.get("foreign").copied().unwrap_or(0.0) + foreign as f64 / 1e6,
        );
        Ok(())
    }

    /// Echo with acks over `transport`.
    fn echo(
        &mut self,
        spec: &PeerSpec,
        transport: &str,
        values: &mut Values,
    ) -> anyhow::Result<()> {
        let priority = self.echo_priority(spec);
        let peer = Peer::start(spec, self.plan.worker_seconds + 60, priority)?;
        let window = CpuWindow::start(&peer, &[]);
        let output = pinned(CLIENT_CPUS, priority, &self.loadgen)
            .args([
                "echo",
                "--target",
                &peer.addr.to_string(),
                "--transport",
                transport,
            ])
            .args([
                "--clients",
                &self.plan.echo_clients.to_string(),
                "--rate",
                "10",
            ])
            .args(["--warmup-ms", &self.plan.echo_warmup_ms.to_string()])
            .args(["--measure-ms", &self.plan.echo_measure_ms.to_string()])
            .args(["--max-seconds", &self.plan.worker_seconds.to_string()])
            .stdin(Stdio::null())
            .output()
            .context("cannot run the echo client")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = |word: &str| {
            stdout
                .lines()
                .find_map(|line| line.strip_prefix(word))
                .map(str::trim)
        };
        let (_, _, foreign) = window.end(&peer, &[], 0);
        let cpu = peer.cpu().saturating_sub(window.peer);
        let counts: Vec<u64> = line("echo ")
            .with_context(|| {
                format!(
                    "{}: echo client failed: {}",
                    spec.label,
                    String::from_utf8_lossy(&output.stderr)
                )
            })?
            .split(' ')
            .filter_map(|value| value.parse().ok())
            .collect();
        let [sent, acked, errors] = counts[..] else {
            bail!("{}: bad echo line", spec.label);
        };
        let rtt = line("hist ")
            .and_then(Histogram::from_line)
            .context("echo histogram")?;
        if acked == 0 || rtt.count() == 0 {
            bail!(
                "{}: echo over {transport}: no ack came back ({})",
                spec.label,
                line("error ").unwrap_or("no error")
            );
        }
        if errors > 0 || acked < sent {
            let note = format!(
                "{}: echo over {transport}: {acked} of {sent} acked, {errors} clients failed {}",
                spec.label,
                line("error ").unwrap_or("")
            );
            eprintln!("suite: {note}");
            self.notes.push(note);
        }
        self.slow_round_trips.push(format!(
            "{} {transport} {}",
            spec.label,
            line("slow ").unwrap_or("")
        ));
        // The floor's bare WebSocket echo (`raw`) fills the WebSocket rows.
        let prefix = if transport == "polling" { "ep" } else { "ew" };
        insert_percentiles(values, prefix, &rtt);
        values.insert(key(prefix, "cpu"), cpu as f64 / acked as f64);
        let late = line("late ")
            .and_then(|count| count.parse::<u64>().ok())
            .context("echo late count")?;
        values.insert(key(prefix, "late"), late as f64);
        values.insert(
            "foreign",
            values.get("foreign").copied().unwrap_or(0.0) + foreign as f64 / 1e6,
        );
        self.pooled_echo
            .entry((spec.label, prefix))
            .or_default()
            .merge(&rtt);
        Ok(())
    }
}

/// The echo round-trip percentiles of `rtt` as the metrics under `prefix`.
fn insert_percentiles(values: &mut Values, prefix: &str, rtt: &Histogram) {
    for (name, p) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p999", 99.9)] {
        values.insert(key(prefix, name), rtt.percentile(p).unwrap_or(0) as f64);
    }
}

/// The echo percentiles over every run's round trips at once, one map per peer, and a
/// line saying how many round trips each peer's come from.
fn pooled_echo_values(
    specs: &[PeerSpec],
    pooled: &BTreeMap<(&'static str, &'static str), Histogram>,
) -> (Vec<Values>, String) {
    let mut counts = Vec::new();
    let values = specs
        .iter()
        .map(|spec| {
            let mut values = Values::new();
            for (prefix, transport) in [("ew", "WebSocket"), ("ep", "long-polling")] {
                if let Some(rtt) = pooled.get(&(spec.label, prefix)) {
                    insert_percentiles(&mut values, prefix, rtt);
                    counts.push(format!(
                        "{} {transport} {}",
                        spec.label,
                        format_value(rtt.count() as f64, 0)
                    ));
                }
            }
            values
        })
        .collect();
    (values, counts.join(", "))
}

/// Interned metric keys (`prefix.name`), so that tables can use `&'static str`.
fn key(prefix: &str, name: &str) -> &'static str {
    METRICS
        .iter()
        .find(|metric| metric.key.split_once('.') == Some((prefix, name)))
        .map_or("unknown", |metric| metric.key)
}

/// One row of the table.
struct Metric {
    key: &'static str,
    label: &'static str,
    /// The full-run label of the sizes; quick runs print their own sizes.
    target: &'static str,
    /// Decimal places.
    digits: usize,
}

const METRICS: &[Metric] = &[
    Metric {
        key: "ws.rss_at",
        label: "RSS per idle WebSocket connection at {s1} (KB)",
        target: "",
        digits: 2,
    },
    Metric {
        key: "ws.slope",
        label: "RSS per idle WebSocket connection, slope {s1}→{s2} (KB)",
        target: "≤ 3",
        digits: 2,
    },
    Metric {
        key: "ws.kernel",
        label: "kernel slab per TCP socket at {s1} (KB, machine-wide)",
        target: "",
        digits: 1,
    },
    Metric {
        key: "ws.setup_cpu",
        label: "server CPU per WebSocket connection setup (µs)",
        target: "≤ 25",
        digits: 1,
    },
    Metric {
        key: "ws.setup_rate",
        label: "WebSocket connections/s (200 in flight per worker)",
        target: "",
        digits: 0,
    },
    Metric {
        key: "up.rss_at",
        label: "RSS per connection via polling→upgrade at {s1} (KB)",
        target: "≤ 4",
        digits: 2,
    },
    Metric {
        key: "up.slope",
        label: "RSS per connection via polling→upgrade, slope {s1}→{s2} (KB)",
        target: "",
        digits: 2,
    },
    Metric {
        key: "up.kernel",
        label: "kernel slab per TCP socket via polling→upgrade (KB, machine-wide)",
        target: "",
        digits: 1,
    },
    Metric {
        key: "up.setup_cpu",
        label: "server CPU per polling→upgrade connection setup (µs)",
        target: "",
        digits: 1,
    },
    Metric {
        key: "up.setup_rate",
        label: "polling→upgrade connections/s",
        target: "",
        digits: 0,
    },
    Metric {
        key: "b1.rate",
        label: "broadcast to {b1}: deliveries/s",
        target: "",
        digits: 0,
    },
    Metric {
        key: "b1.cpu",
        label: "broadcast to {b1}: server CPU per delivery (µs)",
        target: "≤ 0.5",
        digits: 2,
    },
    Metric {
        key: "b1.p50",
        label: "broadcast to {b1}: delivery latency p50 (ms)",
        target: "",
        digits: 1,
    },
    Metric {
        key: "b1.p99",
        label: "broadcast to {b1}: delivery latency p99 (ms)",
        target: "",
        digits: 1,
    },
    Metric {
        key: "b1.client_cpu",
        label: "broadcast to {b1}: generator CPU per delivery (µs)",
        target: "",
        digits: 2,
    },
    Metric {
        key: "b10.rate",
        label: "broadcast to {b10}: deliveries/s",
        target: "",
        digits: 0,
    },
    Metric {
        key: "b10.cpu",
        label: "broadcast to {b10}: server CPU per delivery (µs)",
        target: "≤ 1",
        digits: 2,
    },
    Metric {
        key: "b10.p50",
        label: "broadcast to {b10}: delivery latency p50 (ms)",
        target: "",
        digits: 1,
    },
    Metric {
        key: "b10.p99",
        label: "broadcast to {b10}: delivery latency p99 (ms)",
        target: "",
        digits: 1,
    },
    Metric {
        key: "b10.client_cpu",
        label: "broadcast to {b10}: generator CPU per delivery (µs)",
        target: "",
        digits: 2,
    },
    Metric {
        key: "ew.p50",
        label: "echo over WebSocket, {ec} × 10/s: p50 (µs)",
        target: "",
        digits: 0,
    },
    Metric {
        key: "ew.p90",
        label: "echo over WebSocket: p90 (µs)",
        target: "",
        digits: 0,
    },
    Metric {
        key: "ew.p99",
        label: "echo over WebSocket: p99 (µs)",
        target: "≤ 400",
        digits: 0,
    },
    Metric {
        key: "ew.p999",
        label: "echo over WebSocket: p99.9 (µs)",
        target: "",
        digits: 0,
    },
    Metric {
        key: "ew.cpu",
        label: "echo over WebSocket: server CPU per echo (µs)",
        target: "",
        digits: 1,
    },
    Metric {
        key: "ew.late",
        label: "echo over WebSocket: generator's sends ≥ 5 ms late (count)",
        target: "",
        digits: 0,
    },
    Metric {
        key: "ep.p50",
        label: "echo over long-polling, {ec} × 10/s: p50 (µs)",
        target: "",
        digits: 0,
    },
    Metric {
        key: "ep.p90",
        label: "echo over long-polling: p90 (µs)",
        target: "",
        digits: 0,
    },
    Metric {
        key: "ep.p99",
        label: "echo over long-polling: p99 (µs)",
        target: "≤ 3000",
        digits: 0,
    },
    Metric {
        key: "ep.p999",
        label: "echo over long-polling: p99.9 (µs)",
        target: "",
        digits: 0,
    },
    Metric {
        key: "ep.cpu",
        label: "echo over long-polling: server CPU per echo (µs)",
        target: "",
        digits: 1,
    },
    Metric {
        key: "ep.late",
        label: "echo over long-polling: generator's sends ≥ 5 ms late (count)",
        target: "",
        digits: 0,
    },
];

/// The median of some values (mean of the middle two for an even count).
pub(crate) fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    })
}

fn format_value(value: f64, digits: usize) -> String {
    let text = format!("{value:.digits$}");
    if digits > 0 || value.abs() < 10_000.0 {
        return text;
    }
    // Thousands separators for large whole numbers.
    let mut out = String::new();
    for (index, ch) in text.chars().rev().enumerate() {
        if index > 0 && index % 3 == 0 && ch != '-' {
            out.push(',');
        }
        out.push(ch);
    }
    out.chars().rev().collect()
}

fn size_label(count: usize) -> String {
    if count >= 1000 && count.is_multiple_of(1000) {
        format!("{}k", count / 1000)
    } else {
        count.to_string()
    }
}

/// A metric's label with the plan's sizes filled in.
fn row_label(plan: &Plan, label: &str) -> String {
    let steps = &plan.idle_steps;
    label
        .replace("{s1}", &size_label(steps[steps.len() - 2]))
        .replace("{s2}", &size_label(steps[steps.len() - 1]))
        .replace(
            "{b1}",
            &format!("{} clients", size_label(plan.broadcasts[0].0)),
        )
        .replace(
            "{b10}",
            &format!("{} clients", size_label(plan.broadcasts[1].0)),
        )
        .replace("{ec}", &plan.echo_clients.to_string())
}

/// Renders the table: one row per metric, one column per peer, then the ratios of the
/// first Tidings column to each other peer.
fn table(plan: &Plan, specs: &[PeerSpec], medians: &[BTreeMap<&'static str, f64>]) -> String {
    let reference = specs
        .iter()
        .position(|spec| matches!(spec.kind, Kind::Tidings(_)));
    let others: Vec<usize> = (0..specs.len())
        .filter(|&index| Some(index) != reference && !matches!(specs[index].kind, Kind::Tidings(_)))
        .collect();
    let mut out = String::from("| metric |");
    for spec in specs {
        let _ = write!(out, " {} |", spec.label);
    }
    if let Some(reference) = reference {
        for &other in &others {
            let _ = write!(
                out,
                " {} / {} |",
                specs[reference].label, specs[other].label
            );
        }
    }
    if !plan.quick {
        out.push_str(" target (issue 5) |");
    }
    out.push_str("\n|---|");
    let columns = specs.len() + reference.map_or(0, |_| others.len()) + usize::from(!plan.quick);
    out.push_str(&"---:|".repeat(columns));
    out.push('\n');
    for metric in METRICS {
        if medians
            .iter()
            .all(|values| !values.contains_key(metric.key))
        {
            continue;
        }
        let _ = write!(out, "| {} |", row_label(plan, metric.label));
        for values in medians {
            match values.get(metric.key) {
                Some(&value) => {
                    let _ = write!(out, " {} |", format_value(value, metric.digits));
                }
                None => out.push_str(" – |"),
            }
        }
        if let Some(reference) = reference {
            for &other in &others {
                match (
                    medians[reference].get(metric.key),
                    medians[other].get(metric.key),
                ) {
                    (Some(&mine), Some(&theirs)) if theirs > 0.0 => {
                        let _ = write!(out, " {:.2} |", mine / theirs);
                    }
                    _ => out.push_str(" – |"),
                }
            }
        }
        if !plan.quick {
            let _ = write!(out, " {} |", metric.target);
        }
        out.push('\n');
    }
    if medians.iter().all(|values| !values.contains_key("foreign")) {
        return out;
    }
    let _ = write!(out, "| foreign CPU during the runs (CPU-s, median run) |");
    for values in medians {
        match values.get("foreign") {
            Some(&value) => {
                let _ = write!(out, " {value:.1} |");
            }
            None => out.push_str(" – |"),
        }
    }
    out.push_str(&" |".repeat(reference.map_or(0, |_| others.len()) + usize::from(!plan.quick)));
    out.push('\n');
    out
}

/// How often a run of `mine` came out below a run of `theirs`, over every pair (a tie
/// counts half): near 1 decides a lower-is-better row, near 0.5 is a coin flip.
fn share_below(mine: &[f64], theirs: &[f64]) -> Option<f64> {
    if mine.is_empty() || theirs.is_empty() {
        return None;
    }
    let mut score = 0.0;
    for a in mine {
        for b in theirs {
            if a < b {
                score += 1.0;
            } else if a == b {
                score += 0.5;
            }
        }
    }
    Some(score / (mine.len() * theirs.len()) as f64)
}

/// The echo rows run by run, in the order the runs were made: their medians move the
/// most between tables, and the spread shows how far. With Tidings and socketioxide both
/// in the suite (issue 5 asks Tidings to beat it on every row), a last column says how
/// often a run of the first Tidings column was below one of socketioxide's.
fn echo_runs_table(plan: &Plan, specs: &[PeerSpec], results: &[Vec<Values>]) -> String {
    let position = |wanted: fn(Kind) -> bool| specs.iter().position(|spec| wanted(spec.kind));
    let pair = position(|kind| matches!(kind, Kind::Tidings(_)))
        .zip(position(|kind| kind == Kind::Socketioxide));
    let mut out = String::from("| echo metric, each run |");
    for spec in specs {
        let _ = write!(out, " {} |", spec.label);
    }
    if let Some((mine, theirs)) = pair {
        let _ = write!(
            out,
            " {} run below {} (share of pairs) |",
            specs[mine].label, specs[theirs].label
        );
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|".repeat(specs.len() + usize::from(pair.is_some())));
    out.push('\n');
    let echo_metrics = METRICS
        .iter()
        .filter(|metric| metric.key.starts_with("ew.") || metric.key.starts_with("ep."));
    for metric in echo_metrics {
        if results
            .iter()
            .flatten()
            .all(|values| !values.contains_key(metric.key))
        {
            continue;
        }
        let _ = write!(out, "| {} |", row_label(plan, metric.label));
        let each_run = |runs: &[Values]| -> Vec<f64> {
            runs.iter()
                .filter_map(|values| values.get(metric.key).copied())
                .collect()
        };
        for runs in results {
            let each: Vec<String> = runs
                .iter()
                .map(|values| {
                    values.get(metric.key).map_or_else(
                        || "–".to_owned(),
                        |&value| format_value(value, metric.digits),
                    )
                })
                .collect();
            let _ = write!(out, " {} |", each.join(" / "));
        }
        if let Some((mine, theirs)) = pair {
            match share_below(&each_run(&results[mine]), &each_run(&results[theirs])) {
                Some(share) => {
                    let _ = write!(out, " {share:.2} |");
                }
                None => out.push_str(" – |"),
            }
        }
        out.push('\n');
    }
    out
}

fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Versions and machine, for the header of the results.
fn environment(node_dir: Option<&Path>) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let cores = thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("MemTotal:"))
                .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        })
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut out = format!(
        "- machine: {cores} × {cpu}, {:.1} GiB, Linux {}\n- rustc: {}\n",
        memory as f64 / 1024.0 / 1024.0,
        kernel.trim(),
        command_output("rustc", &["--version"]),
    );
    if let Some(dir) = node_dir {
        let version = |package: &str| -> String {
            std::fs::read_to_string(dir.join("node_modules").join(package).join("package.json"))
                .ok()
                .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
                .and_then(|json| json.get("version")?.as_str().map(str::to_owned))
                .unwrap_or_else(|| "?".to_owned())
        };
        let _ = writeln!(
            out,
            "- Node {}: socket.io {}, engine.io {}, ws {}",
            command_output("node", &["--version"]),
            version("socket.io"),
            version("engine.io"),
            version("ws"),
        );
    }
    out
}

/// The header line saying how each peer's echo runs were scheduled.
fn echo_priorities(suite: &Suite, specs: &[PeerSpec]) -> String {
    let labels = |priority: Priority| -> Vec<&str> {
        specs
            .iter()
            .filter(|spec| suite.echo_priority(spec) == priority)
            .map(|spec| spec.label)
            .collect()
    };
    let mut parts = Vec::new();
    let realtime = labels(Priority::Realtime);
    if !realtime.is_empty() {
        parts.push(format!(
            "`SCHED_FIFO` priority 1 for the server and the generator ({})",
            realtime.join(", ")
        ));
    }
    let normal = labels(Priority::Normal);
    if !normal.is_empty() {
        let why = if suite.realtime == Priority::Realtime {
            "more than one thread on the server's core"
        } else {
            "`chrt -f` is not permitted here"
        };
        parts.push(format!("normal priority ({}: {why})", normal.join(", ")));
    }
    parts.join("; ")
}

/// How many runs the medians come from, for the report's first line.
fn runs_phrase(runs: usize, echo_runs: usize) -> String {
    let count = |n: usize| match n {
        1 => "1 run".to_owned(),
        n => format!("{n} runs, median"),
    };
    if echo_runs == runs {
        count(runs)
    } else {
        format!("{}; echo rows {}", count(runs), count(echo_runs))
    }
}

/// Runs the suite (see the module docs); `args` as `main` documents.
pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let quick = args.flag("quick");
    let plan = Plan::new(quick);
    let runs: usize = args.number("runs", if quick { 1 } else { 3 })?;
    // The echo tails are set by rare VM wake-up delays, so one 20 s run's p99.9 moves by
    // a third between runs; more runs of these cheap scenarios steady their median.
    let echo_runs: usize = args.number("echo-runs", if quick { 1 } else { 5 })?;
    let loadgen = std::env::current_exe()?;
    let mut specs = Vec::new();
    if let Ok(peer) = args.value("tidings-peer") {
        specs.push(PeerSpec {
            kind: Kind::Tidings(1),
            label: "Tidings 1w",
            command: vec![peer.clone(), "--workers".into(), "1".into()],
            cpus: SERVER_CPUS,
        });
        if !quick {
            specs.push(PeerSpec {
                kind: Kind::Tidings(2),
                label: "Tidings 2w",
                command: vec![peer, "--workers".into(), "2".into()],
                cpus: "0,1",
            });
        }
    }
    let node_dir = args.value("node-peer").ok().map(PathBuf::from);
    if let Some(dir) = &node_dir {
        specs.push(PeerSpec {
            kind: Kind::Node,
            label: "Node socket.io",
            command: vec![
                "node".into(),
                "--expose-gc".into(),
                dir.join("server.js").display().to_string(),
            ],
            cpus: SERVER_CPUS,
        });
    }
    if let Ok(peer) = args.value("socketioxide-peer") {
        specs.push(PeerSpec {
            kind: Kind::Socketioxide,
            label: "socketioxide",
            command: vec![peer, "--workers".into(), "1".into()],
            cpus: SERVER_CPUS,
        });
    }
    if let Ok(peer) = args.value("floor-peer") {
        specs.push(PeerSpec {
            kind: Kind::Floor,
            label: "floor",
            command: vec![peer, "--workers".into(), "1".into()],
            cpus: SERVER_CPUS,
        });
    }
    if let Ok(only) = args.value("only") {
        let keep: Vec<&str> = only.split(',').collect();
        specs.retain(|spec| {
            keep.iter()
                .any(|name| spec.label.to_lowercase().contains(&name.to_lowercase()))
        });
    }
    if specs.is_empty() {
        bail!(
            "no peer to run: give --tidings-peer, --node-peer, --socketioxide-peer or --floor-peer (and check --only)"
        );
    }
    let scenarios: Vec<String> = args
        .value("scenarios")
        .unwrap_or_else(|_| {
            "idle-ws,idle-upgrade,broadcast-1,broadcast-2,echo-ws,echo-polling".to_owned()
        })
        .split(',')
        .map(str::to_owned)
        .collect();

    let mut suite = Suite {
        loadgen,
        plan: plan.clone(),
        failures: Vec::new(),
        notes: Vec::new(),
        slow_round_trips: Vec::new(),
        pooled_echo: BTreeMap::new(),
        realtime: Priority::best_available(),
    };
    let started = Instant::now();
    let load_before = procfs::load_average();
    // runs[peer] = one Values per run.
    let mut results: Vec<Vec<Values>> = vec![Vec::new(); specs.len()];
    let all_runs = runs.max(echo_runs);
    for run in 1..=all_runs {
        for (index, spec) in specs.iter().enumerate() {
            let mut values = Values::new();
            for scenario in &scenarios {
                let runs_of_scenario = if scenario.starts_with("echo-") {
                    echo_runs
                } else {
                    runs
                };
                if run > runs_of_scenario {
                    continue;
                }
                let scenario_start = Instant::now();
                let outcome = match scenario.as_str() {
                    "idle-ws" => suite.idle(
                        spec,
                        if spec.speaks_socketio() { "ws" } else { "raw" },
                        &mut values,
                    ),
                    "idle-upgrade" if spec.speaks_socketio() => {
                        suite.idle(spec, "upgrade", &mut values)
                    }
                    "broadcast-1" => suite.broadcast(spec, 0, &mut values),
                    "broadcast-2" => suite.broadcast(spec, 1, &mut values),
                    "echo-ws" => suite.echo(
                        spec,
                        if spec.speaks_socketio() { "ws" } else { "raw" },
                        &mut values,
                    ),
                    "echo-polling" if spec.speaks_socketio() => {
                        suite.echo(spec, "polling", &mut values)
                    }
                    "idle-upgrade" | "echo-polling" => continue,
                    other => bail!("unknown scenario {other}"),
                };
                eprintln!(
                    "suite: run {run}/{all_runs} {} {scenario}: {} in {:.1} s",
                    spec.label,
                    if outcome.is_ok() { "ok" } else { "FAILED" },
                    scenario_start.elapsed().as_secs_f64()
                );
                if let Err(error) = outcome {
                    let failure = format!("{} {scenario}: {error:#}", spec.label);
                    eprintln!("suite: {failure}");
                    suite.failures.push(failure);
                }
                // Let TIME_WAIT sockets and the peer's exit settle between scenarios.
                thread::sleep(Duration::from_millis(if quick { 100 } else { 1000 }));
            }
            if run > runs {
                // An echo-only run: its foreign CPU is not comparable with a full run's.
                values.remove("foreign");
            }
            if !values.is_empty() {
                results[index].push(values);
            }
        }
    }
    let medians: Vec<BTreeMap<&'static str, f64>> = results
        .iter()
        .map(|runs| {
            let mut keys: Vec<&'static str> = runs
                .iter()
                .flat_map(|values| values.keys().copied())
                .collect();
            keys.sort_unstable();
            keys.dedup();
            keys.into_iter()
                .filter_map(|key| {
                    let mut samples: Vec<f64> = runs
                        .iter()
                        .filter_map(|values| values.get(key).copied())
                        .collect();
                    median(&mut samples).map(|value| (key, value))
                })
                .collect()
        })
        .collect();

    let mut report = String::new();
    let _ = writeln!(
        report,
        "{} ({}), {:.0} s, load average {load_before:.2} → {:.2}; servers on CPU {SERVER_CPUS} (Tidings 2w on 0,1), generator on CPU {CLIENT_CPUS}\n",
        runs_phrase(runs, echo_runs),
        if quick {
            "quick smoke: small sizes, numbers not comparable"
        } else {
            "full"
        },
        started.elapsed().as_secs_f64(),
        procfs::load_average(),
    );
    report.push_str(&environment(node_dir.as_deref()));
    let _ = writeln!(report, "- echo runs: {}", echo_priorities(&suite, &specs));
    report.push('\n');
    report.push_str(&table(&plan, &specs, &medians));
    if echo_runs > 1 {
        report.push('\n');
        report.push_str(&echo_runs_table(&plan, &specs, &results));
        // A run's p99 is the 200th-worst of 20,000 round trips, so it moves with how many
        // of the machine's bursts of slow wake-ups fell into that run; over all runs at
        // once the tail rows rest on five times as many round trips.
        let (pooled, counts) = pooled_echo_values(&specs, &suite.pooled_echo);
        let _ = writeln!(
            report,
            "\nThe echo rows over every run's round trips at once ({counts}):\n"
        );
        report.push_str(&table(&plan, &specs, &pooled));
    }
    if !suite.notes.is_empty() {
        report.push_str("\nNotes:\n");
        for note in &suite.notes {
            let _ = writeln!(report, "- {note}");
        }
    }
    if !suite.failures.is_empty() {
        report.push_str("\nFailures:\n");
        for failure in &suite.failures {
            let _ = writeln!(report, "- {failure}");
        }
    }
    println!("{report}");
    if let Ok(out) = args.value("out") {
        std::fs::write(&out, &report).with_context(|| format!("cannot write {out}"))?;
        let slow = format!("{out}.slow.txt");
        std::fs::write(&slow, suite.slow_round_trips.join("\n") + "\n")
            .with_context(|| format!("cannot write {slow}"))?;
    }
    if suite.failures.is_empty() {
        Ok(())
    } else {
        bail!("{} scenario(s) failed", suite.failures.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_commands_put_chrt_before_taskset() {
        let words = |command: &Command| -> Vec<String> {
            std::iter::once(command.get_program())
                .chain(command.get_args())
                .map(|word| word.to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(
            words(&pinned("0", Priority::Normal, "peer")),
            ["taskset", "-c", "0", "peer"]
        );
        assert_eq!(
            words(&pinned("1", Priority::Realtime, "loadgen")),
            ["chrt", "-f", "1", "taskset", "-c", "1", "loadgen"]
        );
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn every_metric_key_resolves() {
        for metric in METRICS {
            let (prefix, name) = metric.key.split_once('.').unwrap();
            assert_eq!(key(prefix, name), metric.key);
        }
        assert_eq!(key("no", "such"), "unknown");
    }

    #[test]
    fn formats_values() {
        assert_eq!(format_value(1234567.4, 0), "1,234,567");
        assert_eq!(format_value(999.4, 0), "999");
        assert_eq!(format_value(2.345, 2), "2.35");
        assert_eq!(size_label(19_000), "19k");
        assert_eq!(size_label(300), "300");
    }

    /// Two peers for the table tests: Tidings labelled T and Node labelled N.
    fn tidings_and_node() -> [PeerSpec; 2] {
        let spec = |kind, label| PeerSpec {
            kind,
            label,
            command: Vec::new(),
            cpus: "0",
        };
        [spec(Kind::Tidings(1), "T"), spec(Kind::Node, "N")]
    }

    #[test]
    fn only_one_thread_servers_get_realtime_echo_runs() {
        let specs = tidings_and_node();
        let mut suite = Suite {
            loadgen: PathBuf::new(),
            plan: Plan::new(true),
            failures: Vec::new(),
            notes: Vec::new(),
            slow_round_trips: Vec::new(),
            pooled_echo: BTreeMap::new(),
            realtime: Priority::Realtime,
        };
        assert_eq!(suite.echo_priority(&specs[0]), Priority::Realtime);
        assert_eq!(suite.echo_priority(&specs[1]), Priority::Normal);
        assert_eq!(
            echo_priorities(&suite, &specs),
            "`SCHED_FIFO` priority 1 for the server and the generator (T); \
             normal priority (N: more than one thread on the server's core)"
        );
        suite.realtime = Priority::Normal;
        assert_eq!(suite.echo_priority(&specs[0]), Priority::Normal);
        assert_eq!(
            echo_priorities(&suite, &specs),
            "normal priority (T, N: `chrt -f` is not permitted here)"
        );
    }

    #[test]
    fn table_has_ratios_against_the_first_tidings_column() {
        let plan = Plan::new(false);
        let specs = tidings_and_node();
        let mut tidings = BTreeMap::new();
        tidings.insert("b1.cpu", 1.0);
        let mut node = BTreeMap::new();
        node.insert("b1.cpu", 4.0);
        let text = table(&plan, &specs, &[tidings, node]);
        assert!(
            text.starts_with("| metric | T | N | T / N | target (issue 5) |"),
            "{text}"
        );
        assert!(text.contains("| broadcast to 1k clients: server CPU per delivery (µs) | 1.00 | 4.00 | 0.25 | ≤ 0.5 |"), "{text}");
        assert!(!text.contains("echo"));
    }

    #[test]
    fn the_first_line_says_how_many_runs_each_median_has() {
        assert_eq!(runs_phrase(1, 1), "1 run");
        assert_eq!(runs_phrase(3, 3), "3 runs, median");
        assert_eq!(
            runs_phrase(3, 5),
            "3 runs, median; echo rows 5 runs, median"
        );
        assert_eq!(runs_phrase(1, 3), "1 run; echo rows 3 runs, median");
    }

    #[test]
    fn share_below_counts_pairs_and_halves_ties() {
        assert_eq!(share_below(&[1.0, 2.0], &[2.0, 3.0]), Some(3.5 / 4.0));
        assert_eq!(share_below(&[5.0], &[1.0, 2.0]), Some(0.0));
        assert_eq!(share_below(&[], &[1.0]), None);
    }

    #[test]
    fn echo_runs_say_how_often_tidings_was_below_socketioxide() {
        let spec = |kind, label| PeerSpec {
            kind,
            label,
            command: Vec::new(),
            cpus: "0",
        };
        let specs = [spec(Kind::Tidings(1), "T"), spec(Kind::Socketioxide, "S")];
        let run = |cpu: f64| Values::from([("ew.cpu", cpu)]);
        let text = echo_runs_table(
            &Plan::new(false),
            &specs,
            &[vec![run(30.0), run(40.0)], vec![run(35.0), run(40.0)]],
        );
        assert!(
            text.starts_with(
                "| echo metric, each run | T | S | T run below S (share of pairs) |\n\
                 |---|---:|---:|---:|\n"
            ),
            "{text}"
        );
        // 30 < 35, 30 < 40, 40 > 35, 40 = 40: 2.5 of 4.
        assert!(
            text.contains(
                "| echo over WebSocket: server CPU per echo (µs) | 30.0 / 40.0 | 35.0 / 40.0 | 0.62 |"
            ),
            "{text}"
        );
    }

    #[test]
    fn echo_runs_are_listed_in_order() {
        let specs = tidings_and_node();
        let run = |cpu: f64| Values::from([("ew.cpu", cpu), ("b1.cpu", 9.0)]);
        let text = echo_runs_table(
            &Plan::new(false),
            &specs,
            &[vec![run(30.0), run(32.5)], vec![run(60.0)]],
        );
        assert!(
            text.starts_with("| echo metric, each run | T | N |\n|---|---:|---:|\n"),
            "{text}"
        );
        assert!(
            text.contains("| echo over WebSocket: server CPU per echo (µs) | 30.0 / 32.5 | 60.0 |"),
            "{text}"
        );
        assert!(!text.contains("broadcast"), "{text}");
    }

    #[test]
    fn pooled_echo_rows_come_from_every_round_trip_at_once() {
        let specs = tidings_and_node();
        let histogram = |samples: &[(u64, usize)]| {
            let mut rtt = Histogram::new();
            for &(micros, times) in samples {
                for _ in 0..times {
                    rtt.record(micros);
                }
            }
            rtt
        };
        let mut pooled = BTreeMap::new();
        // Two runs of T: alone, the first has a p99 of 90 µs and the second of 100 µs.
        let mut tidings = histogram(&[(90, 99), (120, 1)]);
        tidings.merge(&histogram(&[(100, 100)]));
        pooled.insert(("T", "ew"), tidings);
        pooled.insert(("N", "ew"), histogram(&[(80, 150), (110, 50)]));
        pooled.insert(("N", "ep"), histogram(&[(70, 10)]));
        let (values, counts) = pooled_echo_values(&specs, &pooled);
        // 200 round trips of T: 99 × 90, 100 × 100, 1 × 120.
        assert_eq!(
            values[0],
            Values::from([
                ("ew.p50", 100.0),
                ("ew.p90", 100.0),
                ("ew.p99", 100.0),
                ("ew.p999", 120.0)
            ])
        );
        assert_eq!(values[1]["ew.p50"], 80.0);
        assert_eq!(values[1]["ew.p90"], 110.0);
        assert_eq!(values[1]["ep.p999"], 70.0);
        assert_eq!(
            counts,
            "T WebSocket 200, N WebSocket 200, N long-polling 10"
        );
        let text = table(&Plan::new(false), &specs, &values);
        assert!(
            text.contains("| echo over WebSocket: p99 (µs) | 100 | 110 | 0.91 | ≤ 400 |\n"),
            "{text}"
        );
        assert!(
            text.contains("| echo over long-polling: p99 (µs) | – | 70 | – | ≤ 3000 |\n"),
            "{text}"
        );
        assert!(!text.contains("foreign"), "{text}");
    }
}
