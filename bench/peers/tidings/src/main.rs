//! The Tidings peer of the benchmark harness: the handler contract every peer shares
//! (`bench/README.md`), written on the `tidings` facade.
//!
//! Run with `cargo run --release -p tidings-bench-peer -- --addr 127.0.0.1:3000 --admin
//! 127.0.0.1:3001 --workers 1`.
//!
//! - `echo` (…args) → acknowledged with the same arguments;
//! - `message` (…args) → `message-back` (…args);
//! - admin HTTP `GET /broadcast?n=&size=&batch=` emits `tick` `{i, t, p}` n times to
//!   everyone (`t` in µs since the Unix epoch, `p` is `size` times `x`), yielding to the
//!   runtime after every `batch` emits; `GET /stats` prints the socket count.
//!
//! The process stops by itself after `--max-seconds` (default 3,600).
#[path = "../../common/options.rs"]
mod options;

use options::{now_micros, options};

use std::time::Duration;

use anyhow::bail;
use serde_json::json;
use tidings::{Server, ServerConfig, Socket};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One query parameter of `query` as a number, or `default`.
fn param(query: &str, name: &str, default: u64) -> u64 {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(default)
}

/// Reads one admin request, runs it and answers with a one-line body.
async fn admin(io: Server, mut stream: TcpStream) -> anyhow::Result<()> {
    let mut buf = vec![0u8; 2048];
    let mut len = 0;
    while !buf[..len].windows(4).any(|window| window == b"\r\n\r\n") {
        if len == buf.len() {
            bail!("admin request too long");
        }
        let read = stream.read(&mut buf[len..]).await?;
        if read == 0 {
            return Ok(());
        }
        len += read;
    }
    let head = String::from_utf8_lossy(&buf[..len]);
    let target = head.split(' ').nth(1).unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let body = match path {
        "/broadcast" => {
            let n = param(query, "n", 1);
            let batch = param(query, "batch", 1).max(1);
            let padding = "x".repeat(usize::try_from(param(query, "size", 16))?);
            for i in 0..n {
                let tick = json!({ "i": i, "t": now_micros(), "p": padding });
                let _ = io.emit("tick", &tick);
                if (i + 1) % batch == 0 {
                    tokio::task::yield_now().await;
                }
            }
            format!("ok {n}")
        }
        "/stats" => format!("sockets {}", io.sockets().sockets().len()),
        _ => {
            stream
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await?;
            return Ok(());
        }
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
        .worker_threads(options.workers)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let io = Server::new(ServerConfig::default());
        io.ns("/", |socket: Socket| async move {
            socket.on("echo", |_, mut event| async move {
                // The arguments move into the ack: no copy, as socketioxide's peer
                // serializes its `data` by reference.
                let args = std::mem::take(event.args_mut());
                let _ = event.ack(args);
            });
            socket.on("message", |socket, event| async move {
                let _ = socket.emit("message-back", event.into_args());
            });
        });
        let listener = options::listen(&options.addr)?;
        let admin_listener = TcpListener::bind(&options.admin).await?;
        let admin_io = io.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = admin_listener.accept().await {
                let io = admin_io.clone();
                tokio::spawn(async move {
                    let _ = admin(io, stream).await;
                });
            }
        });
        println!(
            "tidings peer listening on http://{}",
            listener.local_addr()?
        );
        tokio::select! {
            served = io.serve_listener(listener) => served?,
            () = tokio::time::sleep(Duration::from_secs(options.max_seconds)) => {}
        }
        anyhow::Ok(())
    })
}
