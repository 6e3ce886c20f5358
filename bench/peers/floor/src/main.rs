//! `tidings-bench-floor`: the raw WebSocket floor of the benchmark harness
//! (`bench/README.md`). It speaks no Engine.IO and no Socket.IO, only WebSocket, through
//! the codec Tidings itself uses (`tidings_engine::ws_codec`), so the distance between
//! Tidings and this server is what the protocol layers above WebSocket cost.
//!
//! Run with `cargo run --release -p tidings-bench-floor -- --addr 127.0.0.1:3000 --admin
//! 127.0.0.1:3001 --workers 1`.
//!
//! How it spends as little as it can:
//! - the accept loop is a task of the runtime (a future under `block_on` would run on the
//!   main thread and wake a worker across threads for every connection);
//! - one task per connection on the bare `TcpStream`, with `TCP_NODELAY` (set once on the
//!   listener, whose accepted sockets inherit it on Linux, as Tidings' `serve` does); the
//!   upgrade request is read into a buffer on the stack and answered with `101`, and
//!   nothing of it is kept afterwards;
//! - a broadcast encodes its WebSocket frame once and puts it in one shared ring
//!   (`tokio::sync::broadcast`), so an idle connection has no queue of its own;
//! - a woken connection copies every frame queued for it into a scratch buffer shared by
//!   the connections of its thread and sends it with one `write`; only what the socket
//!   does not take is kept, and written before the connection takes anything new;
//! - reads go through a small buffer on the stack into a `ws_codec::Reader`; an idle
//!   connection holds no buffer;
//! - a text message is sent straight back as it came (the echo floor): its frame is built
//!   in the shared scratch buffer and written at once, behind any bytes still waiting.
//!   The echo client sends the bytes a Socket.IO client would (`42<id>["echo",…]`) and
//!   takes the echoed message as the answer, so the echo rows show what a round trip
//!   costs with no protocol work at all.
//!
//! Admin HTTP, the same as every peer's: `GET /broadcast?n=&size=&batch=` sends
//! `42["tick",{"i":…,"t":…,"p":…}]` (the bytes a Socket.IO server would send) n times,
//! yielding to the runtime after every `batch`, and answers once all are queued;
//! `GET /stats` prints `sockets N`. The process stops by itself after `--max-seconds`
//! (default 3,600).
#[path = "../../common/options.rs"]
mod options;

use options::{now_micros, options};

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use anyhow::{Context as _, bail};
use bytes::{Buf, Bytes, BytesMut};
use tidings_engine::ws_codec::{self, Incoming, Outgoing, Reader};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast::{self, Receiver, Sender, error::RecvError, error::TryRecvError};

/// Frames the ring holds: a connection further behind than this misses some (the driver
/// reports missing deliveries).
const RING: usize = 4096;
/// Bytes one read takes from a connection, into a buffer on the stack.
const READ_CHUNK: usize = 256;
/// Bytes one read of the upgrade request takes, into a buffer on the stack.
const HEAD_CHUNK: usize = 1024;
/// The longest upgrade request accepted.
const MAX_HEAD: usize = 8192;
/// Reads an upgrade request may take.
const MAX_HEAD_READS: usize = 64;
/// The largest message a client may send.
const MAX_MESSAGE: usize = 64 * 1024;
/// Bytes waiting for a client's socket past which the client is dropped: one that sends
/// echoes without reading the answers.
const MAX_PENDING: usize = 1024 * 1024;
/// Non-blocking attempts per read or write before waiting for the socket again.
const TRIES: usize = 4;
/// The scratch buffer is given back when a burst made it larger than this.
const SCRATCH_KEEP: usize = 64 * 1024;

