//! The admin HTTP side shared by the floor server and the driver: a tiny HTTP/1.1
//! request reader for the server, and a one-shot GET for the driver.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::http;

/// Reads one request head and returns its path and query.
pub(crate) async fn read_request(stream: &mut TcpStream) -> anyhow::Result<(String, String)> {
    let mut buf = vec![0u8; 2048];
    let mut len = 0;
    while !buf[..len].windows(4).any(|window| window == b"\r\n\r\n") {
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
    Ok((path.to_owned(), query.to_owned()))
}

/// One numeric query parameter, or `default`.
pub(crate) fn param(query: &str, name: &str, default: u64) -> u64 {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(default)
}

/// Writes a `200` with a text body and closes.
pub(crate) async fn reply(stream: &mut TcpStream, body: &str) -> anyhow::Result<()> {
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    Ok(())
}

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

#[cfg(test)]
mod tests {
    use super::param;

    #[test]
    fn reads_query_parameters() {
        assert_eq!(param("n=10&size=16", "n", 1), 10);
        assert_eq!(param("n=10&size=16", "size", 1), 16);
        assert_eq!(param("n=10&size=16", "batch", 3), 3);
        assert_eq!(param("n=x", "n", 3), 3);
        assert_eq!(param("", "n", 3), 3);
    }
}
