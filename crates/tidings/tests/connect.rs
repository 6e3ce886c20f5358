//! The CONNECT flow (protocol §2.4): replies, namespaces, middlewares, handshake,
//! connect timeout.

mod common;

use std::time::Duration;

use common::{Log, Peer, fast, serve, socket_id};
use serde_json::{Value, json};
use tidings::{ConnectError, Server, ServerConfig};
use tidings_testkit::WsFrame;

fn echo_auth(io: &Server, name: &str) {
    io.ns(name, |socket| async move {
        let _ = socket.emit("auth", socket.handshake().auth());
    });
}

#[tokio::test]
async fn connect_reply_has_only_the_sid_then_the_app_emits() {
    let io = Server::default();
    echo_auth(&io, "/");
    let server = serve(io).await;
    let mut peer = Peer::open(server.addr).await;
    peer.send("40").await;
    let reply = peer.recv().await;
    let id = socket_id(&reply);
    assert_eq!(reply, format!(r#"40{{"sid":"{id}"}}"#));
    assert_eq!(id.len(), 20);
    assert_ne!(id, peer.sid, "the socket id is not the engine sid");
    assert_eq!(peer.recv().await, r#"42["auth",{}]"#);
}

#[tokio::test]
async fn auth_payload_reaches_the_handshake() {
    let io = Server::default();
    echo_auth(&io, "/");
    let server = serve(io).await;
    let mut peer = Peer::open(server.addr).await;
    peer.send(r#"40{"token":"123","n":[1,2]}"#).await;
    peer.recv().await;
    assert_eq!(peer.recv().await, r#"42["auth",{"token":"123","n":[1,2]}]"#);
}

#[tokio::test]
async fn custom_namespace_with_and_without_trailing_comma() {
    let io = Server::default();
    echo_auth(&io, "/custom");
    let server = serve(io).await;
    let mut peer = Peer::open(server.addr).await;
    peer.send("40/custom,").await;
    let reply = peer.recv().await;
    assert!(reply.starts_with(r#"40/custom,{"sid":""#), "{reply}");
    assert_eq!(peer.recv().await, r#"42/custom,["auth",{}]"#);
    let mut bare = Peer::open(server.addr).await;
    bare.send("40/custom").await;
    assert!(bare.recv().await.starts_with("40/custom,{"));
}

#[tokio::test]
async fn unknown_namespace_gets_invalid_namespace_and_stays_open() {
    let io = Server::default();
    echo_auth(&io, "/");
    let server = serve(io).await;
    let mut peer = Peer::open(server.addr).await;
    peer.send("40/random").await;
    assert_eq!(
        peer.recv().await,
        r#"44/random,{"message":"Invalid namespace"}"#
    );
    peer.send("40").await;
    assert!(peer.recv().await.starts_with(r#"40{"sid":"#));
}

#[tokio::test]
async fn middleware_refusal_is_connect_error_with_data() {
    let io = Server::default();
    let secure = io.of("/secure");
    secure.use_middleware(|socket| async move {
        match socket
            .handshake()
            .auth()
            .get("token")
            .and_then(Value::as_str)
        {
            Some("good") => Ok(()),
            _ => Err(ConnectError::new("not authorized").with_data(json!({"reason": "token"}))),
        }
    });
    io.of("/plain")
        .use_middleware(|_| async { Err(ConnectError::new("nope")) });
    let server = serve(io).await;
    let mut peer = Peer::open(server.addr).await;
    peer.send("40/secure,").await;
    assert_eq!(
        peer.recv().await,
        r#"44/secure,{"message":"not authorized","data":{"reason":"token"}}"#
    );
    peer.send("40/plain,").await;
    assert_eq!(peer.recv().await, r#"44/plain,{"message":"nope"}"#);
    peer.send(r#"40/secure,{"token":"good"}"#).await;
    assert!(peer.recv().await.starts_with(r#"40/secure,{"sid":"#));
}

#[tokio::test]
async fn middlewares_run_in_order_before_connection_and_rooms_are_left_on_refusal() {
    let io = Server::default();
    let log = Log::default();
    let namespace = io.of("/");
    for name in ["first", "second"] {
        let log = log.clone();
        namespace.use_middleware(move |socket| {
            let log = log.clone();
            async move {
                log.push(name);
                socket.join("lobby");
                if socket.handshake().auth().get("refuse").is_some() {
                    return Err(ConnectError::new("refused"));
                }
                Ok(())
            }
        });
    }
    let connected = log.clone();
    namespace.on_connection(move |_| {
        let log = connected.clone();
        async move { log.push("connection") }
    });
    let server = serve(io.clone()).await;
    let (_peer, _) = Peer::connected(server.addr).await;
    assert_eq!(log.wait_for(3).await, ["first", "second", "connection"]);
    let mut refused = Peer::open(server.addr).await;
    refused.send(r#"40{"refuse":true}"#).await;
    assert_eq!(refused.recv().await, r#"44{"message":"refused"}"#);
    let rooms = io.sockets().adapter().rooms();
    assert_eq!(
        rooms,
        ["lobby".to_owned()],
        "only the connected socket stays in lobby"
    );
}

#[tokio::test]
async fn handshake_exposes_query_headers_and_address() {
    let io = Server::default();
    io.ns("/", |socket| async move {
        let handshake = socket.handshake();
        let summary = json!({
            "query": handshake.query().get("user"),
            "ua": handshake.headers().get("user-agent").is_some(),
            "address": handshake.address().map(|ip| ip.to_string()),
            "xdomain": handshake.xdomain(),
            "url": handshake.url().starts_with("/socket.io/?EIO=4"),
            "time": handshake.time().ends_with("(Coordinated Universal Time)"),
        });
        let _ = socket.emit("handshake", &summary);
    });
    let server = serve(io).await;
    let mut peer = Peer::open_query(server.addr, "&user=J%C3%BCrgen").await;
    peer.send("40").await;
    peer.recv().await;
    assert_eq!(
        peer.recv().await,
        r#"42["handshake",{"query":"Jürgen","ua":false,"address":"127.0.0.1","xdomain":false,"url":true,"time":true}]"#
    );
}

#[tokio::test]
async fn connection_without_namespace_closes_after_connect_timeout() {
    let io = Server::new(fast().connect_timeout(Duration::from_millis(300)));
    let server = serve(io).await;
    let mut peer = Peer::open(server.addr).await;
    let started = tokio::time::Instant::now();
    assert_eq!(peer.frame().await, WsFrame::Close(None));
    assert!(started.elapsed() >= Duration::from_millis(250));
    let (mut connected, _) = Peer::connected(server.addr).await;
    assert!(
        connected.stays_quiet(Duration::from_millis(600)).await,
        "a connected client stays"
    );
}

#[tokio::test]
async fn dynamic_namespaces_are_created_on_demand_and_share_handlers() {
    let io = Server::default();
    let parent = io.dynamic_ns(|name, _| name.starts_with("/room-"));
    parent.on_connection(|socket| async move {
        let _ = socket.emit("where", &socket.namespace().name());
    });
    let server = serve(io.clone()).await;
    let mut peer = Peer::open(server.addr).await;
    peer.send("40/room-1,").await;
    assert!(peer.recv().await.starts_with("40/room-1,{"));
    assert_eq!(peer.recv().await, r#"42/room-1,["where","/room-1"]"#);
    peer.send("40/other,").await;
    assert_eq!(
        peer.recv().await,
        r#"44/other,{"message":"Invalid namespace"}"#
    );
    parent.emit("hello", &"children").unwrap();
    assert_eq!(peer.recv().await, r#"42/room-1,["hello","children"]"#);
}

#[tokio::test]
async fn recovery_adds_a_private_id_to_the_reply() {
    let io = Server::new(ServerConfig::default().connection_state_recovery(Default::default()));
    let server = serve(io).await;
    let mut peer = Peer::open(server.addr).await;
    peer.send("40").await;
    let reply = peer.recv().await;
    let value: Value = serde_json::from_str(&reply[2..]).unwrap();
    let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["sid", "pid"]);
    assert_ne!(value["sid"], value["pid"]);
}

#[tokio::test]
async fn new_namespace_listeners_and_empty_children_cleanup() {
    let io = Server::new(ServerConfig::default().cleanup_empty_child_namespaces(true));
    let log = Log::default();
    let seen = log.clone();
    io.on_new_namespace(move |namespace| seen.push(namespace.name()));
    io.of("/static");
    io.dynamic_ns(|name, _| name.starts_with("/dyn-"));
    let server = serve(io.clone()).await;
    let mut peer = Peer::open(server.addr).await;
    peer.send("40/dyn-1,").await;
    assert!(peer.recv().await.starts_with("40/dyn-1,"));
    assert_eq!(io.of("/dyn-1").all_sockets().len(), 1);
    peer.send("41/dyn-1,").await;
    let mut removed = false;
    for _ in 0..100 {
        if !io.namespace_names().contains(&"/dyn-1".to_owned()) {
            removed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(removed, "the empty child was removed");
    assert_eq!(log.entries(), ["/static", "/dyn-1"]);
    peer.send("40/dyn-1,").await;
    assert!(
        peer.recv().await.starts_with("40/dyn-1,"),
        "and comes back on demand"
    );
    assert_eq!(log.entries(), ["/static", "/dyn-1", "/dyn-1"]);
}

#[tokio::test]
async fn a_connection_joins_at_most_the_namespace_limit() {
    let io = Server::new(ServerConfig::default().max_namespaces_per_connection(2));
    let created = io.dynamic_ns(|name, _| name.starts_with("/room-"));
    created.on_connection(|_| async {});
    io.ns("/", |_| async {});
    let server = serve(io.clone()).await;
    let mut peer = Peer::open(server.addr).await;
    peer.send("40").await;
    assert!(peer.recv().await.starts_with(r#"40{"sid":""#));
    peer.send("40/room-1,").await;
    assert!(peer.recv().await.starts_with(r#"40/room-1,{"sid":""#));
    peer.send("40/room-2,").await;
    assert_eq!(
        peer.recv().await,
        r#"44/room-2,{"message":"Too many namespaces"}"#
    );
    // The refused connect created no namespace; the accepted one did.
    let names = io.namespace_names();
    assert!(names.contains(&"/room-1".to_owned()), "{names:?}");
    assert!(!names.contains(&"/room-2".to_owned()), "{names:?}");
    // Leaving one makes room again, on the same connection.
    peer.send("41/room-1,").await;
    peer.send("40/room-2,").await;
    assert!(peer.recv().await.starts_with(r#"40/room-2,{"sid":""#));
}
