//! Events, acknowledgements and binary attachments (protocol §2.3, §2.5, §2.7), and the
//! socket's catch-all listeners and packet middlewares.

mod common;

use std::time::Duration;

use common::{Log, Peer, serve};
use serde_json::json;
use tidings::{AckError, Args, EmitError, Server, ServerConfig};
use tidings_testkit::WsFrame;

/// A server whose `/` acknowledges `message-with-ack` with the same arguments.
fn ack_echo() -> Server {
    let io = Server::default();
    io.ns("/", |socket| async move {
        socket.on("message-with-ack", |_, event| async move {
            let _ = event.ack(event.args().clone());
        });
        socket.on("message", |socket, event| async move {
            let _ = socket.emit("message-back", event.into_args());
        });
    });
    io
}

#[tokio::test]
async fn ack_carries_the_same_id_and_arguments() {
    let server = serve(ack_echo()).await;
    let (mut peer, _) = Peer::connected(server.addr).await;
    peer.send(r#"42456["message-with-ack",1,"2",{"3":[false]}]"#)
        .await;
    assert_eq!(peer.recv().await, r#"43456[1,"2",{"3":[false]}]"#);
}

#[tokio::test]
async fn binary_ack_keeps_placeholders_and_attachments() {
    let server = serve(ack_echo()).await;
    let (mut peer, _) = Peer::connected(server.addr).await;
    peer.send(r#"452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        .await;
    peer.send_binary(&[1, 2, 3]).await;
    peer.send_binary(&[4, 5, 6]).await;
    assert_eq!(
        peer.recv().await,
        r#"462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
    );
    assert_eq!(peer.frame().await, WsFrame::Binary(vec![1, 2, 3].into()));
    assert_eq!(peer.frame().await, WsFrame::Binary(vec![4, 5, 6].into()));
}

#[tokio::test]
async fn binary_event_is_echoed_as_binary_event() {
    let server = serve(ack_echo()).await;
    let (mut peer, _) = Peer::connected(server.addr).await;
    peer.send(r#"451-["message",{"file":{"_placeholder":true,"num":0}}]"#)
        .await;
    peer.send_binary(&[9]).await;
    assert_eq!(
        peer.recv().await,
        r#"451-["message-back",{"file":{"_placeholder":true,"num":0}}]"#
    );
    assert_eq!(peer.frame().await, WsFrame::Binary(vec![9].into()));
}

#[tokio::test]
async fn numeric_event_names_are_accepted() {
    let io = Server::default();
    io.ns("/", |socket| async move {
        socket.on("1", |socket, event| async move {
            let _ = socket.emit("got", event.into_args());
        });
    });
    let server = serve(io).await;
    let (mut peer, _) = Peer::connected(server.addr).await;
    peer.send("42[1,2]").await;
    assert_eq!(peer.recv().await, r#"42["got",2]"#);
}

#[tokio::test]
async fn protocol_violations_close_the_connection() {
    let cases = [
        ("event before connect", vec![r#"42["x"]"#]),
        ("second connect", vec!["40", "40"]),
        (
            "connect_error from a client",
            vec!["40", r#"44{"message":"x"}"#],
        ),
        ("reserved event name", vec!["40", r#"42["disconnect"]"#]),
        ("invalid json", vec!["40", "42[bad"]),
        ("binary when none expected", vec!["40", "<binary>"]),
        (
            "text while attachments pending",
            vec![
                "40",
                r#"451-["x",{"_placeholder":true,"num":0}]"#,
                r#"42["y"]"#,
            ],
        ),
    ];
    for (name, messages) in cases {
        let server = serve(ack_echo()).await;
        let mut peer = Peer::open(server.addr).await;
        for message in messages {
            if message == "<binary>" {
                peer.send_binary(&[1]).await;
            } else {
                peer.send(message).await;
            }
        }
        loop {
            match peer.frame().await {
                WsFrame::Close(_) => break,
                WsFrame::Text(text) if text.starts_with("40") => continue,
                other => panic!("{name}: unexpected {other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn ack_with_unknown_id_is_ignored() {
    let server = serve(ack_echo()).await;
    let (mut peer, _) = Peer::connected(server.addr).await;
    peer.send("43999[1]").await;
    peer.send(r#"421["message-with-ack","still here"]"#).await;
    assert_eq!(peer.recv().await, r#"431["still here"]"#);
}

#[tokio::test]
async fn server_ack_ids_start_at_zero_per_namespace_and_answers_arrive() {
    let log = Log::default();
    let io = Server::default();
    let answers = log.clone();
    io.ns("/", move |socket| {
        let log = answers.clone();
        async move {
            let reply = socket.emit_with_ack("q", &7).await.unwrap();
            log.push(serde_json::to_string(reply.values()).unwrap());
        }
    });
    let server = serve(io).await;
    let (mut peer, _) = Peer::connected(server.addr).await;
    assert_eq!(peer.recv().await, r#"420["q",7]"#);
    peer.send(r#"430["a",{"b":1}]"#).await;
    assert_eq!(log.wait_for(1).await, [r#"["a",{"b":1}]"#]);
}

#[tokio::test]
async fn emit_with_ack_times_out_and_forgets_the_id() {
    let log = Log::default();
    let io = Server::default();
    let results = log.clone();
    io.ns("/", move |socket| {
        let log = results.clone();
        async move {
            let outcome = socket
                .timeout(Duration::from_millis(100))
                .emit_with_ack("q", ())
                .await;
            log.push(match outcome {
                Err(AckError::Timeout) => "timeout".to_owned(),
                other => format!("{other:?}"),
            });
        }
    });
    let server = serve(io).await;
    let (mut peer, _) = Peer::connected(server.addr).await;
    assert_eq!(peer.recv().await, r#"420["q"]"#);
    assert_eq!(log.wait_for(1).await, ["timeout"]);
    peer.send("430[]").await;
    assert!(
        peer.stays_quiet(Duration::from_millis(100)).await,
        "a late ack is ignored"
    );
}

#[tokio::test]
async fn pending_acks_are_bounded() {
    let log = Log::default();
    let io = Server::new(ServerConfig::default().max_pending_acks(2));
    let results = log.clone();
    io.ns("/", move |socket| {
        let log = results.clone();
        async move {
            for _ in 0..3 {
                let socket = socket.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let outcome = socket
                        .timeout(Duration::from_millis(300))
                        .emit_with_ack("q", ())
                        .await;
                    if let Err(AckError::Emit(EmitError::TooManyPendingAcks)) = outcome {
                        log.push("refused");
                    }
                });
            }
        }
    });
    let server = serve(io).await;
    let (_peer, _) = Peer::connected(server.addr).await;
    assert_eq!(log.wait_for(1).await, ["refused"]);
}

#[tokio::test]
async fn reserved_names_cannot_be_emitted() {
    let io = Server::default();
    for name in [
        "connect",
        "connect_error",
        "disconnect",
        "disconnecting",
        "newListener",
        "removeListener",
    ] {
        assert!(
            matches!(io.emit(name, ()), Err(EmitError::ReservedEvent(_))),
            "{name}"
        );
    }
}

#[tokio::test]
async fn events_of_one_socket_are_handled_in_order() {
    let log = Log::default();
    let io = Server::default();
    let seen = log.clone();
    io.ns("/", move |socket| {
        let log = seen.clone();
        async move {
            socket.on("step", move |_, event| {
                let log = log.clone();
                async move {
                    let n: u64 = event.args().get(0).unwrap();
                    // Earlier events sleep longer: order must still hold.
                    tokio::time::sleep(Duration::from_millis(50 - n * 10)).await;
                    log.push(n.to_string());
                }
            });
        }
    });
    let server = serve(io).await;
    let (mut peer, _) = Peer::connected(server.addr).await;
    for n in 0..5 {
        peer.send(&format!(r#"42["step",{n}]"#)).await;
    }
    assert_eq!(log.wait_for(5).await, ["0", "1", "2", "3", "4"]);
}

#[tokio::test]
async fn catch_all_listeners_and_packet_middlewares() {
    let log = Log::default();
    let io = Server::default();
    let seen = log.clone();
    io.ns("/", move |socket| {
        let log = seen.clone();
        async move {
            let any = log.clone();
            socket.on_any(move |_, name, args| any.push(format!("any {name} {}", args.len())));
            let outgoing = log.clone();
            socket.on_any_outgoing(move |_, name, _| outgoing.push(format!("out {name}")));
            socket.use_middleware(|_, event| {
                if event.name() == "forbidden" {
                    return Err("not allowed".to_owned());
                }
                *event.args_mut() = Args::new().arg(&"rewritten");
                Ok(())
            });
            let errors = log.clone();
            socket.on_error(move |_, error| errors.push(format!("error {error}")));
            socket.on("hello", |socket, event| async move {
                let _ = socket.emit("hi", event.into_args());
            });
        }
    });
    let server = serve(io).await;
    let (mut peer, _) = Peer::connected(server.addr).await;
    peer.send(r#"42["forbidden"]"#).await;
    peer.send(r#"42["hello","original"]"#).await;
    assert_eq!(peer.recv().await, r#"42["hi","rewritten"]"#);
    assert_eq!(
        log.wait_for(4).await,
        [
            "any forbidden 0",
            "error not allowed",
            "any hello 1",
            "out hi"
        ]
    );
}

#[tokio::test]
async fn typed_arguments_decode_with_serde() {
    let io = Server::default();
    io.ns("/", |socket| async move {
        socket.on("sum", |_, event| async move {
            let (a, b): (i64, i64) = event.args().decode().unwrap_or((0, 0));
            let _ = event.ack(json!({ "sum": a + b }));
        });
    });
    let server = serve(io).await;
    let (mut peer, _) = Peer::connected(server.addr).await;
    peer.send(r#"425["sum",2,3]"#).await;
    assert_eq!(peer.recv().await, r#"435[{"sum":5}]"#);
}
