//! `tidings-loadgen echo`: C clients each emit `echo` with an ack at a fixed rate, send
//! times spread evenly over the period, over WebSocket or long-polling, or as bare
//! WebSocket messages to the floor (`--transport raw`), which sends each one back as it
//! came: the echoed event stands for the ack there. The round trip
//! runs from just before the send to the arrival of the ack; samples sent during the
//! warm-up are dropped. Prints `echo <sent> <acked> <errors>`, `hist <histogram>` and
//! `slow <ms>:<µs>,…`: each measured round trip of 1 ms or more (the first 2,000), with
//! when it was sent, counted from the start of the window; and `late <n>`: how many
//! measured sends left [`LATE`] or more after their time, which only a stall of the
//! generator itself makes.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::BytesMut;
use serde_json::json;
use tidings_eio::Packet as EioPacket;
use tokio::time::Instant;

use crate::Args;
use crate::conn::{self, HttpConn, Mode};
use crate::histogram::Histogram;
use crate::ws::Opcode;

/// The echoed argument: 32 bytes, as in METHOD.md.
const DATA: &str = "0123456789abcdef0123456789abcdef";

/// The schedule shared by all clients.
#[derive(Clone, Copy, Debug)]
struct Schedule {
    /// When the first send of client 0 happens.
    start: Instant,
    /// Time between two sends of one client.
    period: Duration,
    /// Samples sent before this are warm-up.
    measure_from: Instant,
    /// No sends at or after this.
    stop: Instant,
}

/// What the clients add up.
#[derive(Debug, Default)]
struct Totals {
    sent: u64,
    acked: u64,
    errors: u64,
    first_error: Option<String>,
    rtt: Histogram,
    /// Measured round trips of 1 ms or more, as (ms since the window opened, µs), the
    /// first `MAX_SLOW`: whether they come in bursts says if the server stalled.
    slow: Vec<(u64, u64)>,
    /// Measured sends made [`LATE`] or more after their scheduled time: the generator
    /// itself was held off its core, and the clients that fell due meanwhile send at once.
    late: u64,
}

/// Round trips from this many µs up are listed one by one.
const SLOW_MICROS: u64 = 1_000;
const MAX_SLOW: usize = 2_000;

/// The Engine.IO message of an `echo` event with ack `id`.
fn echo_message(id: u64) -> Vec<u8> {
    let mut out = BytesMut::from(&b"4"[..]);
    tidings_sio::Packet::event("/", json!(["echo", DATA]), Vec::new(), Some(id)).encode(&mut out);
    out.to_vec()
}

/// The id of an answer: an ack message (`43<id>[…]`), or with `echoed` the event itself
/// as the floor sends it back (`42<id>[…]`); `None` for anything else.
fn answer_id(
    decoder: &mut tidings_sio::Decoder,
    sio: &str,
    echoed: bool,
) -> anyhow::Result<Option<u64>> {
    let answer = if echoed {
        tidings_sio::PacketType::Event
    } else {
        tidings_sio::PacketType::Ack
    };
    match decoder.handle_text(sio)? {
        Some(packet) if packet.kind == answer => Ok(packet.id),
        _ => Ok(None),
    }
}

/// Pending sends of one client, oldest first.
#[derive(Debug, Default)]
struct Pending {
    sent: VecDeque<(u64, Instant)>,
}

impl Pending {
    /// Matches an ack and returns when its event was sent.
    fn take(&mut self, id: u64) -> Option<Instant> {
        let at = self.sent.iter().position(|(sent, _)| *sent == id)?;
        self.sent.remove(at).map(|(_, when)| when)
    }
}

/// Counts a send made at `sent_at` for the time `due` (see [`Totals::late`]).
fn record_send(totals: &Mutex<Totals>, schedule: &Schedule, due: Instant, sent_at: Instant) {
    let mut totals = totals.lock().unwrap_or_else(|poison| poison.into_inner());
    totals.sent += 1;
    if due >= schedule.measure_from && sent_at.saturating_duration_since(due) >= LATE {
        totals.late += 1;
    }
}

