//! Client connections: TCP from a chosen source address, the WebSocket upgrade, the
//! Engine.IO/Socket.IO handshakes (WebSocket direct, and long-polling then the upgrade),
//! and long-polling requests.
//!
//! Engine.IO and Socket.IO packets are built and read with `tidings-eio` and
//! `tidings-sio`; only the hot broadcast path reads ticks by their first bytes.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::ops::Range;

use anyhow::{Context, bail};
use bytes::BytesMut;
use nix::sys::socket::{setsockopt, sockopt::IpBindAddressNoPort};
use tidings_eio::Packet as EioPacket;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::http;
use crate::ws::{self, Opcode};

/// The Socket.IO path every peer serves.
pub(crate) const SIO_PATH: &str = "/socket.io/";
/// Read buffers start this small and grow only for a larger frame.
const READ_BUFFER: usize = 2048;

/// How a client reaches the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// WebSocket direct: `0{…}`, then `40` → `40{…}`.
    WebSocket,
    /// The real clients' default: long-polling handshake and connect, then the upgrade
    /// (`2probe` → `3probe`, `5`) on a new WebSocket.
    Upgrade,
    /// A bare WebSocket with no Engine.IO at all (the floor server).
    Raw,
}

impl Mode {
    /// Parses `ws`, `upgrade` or `raw`.
    pub(crate) fn parse(text: &str) -> anyhow::Result<Self> {
        Ok(match text {
            "ws" => Self::WebSocket,
            "upgrade" => Self::Upgrade,
            "raw" => Self::Raw,
            other => bail!("unknown mode {other}"),
        })
    }
}

/// The `i`-th source address of `first..=last` in 127.0.0.x, round robin.
pub(crate) fn source(first: u8, last: u8, i: usize) -> Ipv4Addr {
    let span = usize::from(last.saturating_sub(first)) + 1;
    Ipv4Addr::new(127, 0, 0, first + (i % span) as u8)
}

/// Opens a TCP connection from `source` (port chosen at connect time, so that each
/// source address has its own range of ephemeral ports).
pub(crate) async fn tcp_connect(source: Ipv4Addr, target: SocketAddr) -> anyhow::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    setsockopt(&socket, IpBindAddressNoPort, &true).context("IP_BIND_ADDRESS_NO_PORT")?;
    socket.bind(SocketAddr::V4(SocketAddrV4::new(source, 0)))?;
    // Closed with a reset, not a FIN: a scenario's 19,000 connections would otherwise sit
    // in TIME_WAIT for 60 s and expire, all at once, in the middle of a later scenario.
    socket.set_zero_linger()?;
    let stream = socket.connect(target).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// A client WebSocket over a TCP stream, with its own small read buffer.
#[derive(Debug)]
pub(crate) struct WsConn {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    masks: ws::Masks,
    out: Vec<u8>,
}

impl WsConn {
    /// Upgrades `stream` to a WebSocket at `path`.
    pub(crate) async fn upgrade(
        mut stream: TcpStream,
        host: &str,
        path: &str,
        seed: u32,
    ) -> anyhow::Result<Self> {
        stream
            .write_all(ws::handshake_request(host, path).as_bytes())
            .await?;
        let mut conn = Self {
            stream,
            buf: vec![0; READ_BUFFER],
            start: 0,
            end: 0,
            masks: ws::Masks::new(seed),
            out: Vec::with_capacity(64),
        };
        loop {
            conn.fill().await?;
            if let Some(head) = ws::handshake_response(&conn.buf[..conn.end])? {
                conn.start = head;
                return Ok(conn);
            }
        }
    }

