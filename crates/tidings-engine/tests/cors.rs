//! CORS: off by default, an explicit allowlist, credentials echo the origin (§1.11).

mod common;

use std::time::Duration;

use common::start;
use tidings_engine::{Cors, EngineConfig};
use tidings_testkit::http;

const HANDSHAKE: &str = "/engine.io/?EIO=4&transport=polling";

#[tokio::test]
async fn no_cors_headers_by_default() {
    let setup = start(EngineConfig::default()).await;
    let reply = http(
        setup.server.addr(),
        "GET",
        HANDSHAKE,
        &[("origin", "https://a.example")],
        "",
    )
    .await;
    assert_eq!(reply.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn allowlisted_origin_is_echoed_with_credentials() {
    let cors = Cors::new()
        .allow_origin("https://a.example")
        .allow_credentials(true)
        .max_age(Duration::from_secs(600));
    let setup = start(EngineConfig::default().cors(cors)).await;
    let addr = setup.server.addr();
    let allowed = http(
        addr,
        "GET",
        HANDSHAKE,
        &[("origin", "https://a.example")],
        "",
    )
    .await;
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://a.example")
    );
    assert_eq!(
        allowed.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(allowed.header("vary"), Some("Origin"));
    let other = http(
        addr,
        "GET",
        HANDSHAKE,
        &[("origin", "https://evil.example")],
        "",
    )
    .await;
    assert_eq!(other.header("access-control-allow-origin"), None);
    let error = http(
        addr,
        "GET",
        "/engine.io/?EIO=4",
        &[("origin", "https://a.example")],
        "",
    )
    .await;
    assert_eq!(error.status, 400);
    assert_eq!(
        error.header("access-control-allow-origin"),
        Some("https://a.example"),
        "error responses carry the CORS headers too"
    );
}

#[tokio::test]
async fn preflight_is_answered_204() {
    let setup =
        start(EngineConfig::default().cors(Cors::new().allow_origin("https://a.example"))).await;
    let reply = http(
        setup.server.addr(),
        "OPTIONS",
        HANDSHAKE,
        &[
            ("origin", "https://a.example"),
            ("access-control-request-headers", "x-token"),
        ],
        "",
    )
    .await;
    assert_eq!(reply.status, 204);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://a.example")
    );
    assert_eq!(
        reply.header("access-control-allow-methods"),
        Some("GET,HEAD,PUT,PATCH,POST,DELETE")
    );
    assert_eq!(
        reply.header("access-control-allow-headers"),
        Some("x-token")
    );
    assert_eq!(reply.text(), "");
}
