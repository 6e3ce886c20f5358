//! Connections that read a shared frame log (namespace-wide broadcasts).

mod common;

use std::sync::Arc;

use common::start;
use tidings_engine::{EngineConfig, Frame, FrameLog, Sid};
use tidings_testkit::{WsPeer, sid_of};

const WS: &str = "/engine.io/?EIO=4&transport=websocket";

fn frames(text: &str) -> Arc<[Frame]> {
    vec![Frame::message(text)].into()
}

#[allow(clippy::unwrap_used)] // a test helper: a failure is the test's failure
async fn subscribed_peer(
    setup: &common::Setup,
    log: &Arc<FrameLog>,
) -> (WsPeer, tidings_engine::Connection) {
    let mut peer = WsPeer::connect(setup.server.addr(), WS).await.unwrap();
    let sid = sid_of(&peer.recv_text().await);
    let connection = setup.engine.connection(Sid::parse(&sid).unwrap()).unwrap();
    assert!(connection.subscribe(log));
    assert!(connection.is_subscribed());
    (peer, connection)
}

#[tokio::test]
async fn an_append_reaches_every_subscriber_but_the_excluded() {
    let setup = start(EngineConfig::default()).await;
    let log = FrameLog::new();
    let (mut first, first_connection) = subscribed_peer(&setup, &log).await;
    let (mut second, _) = subscribed_peer(&setup, &log).await;
    assert_eq!(log.subscribers(), 2);
    assert_eq!(log.append(frames("all"), Box::new([])), 2);
    assert_eq!(first.recv_text().await, "4all");
    assert_eq!(second.recv_text().await, "4all");
    log.append(frames("not first"), Box::new([first_connection.sid()]));
    log.append(frames("again"), Box::new([]));
    assert_eq!(second.recv_text().await, "4not first");
    assert_eq!(second.recv_text().await, "4again");
    assert_eq!(
        first.recv_text().await,
        "4again",
        "the excluded entry was skipped"
    );
}

#[tokio::test]
async fn direct_sends_and_appends_keep_their_order() {
    let setup = start(EngineConfig::default()).await;
    let log = FrameLog::new();
    let (mut peer, connection) = subscribed_peer(&setup, &log).await;
    for round in 0..50 {
        connection.send_text(&format!("direct {round}")).unwrap();
        log.append(frames(&format!("logged {round}")), Box::new([]));
    }
    connection.send_text("last").unwrap();
    for round in 0..50 {
        assert_eq!(peer.recv_text().await, format!("4direct {round}"));
        assert_eq!(peer.recv_text().await, format!("4logged {round}"));
    }
    assert_eq!(peer.recv_text().await, "4last");
}

#[tokio::test]
async fn unsubscribing_keeps_what_the_log_held_then_stops_reading() {
    let setup = start(EngineConfig::default()).await;
    let log = FrameLog::new();
    let (mut peer, connection) = subscribed_peer(&setup, &log).await;
    log.append(frames("before"), Box::new([]));
    connection.unsubscribe().unwrap();
    assert!(!connection.is_subscribed());
    assert_eq!(log.subscribers(), 0);
    assert_eq!(log.append(frames("after"), Box::new([])), 0);
    connection.send_text("direct").unwrap();
    assert_eq!(peer.recv_text().await, "4before");
    assert_eq!(peer.recv_text().await, "4direct");
}

#[tokio::test]
async fn a_polling_session_cannot_subscribe_and_a_closed_one_leaves() {
    let setup = start(EngineConfig::default()).await;
    let log = FrameLog::new();
    let open = setup.get("EIO=4&transport=polling").await.text();
    let polling = setup
        .engine
        .connection(Sid::parse(&sid_of(&open)).unwrap())
        .unwrap();
    assert!(!polling.subscribe(&log));
    let (peer, connection) = subscribed_peer(&setup, &log).await;
    assert!(!connection.subscribe(&log), "one log at a time");
    peer.close().await;
    tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while log.subscribers() > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("a closed session stops reading");
}
