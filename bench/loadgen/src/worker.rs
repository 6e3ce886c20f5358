//! `tidings-loadgen worker`: one process of the load generator. It opens its share of
//! the connections (bounded handshakes in flight), keeps them open answering pings,
//! counts broadcast ticks and their delivery latency, and answers the driver's commands
//! on stdin: `report`, `reset`, `quit`. It exits by itself at `--max-seconds`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::Semaphore;

use crate::conn::{self, Mode, WsConn};
use crate::histogram::Histogram;
use crate::tick::tick_time;
use crate::ws::Opcode;
use crate::{Args, now_micros};

/// How long one connection may take to open.
const OPEN_TIMEOUT: Duration = Duration::from_secs(30);

/// What the receivers share.
#[derive(Debug, Default)]
struct Stats {
    open: AtomicU64,
    failed: AtomicU64,
    closed: AtomicU64,
    ticks: AtomicU64,
    first_tick: AtomicU64,
    last_tick: AtomicU64,
    latency: Mutex<Histogram>,
    first_error: Mutex<Option<String>>,
}

impl Stats {
    fn reset(&self) {
        self.ticks.store(0, Ordering::Relaxed);
        self.first_tick.store(0, Ordering::Relaxed);
        self.last_tick.store(0, Ordering::Relaxed);
        *self
            .latency
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = Histogram::new();
    }

    fn error(&self, error: &anyhow::Error) {
        let mut first = self
            .first_error
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if first.is_none() {
            *first = Some(format!("{error:#}").replace('\n', " "));
        }
    }
}

/// Receives until the connection ends: pongs, ticks, latency.
async fn receive(mut conn: WsConn, stats: &Stats) -> anyhow::Result<()> {
    loop {
        conn.fill().await?;
        // One clock read per read(): every frame in it arrived at the same moment.
        let now = now_micros();
        let mut ticks = 0;
        let mut ping = false;
        while let Some((opcode, range)) = conn.next_buffered()? {
            match opcode {
                Opcode::Text => {
                    let payload = conn.payload(range);
                    if payload == b"2" {
                        ping = true;
                    } else if let Some(sent) = tick_time(payload) {
                        ticks += 1;
                        stats
                            .latency
                            .lock()
                            .unwrap_or_else(|poison| poison.into_inner())
                            .record(now.saturating_sub(sent));
                    }
                }
                Opcode::Ping => conn.send(Opcode::Pong, b"").await?,
                Opcode::Close => return Ok(()),
                Opcode::Binary | Opcode::Pong => {}
            }
        }
        if ping {
            conn.send(Opcode::Text, b"3").await?;
        }
        if ticks > 0 {
            stats.ticks.fetch_add(ticks, Ordering::Relaxed);
            let _ = stats
                .first_tick
                .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
            stats.last_tick.fetch_max(now, Ordering::Relaxed);
        }
    }
}

/// Runs a worker (see the module docs); `args` as `main` documents.
pub(crate) async fn run(args: &Args) -> anyhow::Result<()> {
    let target: SocketAddr = args.value("target")?.parse().context("--target")?;
    let mode = Mode::parse(&args.value("mode")?)?;
    let count: usize = args.number("count", 1000)?;
    let concurrency: usize = args.number("concurrency", 100)?;
    let offset: usize = args.number("offset", 0)?;
    let (first, last) = args.sources()?;
    let max = Duration::from_secs(args.number("max-seconds", 600)?);
    let deadline = tokio::time::Instant::now() + max;

    let stats = Arc::new(Stats::default());
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..count {
        let permit = permits.clone().acquire_owned().await?;
        let stats = stats.clone();
        let source = conn::source(first, last, offset + i);
        tasks.spawn(async move {
            let opened = tokio::time::timeout(
                OPEN_TIMEOUT,
                conn::open(mode, source, target, (offset + i) as u32),
            )
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("open timed out")));
            drop(permit);
            match opened {
                Ok(conn) => {
                    stats.open.fetch_add(1, Ordering::Relaxed);
                    if let Err(error) = receive(conn, &stats).await {
                        stats.error(&error);
                    }
                    stats.closed.fetch_add(1, Ordering::Relaxed);
                }
                Err(error) => {
                    stats.failed.fetch_add(1, Ordering::Relaxed);
                    stats.error(&error);
                }
            }
        });
    }
    // Every open has ended (or timed out) once all permits are back.
    let _all =
        tokio::time::timeout_at(deadline, permits.acquire_many(concurrency.max(1) as u32)).await;
    println!(
        "connected {} {} {}",
        stats.open.load(Ordering::Relaxed),
        stats.failed.load(Ordering::Relaxed),
        started.elapsed().as_micros()
    );
    print_error(&stats);

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        let line = tokio::select! {
            line = lines.next_line() => line?,
            () = tokio::time::sleep_until(deadline) => None,
        };
        match line.as_deref().map(str::trim) {
            Some("report") => {
                let latency = stats
                    .latency
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner())
                    .to_line();
                println!(
                    "report {} {} {} {} {}",
                    stats.ticks.load(Ordering::Relaxed),
                    stats.first_tick.load(Ordering::Relaxed),
                    stats.last_tick.load(Ordering::Relaxed),
                    stats.closed.load(Ordering::Relaxed),
                    latency
                );
                print_error(&stats);
            }
            Some("reset") => {
                stats.reset();
                println!("reset");
            }
            None | Some("quit") => break,
            Some(_) => println!("unknown command"),
        }
    }
    tasks.abort_all();
    Ok(())
}

fn print_error(stats: &Stats) {
    if let Some(error) = stats
        .first_error
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
        .as_ref()
    {
        println!("error {error}");
    }
}
