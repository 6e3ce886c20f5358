//! `tidings-loadgen floor`: the raw WebSocket floor. No Engine.IO, no Socket.IO: the same
//! WebSocket library and read buffer as Tidings (tokio-tungstenite, 256-byte read
//! buffer), one task per connection, and a broadcast that builds one frame and hands
//! the same bytes to every connection through one shared ring (`tokio::sync::broadcast`,
//! so an idle connection holds no queue of its own). A connection feeds everything
//! queued for it into tungstenite's write buffer and flushes once, so a burst of
//! broadcasts costs one `write()` per connection, not one per message: the cheapest
//! this library allows.
//!
//! Admin HTTP: `GET /broadcast?n=&size=&batch=` sends `42["tick",{"i":…,"t":…,"p":…}]`
//! n times (the bytes a Socket.IO server sends), yielding after every `batch`;
//! `GET /stats` prints the connection count.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::{Args, admin, now_micros};

/// Messages the ring holds: a connection further behind than this misses some (the
/// driver reports missing deliveries).
const RING: usize = 4096;

/// The shared ring every connection reads.
#[derive(Debug)]
struct Clients {
    ring: broadcast::Sender<Message>,
}

async fn connection(clients: Arc<Clients>, stream: TcpStream) -> anyhow::Result<()> {
    stream.set_nodelay(true)?;
    let config = WebSocketConfig::default()
        .read_buffer_size(256)
        // Allocated on the first write only, so idle connections do not pay for it.
        .write_buffer_size(64 * 1024);
    let mut socket = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await?;
    let mut ring = clients.ring.subscribe();
    loop {
        tokio::select! {
            message = ring.recv() => {
                match message {
                    Ok(message) => socket.feed(message).await?,
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return Ok(()),
                }
                loop {
                    match ring.try_recv() {
                        Ok(message) => socket.feed(message).await?,
                        Err(TryRecvError::Lagged(_)) => {}
                        Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                    }
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

async fn broadcast(clients: &Clients, n: u64, size: usize, batch: u64) {
    let padding = "x".repeat(size);
    for i in 0..n {
        let text = format!(
            r#"42["tick",{{"i":{i},"t":{},"p":"{padding}"}}]"#,
            now_micros()
        );
        let _ = clients.ring.send(Message::Text(Utf8Bytes::from(text)));
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
        "/stats" => format!("sockets {}", clients.ring.receiver_count()),
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
        let clients = Arc::new(Clients {
            ring: broadcast::channel(RING).0,
        });
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
