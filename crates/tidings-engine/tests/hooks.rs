//! Engine options and hooks: HTTP compression, middlewares, header hooks, the
//! `connection_error` hook and custom session ids (protocol §1.11, §4).

mod common;

use std::io::Read as _;
use std::sync::{Arc, Mutex};

use common::{Setup, start};
use tidings_engine::{EngineConfig, Sid};
use tidings_testkit::http;

#[tokio::test]
async fn large_polling_answers_are_gzipped_for_clients_that_accept_it() {
    let setup = start(EngineConfig::default()).await;
    let sid = setup.handshake().await;
    let query = format!("/engine.io/?{}", Setup::poll_query(&sid));
    let big = format!("4{}", "x".repeat(2000));
    setup.post(&Setup::poll_query(&sid), &big).await;
    let reply = http(
        setup.server.addr(),
        "GET",
        &query,
        &[("accept-encoding", "gzip")],
        "",
    )
    .await;
    assert_eq!(reply.header("content-encoding"), Some("gzip"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(&reply.body[..])
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, big);
    setup.post(&Setup::poll_query(&sid), "4small").await;
    let small = http(
        setup.server.addr(),
        "GET",
        &query,
        &[("accept-encoding", "gzip")],
        "",
    )
    .await;
    assert_eq!(
        (small.header("content-encoding"), small.text().as_str()),
        (None, "4small")
    );
}

#[tokio::test]
async fn compression_can_be_turned_off() {
    let setup = start(EngineConfig::default().http_compression(None)).await;
    let sid = setup.handshake().await;
    let big = format!("4{}", "x".repeat(2000));
    setup.post(&Setup::poll_query(&sid), &big).await;
    let query = format!("/engine.io/?{}", Setup::poll_query(&sid));
    let reply = http(
        setup.server.addr(),
        "GET",
        &query,
        &[("accept-encoding", "gzip")],
        "",
    )
    .await;
    assert_eq!(reply.header("content-encoding"), None);
}

#[tokio::test]
async fn middleware_refusal_is_code_3() {
    let setup = start(EngineConfig::default().middleware(|parts| {
        if parts.headers.contains_key("x-blocked") {
            Err("blocked".into())
        } else {
            Ok(())
        }
    }))
    .await;
    let path = "/engine.io/?EIO=4&transport=polling";
    let refused = http(setup.server.addr(), "GET", path, &[("x-blocked", "1")], "").await;
    assert_eq!(
        (refused.status, refused.text().as_str()),
        (400, r#"{"code":3,"message":"Bad request"}"#)
    );
    assert_eq!(
        http(setup.server.addr(), "GET", path, &[], "").await.status,
        200
    );
}

#[tokio::test]
async fn header_hooks_see_handshakes_and_every_response() {
    let setup = start(
        EngineConfig::default().on_headers(|request, response, initial| {
            if let Some(value) = request.get("x-trace") {
                response.insert("x-trace", value.clone());
            }
            response.insert(
                "x-initial",
                if initial { "yes" } else { "no" }.parse().unwrap(),
            );
        }),
    )
    .await;
    let addr = setup.server.addr();
    let open = http(
        addr,
        "GET",
        "/engine.io/?EIO=4&transport=polling",
        &[("x-trace", "t1")],
        "",
    )
    .await;
    assert_eq!(open.header("x-trace"), Some("t1"));
    assert_eq!(open.header("x-initial"), Some("yes"));
    let sid = tidings_testkit::sid_of(&open.text());
    let post = http(
        addr,
        "POST",
        &format!("/engine.io/?{}", Setup::poll_query(&sid)),
        &[],
        "4x",
    )
    .await;
    assert_eq!(post.header("x-initial"), Some("no"));
}

#[tokio::test]
async fn connection_error_hook_hears_every_rejection() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let setup = start(EngineConfig::default().on_connection_error(move |error| {
        log.lock().unwrap().push((error.code.code(), error.context));
    }))
    .await;
    setup.get("EIO=4&transport=nope").await;
    setup
        .get("EIO=4&transport=polling&sid=lv_VI97HAXpY6yYWAAAC")
        .await;
    setup.get("EIO=3&transport=polling").await;
    assert_eq!(
        *seen.lock().unwrap(),
        [
            (0, "UNKNOWN_TRANSPORT"),
            (1, "UNKNOWN_SID"),
            (5, "UNSUPPORTED_PROTOCOL_VERSION")
        ]
    );
}

#[tokio::test]
async fn generate_id_names_sessions() {
    let fixed = Sid::parse("customcustomcustom00").unwrap();
    let setup = start(EngineConfig::default().generate_id(move |_| fixed)).await;
    assert_eq!(setup.handshake().await, "customcustomcustom00");
    let second = setup.get("EIO=4&transport=polling").await;
    assert_eq!(
        (second.status, second.text().as_str()),
        (400, r#"{"code":3,"message":"Bad request"}"#),
        "an id in use cannot open a second session"
    );
}
