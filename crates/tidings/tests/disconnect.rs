//! Disconnection (protocol §2.6): reasons, `disconnecting` with rooms still joined,
//! server-side disconnects, server shutdown, and the back-pressure policy.

mod common;

use std::time::Duration;

use common::{Log, Peer, fast, polling_session, serve};
use tidings::{Server, ServerConfig};
use tidings_testkit::{WsFrame, http};

/// Logs `disconnecting <reason> <rooms>` and `disconnect <reason>` for every socket of `/`.
fn logging_server(config: ServerConfig, log: &Log) -> Server {
    let io = Server::new(config);
    let log = log.clone();
    io.ns("/", move |socket| {
        let log = log.clone();
        async move {
            socket.join("lobby");
            let leaving = log.clone();
            socket.on_disconnecting(move |socket, reason| {
                let log = leaving.clone();
                async move {
                    let rooms = socket.rooms().len();
                    log.push(format!("disconnecting {reason} {rooms}"));
                }
            });
            let left = log.clone();
            socket.on_disconnect(move |socket, reason| {
                let log = left.clone();
                async move {
                    log.push(format!("disconnect {reason} {}", socket.connected()));
                }
            });
            socket.on("kick", |socket, _| async move { socket.disconnect(false) });
            socket.on(
                "close-all",
                |socket, _| async move { socket.disconnect(true) },
            );
        }
    });
    io
}

#[tokio::test]
async fn client_namespace_disconnect_sends_nothing_back() {
    let log = Log::default();
    let server = serve(logging_server(fast(), &log)).await;
    let (mut peer, _) = Peer::connected(server.addr).await;
    peer.send("41").await;
    assert_eq!(
        peer.raw().await,
        WsFrame::Text("2".into()),
        "the next frame is the ping"
    );
    assert_eq!(
        log.wait_for(2).await,
        [
            "disconnecting client namespace disconnect 2",
            "disconnect client namespace disconnect false"
        ]
    );
    peer.send("3").await;
    peer.send("40").await;
    assert!(
        peer.recv().await.starts_with("40{"),
        "the connection stayed open"
    );
}

#[tokio::test]
async fn server_disconnect_sends_disconnect_packet() {
    let log = Log::default();
    let server = serve(logging_server(ServerConfig::default(), &log)).await;
    let (mut peer, _) = Peer::connected(server.addr).await;
    peer.send(r#"42["kick"]"#).await;
    assert_eq!(peer.recv().await, "41");
    assert_eq!(
        log.wait_for(2).await,
        [
            "disconnecting server namespace disconnect 2",
            "disconnect server namespace disconnect false"
        ]
    );
    assert!(server.io.sockets().sockets().is_empty());
    assert!(
        server.io.sockets().adapter().rooms().is_empty(),
        "rooms were left"
    );
}

#[tokio::test]
async fn disconnect_with_close_ends_the_connection() {
    let log = Log::default();
    let server = serve(logging_server(ServerConfig::default(), &log)).await;
    let (mut peer, _) = Peer::connected(server.addr).await;
    peer.send(r#"42["close-all"]"#).await;
    assert_eq!(peer.recv().await, "41");
    assert_eq!(peer.frame().await, WsFrame::Close(None));
}

#[tokio::test]
async fn transport_close_is_the_reason_when_the_client_goes_away() {
    let log = Log::default();
    let server = serve(logging_server(ServerConfig::default(), &log)).await;
    let (peer, _) = Peer::connected(server.addr).await;
    peer.ws.close().await;
    assert_eq!(
        log.wait_for(2).await,
        [
            "disconnecting transport close 2",
            "disconnect transport close false"
        ]
    );
}

#[tokio::test]
async fn ping_timeout_is_the_reason_when_pongs_stop() {
    let log = Log::default();
    let server = serve(logging_server(fast(), &log)).await;
    let (mut peer, _) = Peer::connected(server.addr).await;
    assert_eq!(peer.raw().await, WsFrame::Text("2".into()));
    assert_eq!(log.wait_for(2).await[1], "disconnect ping timeout false");
}

#[tokio::test]
async fn server_close_disconnects_everyone_with_server_shutting_down() {
    let log = Log::default();
    let server = serve(logging_server(ServerConfig::default(), &log)).await;
    let (mut first, _) = Peer::connected(server.addr).await;
    let (mut second, _) = Peer::connected(server.addr).await;
    tokio::time::timeout(Duration::from_secs(5), server.io.close())
        .await
        .unwrap();
    assert_eq!(first.frame().await, WsFrame::Close(None));
    assert_eq!(second.frame().await, WsFrame::Close(None));
    let entries = log.wait_for(4).await;
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.as_str() == "disconnect server shutting down false")
            .count(),
        2
    );
    assert_eq!(server.io.engine().clients_count(), 0);
}

