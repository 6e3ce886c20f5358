//! The command line and clock every Rust benchmark peer shares (included by path: the
//! socketioxide peer is its own workspace and cannot depend on a crate of ours).

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};

/// `--addr`, `--admin`, `--workers`, `--max-seconds`.
#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) addr: String,
    pub(crate) admin: String,
    pub(crate) workers: usize,
    pub(crate) max_seconds: u64,
}

/// Parses the command line.
pub(crate) fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        addr: "127.0.0.1:3000".into(),
        admin: "127.0.0.1:3001".into(),
        workers: 1,
        max_seconds: 3600,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--addr" => options.addr = value,
            "--admin" => options.admin = value,
            "--workers" => options.workers = value.parse()?,
            "--max-seconds" => options.max_seconds = value.parse()?,
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(options)
}

/// Microseconds since the Unix epoch: what every peer stamps ticks with.
pub(crate) fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
        })
}

/// Binds `addr` (an `ip:port`) with a backlog of 1,024, as Node's 511 is. tokio's
/// `TcpListener::bind` asks for 128: the generator's 200 handshakes in flight overflowed
/// it, and each dropped SYN cost a one-second retransmission, whichever peer it was.
pub(crate) fn listen(addr: &str) -> anyhow::Result<tokio::net::TcpListener> {
    let address: std::net::SocketAddr = addr.parse().with_context(|| format!("address {addr}"))?;
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket
        .bind(address)
        .with_context(|| format!("bind {addr}"))?;
    Ok(socket.listen(1024)?)
}