/// A send this much after its time counts as late. tokio's timers fire on whole
/// milliseconds, so a send that nothing held up can leave up to about 2 ms after its
/// time; 5 ms means the generator fell several sends behind.
const LATE: Duration = Duration::from_millis(5);

fn record(totals: &Mutex<Totals>, schedule: &Schedule, sent_at: Instant, acked_at: Instant) {
    let mut totals = totals.lock().unwrap_or_else(|poison| poison.into_inner());
    totals.acked += 1;
    if sent_at >= schedule.measure_from {
        let micros = acked_at.saturating_duration_since(sent_at).as_micros();
        let micros = u64::try_from(micros).unwrap_or(u64::MAX);
        totals.rtt.record(micros);
        if micros >= SLOW_MICROS && totals.slow.len() < MAX_SLOW {
            let since = sent_at.saturating_duration_since(schedule.measure_from);
            let millis = u64::try_from(since.as_millis()).unwrap_or(u64::MAX);
            totals.slow.push((millis, micros));
        }
    }
}

async fn ws_client(
    mode: Mode,
    index: usize,
    target: SocketAddr,
    source: std::net::Ipv4Addr,
    schedule: Schedule,
    offset: Duration,
    totals: Arc<Mutex<Totals>>,
) -> anyhow::Result<()> {
    let mut conn = conn::open(mode, source, target, index as u32 + 1).await?;
    let echoed = mode == Mode::Raw;
    let mut decoder = tidings_sio::Decoder::new(tidings_sio::DecoderLimits::default());
    let mut pending = Pending::default();
    let mut next = schedule.start + offset;
    let mut id = 0;
    let end = schedule.stop + Duration::from_secs(1);
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(next), if next < schedule.stop => {
                id += 1;
                let now = Instant::now();
                pending.sent.push_back((id, now));
                conn.send(Opcode::Text, &echo_message(id)).await?;
                record_send(&totals, &schedule, next, now);
                next += schedule.period;
            }
            filled = conn.fill() => {
                filled?;
                let now = Instant::now();
                let mut ping = false;
                while let Some((opcode, range)) = conn.next_buffered()? {
                    if opcode != Opcode::Text {
                        continue;
                    }
                    let text = std::str::from_utf8(conn.payload(range))?;
                    match EioPacket::decode_text(text) {
                        Ok(EioPacket::Ping(_)) => ping = true,
                        Ok(EioPacket::Message(sio)) => {
                            if let Some(acked) = answer_id(&mut decoder, &sio, echoed)?
                                && let Some(sent_at) = pending.take(acked)
                            {
                                record(&totals, &schedule, sent_at, now);
                            }
                        }
                        _ => {}
                    }
                }
                if ping {
                    conn.send(Opcode::Text, b"3").await?;
                }
            }
            () = tokio::time::sleep_until(end) => return Ok(()),
        }
    }
}