thread_local! {
    /// Where a woken connection gathers its frames for one `write`; shared by every
    /// connection of the thread, so a connection allocates only when its socket is full.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Reads what the socket has into `buf` without blocking; `Pending`, with the task
/// registered for readiness, when there is nothing. `Ok(0)` is the end of the stream.
fn poll_try_read(
    cx: &mut Context<'_>,
    stream: &TcpStream,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    for _ in 0..TRIES {
        ready!(stream.poll_read_ready(cx))?;
        match stream.try_read(buf) {
            // The readiness was stale and is now cleared: the next poll registers the task.
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            result => return Poll::Ready(result),
        }
    }
    // Readiness keeps coming back without data: let the other tasks run, then try again.
    cx.waker().wake_by_ref();
    Poll::Pending
}

/// Writes as much of `bytes` as the socket takes right now and returns how much.
fn write_now(stream: &TcpStream, bytes: &[u8]) -> io::Result<usize> {
    let mut written = 0;
    for _ in 0..TRIES {
        if written == bytes.len() {
            break;
        }
        match stream.try_write(&bytes[written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(count) => written += count,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
            Err(error) => return Err(error),
        }
    }
    Ok(written)
}

/// What the upgrade request read so far allows.
#[derive(Debug, PartialEq, Eq)]
enum Head {
    /// The request is not complete yet.
    More,
    /// A valid upgrade: the `Sec-WebSocket-Accept` value to answer with.
    Upgrade(String),
    /// Not a WebSocket upgrade.
    Refused(&'static str),
}

/// Whether a comma-separated header value holds `token` (case-insensitive).
fn has_token(value: &str, token: &str) -> bool {
    value
        .split(',')
        .any(|part| part.trim().eq_ignore_ascii_case(token))
}

/// Checks a complete request head (up to and including the blank line).
fn check_head(head: &[u8]) -> Head {
    let Ok(head) = std::str::from_utf8(head) else {
        return Head::Refused("request head is not UTF-8");
    };
    let mut lines = head.split("\r\n");
    if !lines.next().is_some_and(|line| line.starts_with("GET ")) {
        return Head::Refused("not a GET");
    }
    let (mut key, mut version, mut upgrade, mut connection) = (None, false, false, false);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("sec-websocket-key") {
            key = Some(value);
        } else if name.eq_ignore_ascii_case("sec-websocket-version") {
            version = value == "13";
        } else if name.eq_ignore_ascii_case("upgrade") {
            upgrade |= has_token(value, "websocket");
        } else if name.eq_ignore_ascii_case("connection") {
            connection |= has_token(value, "upgrade");
        }
    }
    match key {
        Some(key) if !key.is_empty() && version && upgrade && connection => {
            Head::Upgrade(ws_codec::accept_key(key.as_bytes()))
        }
        _ => Head::Refused("not a WebSocket upgrade"),
    }
}

/// The end of the request head in `bytes` (after the blank line), if it is there.
fn head_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// Checks the head at the front of `bytes` if it is complete; what follows it (frames the
/// client sent right behind its request) goes to `reader`.
fn take_head(bytes: &[u8], reader: &mut Reader) -> Head {
    let Some(end) = head_end(bytes) else {
        return Head::More;
    };
    reader.extend(&bytes[end..]);
    check_head(&bytes[..end])
}

/// One read of the upgrade request. The common request fits one read and is checked
/// right in the stack buffer; only a request split over several reads is gathered in
/// `gathered`.
fn poll_head(
    cx: &mut Context<'_>,
    stream: &TcpStream,
    gathered: &mut Vec<u8>,
    reader: &mut Reader,
) -> Poll<io::Result<Head>> {
    let mut chunk = [0u8; HEAD_CHUNK];
    let read = ready!(poll_try_read(cx, stream, &mut chunk))?;
    if read == 0 {
        return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
    }
    let chunk = &chunk[..read];
    if gathered.is_empty() && head_end(chunk).is_some() {
        return Poll::Ready(Ok(take_head(chunk, reader)));
    }
    gathered.extend_from_slice(chunk);
    let head = take_head(gathered, reader);
    if head == Head::More && gathered.len() > MAX_HEAD {
        return Poll::Ready(Ok(Head::Refused("request head too long")));
    }
    Poll::Ready(Ok(head))
}

/// Reads the upgrade request and answers it: `101`, or `400` and an error.
async fn handshake(stream: &mut TcpStream, reader: &mut Reader) -> anyhow::Result<()> {
    let mut gathered = Vec::new();
    for _ in 0..MAX_HEAD_READS {
        match poll_fn(|cx| poll_head(cx, stream, &mut gathered, reader)).await? {
            Head::More => {}
            Head::Upgrade(accept) => {
                let response = format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                     Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                );
                stream.write_all(response.as_bytes()).await?;
                return Ok(());
            }
            Head::Refused(reason) => {
                let response =
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                stream.write_all(response).await?;
                bail!("{reason}");
            }
        }
    }
    bail!("upgrade request cut in too many pieces")
}

/// What the client's frames ask for.
enum Read {
    /// Keep the connection.
    Open,
    /// Send a close frame with this code, if any, then end.
    Close(Option<u16>),
}

/// Decodes what the reader holds: each text message is framed again into `echoes`, to be
/// sent back; a close frame or a broken frame ends the connection; other messages are
/// dropped.
fn read_frames(reader: &mut Reader, echoes: &mut Vec<u8>) -> Read {
    // A message takes at least 6 bytes and the reader holds at most one partial frame
    // (under `MAX_MESSAGE`) plus one read, so this bound is never what ends the loop.
    for _ in 0..MAX_MESSAGE {
        match reader.decode() {
            Ok(None) => return Read::Open,
            Ok(Some(Incoming::Close(code))) => return Read::Close(code),
            Ok(Some(Incoming::Text(text))) => {
                let mut header = [0u8; ws_codec::MAX_HEADER];
                let len = ws_codec::encode_header(Outgoing::Text, text.len(), &mut header);
                echoes.extend_from_slice(&header[..len]);
                echoes.extend_from_slice(&text);
            }
            Ok(Some(_)) => {}
            Err(error) => return Read::Close(Some(error.close_code())),
        }
    }
    Read::Open
}

/// Reads the frames the reader holds and sends the echoes they ask for, behind the bytes
/// already waiting in `pending`.
fn answer_frames(
    stream: &TcpStream,
    reader: &mut Reader,
    pending: &mut BytesMut,
) -> io::Result<Read> {
    SCRATCH.with_borrow_mut(|scratch| {
        scratch.clear();
        let read = read_frames(reader, scratch);
        if !pending.is_empty() {
            pending.extend_from_slice(scratch);
        } else if !scratch.is_empty() {
            let written = write_now(stream, scratch)?;
            pending.extend_from_slice(&scratch[written..]);
        }
        if pending.len() > MAX_PENDING {
            return Err(io::Error::other("the client does not read its echoes"));
        }
        Ok(read)
    })
}

/// Sends a close frame, if the socket takes it right now, before the connection ends.
fn close(stream: &TcpStream, code: Option<u16>) {
    let payload = code.map(u16::to_be_bytes);
    let mut frame = BytesMut::new();
    ws_codec::encode(
        Outgoing::Close,
        payload.as_ref().map_or(&[][..], |code| &code[..]),
        &mut frame,
    );
    let _ = write_now(stream, &frame);
}

/// Copies `first` and every frame still queued for this connection into the scratch
/// buffer and writes them at once; what the socket does not take goes to `pending`.
fn send_queued(
    stream: &TcpStream,
    first: &Bytes,
    ring: &mut Receiver<Bytes>,
    pending: &mut BytesMut,
) -> io::Result<()> {
    SCRATCH.with_borrow_mut(|scratch| {
        scratch.clear();
        scratch.extend_from_slice(first);
        for _ in 0..RING {
            match ring.try_recv() {
                Ok(frame) => scratch.extend_from_slice(&frame),
                // Fell behind the ring: the frames it dropped are lost for this client.
                Err(TryRecvError::Lagged(_)) => {}
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        let written = write_now(stream, scratch);
        if let Ok(written) = written
            && written < scratch.len()
        {
            pending.extend_from_slice(&scratch[written..]);
        }
        if scratch.capacity() > SCRATCH_KEEP {
            *scratch = Vec::new();
        }
        written.map(|_| ())
    })
}

/// Writes what `pending` holds as far as the socket takes it; an emptied `pending` gives
/// its allocation back.
fn send_pending(stream: &TcpStream, pending: &mut BytesMut) -> io::Result<()> {
    let written = write_now(stream, pending)?;
    pending.advance(written);
    if pending.is_empty() {
        *pending = BytesMut::new();
    }
    Ok(())
}

/// One client, from its upgrade request until it closes or fails. `nodelay`: the socket
/// still needs `TCP_NODELAY` (it did not inherit it from the listener).
async fn connection(
    mut stream: TcpStream,
    ring: Sender<Bytes>,
    nodelay: bool,
) -> anyhow::Result<()> {
    if nodelay {
        stream.set_nodelay(true)?;
    }
    let mut reader = Reader::new(MAX_MESSAGE);
    handshake(&mut stream, &mut reader).await?;
    let mut queue = ring.subscribe();
    drop(ring);
    // Bytes the socket did not take yet; empty, with no allocation, between bursts.
    let mut pending = BytesMut::new();
    if let Read::Close(code) = answer_frames(&stream, &mut reader, &mut pending)? {
        close(&stream, code);
        return Ok(());
    }
    loop {
        tokio::select! {
            biased;
            read = poll_fn(|cx| {
                let mut chunk = [0u8; READ_CHUNK];
                let read = ready!(poll_try_read(cx, &stream, &mut chunk));
                if let Ok(read) = read {
                    reader.extend(&chunk[..read]);
                }
                Poll::Ready(read)
            }) => {
                if read? == 0 {
                    return Ok(());
                }
                if let Read::Close(code) = answer_frames(&stream, &mut reader, &mut pending)? {
                    if pending.is_empty() {
                        close(&stream, code);
                    }
                    return Ok(());
                }
            }
            // Nothing new is taken while older bytes wait for the socket.
            ready = stream.writable(), if !pending.is_empty() => {
                ready?;
                send_pending(&stream, &mut pending)?;
            }
            received = queue.recv(), if pending.is_empty() => match received {
                Ok(frame) => send_queued(&stream, &frame, &mut queue, &mut pending)?,
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return Ok(()),
            },
        }
    }
}

/// Turns Nagle's algorithm off for every socket `listener` accepts, with one system call:
/// on Linux accepted sockets inherit `TCP_NODELAY`. `false` elsewhere or on failure, and
/// then each connection sets it itself.
fn nodelay_for_all(listener: &TcpListener) -> bool {
    cfg!(target_os = "linux")
        && socket2::SockRef::from(listener)
            .set_tcp_nodelay(true)
            .is_ok()
}

/// Accepts clients until the process ends, one task each.
async fn accept(listener: TcpListener, ring: Sender<Bytes>) {
    let nodelay = !nodelay_for_all(&listener);
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let ring = ring.clone();
                tokio::spawn(async move {
                    let _ = connection(stream, ring, nodelay).await;
                });
            }
            // Out of file descriptors: wait instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// The frame of one tick: `42["tick",{"i":…,"t":…,"p":…}]` as a WebSocket text frame.
fn tick_frame(i: u64, padding: &str) -> Bytes {
    let text = format!(
        r#"42["tick",{{"i":{i},"t":{},"p":"{padding}"}}]"#,
        now_micros()
    );
    let mut frame = BytesMut::new();
    ws_codec::encode(Outgoing::Text, text.as_bytes(), &mut frame);
    frame.freeze()
}

/// Queues `n` ticks for every client, yielding to the runtime after every `batch`.
async fn broadcast(ring: &Sender<Bytes>, n: u64, size: usize, batch: u64) {
    let padding = "x".repeat(size);
    for i in 0..n {
        // No client connected is not an error.
        let _ = ring.send(tick_frame(i, &padding));
        if (i + 1) % batch == 0 {
            tokio::task::yield_now().await;
        }
    }
}

/// One numeric query parameter, or `default`.
fn param(query: &str, name: &str, default: u64) -> u64 {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(default)
}

/// Reads one admin request, runs it and answers with a one-line body.
async fn admin(ring: Sender<Bytes>, mut stream: TcpStream) -> anyhow::Result<()> {
    let mut buf = vec![0u8; 2048];
    let mut len = 0;
    while head_end(&buf[..len]).is_none() {
        if len == buf.len() {
            bail!("admin request too long");
        }
        let read = stream.read(&mut buf[len..]).await?;
        if read == 0 {
            bail!("admin request cut short");
        }
        len += read;
    }
    let head = String::from_utf8_lossy(&buf[..len]);
    let target = head.split(' ').nth(1).unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let body = match path {
        "/broadcast" => {
            let n = param(query, "n", 1);
            let size = usize::try_from(param(query, "size", 16))?;
            broadcast(&ring, n, size, param(query, "batch", 1).max(1)).await;
            format!("ok {n}")
        }
        "/stats" => format!("sockets {}", ring.receiver_count()),
        _ => "unknown".to_owned(),
    };
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let options = options()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.workers.max(1))
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let (ring, _) = broadcast::channel(RING);
        let listener = options::listen(&options.addr)?;
        let admin_listener = TcpListener::bind(&options.admin)
            .await
            .context("bind admin")?;
        let admin_ring = ring.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = admin_listener.accept().await {
                tokio::spawn(admin(admin_ring.clone(), stream));
            }
        });
        println!("floor listening on ws://{}", listener.local_addr()?);
        // A task of the runtime, not this future: see the module docs.
        let accepting = tokio::spawn(accept(listener, ring));
        tokio::select! {
            _ = accepting => {}
            () = tokio::time::sleep(Duration::from_secs(options.max_seconds)) => {}
        }
        anyhow::Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUEST: &str = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
        Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";

    #[test]
    fn accepts_an_upgrade_with_the_rfc_key() {
        assert_eq!(
            check_head(REQUEST.as_bytes()),
            Head::Upgrade("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".to_owned())
        );
    }

    #[test]
    fn refuses_what_is_not_an_upgrade() {
        let post = REQUEST.replacen("GET", "POST", 1);
        let no_key = REQUEST.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "");
        let old_version = REQUEST.replace("Version: 13", "Version: 8");
        let no_upgrade = REQUEST.replace("Upgrade: websocket\r\n", "");
        for head in [post, no_key, old_version, no_upgrade] {
            assert!(
                matches!(check_head(head.as_bytes()), Head::Refused(_)),
                "{head}"
            );
        }
    }

    #[test]
    fn bytes_behind_the_head_go_to_the_reader() {
        let mut reader = Reader::new(MAX_MESSAGE);
        assert_eq!(
            take_head(&REQUEST.as_bytes()[..20], &mut reader),
            Head::More
        );
        assert!(reader.is_idle());
        // A masked close frame with code 1000 right behind the request.
        let mut bytes = REQUEST.as_bytes().to_vec();
        bytes.extend_from_slice(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);
        assert!(matches!(take_head(&bytes, &mut reader), Head::Upgrade(_)));
        assert!(matches!(
            read_frames(&mut reader, &mut Vec::new()),
            Read::Close(Some(1000))
        ));
    }

    #[test]
    fn reads_query_parameters() {
        assert_eq!(param("n=10&size=16", "n", 1), 10);
        assert_eq!(param("n=10&size=16", "batch", 3), 3);
        assert_eq!(param("n=x", "n", 3), 3);
    }

    #[test]
    fn a_tick_is_one_unmasked_text_frame() {
        let frame = tick_frame(7, "xx");
        assert_eq!(frame[0], 0x81);
        assert_eq!(usize::from(frame[1]), frame.len() - 2);
        let text = std::str::from_utf8(&frame[2..]).unwrap();
        assert!(text.starts_with(r#"42["tick",{"i":7,"t":"#), "{text}");
        assert!(text.ends_with(r#","p":"xx"}]"#), "{text}");
    }

    /// Reads from `stream` until `bytes` have arrived.
    async fn read_exact(stream: &mut TcpStream, bytes: usize) -> Vec<u8> {
        let mut buf = vec![0u8; bytes];
        tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut buf))
            .await
            .unwrap()
            .unwrap();
        buf
    }

    /// A floor on a free port and a client past the upgrade, subscribed to the ring.
    async fn upgraded_client() -> (Sender<Bytes>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (ring, _) = broadcast::channel(RING);
        tokio::spawn(accept(listener, ring.clone()));
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(REQUEST.as_bytes()).await.unwrap();
        let expected = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
            Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        let response = read_exact(&mut client, expected.len()).await;
        assert_eq!(String::from_utf8(response).unwrap(), expected);
        for _ in 0..500 {
            if ring.receiver_count() == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(ring.receiver_count(), 1);
        (ring, client)
    }

    #[tokio::test]
    async fn a_client_receives_a_burst_and_its_close_is_answered() {
        let (ring, mut client) = upgraded_client().await;

        let frames: Vec<Bytes> = (0..3).map(|i| tick_frame(i, "p")).collect();
        for frame in &frames {
            ring.send(frame.clone()).unwrap();
        }
        let expected = frames.concat();
        assert_eq!(read_exact(&mut client, expected.len()).await, expected);

        // A masked close frame with code 1001: the floor answers with 1001 and ends.
        client
            .write_all(&[0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe9 ^ 2])
            .await
            .unwrap();
        assert_eq!(read_exact(&mut client, 4).await, [0x88, 0x02, 0x03, 0xe9]);
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
    }

    /// `text` as a client sends it: a masked text frame.
    fn masked_text(text: &str, mask: [u8; 4]) -> Vec<u8> {
        assert!(text.len() < 126);
        let mut frame = vec![0x81, 0x80 | text.len() as u8];
        frame.extend_from_slice(&mask);
        frame.extend(text.bytes().enumerate().map(|(i, byte)| byte ^ mask[i % 4]));
        frame
    }

    #[tokio::test]
    async fn text_messages_come_back_as_they_came() {
        let (_ring, mut client) = upgraded_client().await;
        let first = r#"427["echo","0123456789abcdef0123456789abcdef"]"#;
        // Two messages in one write, the second split from a third over two writes.
        let mut bytes = masked_text(first, [1, 2, 3, 4]);
        bytes.extend(masked_text("428[]", [9, 8, 7, 6]));
        let third = masked_text("x", [5, 5, 5, 5]);
        bytes.extend_from_slice(&third[..3]);
        client.write_all(&bytes).await.unwrap();
        let mut expected = vec![0x81, first.len() as u8];
        expected.extend_from_slice(first.as_bytes());
        expected.extend_from_slice(b"\x81\x05428[]");
        assert_eq!(read_exact(&mut client, expected.len()).await, expected);
        client.write_all(&third[3..]).await.unwrap();
        assert_eq!(read_exact(&mut client, 3).await, b"\x81\x01x");
    }

    #[tokio::test]
    async fn a_client_that_reads_late_gets_every_byte_in_order() {
        let (ring, mut client) = upgraded_client().await;
        // Far more than the socket buffers hold: the floor must keep what the socket
        // refuses and finish it before taking the rest from the ring.
        let frames: Vec<Bytes> = (0..200u8)
            .map(|i| {
                let mut frame = BytesMut::new();
                ws_codec::encode(Outgoing::Binary, &vec![i; 60_000], &mut frame);
                frame.freeze()
            })
            .collect();
        for frame in &frames {
            ring.send(frame.clone()).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let expected = frames.concat();
        assert!(read_exact(&mut client, expected.len()).await == expected);
    }

    #[tokio::test]
    async fn accepted_sockets_have_nagle_off() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let inherited = nodelay_for_all(&listener);
        assert_eq!(inherited, cfg!(target_os = "linux"));
        let _client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        assert_eq!(server.nodelay().unwrap(), inherited);
    }

    #[tokio::test]
    async fn a_bad_request_gets_400() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (ring, _) = broadcast::channel(RING);
        tokio::spawn(accept(listener, ring));
        let mut client = TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut response = Vec::new();
        client.read_to_end(&mut response).await.unwrap();
        assert!(response.starts_with(b"HTTP/1.1 400 "));
    }
}
