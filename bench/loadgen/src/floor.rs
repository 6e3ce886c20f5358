//! `tidings-loadgen floor`: the raw WebSocket floor. No Engine.IO, no Socket.IO: the same
//! WebSocket library and buffer sizes as Tidings (tokio-tungstenite, 256-byte read
//! buffer, no write buffering), one task per connection, and a broadcast that builds
//! one frame and hands the same bytes to every connection's bounded queue. A connection
//! writes everything queued for it, then flushes once.
//!
//! Admin HTTP: `GET /broadcast?n=&size=&batch=` sends `42["tick",{"i":…,"t":…,"p":…}]`
//! n times (the bytes a Socket.IO server sends), yielding after every `batch`;
//! `GET /stats` prints the connection count.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::{Args, admin, now_micros};

/// Per-connection queue bound, as Tidings' `max_queued_packets`.
const QUEUE: usize = 4096;

/// The open connections' queues.
#[derive(Debug, Default)]
struct Clients {
    next_id: AtomicU64,
    queues: Mutex<HashMap<u64, mpsc::Sender<Message>>>,
}

async fn connection(clients: Arc<Clients>, stream: TcpStream) -> anyhow::Result<()> {
    stream.set_nodelay(true)?;
    let config = WebSocketConfig::default()
        .read_buffer_size(256)
        .write_buffer_size(0);
    let mut socket = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await?;
    let (tx, mut rx) = mpsc::channel(QUEUE);
    let id = clients.next_id.fetch_add(1, Ordering::Relaxed);
    clients
        .queues
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
        .insert(id, tx);
    let result = async {
        loop {
            tokio::select! {
                message = rx.recv() => {
                    let Some(message) = message else { return anyhow::Ok(()) };
                    socket.feed(message).await?;
                    while let Ok(message) = rx.try_recv() {
                        socket.feed(message).await?;
                    }
                    socket.flush().await?;
                }
                incoming = socket.next() => match incoming {
                    Some(Ok(Message::Close(_))) | None => return Ok(()),
                    Some(Ok(_)) => {}
                    Some(Err(error)) => return Err(error.into()),
                },
            }
        }
    }
    .await;
    clients
        .queues
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
        .remove(&id);
    result
}

async fn broadcast(clients: &Clients, n: u64, size: usize, batch: u64) {
    let padding = "x".repeat(size);
    for i in 0..n {
        let text = format!(
            r#"42["tick",{{"i":{i},"t":{},"p":"{padding}"}}]"#,
            now_micros()
        );
        let message = Message::Text(Utf8Bytes::from(text));
        {
            let queues = clients
                .queues
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            for queue in queues.values() {
                let _ = queue.try_send(message.clone());
            }
        }
        if (i + 1) % batch == 0 {
            tokio::task::yield_now().await;
        }
    }
}

async fn admin_request(clients: Arc<Clients>, mut stream: TcpStream) -> anyhow::Result<()> {
    let (path, query) = admin::read_request(&mut stream).await?;
    let body = match path.as_str() {
        "/broadcast" => {
            let n = admin::param(&query, "n", 1);
            let size = usize::try_from(admin::param(&query, "size", 16))?;
            broadcast(&clients, n, size, admin::param(&query, "batch", 1).max(1)).await;
            format!("ok {n}")
        }
        "/stats" => format!(
            "sockets {}",
            clients
                .queues
                .lock()
                .unwrap_or_else(|poison| poison.into_inner())
                .len()
        ),
        _ => "unknown".to_owned(),
    };
    admin::reply(&mut stream, &body).await
}

/// Runs the floor server (see the module docs) until `--max-seconds`.
pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let addr = args.value("addr")?;
    let admin_addr = args.value("admin")?;
    let workers: usize = args.number("workers", 1)?;
    let max = Duration::from_secs(args.number("max-seconds", 3600)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let clients = Arc::new(Clients::default());
        let listener = TcpListener::bind(&addr).await.context("bind")?;
        let admin_listener = TcpListener::bind(&admin_addr).await.context("bind admin")?;
        let admin_clients = clients.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = admin_listener.accept().await {
                tokio::spawn(admin_request(admin_clients.clone(), stream));
            }
        });
        println!("floor listening on ws://{}", listener.local_addr()?);
        let accept = async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        tokio::spawn(connection(clients.clone(), stream));
                    }
                    // Out of file descriptors: wait instead of spinning.
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
        };
        tokio::select! {
            () = accept => {}
            () = tokio::time::sleep(max) => {}
        }
        anyhow::Ok(())
    })
}
