//! Long-polling rules (protocol §1.3, §1.4, §1.8, §1.10), with the exact bytes.

mod common;

use std::time::Duration;

use common::{Setup, fast, start};
use tidings_engine::{CloseReason, EngineConfig};
use tidings_testkit::{abandoned_get, http};

#[tokio::test]
async fn handshake_answers_open_packet_with_reference_headers() {
    let setup = start(EngineConfig::default()).await;
    let reply = setup.get("EIO=4&transport=polling&t=burst").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let sid = tidings_testkit::sid_of(&reply.text());
    assert_eq!(sid.len(), 20);
    assert_eq!(
        reply.text(),
        format!(
            r#"0{{"sid":"{sid}","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}}"#
        )
    );
}

#[tokio::test]
async fn post_answers_ok_as_text_html() {
    let setup = start(EngineConfig::default()).await;
    let sid = setup.handshake().await;
    let reply = setup.post(&Setup::poll_query(&sid), "4hello").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "ok");
    assert_eq!(reply.header("content-type"), Some("text/html"));
    assert_eq!(reply.header("content-length"), Some("2"));
}

#[tokio::test]
async fn get_batches_everything_queued() {
    let setup = start(EngineConfig::default()).await;
    let sid = setup.handshake().await;
    let query = Setup::poll_query(&sid);
    setup.post(&query, "4test1\x1e4test2\x1e4test3").await;
    assert_eq!(setup.get(&query).await.text(), "4test1\x1e4test2\x1e4test3");
}

#[tokio::test]
async fn binary_travels_as_base64_over_polling() {
    let setup = start(EngineConfig::default()).await;
    let sid = setup.handshake().await;
    let query = Setup::poll_query(&sid);
    setup.post(&query, "bAQIDBA==\x1e4€").await;
    assert_eq!(setup.get(&query).await.text(), "bAQIDBA==\x1e4€");
}

#[tokio::test]
async fn pending_get_is_answered_when_a_message_arrives() {
    let setup = start(EngineConfig::default()).await;
    let sid = setup.handshake().await;
    let query = Setup::poll_query(&sid);
    let pending = setup.pending_get(&sid).await;
    setup.post(&query, "4late").await;
    assert_eq!(pending.await.unwrap().text(), "4late");
}

