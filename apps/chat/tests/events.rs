//! The chat events of apps/chat/README.md over the wire: raw Engine.IO/Socket.IO
//! packets on a real loopback server, so the tests read as transcripts.

// Helpers panic like the tests: a failed expectation is a failed test.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tidings::Server;
use tidings_testkit::{TestServer, WsPeer, http};

/// How long a peer must stay silent to show that nothing was sent to it.
const QUIET: Duration = Duration::from_millis(200);

async fn start() -> TestServer {
    TestServer::start(tidings_chat::app(&Server::default())).await
}

fn now_ms() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    u64::try_from(since.as_millis()).unwrap()
}

/// A raw Socket.IO client over WebSocket, connected to `/`.
struct Peer {
    ws: WsPeer,
    /// The Socket.IO socket id from the CONNECT reply.
    id: String,
}

impl Peer {
    /// Connects to `/` and reads the CONNECT reply; the `history` and `online` that follow
    /// are left for the test.
    async fn connect(addr: SocketAddr) -> Self {
        let mut ws = WsPeer::connect(addr, "/socket.io/?EIO=4&transport=websocket")
            .await
            .unwrap();
        let open = ws.recv_text().await;
        assert!(open.starts_with(r#"0{"sid":""#), "{open}");
        ws.send_text("40").await;
        let reply = ws.recv_text().await;
        let body = reply.strip_prefix("40").expect("a CONNECT reply");
        let id = serde_json::from_str::<Value>(body).unwrap()["sid"]
            .as_str()
            .unwrap()
            .to_owned();
        Self { ws, id }
    }

    /// Connects and checks the greeting: `history` (returned), then `online`.
    async fn join(addr: SocketAddr, online: u64) -> (Self, Vec<Value>) {
        let mut peer = Self::connect(addr).await;
        let history = peer.expect("history").await;
        assert_eq!(peer.expect("online").await, json!(online));
        (peer, history.as_array().unwrap().clone())
    }

    /// The default nick: `guest-` and the first 4 characters of the socket id.
    fn guest(&self) -> String {
        format!("guest-{}", &self.id[..4])
    }

    async fn send(&mut self, packet: &str) {
        self.ws.send_text(packet).await;
    }

    /// The next Socket.IO packet (Engine.IO pings are answered and skipped).
    async fn packet(&mut self) -> String {
        loop {
            let text = self.ws.recv_text().await;
            if text == "2" {
                self.ws.send_text("3").await;
                continue;
            }
            return text;
        }
    }

    /// The next packet must be the event `name` with one argument; returns it.
    async fn expect(&mut self, name: &str) -> Value {
        let packet = self.packet().await;
        let body = packet
            .strip_prefix("42")
            .unwrap_or_else(|| panic!("expected event {name}, got {packet}"));
        let Value::Array(mut data) = serde_json::from_str(body).unwrap() else {
            panic!("not an event: {packet}");
        };
        assert_eq!(data.first(), Some(&json!(name)), "{packet}");
        assert_eq!(data.len(), 2, "one argument: {packet}");
        data.pop().unwrap()
    }

    /// The next packet must be the acknowledgement `id` with one argument; returns it.
    async fn expect_ack(&mut self, id: u64) -> Value {
        let packet = self.packet().await;
        let body = packet
            .strip_prefix(&format!("43{id}"))
            .unwrap_or_else(|| panic!("expected ack {id}, got {packet}"));
        let Value::Array(mut data) = serde_json::from_str(body).unwrap() else {
            panic!("not an ack: {packet}");
        };
        assert_eq!(data.len(), 1, "{packet}");
        data.pop().unwrap()
    }

    async fn assert_silent(&mut self) {
        assert!(self.ws.is_silent_for(QUIET).await, "nothing more expected");
    }

    /// Sends `talk` and reads its `response` and `tail`, which must be equal; returns it.
    async fn talk(&mut self, text: &str) -> Value {
        self.send(&format!(r#"42["talk",{}]"#, json!(text))).await;
        let response = self.expect("response").await;
        assert_eq!(self.expect("tail").await, response);
        response
    }
}

/// Checks the exact shape `{id, nick, text, at}` (keys in that order, nothing else).
fn assert_message(msg: &Value, id: &str, nick: &str, text: &str) {
    let keys: Vec<&str> = msg
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["id", "nick", "text", "at"], "{msg}");
    assert_eq!(msg["id"], json!(id));
    assert_eq!(msg["nick"], json!(nick));
    assert_eq!(msg["text"], json!(text));
    let at = msg["at"].as_u64().expect("at: integer ms");
    assert!(
        at.abs_diff(now_ms()) < 60_000,
        "at is the server's time in ms: {at}"
    );
}

#[tokio::test]
async fn talk_goes_to_everyone_as_response_and_back_to_the_sender_as_tail() {
    let server = start().await;
    let (mut a, history) = Peer::join(server.addr(), 1).await;
    assert!(history.is_empty());
    let (mut b, _) = Peer::join(server.addr(), 2).await;
    assert_eq!(
        a.expect("joined").await,
        json!({ "id": b.id, "nick": b.guest() })
    );
    assert_eq!(a.expect("online").await, json!(2));

    let before = now_ms();
    a.send(r#"42["talk","  hi  "]"#).await;
    // The exact wire text: the trimmed text, the socket id and the default nick.
    let response = a.packet().await;
    let prefix = format!(
        r#"42["response",{{"id":"{}","nick":"{}","text":"hi","at":"#,
        a.id,
        a.guest()
    );
    let at = response
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix("}]"))
        .unwrap_or_else(|| panic!("{response}"));
    let at: u64 = at.parse().unwrap();
    assert!((before..=now_ms()).contains(&at), "{at}");
    let tail = a.packet().await;
    assert_eq!(tail, response.replacen("response", "tail", 1));
    // The others get `response` only; the sender gets nothing more.
    assert_eq!(b.packet().await, response);
    a.assert_silent().await;
    b.assert_silent().await;

    // Both ways, and HTML is just text to the server.
    let msg = b.talk("<img src=x onerror=alert(1)>").await;
    assert_message(&msg, &b.id, &b.guest(), "<img src=x onerror=alert(1)>");
    assert_eq!(a.expect("response").await, msg);
    a.assert_silent().await;
}

#[tokio::test]
async fn an_accepted_talk_is_acknowledged_after_its_emits() {
    let server = start().await;
    let (mut a, _) = Peer::join(server.addr(), 1).await;
    a.send(r#"427["talk","with an ack"]"#).await;
    let msg = a.expect("response").await;
    assert_message(&msg, &a.id, &a.guest(), "with an ack");
    assert_eq!(a.expect("tail").await, msg);
    assert_eq!(a.expect_ack(7).await, json!({ "ok": true }));
    a.assert_silent().await;
}

#[tokio::test]
async fn empty_and_too_long_messages_are_refused_and_never_sent() {
    let server = start().await;
    let (mut a, _) = Peer::join(server.addr(), 1).await;
    let (mut b, _) = Peer::join(server.addr(), 2).await;
    a.expect("joined").await;
    a.expect("online").await;

    let too_long = "é".repeat(501);
    let refused = [
        (json!(""), "empty"),
        (json!(" \t\n "), "empty"),
        (json!(42), "empty"),
        (json!(null), "empty"),
        (json!({ "text": "hi" }), "empty"),
        (json!(too_long), "too long"),
        (json!("a".repeat(501)), "too long"),
    ];
    for (id, (arg, error)) in refused.iter().enumerate() {
        // Without an ack: a `notice` to the sender.
        a.send(&format!(r#"42["talk",{arg}]"#)).await;
        assert_eq!(a.expect("notice").await, json!({ "error": error }), "{arg}");
        // With an ack: the refusal in the ack, and no notice.
        a.send(&format!(r#"42{id}["talk",{arg}]"#)).await;
        let ack = a.expect_ack(id as u64).await;
        assert_eq!(ack, json!({ "ok": false, "error": error }), "{arg}");
    }
    a.send(r#"42["talk"]"#).await;
    assert_eq!(a.expect("notice").await, json!({ "error": "empty" }));
    a.assert_silent().await;
    b.assert_silent().await;

    // Characters are Unicode scalar values, counted after trimming.
    let limit = "😀".repeat(500);
    let msg = a.talk(&format!("  {limit}\n")).await;
    assert_message(&msg, &a.id, &a.guest(), &limit);
    assert_eq!(b.expect("response").await, msg);

    // Only the accepted message is in the history.
    let (_, history) = Peer::join(server.addr(), 3).await;
    assert_eq!(history, [msg]);
}

#[tokio::test]
async fn a_newcomer_gets_the_last_50_messages_oldest_first_then_others_learn_it_joined() {
    let server = start().await;
    let (mut a, _) = Peer::join(server.addr(), 1).await;
    let mut sent = Vec::new();
    for n in 0..55 {
        sent.push(a.talk(&format!("message {n}")).await);
    }
    let (b, history) = Peer::join(server.addr(), 2).await;
    assert_eq!(history.len(), 50);
    assert_eq!(history, sent[5..]);
    assert_message(&history[0], &a.id, &a.guest(), "message 5");
    assert_eq!(
        a.expect("joined").await,
        json!({ "id": b.id, "nick": b.guest() })
    );
    assert_eq!(a.expect("online").await, json!(2));
}

#[tokio::test]
async fn nick_is_cleaned_acknowledged_and_announced() {
    let server = start().await;
    let (mut a, _) = Peer::join(server.addr(), 1).await;
    let (mut b, _) = Peer::join(server.addr(), 2).await;
    a.expect("joined").await;
    a.expect("online").await;

    a.send(r#"421["nick","  Ada Lovelace  "]"#).await;
    assert_eq!(
        a.expect_ack(1).await,
        json!({ "ok": true, "nick": "Ada Lovelace" })
    );
    let renamed = json!({ "id": a.id, "nick": "Ada Lovelace", "previous": a.guest() });
    assert_eq!(a.expect("renamed").await, renamed);
    assert_eq!(b.expect("renamed").await, renamed);

    // Messages carry the nick at the time.
    let msg = a.talk("hello").await;
    assert_message(&msg, &a.id, "Ada Lovelace", "hello");
    b.expect("response").await;

    // Cut to 32 characters then trimmed; empty or not a string becomes "anonymous";
    // without an ack only `renamed` comes; the same nick is announced again.
    let cases = [
        (format!("{} tail", "x".repeat(31)), "x".repeat(31)),
        ("ü".repeat(40), "ü".repeat(32)),
        ("   ".to_owned(), "anonymous".to_owned()),
        ("anonymous".to_owned(), "anonymous".to_owned()),
    ];
    let mut previous = "Ada Lovelace".to_owned();
    for (name, nick) in cases {
        a.send(&format!(r#"42["nick",{}]"#, json!(name))).await;
        let renamed = json!({ "id": a.id, "nick": nick, "previous": previous });
        assert_eq!(a.expect("renamed").await, renamed, "{name:?}");
        assert_eq!(b.expect("renamed").await, renamed);
        previous = nick;
    }
    b.send(r#"42["nick",{"name":"x"}]"#).await;
    let renamed = json!({ "id": b.id, "nick": "anonymous", "previous": b.guest() });
    assert_eq!(b.expect("renamed").await, renamed);
    assert_eq!(a.expect("renamed").await, renamed);
    a.assert_silent().await;
}

#[tokio::test]
async fn typing_goes_to_the_others_only_and_is_true_only_for_json_true() {
    let server = start().await;
    let (mut a, _) = Peer::join(server.addr(), 1).await;
    let (mut b, _) = Peer::join(server.addr(), 2).await;
    a.expect("joined").await;
    a.expect("online").await;

    for (arg, typing) in [
        ("true", true),
        ("false", false),
        (r#""true""#, false),
        ("1", false),
    ] {
        a.send(&format!(r#"42["typing",{arg}]"#)).await;
        let state = json!({ "id": a.id, "nick": a.guest(), "typing": typing });
        assert_eq!(b.expect("typing").await, state, "{arg}");
    }
    a.send(r#"42["typing"]"#).await;
    assert_eq!(b.expect("typing").await["typing"], json!(false));
    a.assert_silent().await;
}

#[tokio::test]
async fn leaving_is_announced_with_the_new_count() {
    let server = start().await;
    let (mut a, _) = Peer::join(server.addr(), 1).await;
    let (mut b, _) = Peer::join(server.addr(), 2).await;
    a.expect("joined").await;
    a.expect("online").await;
    b.send(r#"42["nick","Bea"]"#).await;
    a.expect("renamed").await;

    b.ws.close().await;
    assert_eq!(a.expect("left").await, json!({ "id": b.id, "nick": "Bea" }));
    assert_eq!(a.expect("online").await, json!(1));
}

#[tokio::test]
async fn a_polling_client_chats_with_a_websocket_client() {
    let server = start().await;
    let addr = server.addr();
    let open = http(addr, "GET", "/socket.io/?EIO=4&transport=polling", &[], "").await;
    let sid = tidings_testkit::sid_of(&open.text());
    let url = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    let post = |body: &'static str| {
        let url = url.clone();
        async move {
            let reply = http(addr, "POST", &url, &[], body).await;
            assert_eq!((reply.status, reply.text()), (200, "ok".to_owned()));
        }
    };
    // Reads polls until `count` packets came; returns them.
    let poll = |count: usize| {
        let url = url.clone();
        async move {
            let mut packets = Vec::new();
            while packets.len() < count {
                let reply = http(addr, "GET", &url, &[], "").await;
                assert_eq!(reply.status, 200);
                packets.extend(reply.text().split('\u{1e}').map(str::to_owned));
            }
            packets
        }
    };

    post("40").await;
    let greeting = poll(3).await;
    assert!(greeting[0].starts_with(r#"40{"sid":""#), "{greeting:?}");
    assert_eq!(greeting[1..], [r#"42["history",[]]"#, r#"42["online",1]"#]);

    let (mut ws, _) = Peer::join(addr, 2).await;
    assert_eq!(
        poll(2).await[1],
        r#"42["online",2]"#,
        "the polling client learns of the newcomer"
    );

    post(r#"42["talk","from polling"]"#).await;
    let sent = poll(2).await;
    assert!(sent[0].starts_with(r#"42["response",{"#), "{sent:?}");
    let msg = ws.expect("response").await;
    assert_eq!(msg["text"], json!("from polling"));
    assert_eq!(sent[0], format!(r#"42["response",{msg}]"#));
    assert_eq!(sent[1], format!(r#"42["tail",{msg}]"#));

    let back = ws.talk("from websocket").await;
    assert_eq!(poll(1).await, [format!(r#"42["response",{back}]"#)]);
}
