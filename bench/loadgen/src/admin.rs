//! The driver's side of the peers' admin HTTP: a one-shot GET (the peers serve it, see
//! `bench/README.md`).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::http;

/// GETs `path` from an admin endpoint and returns the body, blocking (the driver is
/// synchronous); every read is bounded by `timeout`.
pub(crate) fn get(addr: SocketAddr, path: &str, timeout: Duration) -> anyhow::Result<String> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.write_all(&http::get(&addr.to_string(), path))?;
    let mut buf = Vec::new();
    loop {
        if let Some((response, _)) = http::parse_response(&buf)? {
            if response.status != 200 {
                bail!("admin {path}: HTTP {}", response.status);
            }
            return Ok(String::from_utf8_lossy(&response.body).into_owned());
        }
        let mut chunk = [0u8; 1024];
        let read = stream
            .read(&mut chunk)
            .with_context(|| format!("admin {path}"))?;
        if read == 0 {
            bail!("admin {path}: connection closed");
        }
        buf.extend_from_slice(&chunk[..read]);
    }
}
