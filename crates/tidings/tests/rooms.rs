//! Rooms and broadcasts: unions without duplicates, `except`, `broadcast`, flags,
//! aggregated acknowledgements and the bulk operations.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Peer, polling_session, serve};
use tidings::{Server, Socket};

/// A server where `join` (rooms…) joins rooms; sockets are reachable through `io`.
fn rooms_server() -> Server {
    let io = Server::default();
    io.ns("/", |socket| async move {
        socket.on("join", |socket, event| async move {
            let rooms: Vec<String> = event.args().decode().unwrap_or_default();
            socket.join(rooms);
            let _ = event.ack(());
        });
        socket.on("answer-me", |_, event| async move {
            let _ = event.ack(&"answer");
        });
    });
    io
}

async fn member(server: &common::Running, rooms: &str) -> (Peer, String) {
    let (mut peer, id) = Peer::connected(server.addr).await;
    peer.send(&format!(r#"421["join",{rooms}]"#)).await;
    assert_eq!(peer.recv().await, "431[]");
    (peer, id)
}

fn socket(io: &Server, id: &str) -> Socket {
    let sid = tidings::Sid::parse(id).expect("a socket id");
    io.sockets().socket(sid).expect("a connected socket")
}

#[tokio::test]
async fn broadcast_to_two_rooms_delivers_once() {
    let server = serve(rooms_server()).await;
    let (mut both, _) = member(&server, r#""a","b""#).await;
    let (mut only_b, _) = member(&server, r#""b""#).await;
    let (mut neither, _) = member(&server, r#""c""#).await;
    server.io.to("a").to("b").emit("news", &1).unwrap();
    server.io.emit("marker", ()).unwrap();
    assert_eq!(both.recv().await, r#"42["news",1]"#);
    assert_eq!(both.recv().await, r#"42["marker"]"#, "no second copy");
    assert_eq!(only_b.recv().await, r#"42["news",1]"#);
    assert_eq!(neither.recv().await, r#"42["marker"]"#);
}

#[tokio::test]
async fn except_leaves_out_every_listed_room() {
    let server = serve(rooms_server()).await;
    let (mut a, _) = member(&server, r#""a""#).await;
    let (mut b, _) = member(&server, r#""b""#).await;
    let (mut plain, _) = member(&server, r#""x""#).await;
    server.io.except(["a", "b"]).emit("news", ()).unwrap();
    server.io.emit("marker", ()).unwrap();
    assert_eq!(plain.recv().await, r#"42["news"]"#);
    assert_eq!(a.recv().await, r#"42["marker"]"#);
    assert_eq!(b.recv().await, r#"42["marker"]"#);
}

#[tokio::test]
async fn socket_broadcast_and_to_leave_out_the_sender() {
    let server = serve(rooms_server()).await;
    let (mut sender, sender_id) = member(&server, r#""r""#).await;
    let (mut other, other_id) = member(&server, r#""r""#).await;
    let sender_socket = socket(&server.io, &sender_id);
    sender_socket.broadcast().emit("all-but-me", ()).unwrap();
    sender_socket.to("r").emit("room-but-me", ()).unwrap();
    server.io.to(other_id.as_str()).emit("direct", ()).unwrap();
    server.io.emit("marker", ()).unwrap();
    assert_eq!(other.recv().await, r#"42["all-but-me"]"#);
    assert_eq!(other.recv().await, r#"42["room-but-me"]"#);
    assert_eq!(other.recv().await, r#"42["direct"]"#);
    assert_eq!(sender.recv().await, r#"42["marker"]"#);
}

#[tokio::test]
async fn rooms_include_the_socket_id_and_leave_works() {
    let server = serve(rooms_server()).await;
    let (_peer, id) = member(&server, r#""a","b""#).await;
    let handle = socket(&server.io, &id);
    let mut rooms = handle.rooms();
    assert_eq!(rooms.remove(0), id);
    rooms.sort();
    assert_eq!(rooms, ["a", "b"]);
    handle.leave("a");
    assert_eq!(handle.rooms(), [id, "b".to_owned()]);
}

#[tokio::test]
async fn broadcast_with_ack_gathers_every_answer() {
    let server = serve(rooms_server()).await;
    let (mut first, _) = member(&server, r#""r""#).await;
    let (mut second, _) = member(&server, r#""r""#).await;
    let io = server.io.clone();
    let gathered = tokio::spawn(async move {
        io.to("r")
            .timeout(Duration::from_secs(5))
            .emit_with_ack("q", &"?")
            .await
    });
    for peer in [&mut first, &mut second] {
        let question = peer.recv().await;
        let id = question
            .trim_start_matches("42")
            .split('[')
            .next()
            .unwrap()
            .to_owned();
        assert_eq!(
            question,
            format!(r#"42{id}["q","?"]"#),
            "one id for the whole broadcast"
        );
        peer.send(&format!(r#"43{id}["yes"]"#)).await;
    }
    let responses = gathered.await.unwrap().unwrap();
    assert_eq!(responses.len(), 2);
    assert!(
        responses
            .iter()
            .all(|args| args.get::<String>(0).unwrap() == "yes")
    );
}

#[tokio::test]
async fn broadcast_with_ack_times_out_with_partial_responses() {
    let server = serve(rooms_server()).await;
    let (mut answering, _) = member(&server, r#""r""#).await;
    let (mut silent, _) = member(&server, r#""r""#).await;
    let io = server.io.clone();
    let gathered = tokio::spawn(async move {
        io.to("r")
            .timeout(Duration::from_millis(300))
            .emit_with_ack("q", ())
            .await
    });
    let question = answering.recv().await;
    let id = question
        .trim_start_matches("42")
        .split('[')
        .next()
        .unwrap()
        .to_owned();
    answering.send(&format!(r#"43{id}["yes"]"#)).await;
    silent.recv().await;
    let error = gathered.await.unwrap().unwrap_err();
    assert_eq!(error.expected, 2);
    assert_eq!(error.responses.len(), 1);
    assert_eq!(
        error.to_string(),
        "operation has timed out (1 of 2 responses)"
    );
}

#[tokio::test]
async fn broadcast_with_ack_to_nobody_answers_at_once() {
    let server = serve(rooms_server()).await;
    let started = tokio::time::Instant::now();
    let responses = server
        .io
        .to("empty")
        .timeout(Duration::from_secs(10))
        .emit_with_ack("q", ())
        .await;
    assert!(responses.unwrap().is_empty());
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn fetch_join_leave_and_disconnect_in_bulk() {
    let server = serve(rooms_server()).await;
    let (_a, a_id) = member(&server, r#""a""#).await;
    let (mut b, b_id) = member(&server, r#""b""#).await;
    let fetched = server.io.within("a").fetch_sockets().await.unwrap();
    let ids: Vec<String> = fetched.iter().map(|s| s.id().to_string()).collect();
    assert_eq!(ids, [a_id.as_str()]);
    server.io.within("a").sockets_join("moved");
    assert!(
        socket(&server.io, &a_id)
            .rooms()
            .contains(&"moved".to_owned())
    );
    server.io.sockets_leave("b");
    assert_eq!(socket(&server.io, &b_id).rooms(), [b_id.as_str()]);
    server.io.within(b_id.as_str()).disconnect_sockets(false);
    assert_eq!(b.recv().await, "41");
}

#[tokio::test]
async fn volatile_broadcast_skips_clients_that_cannot_take_it() {
    let server = serve(rooms_server()).await;
    // A polling client with no pending GET is not writable.
    let addr = server.addr;
    let (_, query) = polling_session(addr).await;
    tidings_testkit::http(addr, "POST", &query, &[], "40").await;
    let reply = tidings_testkit::http(addr, "GET", &query, &[], "").await;
    assert!(reply.text().starts_with("40{"));
    server.io.volatile().emit("dropped", ()).unwrap();
    server.io.emit("kept", ()).unwrap();
    assert_eq!(
        tidings_testkit::http(addr, "GET", &query, &[], "")
            .await
            .text(),
        r#"42["kept"]"#
    );
}

/// A server where `go` sends `a` to the socket, `b` to everyone, then `c` to the socket.
fn ordering_server() -> Server {
    let io = Server::default();
    let everyone = io.clone();
    io.ns("/", move |socket: Socket| {
        let everyone = everyone.clone();
        async move {
            socket.on("go", move |socket, _| {
                let everyone = everyone.clone();
                async move {
                    let _ = socket.emit("a", ());
                    let _ = everyone.emit("b", ());
                    let _ = socket.emit("c", ());
                }
            });
        }
    });
    io
}

#[tokio::test]
async fn a_broadcast_keeps_its_place_among_a_sockets_own_packets() {
    let server = serve(ordering_server()).await;
    let (mut sender, _) = Peer::connected(server.addr).await;
    let (mut other, _) = Peer::connected(server.addr).await;
    for _ in 0..20 {
        sender.send(r#"42["go"]"#).await;
        assert_eq!(sender.recv().await, r#"42["a"]"#);
        assert_eq!(sender.recv().await, r#"42["b"]"#);
        assert_eq!(sender.recv().await, r#"42["c"]"#);
        assert_eq!(other.recv().await, r#"42["b"]"#);
    }
}

#[tokio::test]
async fn an_outgoing_listener_sees_broadcasts_and_they_still_arrive_once() {
    let server = serve(rooms_server()).await;
    let (mut watched, id) = member(&server, r#""w""#).await;
    let (mut plain, _) = member(&server, r#""p""#).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    socket(&server.io, &id).on_any_outgoing(move |_, event, _| {
        record.lock().unwrap().push(event.to_owned());
    });
    server.io.emit("one", ()).unwrap();
    server.io.emit("two", ()).unwrap();
    assert_eq!(watched.recv().await, r#"42["one"]"#);
    assert_eq!(watched.recv().await, r#"42["two"]"#);
    assert_eq!(plain.recv().await, r#"42["one"]"#);
    assert_eq!(plain.recv().await, r#"42["two"]"#);
    assert_eq!(*seen.lock().unwrap(), ["one", "two"]);
    socket(&server.io, &id).off_any_outgoing();
    server.io.emit("three", ()).unwrap();
    assert_eq!(watched.recv().await, r#"42["three"]"#);
    assert!(
        watched.stays_quiet(Duration::from_millis(100)).await,
        "no copy"
    );
}

#[tokio::test]
async fn a_polling_client_gets_broadcasts_before_and_after_its_upgrade_once() {
    use tidings_testkit::{WsPeer, http};
    let server = serve(rooms_server()).await;
    let addr = server.addr;
    let (sid, query) = polling_session(addr).await;
    http(addr, "POST", &query, &[], "40").await;
    assert!(
        http(addr, "GET", &query, &[], "")
            .await
            .text()
            .starts_with("40{")
    );
    server.io.emit("polled", ()).unwrap();
    assert_eq!(
        http(addr, "GET", &query, &[], "").await.text(),
        r#"42["polled"]"#
    );
    let mut ws = WsPeer::connect(
        addr,
        &format!("/socket.io/?EIO=4&transport=websocket&sid={sid}"),
    )
    .await
    .unwrap();
    ws.send_text("2probe").await;
    assert_eq!(ws.recv_text().await, "3probe");
    ws.send_text("5").await;
    // The upgrade is handled by the server before the next broadcast is sent.
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.io.emit("upgraded", ()).unwrap();
    server.io.emit("again", ()).unwrap();
    assert_eq!(ws.recv_text().await, r#"42["upgraded"]"#);
    assert_eq!(ws.recv_text().await, r#"42["again"]"#);
    assert!(ws.is_silent_for(Duration::from_millis(100)).await);
}