async fn polling_client(
    target: SocketAddr,
    source: std::net::Ipv4Addr,
    schedule: Schedule,
    offset: Duration,
    totals: Arc<Mutex<Totals>>,
) -> anyhow::Result<()> {
    let host = target.to_string();
    let mut get = HttpConn::new(conn::tcp_connect(source, target).await?, &host);
    let sid = conn::polling_connect(&mut get).await?;
    let path = conn::polling_path(&sid);
    let mut post = HttpConn::new(conn::tcp_connect(source, target).await?, &host);
    // The long poll runs in its own task and stamps each response as it arrives, so a
    // POST in flight does not delay the measured arrival of an ack.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(Instant, Vec<u8>)>(64);
    let get_path = path.clone();
    let poller = tokio::spawn(async move {
        loop {
            let body = get.request(&get_path, None).await?;
            if tx.send((Instant::now(), body)).await.is_err() {
                return anyhow::Ok(());
            }
        }
    });
    let mut decoder = tidings_sio::Decoder::new(tidings_sio::DecoderLimits::default());
    let mut pending = Pending::default();
    let mut next = schedule.start + offset;
    let mut id = 0;
    let end = schedule.stop + Duration::from_secs(1);
    let result = async {
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(next), if next < schedule.stop => {
                    id += 1;
                    let now = Instant::now();
                    pending.sent.push_back((id, now));
                    post.request(&path, Some(&echo_message(id))).await?;
                    record_send(&totals, &schedule, next, now);
                    next += schedule.period;
                }
                received = rx.recv() => {
                    let Some((at, body)) = received else {
                        bail!("long poll ended");
                    };
                    let mut ping = false;
                    for packet in tidings_eio::payload::decode(&body).context("polling payload")? {
                        match packet {
                            EioPacket::Ping(_) => ping = true,
                            EioPacket::Message(sio) => {
                                if let Some(acked) = answer_id(&mut decoder, &sio, false)?
                                    && let Some(sent_at) = pending.take(acked)
                                {
                                    record(&totals, &schedule, sent_at, at);
                                }
                            }
                            EioPacket::Close => bail!("closed by the server"),
                            _ => {}
                        }
                    }
                    if ping {
                        post.request(&path, Some(b"3")).await?;
                    }
                }
                () = tokio::time::sleep_until(end) => return anyhow::Ok(()),
            }
        }
    }
    .await;
    poller.abort();
    result
}

