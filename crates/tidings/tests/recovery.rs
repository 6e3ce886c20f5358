//! Connection state recovery (protocol §2.10), over the wire.

mod common;

use std::time::Duration;

use common::{Log, Peer, serve};
use serde_json::{Value, json};
use tidings::{ConnectError, RecoveryConfig, Server, ServerConfig};

fn recovering(recovery: RecoveryConfig, log: &Log) -> Server {
    let io = Server::new(ServerConfig::default().connection_state_recovery(recovery));
    let middleware_log = log.clone();
    io.sockets().use_middleware(move |_| {
        let log = middleware_log.clone();
        async move {
            log.push("middleware");
            Ok::<(), ConnectError>(())
        }
    });
    let connection_log = log.clone();
    io.ns("/", move |socket| {
        let log = connection_log.clone();
        async move {
            log.push(format!("connection recovered={}", socket.recovered()));
            if !socket.recovered() {
                socket.join("room");
                socket.set_data(json!({"user": "alice"}));
            } else {
                log.push(format!("data {}", socket.data()));
                log.push(format!("rooms {}", socket.rooms().len()));
            }
        }
    });
    io
}

/// The offset, the last argument of an event such as `42["a","3"]`.
fn offset_of(event: &str) -> String {
    let values: Vec<Value> = serde_json::from_str(&event[2..]).expect("an event array");
    let last = values.last().and_then(Value::as_str);
    last.expect("a string offset last").to_owned()
}

#[tokio::test]
async fn missed_packets_are_replayed_before_the_connect_reply() {
    let log = Log::default();
    let server = serve(recovering(RecoveryConfig::default(), &log)).await;
    let mut peer = Peer::open(server.addr).await;
    peer.send("40").await;
    let reply: Value = serde_json::from_str(&peer.recv().await[2..]).unwrap();
    let (sid, pid) = (
        reply["sid"].as_str().unwrap(),
        reply["pid"].as_str().unwrap(),
    );
    assert_eq!(
        log.wait_for(2).await,
        ["middleware", "connection recovered=false"]
    );
    server.io.emit("before", &1).unwrap();
    let seen = peer.recv().await;
    let offset = offset_of(&seen);
    assert_eq!(seen, format!(r#"42["before",1,"{offset}"]"#));
    peer.ws.close().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.io.emit("missed-1", ()).unwrap();
    server.io.to("room").emit("missed-2", ()).unwrap();
    server.io.to("elsewhere").emit("not-for-us", ()).unwrap();

    let mut again = Peer::open(server.addr).await;
    again
        .send(&format!(r#"40{{"pid":"{pid}","offset":"{offset}"}}"#))
        .await;
    let first = again.recv().await;
    assert!(first.starts_with(r#"42["missed-1","#), "{first}");
    let second = again.recv().await;
    assert!(second.starts_with(r#"42["missed-2","#), "{second}");
    assert_eq!(
        again.recv().await,
        format!(r#"40{{"sid":"{sid}","pid":"{pid}"}}"#)
    );
    let entries = log.wait_for(5).await;
    assert_eq!(
        entries[2..],
        [
            "connection recovered=true",
            r#"data {"user":"alice"}"#,
            "rooms 2"
        ],
        "middlewares are skipped and rooms and data come back"
    );
}

#[tokio::test]
async fn middlewares_run_on_recovery_when_asked() {
    let log = Log::default();
    let config = RecoveryConfig::default().skip_middlewares(false);
    let server = serve(recovering(config, &log)).await;
    let mut peer = Peer::open(server.addr).await;
    peer.send("40").await;
    let reply: Value = serde_json::from_str(&peer.recv().await[2..]).unwrap();
    let pid = reply["pid"].as_str().unwrap().to_owned();
    server.io.emit("e", ()).unwrap();
    let offset = offset_of(&peer.recv().await);
    peer.ws.close().await;
    log.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut again = Peer::open(server.addr).await;
    again
        .send(&format!(r#"40{{"pid":"{pid}","offset":"{offset}"}}"#))
        .await;
    assert!(again.recv().await.contains(&pid));
    assert_eq!(
        log.wait_for(4).await[2..4],
        ["middleware", "connection recovered=true"]
    );
}

#[tokio::test]
async fn unknown_pid_or_offset_gets_a_new_session() {
    let log = Log::default();
    let server = serve(recovering(RecoveryConfig::default(), &log)).await;
    let mut peer = Peer::open(server.addr).await;
    peer.send(r#"40{"pid":"lv_VI97HAXpY6yYWAAAC","offset":"0"}"#)
        .await;
    let reply: Value = serde_json::from_str(&peer.recv().await[2..]).unwrap();
    assert_ne!(reply["pid"], "lv_VI97HAXpY6yYWAAAC");
    assert_eq!(log.wait_for(2).await[1], "connection recovered=false");
}

#[tokio::test]
async fn explicit_disconnects_are_not_recoverable() {
    let log = Log::default();
    let server = serve(recovering(RecoveryConfig::default(), &log)).await;
    let mut peer = Peer::open(server.addr).await;
    peer.send("40").await;
    let reply: Value = serde_json::from_str(&peer.recv().await[2..]).unwrap();
    let pid = reply["pid"].as_str().unwrap().to_owned();
    server.io.emit("e", ()).unwrap();
    let offset = offset_of(&peer.recv().await);
    peer.send("41").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    peer.send(&format!(r#"40{{"pid":"{pid}","offset":"{offset}"}}"#))
        .await;
    let again: Value = serde_json::from_str(&peer.recv().await[2..]).unwrap();
    assert_ne!(again["pid"].as_str().unwrap(), pid);
}

#[tokio::test]
async fn without_recovery_there_is_no_offset() {
    let server = serve(Server::default()).await;
    let (mut peer, _) = Peer::connected(server.addr).await;
    server.io.emit("plain", &1).unwrap();
    assert_eq!(peer.recv().await, r#"42["plain",1]"#);
}
