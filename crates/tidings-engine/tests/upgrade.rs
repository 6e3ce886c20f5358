//! The polling → WebSocket upgrade (protocol §1.6), and heartbeats across it.

mod common;

use std::time::Duration;

use common::{Setup, fast, start};
use tidings_engine::{EngineConfig, Transport};
use tidings_testkit::{WsFrame, WsPeer};

fn ws_query(sid: &str) -> String {
    format!("/engine.io/?EIO=4&transport=websocket&sid={sid}")
}

#[tokio::test]
async fn probe_then_upgrade_moves_the_session_to_websocket() {
    let setup = start(EngineConfig::default()).await;
    let sid = setup.handshake().await;
    let query = Setup::poll_query(&sid);
    let pending = setup.pending_get(&sid).await;
    let addr = setup.server.addr();

    let mut peer = WsPeer::connect(addr, &ws_query(&sid)).await.unwrap();
    peer.send_text("2probe").await;
    assert_eq!(peer.recv_text().await, "3probe");
    assert_eq!(
        pending.await.unwrap().text(),
        "6",
        "the pending poll ends with a noop"
    );
    assert_eq!(
        setup.get(&query).await.text(),
        "6",
        "a poll after the probe gets a noop too"
    );
    peer.send_text("5").await;
    peer.send_text("4over websocket").await;
    assert_eq!(peer.recv_text().await, "4over websocket");
    let connection = setup
        .engine
        .connection(tidings_engine::Sid::parse(&sid).unwrap())
        .unwrap();
    assert_eq!(connection.transport(), Transport::WebSocket);

    let stale = setup.get(&query).await;
    assert_eq!(
        (stale.status, stale.text().as_str()),
        (400, r#"{"code":3,"message":"Bad request"}"#)
    );
    let stale_post = setup.post(&query, "4x").await;
    assert_eq!(stale_post.status, 400);
    assert_eq!(
        WsPeer::connect(addr, &ws_query(&sid)).await.unwrap_err(),
        400,
        "one websocket"
    );
}

#[tokio::test]
async fn packets_queued_during_the_upgrade_arrive_on_the_websocket() {
    let setup = start(EngineConfig::default()).await;
    let sid = setup.handshake().await;
    let addr = setup.server.addr();
    let mut peer = WsPeer::connect(addr, &ws_query(&sid)).await.unwrap();
    peer.send_text("2probe").await;
    assert_eq!(peer.recv_text().await, "3probe");
    setup
        .post(&Setup::poll_query(&sid), "4sent while probing")
        .await;
    peer.send_text("5").await;
    assert_eq!(peer.recv_text().await, "4sent while probing");
}

#[tokio::test]
async fn other_packet_before_upgrade_closes_the_probe_only() {
    let setup = start(EngineConfig::default()).await;
    let sid = setup.handshake().await;
    let mut peer = WsPeer::connect(setup.server.addr(), &ws_query(&sid))
        .await
        .unwrap();
    peer.send_text("2probe").await;
    assert_eq!(peer.recv_text().await, "3probe");
    peer.send_text("4too early").await;
    assert_eq!(peer.recv().await, WsFrame::Close(None));
    let query = Setup::poll_query(&sid);
    assert_eq!(setup.post(&query, "4still polling").await.text(), "ok");
    assert_eq!(setup.get(&query).await.text(), "4still polling");
}

#[tokio::test]
async fn upgrade_timeout_closes_the_probe_and_polling_goes_on() {
    let setup = start(EngineConfig::default().upgrade_timeout(Duration::from_millis(200))).await;
    let sid = setup.handshake().await;
    let mut peer = WsPeer::connect(setup.server.addr(), &ws_query(&sid))
        .await
        .unwrap();
    peer.send_text("2probe").await;
    assert_eq!(peer.recv_text().await, "3probe");
    assert_eq!(peer.recv().await, WsFrame::Close(None));
    let query = Setup::poll_query(&sid);
    assert_eq!(setup.post(&query, "4polling").await.text(), "ok");
    assert_eq!(setup.get(&query).await.text(), "4polling");
}

#[tokio::test]
async fn heartbeat_survives_the_upgrade() {
    let setup = start(fast()).await;
    let sid = setup.handshake().await;
    let mut peer = WsPeer::connect(setup.server.addr(), &ws_query(&sid))
        .await
        .unwrap();
    peer.send_text("2probe").await;
    assert_eq!(peer.recv_text().await, "3probe");
    peer.send_text("5").await;
    for _ in 0..3 {
        assert_eq!(peer.recv_text().await, "2");
        peer.send_text("3").await;
    }
    assert!(setup.echo.closed.lock().unwrap().is_empty());
    assert_eq!(peer.recv_text().await, "2");
    assert_eq!(
        peer.recv().await,
        WsFrame::Close(None),
        "an unanswered ping still closes"
    );
}

#[tokio::test]
async fn upgrades_can_be_turned_off() {
    let setup = start(EngineConfig::default().allow_upgrades(false)).await;
    let reply = setup.get("EIO=4&transport=polling").await;
    assert!(reply.text().contains(r#""upgrades":[]"#));
    let sid = tidings_testkit::sid_of(&reply.text());
    assert_eq!(
        WsPeer::connect(setup.server.addr(), &ws_query(&sid))
            .await
            .unwrap_err(),
        400
    );
}