#[tokio::test]
async fn protocol_violation_over_polling_answers_noop_then_close() {
    let server = serve(Server::default()).await;
    let addr = server.addr;
    let (_, query) = polling_session(addr).await;
    assert_eq!(
        http(addr, "POST", &query, &[], r#"42["x"]"#).await.text(),
        "ok"
    );
    assert_eq!(http(addr, "GET", &query, &[], "").await.text(), "6\u{1e}1");
}

#[tokio::test]
async fn several_connect_packets_close_after_the_first_reply() {
    let server = serve(Server::default()).await;
    let addr = server.addr;
    let (_, query) = polling_session(addr).await;
    http(addr, "POST", &query, &[], "40").await;
    assert!(
        http(addr, "GET", &query, &[], "")
            .await
            .text()
            .starts_with("40{")
    );
    http(addr, "POST", &query, &[], "40").await;
    assert_eq!(http(addr, "GET", &query, &[], "").await.text(), "6\u{1e}1");
}

#[tokio::test]
async fn a_client_that_stops_reading_is_disconnected_when_its_queue_is_full() {
    let log = Log::default();
    let server = serve(logging_server(
        ServerConfig::default().max_queued_packets(8),
        &log,
    ))
    .await;
    let addr = server.addr;
    let (_, query) = polling_session(addr).await;
    http(addr, "POST", &query, &[], "40").await;
    // The client never polls again: its queue fills.
    for n in 0..10 {
        server.io.emit("flood", &n).unwrap();
    }
    let entries = log.wait_for(2).await;
    assert_eq!(entries[1], "disconnect transport error false");
}

#[tokio::test]
async fn a_client_flooding_events_past_the_inbox_is_disconnected() {
    let log = Log::default();
    let io = Server::new(ServerConfig::default().max_queued_events(4));
    let seen = log.clone();
    io.ns("/", move |socket| {
        let log = seen.clone();
        async move {
            socket.on("slow", |_, _| async move {
                tokio::time::sleep(Duration::from_secs(10)).await;
            });
            let left = log.clone();
            socket.on_disconnect(move |_, reason| {
                let log = left.clone();
                async move { log.push(reason.to_string()) }
            });
        }
    });
    let server = serve(io).await;
    let (mut peer, _) = Peer::connected(server.addr).await;
    for _ in 0..8 {
        peer.send(r#"42["slow"]"#).await;
    }
    assert_eq!(peer.frame().await, WsFrame::Close(None));
}

/// A server whose `wait` handler sleeps for `wait`, and whose `big` handler sends its
/// arguments back as `got`; its inbox holds at most 100 bytes of waiting events.
async fn byte_limited_server(wait: Duration) -> common::Running {
    let io = Server::new(ServerConfig::default().max_queued_event_bytes(100));
    io.ns("/", move |socket| async move {
        socket.on("wait", move |_, _| async move {
            tokio::time::sleep(wait).await;
        });
        socket.on("big", |socket, event| async move {
            let _ = socket.emit("got", event.into_args());
        });
    });
    serve(io).await
}

/// `42["big","xxx…"]` whose Socket.IO packet `2["big","xxx…"]` is 9 + `xs` + 2 bytes long.
fn big_event(xs: usize) -> String {
    format!(r#"42["big","{}"]"#, "x".repeat(xs))
}

#[tokio::test]
async fn events_waiting_within_the_byte_limit_all_run() {
    let server = byte_limited_server(Duration::from_millis(200)).await;
    let (mut peer, _) = Peer::connected(server.addr).await;
    // Alone in the inbox, an event may be larger than the limit.
    peer.send(r#"42["wait"]"#).await;
    peer.send(&big_event(150)).await;
    assert_eq!(
        peer.frame().await,
        WsFrame::Text(big_event(150).replace("big", "got"))
    );
    // Two events of 50 bytes fill the 100 exactly.
    peer.send(r#"42["wait"]"#).await;
    peer.send(&big_event(39)).await;
    peer.send(&big_event(39)).await;
    for _ in 0..2 {
        assert_eq!(
            peer.frame().await,
            WsFrame::Text(big_event(39).replace("big", "got"))
        );
    }
}

#[tokio::test]
async fn a_client_queueing_past_the_byte_limit_is_disconnected() {
    let server = byte_limited_server(Duration::from_secs(10)).await;
    let (mut peer, _) = Peer::connected(server.addr).await;
    peer.send(r#"42["wait"]"#).await;
    // 50 + 50 bytes wait; the third event would make 150.
    for _ in 0..3 {
        peer.send(&big_event(39)).await;
    }
    assert_eq!(peer.frame().await, WsFrame::Close(None));
}