    /// Reads more bytes into the buffer (cancel safe).
    ///
    /// # Errors
    /// End of stream, or a read error.
    pub(crate) async fn fill(&mut self) -> anyhow::Result<()> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let len = self.buf.len() * 2;
            self.buf.resize(len, 0);
        }
        let read = self.stream.read(&mut self.buf[self.end..]).await?;
        if read == 0 {
            bail!("connection closed by the server");
        }
        self.end += read;
        Ok(())
    }

    /// The next complete frame already in the buffer: its opcode and where its payload is.
    ///
    /// # Errors
    /// A frame this client does not accept ([`ws::parse_frame`]).
    pub(crate) fn next_buffered(&mut self) -> anyhow::Result<Option<(Opcode, Range<usize>)>> {
        let Some(frame) = ws::parse_frame(&self.buf[self.start..self.end])? else {
            return Ok(None);
        };
        let payload = self.start + frame.payload_start..self.start + frame.len;
        self.start += frame.len;
        Ok(Some((frame.opcode, payload)))
    }

    /// The bytes of a payload returned by [`next_buffered`](Self::next_buffered), valid
    /// until the next [`fill`](Self::fill).
    pub(crate) fn payload(&self, range: Range<usize>) -> &[u8] {
        &self.buf[range]
    }

    /// Sends one frame.
    pub(crate) async fn send(&mut self, opcode: Opcode, payload: &[u8]) -> anyhow::Result<()> {
        self.out.clear();
        let mask = self.masks.next_mask();
        ws::encode_frame(opcode, payload, mask, &mut self.out);
        self.stream.write_all(&self.out).await?;
        Ok(())
    }

    /// Waits for the next text message, answering WebSocket pings and Engine.IO pings on
    /// the way.
    pub(crate) async fn recv_text(&mut self) -> anyhow::Result<String> {
        loop {
            while let Some((opcode, range)) = self.next_buffered()? {
                match opcode {
                    Opcode::Text => {
                        let text = String::from_utf8(self.payload(range).to_vec())?;
                        if text == "2" {
                            self.send(Opcode::Text, b"3").await?;
                            continue;
                        }
                        return Ok(text);
                    }
                    Opcode::Ping => {
                        let data = self.payload(range).to_vec();
                        self.send(Opcode::Pong, &data).await?;
                    }
                    Opcode::Close => bail!("closed by the server"),
                    Opcode::Binary | Opcode::Pong => {}
                }
            }
            self.fill().await?;
        }
    }
}

/// The `sid` of an Engine.IO open packet (`0{"sid":…}`).
pub(crate) fn open_sid(text: &str) -> anyhow::Result<String> {
    match EioPacket::decode_text(text) {
        Ok(EioPacket::Open) => {}
        other => bail!("expected an open packet, got {other:?}"),
    }
    let open: serde_json::Value = serde_json::from_str(&text[1..]).context("open packet JSON")?;
    open.get("sid")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .context("open packet without sid")
}

/// The Socket.IO CONNECT to `/`, as an Engine.IO message (`40`).
pub(crate) fn sio_connect() -> Vec<u8> {
    let mut out = BytesMut::from(&b"4"[..]);
    tidings_sio::Packet::connect("/", None).encode(&mut out);
    out.to_vec()
}

/// True for the Engine.IO message carrying the Socket.IO CONNECT reply to `/`.
fn is_connect_reply(text: &str) -> anyhow::Result<bool> {
    let Ok(EioPacket::Message(sio)) = EioPacket::decode_text(text) else {
        return Ok(false);
    };
    let mut decoder = tidings_sio::Decoder::new(tidings_sio::DecoderLimits::default());
    match decoder.handle_text(&sio)? {
        Some(packet) if packet.kind == tidings_sio::PacketType::Connect => Ok(true),
        Some(packet) if packet.kind == tidings_sio::PacketType::ConnectError => {
            bail!("connect refused: {:?}", packet.data)
        }
        _ => Ok(false),
    }
}

/// A keep-alive HTTP/1.1 connection for long-polling.
#[derive(Debug)]
pub(crate) struct HttpConn {
    stream: TcpStream,
    host: String,
    buf: Vec<u8>,
}

impl HttpConn {
    /// Wraps a connected stream.
    pub(crate) fn new(stream: TcpStream, host: &str) -> Self {
        Self {
            stream,
            host: host.to_owned(),
            buf: Vec::with_capacity(READ_BUFFER),
        }
    }

    /// Sends a GET (or a POST when `body` is given) and waits for the whole response.
    ///
    /// # Errors
    /// IO errors, a malformed response, or a status other than 200.
    pub(crate) async fn request(
        &mut self,
        path: &str,
        body: Option<&[u8]>,
    ) -> anyhow::Result<Vec<u8>> {
        let request = match body {
            Some(body) => http::post(&self.host, path, body),
            None => http::get(&self.host, path),
        };
        self.stream.write_all(&request).await?;
        loop {
            if let Some((response, used)) = http::parse_response(&self.buf)? {
                self.buf.drain(..used);
                if response.status != 200 {
                    bail!(
                        "HTTP {} on {path}: {}",
                        response.status,
                        String::from_utf8_lossy(&response.body)
                    );
                }
                return Ok(response.body);
            }
            let mut chunk = [0u8; 4096];
            let read = self.stream.read(&mut chunk).await?;
            if read == 0 {
                bail!("HTTP connection closed");
            }
            self.buf.extend_from_slice(&chunk[..read]);
        }
    }
}