/// Runs the echo client (see the module docs); `args` as `main` documents.
pub(crate) async fn run(args: &Args) -> anyhow::Result<()> {
    let target: SocketAddr = args.value("target")?.parse().context("--target")?;
    // `None`: long-polling.
    let websocket = match args.value("transport")?.as_str() {
        "ws" => Some(Mode::WebSocket),
        "raw" => Some(Mode::Raw),
        "polling" => None,
        other => bail!("unknown transport {other}"),
    };
    let clients: usize = args.number("clients", 100)?;
    let rate: u64 = args.number("rate", 10)?;
    let warmup = Duration::from_millis(args.number("warmup-ms", 3000)?);
    let measure = Duration::from_millis(args.number("measure-ms", 20_000)?);
    let (first, last) = args.sources()?;
    let max = Duration::from_secs(args.number("max-seconds", 600)?);

    let period = Duration::from_micros(1_000_000 / rate.max(1));
    // Half a second for the connections to open before the first send.
    let start = Instant::now() + Duration::from_millis(500);
    let schedule = Schedule {
        start,
        period,
        measure_from: start + warmup,
        stop: start + warmup + measure,
    };
    let totals = Arc::new(Mutex::new(Totals::default()));
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..clients {
        let offset = period * u32::try_from(index)? / u32::try_from(clients.max(1))?;
        let source = conn::source(first, last, index);
        let totals = totals.clone();
        tasks.spawn(async move {
            let result = match websocket {
                Some(mode) => {
                    ws_client(
                        mode,
                        index,
                        target,
                        source,
                        schedule,
                        offset,
                        totals.clone(),
                    )
                    .await
                }
                None => polling_client(target, source, schedule, offset, totals.clone()).await,
            };
            if let Err(error) = result {
                let mut totals = totals.lock().unwrap_or_else(|poison| poison.into_inner());
                totals.errors += 1;
                if totals.first_error.is_none() {
                    totals.first_error = Some(format!("{error:#}").replace('\n', " "));
                }
            }
        });
    }
    let all = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(max, all).await.is_err() {
        bail!("echo did not finish within {max:?}");
    }
    let totals = totals.lock().unwrap_or_else(|poison| poison.into_inner());
    println!("echo {} {} {}", totals.sent, totals.acked, totals.errors);
    if let Some(error) = &totals.first_error {
        println!("error {error}");
    }
    println!("hist {}", totals.rtt.to_line());
    let slow: Vec<String> = totals
        .slow
        .iter()
        .map(|(millis, micros)| format!("{millis}:{micros}"))
        .collect();
    println!("slow {}", slow.join(","));
    println!("late {}", totals.late);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_message_is_an_event_with_ack() {
        let message = String::from_utf8(echo_message(12)).unwrap();
        assert_eq!(message, format!(r#"4212["echo","{DATA}"]"#));
    }

    #[test]
    fn reads_ack_ids() {
        let mut decoder = tidings_sio::Decoder::new(tidings_sio::DecoderLimits::default());
        assert_eq!(
            answer_id(&mut decoder, r#"312["x"]"#, false).unwrap(),
            Some(12)
        );
        assert_eq!(
            answer_id(&mut decoder, r#"2["tick"]"#, false).unwrap(),
            None
        );
        assert_eq!(
            answer_id(&mut decoder, r#"212["echo"]"#, false).unwrap(),
            None
        );
        assert!(answer_id(&mut decoder, "3x", false).is_err());
    }

    #[test]
    fn reads_the_ids_of_echoed_events() {
        let mut decoder = tidings_sio::Decoder::new(tidings_sio::DecoderLimits::default());
        let message = String::from_utf8(echo_message(12)).unwrap();
        let sio = message.strip_prefix('4').unwrap();
        assert_eq!(answer_id(&mut decoder, sio, true).unwrap(), Some(12));
        assert_eq!(answer_id(&mut decoder, r#"312["x"]"#, true).unwrap(), None);
    }

    #[test]
    fn pending_matches_out_of_order() {
        let now = Instant::now();
        let mut pending = Pending::default();
        pending.sent.push_back((1, now));
        pending.sent.push_back((2, now + Duration::from_millis(1)));
        assert_eq!(pending.take(2), Some(now + Duration::from_millis(1)));
        assert_eq!(pending.take(2), None);
        assert_eq!(pending.take(1), Some(now));
    }

    /// A schedule that starts now and measures from one second on.
    fn one_second_of_warm_up() -> Schedule {
        let start = Instant::now();
        Schedule {
            start,
            period: Duration::from_millis(100),
            measure_from: start + Duration::from_secs(1),
            stop: start + Duration::from_secs(5),
        }
    }

    #[test]
    fn slow_round_trips_are_listed_with_their_send_time() {
        let schedule = one_second_of_warm_up();
        let start = schedule.start;
        let totals = Mutex::new(Totals::default());
        // Sent during the warm-up: counted, not measured.
        record(&totals, &schedule, start, start + Duration::from_millis(5));
        let sent = schedule.measure_from + Duration::from_millis(250);
        record(&totals, &schedule, sent, sent + Duration::from_micros(999));
        record(
            &totals,
            &schedule,
            sent,
            sent + Duration::from_micros(1_500),
        );
        let totals = totals.into_inner().unwrap();
        assert_eq!(totals.acked, 3);
        assert_eq!(totals.rtt.count(), 2);
        assert_eq!(totals.slow, [(250, 1_500)]);
    }

    #[test]
    fn sends_five_milliseconds_after_their_time_are_late() {
        let schedule = one_second_of_warm_up();
        let start = schedule.start;
        let totals = Mutex::new(Totals::default());
        // Late during the warm-up: sent, not counted as late.
        record_send(&totals, &schedule, start, start + Duration::from_millis(5));
        let due = schedule.measure_from + Duration::from_millis(200);
        record_send(&totals, &schedule, due, due + Duration::from_micros(4_999));
        record_send(&totals, &schedule, due, due + Duration::from_millis(5));
        let totals = totals.into_inner().unwrap();
        assert_eq!(totals.sent, 3);
        assert_eq!(totals.late, 1);
    }
}
