//! Every rejection of protocol §1.9, with its HTTP status and JSON body.

mod common;

use common::{Setup, start};
use tidings_engine::{EngineConfig, Transport};
use tidings_testkit::{WsPeer, http};

const UNKNOWN_TRANSPORT: &str = r#"{"code":0,"message":"Transport unknown"}"#;
const UNKNOWN_SID: &str = r#"{"code":1,"message":"Session ID unknown"}"#;
const BAD_METHOD: &str = r#"{"code":2,"message":"Bad handshake method"}"#;
const BAD_REQUEST: &str = r#"{"code":3,"message":"Bad request"}"#;
const BAD_VERSION: &str = r#"{"code":5,"message":"Unsupported protocol version"}"#;

async fn expect(setup: &Setup, method: &str, query: &str, status: u16, body: &str) {
    let path = format!("/engine.io/?{query}");
    let reply = http(setup.server.addr(), method, &path, &[], "").await;
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (status, body),
        "{method} {query}"
    );
    if status != 500 {
        assert_eq!(reply.header("content-type"), Some("application/json"));
    }
}

#[tokio::test]
async fn unknown_missing_or_disabled_transport_is_code_0() {
    let setup = start(EngineConfig::default()).await;
    for query in [
        "EIO=4",
        "EIO=4&transport=foo",
        "EIO=4&transport=__proto__",
        "EIO=4&transport=Polling",
    ] {
        expect(&setup, "GET", query, 400, UNKNOWN_TRANSPORT).await;
    }
    let websocket_only = start(EngineConfig::default().transports(&[Transport::WebSocket])).await;
    expect(
        &websocket_only,
        "GET",
        "EIO=4&transport=polling",
        400,
        UNKNOWN_TRANSPORT,
    )
    .await;
}

#[tokio::test]
async fn unknown_sid_is_code_1() {
    let setup = start(EngineConfig::default()).await;
    for sid in ["nope", "lv_VI97HAXpY6yYWAAAC", ""] {
        expect(
            &setup,
            "GET",
            &format!("EIO=4&transport=polling&sid={sid}"),
            400,
            UNKNOWN_SID,
        )
        .await;
        expect(
            &setup,
            "POST",
            &format!("EIO=4&transport=polling&sid={sid}"),
            400,
            UNKNOWN_SID,
        )
        .await;
    }
}

#[tokio::test]
async fn handshake_that_is_not_get_is_code_2() {
    let setup = start(EngineConfig::default()).await;
    for method in ["POST", "PUT", "OPTIONS"] {
        expect(&setup, method, "EIO=4&transport=polling", 400, BAD_METHOD).await;
    }
}

#[tokio::test]
async fn websocket_transport_without_upgrade_is_code_3() {
    let setup = start(EngineConfig::default()).await;
    expect(&setup, "GET", "EIO=4&transport=websocket", 400, BAD_REQUEST).await;
}

#[tokio::test]
async fn other_eio_on_an_existing_session_is_code_3() {
    let setup = start(EngineConfig::default()).await;
    let sid = setup.handshake().await;
    expect(
        &setup,
        "GET",
        &format!("EIO=3&transport=polling&sid={sid}"),
        400,
        BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn refused_by_allow_request_is_403_code_4() {
    let setup =
        start(
            EngineConfig::default().allow_request(|parts| match parts.headers.get("x-token") {
                Some(token) if token == "good" => Ok(()),
                Some(_) => Err(Some("bad token".to_owned())),
                None => Err(None),
            }),
        )
        .await;
    let addr = setup.server.addr();
    let path = "/engine.io/?EIO=4&transport=polling";
    let refused = http(addr, "GET", path, &[], "").await;
    assert_eq!(
        (refused.status, refused.text().as_str()),
        (403, r#"{"code":4,"message":"Forbidden"}"#)
    );
    let with_reason = http(addr, "GET", path, &[("x-token", "bad")], "").await;
    assert_eq!(with_reason.text(), r#"{"code":4,"message":"bad token"}"#);
    let allowed = http(addr, "GET", path, &[("x-token", "good")], "").await;
    assert_eq!(allowed.status, 200);
}

#[tokio::test]
async fn any_eio_but_4_is_code_5() {
    let setup = start(EngineConfig::default()).await;
    for query in [
        "transport=polling",
        "EIO=3&transport=polling",
        "EIO=5&transport=polling",
        "EIO=abc&transport=polling",
    ] {
        expect(&setup, "GET", query, 400, BAD_VERSION).await;
    }
}

#[tokio::test]
async fn refused_websocket_gets_raw_400_with_the_message() {
    let setup = start(EngineConfig::default()).await;
    let addr = setup.server.addr();
    let reply = http(
        addr,
        "GET",
        "/engine.io/?EIO=4&transport=websocket&sid=lv_VI97HAXpY6yYWAAAC",
        &[
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ],
        "",
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.text(), "Session ID unknown");
    assert_eq!(reply.header("content-type"), Some("text/html"));
    assert_eq!(reply.header("connection"), Some("close"));
    assert_eq!(
        WsPeer::connect(addr, "/engine.io/?transport=websocket")
            .await
            .unwrap_err(),
        400
    );
    assert_eq!(
        WsPeer::connect(addr, "/engine.io/?EIO=4&transport=polling")
            .await
            .unwrap_err(),
        400,
        "a websocket with transport=polling and no sid is a bad handshake"
    );
}

#[tokio::test]
async fn session_limit_refuses_handshakes_with_503() {
    let setup = start(EngineConfig::default().max_sessions(1)).await;
    setup.handshake().await;
    let reply = setup.get("EIO=4&transport=polling").await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.text(), r#"{"code":3,"message":"Too many sessions"}"#);
}