/// The polling path with a session id.
pub(crate) fn polling_path(sid: &str) -> String {
    format!("{SIO_PATH}?EIO=4&transport=polling&sid={sid}")
}

/// Long-polling handshake and Socket.IO connect: returns the sid once `40{…}` arrived.
pub(crate) async fn polling_connect(http: &mut HttpConn) -> anyhow::Result<String> {
    let open = http
        .request(&format!("{SIO_PATH}?EIO=4&transport=polling"), None)
        .await?;
    let open = String::from_utf8(open)?;
    let first = open.split('\u{1e}').next().unwrap_or_default();
    let sid = open_sid(first)?;
    let path = polling_path(&sid);
    http.request(&path, Some(&sio_connect())).await?;
    // The reply may come in the first GET or a later one (bounded by the caller's timeout).
    // A ping may come first (socketioxide sends one at once): it must be answered, or the
    // server closes the session a ping timeout later.
    for _ in 0..10 {
        let body = http.request(&path, None).await?;
        let payload = tidings_eio::payload::decode(&body).context("polling payload")?;
        let mut connected = false;
        for packet in payload {
            match packet {
                EioPacket::Ping(_) => {
                    http.request(&path, Some(b"3")).await?;
                }
                EioPacket::Message(sio) if is_connect_reply(&format!("4{sio}"))? => {
                    connected = true;
                }
                _ => {}
            }
        }
        if connected {
            return Ok(sid);
        }
    }
    bail!("no connect reply over polling")
}

/// Opens one client in `mode`, ready to receive: the Socket.IO connect is done (except
/// for [`Mode::Raw`]).
pub(crate) async fn open(
    mode: Mode,
    source: Ipv4Addr,
    target: SocketAddr,
    seed: u32,
) -> anyhow::Result<WsConn> {
    let host = target.to_string();
    match mode {
        Mode::Raw => {
            let stream = tcp_connect(source, target).await?;
            WsConn::upgrade(stream, &host, "/", seed).await
        }
        Mode::WebSocket => {
            let stream = tcp_connect(source, target).await?;
            let path = format!("{SIO_PATH}?EIO=4&transport=websocket");
            let mut conn = WsConn::upgrade(stream, &host, &path, seed).await?;
            open_sid(&conn.recv_text().await?)?;
            conn.send(Opcode::Text, &sio_connect()).await?;
            loop {
                let text = conn.recv_text().await?;
                if matches!(EioPacket::decode_text(&text), Ok(EioPacket::Ping(_))) {
                    conn.send(Opcode::Text, b"3").await?;
                } else if is_connect_reply(&text)? {
                    return Ok(conn);
                }
            }
        }
        Mode::Upgrade => {
            let mut http = HttpConn::new(tcp_connect(source, target).await?, &host);
            let sid = polling_connect(&mut http).await?;
            let stream = tcp_connect(source, target).await?;
            let path = format!("{SIO_PATH}?EIO=4&transport=websocket&sid={sid}");
            let mut conn = WsConn::upgrade(stream, &host, &path, seed).await?;
            conn.send(Opcode::Text, b"2probe").await?;
            let answer = conn.recv_text().await?;
            if answer != "3probe" {
                bail!("expected 3probe, got {answer:?}");
            }
            conn.send(Opcode::Text, b"5").await?;
            // The polling connection is done with once the upgrade completes.
            drop(http);
            Ok(conn)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_rotate_in_range() {
        assert_eq!(source(2, 50, 0), Ipv4Addr::new(127, 0, 0, 2));
        assert_eq!(source(2, 50, 48), Ipv4Addr::new(127, 0, 0, 50));
        assert_eq!(source(2, 50, 49), Ipv4Addr::new(127, 0, 0, 2));
        assert_eq!(source(9, 9, 5), Ipv4Addr::new(127, 0, 0, 9));
    }

    #[test]
    fn reads_open_packet_and_connect_reply() {
        let open = r#"0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
        assert_eq!(open_sid(open).unwrap(), "abc");
        assert!(open_sid("40").is_err());
        assert_eq!(sio_connect(), b"40");
        assert!(is_connect_reply(r#"40{"sid":"x"}"#).unwrap());
        assert!(!is_connect_reply(r#"42["tick"]"#).unwrap());
        assert!(!is_connect_reply("2").unwrap());
        assert!(is_connect_reply(r#"44{"message":"no"}"#).is_err());
    }
}