#[tokio::test]
async fn second_concurrent_poll_closes_session() {
    let setup = start(EngineConfig::default()).await;
    let sid = setup.handshake().await;
    let query = Setup::poll_query(&sid);
    let first = setup.pending_get(&sid).await;
    let second = setup.get(&query).await;
    assert_eq!(second.status, 400);
    let first = first.await.unwrap();
    assert_eq!((first.status, first.text()), (200, "1".to_owned()));
    let after = setup.get(&query).await;
    assert_eq!(after.status, 400);
    assert_eq!(after.text(), r#"{"code":1,"message":"Session ID unknown"}"#);
    assert_eq!(
        *setup.echo.closed.lock().unwrap(),
        [CloseReason::TransportError]
    );
}

#[tokio::test]
async fn cancelled_poll_closes_session() {
    let setup = start(EngineConfig::default()).await;
    let sid = setup.handshake().await;
    abandoned_get(
        setup.server.addr(),
        &format!("/engine.io/?{}", Setup::poll_query(&sid)),
    )
    .await;
    setup.wait_until_gone(&sid).await;
    assert_eq!(setup.get(&Setup::poll_query(&sid)).await.status, 400);
}

#[tokio::test]
async fn invalid_payload_closes_session() {
    for body in ["abc", ""] {
        let setup = start(EngineConfig::default()).await;
        let sid = setup.handshake().await;
        let query = Setup::poll_query(&sid);
        assert_eq!(setup.post(&query, body).await.status, 400, "{body:?}");
        assert_eq!(setup.get(&query).await.status, 400);
        assert_eq!(
            *setup.echo.closed.lock().unwrap(),
            [CloseReason::ParseError]
        );
    }
}

#[tokio::test]
async fn binary_content_type_is_refused_and_closes() {
    let setup = start(EngineConfig::default()).await;
    let sid = setup.handshake().await;
    let path = format!("/engine.io/?{}", Setup::poll_query(&sid));
    let reply = http(
        setup.server.addr(),
        "POST",
        &path,
        &[("content-type", "application/octet-stream")],
        vec![1u8, 2, 3],
    )
    .await;
    assert_eq!(reply.status, 400);
    setup.wait_until_gone(&sid).await;
}

#[tokio::test]
async fn oversized_post_gets_413_and_session_stays() {
    let setup = start(EngineConfig::default().max_payload(5)).await;
    let sid = setup.handshake().await;
    let query = Setup::poll_query(&sid);
    let reply = setup
        .post(&query, "4aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
        .await;
    assert_eq!((reply.status, reply.text()), (413, String::new()));
    assert_eq!(setup.post(&query, "4abc").await.text(), "ok");
    assert_eq!(setup.get(&query).await.text(), "4abc");
}

#[tokio::test]
async fn client_close_answers_pending_get_with_noop() {
    let setup = start(EngineConfig::default()).await;
    let sid = setup.handshake().await;
    let query = Setup::poll_query(&sid);
    let pending = setup.pending_get(&sid).await;
    assert_eq!(setup.post(&query, "1").await.text(), "ok");
    assert_eq!(pending.await.unwrap().text(), "6");
    assert_eq!(setup.get(&query).await.status, 400);
    assert_eq!(
        *setup.echo.closed.lock().unwrap(),
        [CloseReason::TransportClose]
    );
}

#[tokio::test]
async fn other_methods_on_a_session_get_500() {
    let setup = start(EngineConfig::default()).await;
    let sid = setup.handshake().await;
    let path = format!("/engine.io/?{}", Setup::poll_query(&sid));
    let reply = http(setup.server.addr(), "PUT", &path, &[], "").await;
    assert_eq!((reply.status, reply.text()), (500, String::new()));
}

#[tokio::test]
async fn unanswered_ping_closes_session_after_interval_plus_timeout() {
    let setup = start(fast()).await;
    let sid = setup.handshake().await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let reply = setup.get(&Setup::poll_query(&sid)).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        *setup.echo.closed.lock().unwrap(),
        [CloseReason::PingTimeout]
    );
}

#[tokio::test]
async fn answered_pings_keep_a_polling_session_alive() {
    let setup = start(fast()).await;
    let sid = setup.handshake().await;
    let query = Setup::poll_query(&sid);
    for _ in 0..3 {
        assert_eq!(setup.get(&query).await.text(), "2");
        assert_eq!(setup.post(&query, "3").await.text(), "ok");
    }
    assert!(setup.echo.closed.lock().unwrap().is_empty());
}

#[tokio::test]
async fn server_close_answers_next_get_with_noop_and_close() {
    let setup = start(EngineConfig::default()).await;
    let sid = setup.handshake().await;
    let connection = setup
        .engine
        .connection(tidings_engine::Sid::parse(&sid).unwrap())
        .unwrap();
    connection.close(CloseReason::ServerClose);
    assert_eq!(setup.get(&Setup::poll_query(&sid)).await.text(), "6\x1e1");
    setup.wait_until_gone(&sid).await;
}

#[tokio::test]
async fn cookie_option_sets_io_cookie_on_handshake() {
    let setup = start(EngineConfig::default().cookie(true)).await;
    let reply = setup.get("EIO=4&transport=polling").await;
    let sid = tidings_testkit::sid_of(&reply.text());
    assert_eq!(
        reply.header("set-cookie"),
        Some(format!("io={sid}; Path=/; HttpOnly; SameSite=Lax").as_str())
    );
    let plain = start(EngineConfig::default()).await;
    assert_eq!(
        plain
            .get("EIO=4&transport=polling")
            .await
            .header("set-cookie"),
        None
    );
}

#[tokio::test]
async fn path_matches_by_prefix_with_trailing_slash() {
    let setup = start(EngineConfig::default()).await;
    let addr = setup.server.addr();
    let nested = http(
        addr,
        "GET",
        "/engine.io/default/?EIO=4&transport=polling",
        &[],
        "",
    )
    .await;
    assert_eq!(nested.status, 200);
    let no_slash = http(addr, "GET", "/engine.io?EIO=4&transport=polling", &[], "").await;
    assert_eq!(no_slash.status, 404);
    let other = http(addr, "GET", "/other/?EIO=4&transport=polling", &[], "").await;
    assert_eq!(other.status, 404);
}

#[tokio::test]
async fn engine_close_ends_every_session() {
    let setup = start(EngineConfig::default()).await;
    let sid = setup.handshake().await;
    let pending = setup.pending_get(&sid).await;
    tokio::time::timeout(Duration::from_secs(5), setup.engine.close())
        .await
        .unwrap();
    assert_eq!(pending.await.unwrap().text(), "1");
    assert_eq!(setup.engine.clients_count(), 0);
    assert_eq!(
        *setup.echo.closed.lock().unwrap(),
        [CloseReason::ServerClose]
    );
}

#[tokio::test]
async fn engine_close_does_not_wait_for_clients_that_never_poll_again() {
    let setup = start(EngineConfig::default()).await;
    setup.handshake().await;
    let started = tokio::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(10), setup.engine.close())
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(setup.engine.clients_count(), 0);
    assert_eq!(
        *setup.echo.closed.lock().unwrap(),
        [CloseReason::ServerClose]
    );
}

/// The client should get what it waits for (here the echo, in practice an ack) before
/// the `ok` of the POST that caused it. Drives the engine as a service on this test's
/// single-threaded runtime, so the order in which the two answers complete is exact.
#[tokio::test]
async fn pending_get_is_answered_before_the_post_that_fed_it() {
    use std::sync::{Arc, Mutex};

    use bytes::Bytes;
    use http::Request;
    use http_body_util::{BodyExt, Full};
    use tower_service::Service;

    fn request(method: &str, query: &str, body: &'static str) -> Request<Full<Bytes>> {
        Request::builder()
            .method(method)
            .uri(format!("/engine.io/?{query}"))
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap()
    }

    let mut engine = tidings_engine::Engine::new(EngineConfig::default(), common::Echo::default());
    let open = engine
        .call(request("GET", "EIO=4&transport=polling", ""))
        .await
        .unwrap();
    let open = open.into_body().collect().await.unwrap().to_bytes();
    let sid = tidings_testkit::sid_of(std::str::from_utf8(&open).unwrap());
    let query = Setup::poll_query(&sid);

    let finished = Arc::new(Mutex::new(Vec::new()));
    let answer = |mut engine: tidings_engine::Engine, method: &'static str, body| {
        let finished = Arc::clone(&finished);
        let pending = engine.call(request(method, &query, body));
        tokio::spawn(async move {
            let response = pending.await.unwrap();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            finished.lock().unwrap().push((method, body));
        })
    };
    let get = answer(engine.clone(), "GET", "");
    tokio::task::yield_now().await;
    assert!(
        finished.lock().unwrap().is_empty(),
        "the GET waits for a packet"
    );
    let post = answer(engine.clone(), "POST", "4hello");
    post.await.unwrap();
    get.await.unwrap();
    assert_eq!(
        *finished.lock().unwrap(),
        [
            ("GET", Bytes::from_static(b"4hello")),
            ("POST", Bytes::from_static(b"ok"))
        ]
    );
}
