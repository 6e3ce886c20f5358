//! The socketioxide peer of the benchmark harness: the same handler contract as every
//! other peer (see `bench/README.md`).
//!
//! Run with `cargo run --release -- --addr 127.0.0.1:3000 --admin 127.0.0.1:3001`.
//!
//! - `echo` (…args) → acknowledged with the same arguments;
//! - `message` (…args) → `message-back` (…args);
//! - admin HTTP `GET /broadcast?n=&size=&batch=` emits `tick` `{i, t, p}` n times to
//!   everyone (`t` in µs since the Unix epoch, `p` is `size` times `x`), yielding to the
//!   runtime after every `batch` emits.
//!
//! The process stops by itself after `--max-seconds` (default 3,600).

#[path = "../../common/options.rs"]
mod options;

use options::{now_micros, options};

use std::time::Duration;

use anyhow::bail;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Reads one admin request line and runs it; answers `200 ok` or `404`.
async fn admin(io: SocketIo, mut stream: TcpStream) -> anyhow::Result<()> {
    let mut buf = vec![0u8; 2048];
    let mut len = 0;
    while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
        if len == buf.len() {
            bail!("request too long");
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
    let param = |name: &str, default: u64| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(key, _)| *key == name)
            .and_then(|(_, value)| value.parse().ok())
            .unwrap_or(default)
    };
    let body = match path {
        "/broadcast" => {
            let n = param("n", 1);
            let batch = param("batch", 1).max(1);
            let padding = "x".repeat(param("size", 16) as usize);
            for i in 0..n {
                let tick = json!({ "i": i, "t": now_micros(), "p": padding });
                let _ = io.emit("tick", &tick).await;
                if (i + 1) % batch == 0 {
                    tokio::task::yield_now().await;
                }
            }
            format!("ok {n}")
        }
        "/stats" => format!("sockets {}", io.sockets().len()),
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
        // Same outgoing queue bound as Tidings (4,096 packets); the default of 128 drops
        // broadcasts that are queued faster than one write.
        let (svc, io) = SocketIo::builder().max_buffer_size(4096).build_svc();
        io.ns("/", async |socket: SocketRef| {
            socket.on("echo", async |ack: AckSender, Data::<Value>(data)| {
                let _ = ack.send(&data);
            });
            socket.on("message", async |socket: SocketRef, Data::<Value>(data)| {
                let _ = socket.emit("message-back", &data);
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
            "socketioxide peer listening on http://{}",
            listener.local_addr()?
        );
        // The accept loop is a task of the runtime, as in the Tidings peer and the floor: a
        // future under `block_on` runs on the main thread, and every accepted connection
        // would then cost a wake-up of the worker thread.
        let serve = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    // Out of file descriptors: wait instead of spinning.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let svc = svc.clone();
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .with_upgrades()
                        .await;
                });
            }
        });
        tokio::select! {
            _ = serve => {}
            () = tokio::time::sleep(Duration::from_secs(options.max_seconds)) => {}
        }
        anyhow::Ok(())
    })
}
