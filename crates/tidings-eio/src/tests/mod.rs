//! Session scenarios fed with literal wire strings and a manual clock, one rule per test.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::{
    CloseReason, Event, Frame, Packet, Session, SessionConfig, SessionError, Sid, Transport,
    WsOutput,
};

/// A session plus a manual clock.
struct Harness {
    session: Session,
    now: Instant,
}

const SID: &str = "lv_VI97HAXpY6yYWAAAC";

fn config() -> SessionConfig {
    SessionConfig {
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(200),
        ..SessionConfig::default()
    }
}

impl Harness {
    fn polling() -> Self {
        Self::with(config(), Transport::Polling)
    }

    fn websocket() -> Self {
        Self::with(config(), Transport::WebSocket)
    }

    fn with(config: SessionConfig, transport: Transport) -> Self {
        // Any starting point works: the manual clock only moves by `advance`.
        #[allow(clippy::disallowed_methods)]
        let now = Instant::now();
        let sid = Sid::parse(SID).unwrap();
        Self {
            session: Session::new(sid, &config, transport, now),
            now,
        }
    }

    /// A polling session whose handshake GET was answered.
    fn opened_polling() -> Self {
        let mut harness = Self::polling();
        let body = harness.get().expect("handshake answered");
        assert!(body.starts_with("0{"));
        harness
    }

    fn advance(&mut self, millis: u64) {
        self.now += Duration::from_millis(millis);
        if let Some(deadline) = self.session.poll_timeout()
            && deadline <= self.now
        {
            self.session.handle_timeout(self.now);
        }
    }

    /// Sends a GET and returns the body if it is answered at once.
    fn get(&mut self) -> Option<String> {
        self.session.handle_poll_request(self.now).unwrap();
        self.answer()
    }

    /// The body for the pending GET, if it is due.
    fn answer(&mut self) -> Option<String> {
        self.session
            .poll_polling_response()
            .map(|body| String::from_utf8(body.to_vec()).unwrap())
    }

    fn post(&mut self, body: &str) -> Result<(), SessionError> {
        self.session.handle_post_start()?;
        self.session.handle_post(body.as_bytes(), self.now)
    }

    fn ws(&mut self, text: &str) {
        let packet = Packet::decode_text(text).unwrap();
        self.session.handle_websocket_packet(packet, self.now);
    }

    fn ws_output(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.session.poll_websocket())
            .map(|output| match output {
                WsOutput::Frame(Frame::Text(text)) => String::from_utf8(text.to_vec()).unwrap(),
                WsOutput::Frame(Frame::Binary(data)) => format!("<binary {data:?}>"),
                WsOutput::Close => "<close>".to_owned(),
            })
            .collect()
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.session.poll_event()).collect()
    }

    /// Runs the probe and the upgrade on a polling session.
    fn upgrade(&mut self) {
        self.session.handle_upgrade_request(self.now).unwrap();
        self.ws("2probe");
        assert_eq!(self.ws_output(), ["3probe"]);
        self.ws("5");
    }
}

#[test]
fn polling_handshake_answers_the_open_packet() {
    let mut harness = Harness::polling();
    assert_eq!(
        harness.get().unwrap(),
        format!(
            r#"0{{"sid":"{SID}","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}}"#
        )
    );
}

#[test]
fn websocket_handshake_sends_open_with_no_upgrades() {
    let mut harness = Harness::websocket();
    assert_eq!(
        harness.ws_output(),
        [format!(
            r#"0{{"sid":"{SID}","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}}"#
        )]
    );
}

#[test]
fn upgrades_are_empty_when_not_allowed() {
    let config = SessionConfig {
        allow_upgrades: false,
        ..config()
    };
    let mut harness = Harness::with(config, Transport::Polling);
    assert!(harness.get().unwrap().contains(r#""upgrades":[]"#));
    assert_eq!(
        harness.session.handle_upgrade_request(harness.now),
        Err(SessionError::UpgradeRefused)
    );
}

#[test]
fn get_waits_until_something_is_queued() {
    let mut harness = Harness::opened_polling();
    assert_eq!(harness.get(), None);
    harness.session.send(Frame::message("hello")).unwrap();
    assert_eq!(harness.answer().unwrap(), "4hello");
}

#[test]
fn one_get_carries_everything_queued() {
    let mut harness = Harness::opened_polling();
    for text in ["test1", "test2", "test3"] {
        harness.session.send(Frame::message(text)).unwrap();
    }
    harness
        .session
        .send(Frame::Binary(Bytes::from_static(&[1, 2, 3, 4])))
        .unwrap();
    assert_eq!(
        harness.get().unwrap(),
        "4test1\x1e4test2\x1e4test3\x1ebAQIDBA=="
    );
}

#[test]
fn post_delivers_messages_in_order() {
    let mut harness = Harness::opened_polling();
    harness.post("4hello\x1ebAQIDBA==\x1e4€").unwrap();
    assert_eq!(
        harness.events(),
        [
            Event::Message("hello".into()),
            Event::Binary(Bytes::from_static(&[1, 2, 3, 4])),
            Event::Message("€".into()),
        ]
    );
}

#[test]
fn second_concurrent_poll_closes_session() {
    let mut harness = Harness::opened_polling();
    assert_eq!(harness.get(), None);
    assert_eq!(
        harness.session.handle_poll_request(harness.now),
        Err(SessionError::PollOverlap)
    );
    assert_eq!(harness.answer().unwrap(), "1");
    assert_eq!(
        harness.events(),
        [Event::Closed(CloseReason::TransportError)]
    );
    assert_eq!(
        harness.session.handle_poll_request(harness.now),
        Err(SessionError::Closed)
    );
}

#[test]
fn second_concurrent_post_closes_session() {
    let mut harness = Harness::opened_polling();
    harness.session.handle_post_start().unwrap();
    assert_eq!(
        harness.session.handle_post_start(),
        Err(SessionError::PostOverlap)
    );
    assert!(harness.session.is_closed());
}

#[test]
fn aborted_poll_closes_session() {
    let mut harness = Harness::opened_polling();
    assert_eq!(harness.get(), None);
    harness.session.handle_poll_aborted();
    assert_eq!(
        harness.events(),
        [Event::Closed(CloseReason::TransportError)]
    );
}

#[test]
fn invalid_post_payload_closes_with_parse_error() {
    for body in ["abc", "", "4a\x1e\x1e"] {
        let mut harness = Harness::opened_polling();
        assert!(
            matches!(harness.post(body), Err(SessionError::Decode(_))),
            "{body:?}"
        );
        assert_eq!(harness.events(), [Event::Closed(CloseReason::ParseError)]);
    }
}

#[test]
fn failed_post_keeps_session_open() {
    let mut harness = Harness::opened_polling();
    harness.session.handle_post_start().unwrap();
    harness.session.handle_post_failed();
    assert!(harness.session.is_open());
    harness.post("4ok").unwrap();
    assert_eq!(harness.events(), [Event::Message("ok".into())]);
}

#[test]
fn client_close_over_polling_answers_pending_get_with_noop() {
    let mut harness = Harness::opened_polling();
    assert_eq!(harness.get(), None);
    harness.post("1").unwrap();
    assert_eq!(harness.answer().unwrap(), "6");
    assert_eq!(
        harness.events(),
        [Event::Closed(CloseReason::TransportClose)]
    );
}

#[test]
fn client_close_over_websocket_closes_at_once() {
    let mut harness = Harness::websocket();
    harness.ws_output();
    harness.ws("1");
    assert_eq!(harness.ws_output(), ["<close>"]);
    assert_eq!(
        harness.events(),
        [Event::Closed(CloseReason::TransportClose)]
    );
}

#[test]
fn ping_starts_at_handshake_and_timeout_at_queueing() {
    let mut harness = Harness::opened_polling();
    harness.advance(299);
    assert_eq!(harness.get(), None);
    harness.advance(1);
    assert_eq!(harness.answer().unwrap(), "2");
    harness.advance(199);
    assert!(harness.session.is_open());
    harness.advance(1);
    assert_eq!(harness.events(), [Event::Closed(CloseReason::PingTimeout)]);
}

#[test]
fn unanswered_session_is_gone_500ms_after_handshake() {
    let mut harness = Harness::polling();
    harness.advance(300);
    harness.advance(200);
    assert!(harness.session.is_closed());
    assert_eq!(harness.events(), [Event::Closed(CloseReason::PingTimeout)]);
}

#[test]
fn ping_timeout_answers_pending_get_with_close() {
    let mut harness = Harness::opened_polling();
    harness.advance(300);
    assert_eq!(harness.get().unwrap(), "2");
    assert_eq!(harness.get(), None);
    harness.advance(200);
    assert_eq!(harness.answer().unwrap(), "1");
}

#[test]
fn pong_schedules_next_ping_an_interval_later() {
    let mut harness = Harness::websocket();
    harness.ws_output();
    harness.advance(300);
    assert_eq!(harness.ws_output(), ["2"]);
    harness.advance(150);
    harness.ws("3");
    harness.advance(299);
    assert_eq!(harness.ws_output(), Vec::<String>::new());
    harness.advance(1);
    assert_eq!(harness.ws_output(), ["2"]);
    assert!(harness.session.is_open());
}

#[test]
fn traffic_extends_the_pong_deadline_once() {
    let mut harness = Harness::websocket();
    harness.ws_output();
    harness.advance(300);
    harness.advance(150);
    harness.ws("4busy");
    harness.advance(150);
    assert!(harness.session.is_open(), "extended by the message");
    harness.ws("4busy again");
    harness.advance(50);
    assert!(harness.session.is_closed(), "extended only once");
}

#[test]
fn client_ping_is_invalid_heartbeat_direction() {
    let mut harness = Harness::websocket();
    harness.ws("2");
    assert_eq!(
        harness.events(),
        [Event::Closed(CloseReason::TransportError)]
    );
    let mut harness = Harness::opened_polling();
    harness.post("2").unwrap();
    assert_eq!(
        harness.events(),
        [Event::Closed(CloseReason::TransportError)]
    );
}

#[test]
fn upgrade_probe_then_upgrade_moves_to_websocket() {
    let mut harness = Harness::opened_polling();
    harness.session.send(Frame::message("queued")).unwrap();
    harness.session.handle_upgrade_request(harness.now).unwrap();
    harness.ws("2probe");
    assert_eq!(
        harness.ws_output(),
        ["3probe"],
        "queued frames wait for the upgrade"
    );
    harness.ws("5");
    assert_eq!(harness.events(), [Event::Upgraded]);
    assert_eq!(harness.session.transport(), Transport::WebSocket);
    assert_eq!(harness.ws_output(), ["4queued"]);
    harness.ws("4after");
    assert_eq!(harness.events(), [Event::Message("after".into())]);
}

#[test]
fn pending_get_gets_noop_after_probe() {
    let mut harness = Harness::opened_polling();
    assert_eq!(harness.get(), None);
    harness.session.handle_upgrade_request(harness.now).unwrap();
    assert_eq!(harness.answer(), None, "no noop before the probe");
    harness.ws("2probe");
    assert_eq!(harness.answer().unwrap(), "6");
    assert_eq!(
        harness.get().unwrap(),
        "6",
        "a GET after the probe also gets a noop"
    );
}

#[test]
fn polling_after_upgrade_is_a_transport_mismatch() {
    let mut harness = Harness::opened_polling();
    harness.upgrade();
    assert_eq!(
        harness.session.handle_poll_request(harness.now),
        Err(SessionError::TransportMismatch)
    );
    assert_eq!(
        harness.session.handle_post_start(),
        Err(SessionError::TransportMismatch)
    );
    assert!(harness.session.is_open());
}

#[test]
fn second_websocket_is_refused() {
    let mut harness = Harness::opened_polling();
    harness.session.handle_upgrade_request(harness.now).unwrap();
    assert_eq!(
        harness.session.handle_upgrade_request(harness.now),
        Err(SessionError::TransportMismatch)
    );
    harness.ws("2probe");
    harness.ws("5");
    assert_eq!(
        harness.session.handle_upgrade_request(harness.now),
        Err(SessionError::TransportMismatch)
    );
    let mut websocket_only = Harness::websocket();
    assert_eq!(
        websocket_only
            .session
            .handle_upgrade_request(websocket_only.now),
        Err(SessionError::TransportMismatch)
    );
}

#[test]
fn other_packet_on_probing_websocket_aborts_upgrade() {
    let mut harness = Harness::opened_polling();
    harness.session.handle_upgrade_request(harness.now).unwrap();
    harness.ws("2probe");
    harness.ws_output();
    harness.ws("4too early");
    assert_eq!(harness.ws_output(), ["<close>"]);
    assert_eq!(harness.session.transport(), Transport::Polling);
    harness.post("4still polling").unwrap();
    assert_eq!(harness.events(), [Event::Message("still polling".into())]);
}

#[test]
fn upgrade_timeout_closes_the_websocket_and_keeps_polling() {
    let config = SessionConfig {
        ping_interval: Duration::from_secs(60),
        ..config()
    };
    let mut harness = Harness::with(config, Transport::Polling);
    harness.get();
    harness.session.handle_upgrade_request(harness.now).unwrap();
    harness.ws("2probe");
    harness.ws_output();
    harness.advance(10_000);
    assert_eq!(harness.ws_output(), ["<close>"]);
    assert_eq!(harness.session.transport(), Transport::Polling);
    assert!(harness.session.is_open());
}

#[test]
fn probing_websocket_that_drops_keeps_polling() {
    let mut harness = Harness::opened_polling();
    harness.session.handle_upgrade_request(harness.now).unwrap();
    harness.session.handle_websocket_closed(false);
    assert!(harness.session.is_open());
    assert_eq!(harness.session.transport(), Transport::Polling);
    harness.session.handle_upgrade_request(harness.now).unwrap();
}

#[test]
fn carrying_websocket_that_drops_closes_the_session() {
    let mut harness = Harness::opened_polling();
    harness.upgrade();
    harness.events();
    harness.session.handle_websocket_closed(true);
    assert_eq!(
        harness.events(),
        [Event::Closed(CloseReason::TransportError)]
    );
    assert_eq!(
        harness.ws_output(),
        Vec::<String>::new(),
        "no close frame on a dead socket"
    );
}

#[test]
fn heartbeat_keeps_working_across_the_upgrade() {
    let mut harness = Harness::opened_polling();
    harness.advance(100);
    harness.upgrade();
    harness.advance(200);
    assert_eq!(harness.ws_output(), ["2"]);
    harness.ws("3");
    harness.advance(300);
    assert_eq!(harness.ws_output(), ["2"]);
    harness.advance(200);
    assert!(harness.session.is_closed());
}

#[test]
fn server_close_without_pending_get_answers_next_get_with_noop_and_close() {
    let mut harness = Harness::opened_polling();
    harness.session.close(CloseReason::ServerClose, harness.now);
    assert!(
        harness.events().is_empty(),
        "closed only once the close packet is carried"
    );
    assert_eq!(harness.get().unwrap(), "6\x1e1");
    assert_eq!(harness.events(), [Event::Closed(CloseReason::ServerClose)]);
}

#[test]
fn server_close_flushes_queued_frames_first() {
    let mut harness = Harness::opened_polling();
    harness.session.send(Frame::message("bye")).unwrap();
    harness.session.close(CloseReason::ServerClose, harness.now);
    assert_eq!(
        harness.session.send(Frame::message("late")),
        Err(SessionError::Closed)
    );
    assert_eq!(harness.get().unwrap(), "4bye");
    assert_eq!(harness.get().unwrap(), "6\x1e1");
}

#[test]
fn server_close_with_pending_get_answers_close() {
    let mut harness = Harness::opened_polling();
    assert_eq!(harness.get(), None);
    harness.session.close(CloseReason::ServerClose, harness.now);
    assert_eq!(harness.answer().unwrap(), "1");
    assert_eq!(harness.events(), [Event::Closed(CloseReason::ServerClose)]);
}

#[test]
fn closing_polling_session_gives_up_after_close_timeout() {
    let mut harness = Harness::opened_polling();
    harness.session.close(CloseReason::ServerClose, harness.now);
    harness.advance(30_000);
    assert_eq!(harness.events(), [Event::Closed(CloseReason::ServerClose)]);
}

#[test]
fn server_close_over_websocket_flushes_then_closes() {
    let mut harness = Harness::websocket();
    harness.ws_output();
    harness.session.send(Frame::message("bye")).unwrap();
    harness.session.close(CloseReason::ForcedClose, harness.now);
    assert_eq!(harness.ws_output(), ["4bye", "<close>"]);
    assert_eq!(harness.events(), [Event::Closed(CloseReason::ForcedClose)]);
}

#[test]
fn full_queue_refuses_frames() {
    let config = SessionConfig {
        max_queued_frames: 2,
        ..config()
    };
    let mut harness = Harness::with(config, Transport::Polling);
    harness.session.send(Frame::message("a")).unwrap();
    assert_eq!(
        harness.session.send(Frame::message("b")),
        Err(SessionError::QueueFull)
    );
    assert!(harness.session.is_open());
}

#[test]
fn writable_only_with_pending_get_or_empty_websocket_queue() {
    let mut harness = Harness::opened_polling();
    assert!(!harness.session.is_writable());
    harness.get();
    assert!(harness.session.is_writable());
    let mut websocket = Harness::websocket();
    assert!(
        !websocket.session.is_writable(),
        "the open packet is still queued"
    );
    websocket.ws_output();
    assert!(websocket.session.is_writable());
}

#[test]
fn binary_message_over_websocket_is_an_event() {
    let mut harness = Harness::websocket();
    harness
        .session
        .handle_websocket_packet(Packet::Binary(Bytes::from_static(&[1, 2])), harness.now);
    harness.ws("bAwQ=");
    assert_eq!(
        harness.events(),
        [
            Event::Binary(Bytes::from_static(&[1, 2])),
            Event::Binary(Bytes::from_static(&[3, 4])),
        ]
    );
}

#[test]
fn undecodable_frame_closes_carrier_but_only_aborts_probe() {
    let mut harness = Harness::websocket();
    harness.session.handle_parse_error(Transport::WebSocket);
    assert_eq!(harness.events(), [Event::Closed(CloseReason::ParseError)]);
    let mut harness = Harness::opened_polling();
    harness.session.handle_upgrade_request(harness.now).unwrap();
    harness.session.handle_parse_error(Transport::WebSocket);
    assert_eq!(harness.ws_output(), ["<close>"]);
    assert!(harness.session.is_open());
    harness.session.handle_parse_error(Transport::Polling);
    assert_eq!(harness.events(), [Event::Closed(CloseReason::ParseError)]);
}

#[test]
fn grouped_frames_are_queued_all_or_none() {
    let config = SessionConfig {
        max_queued_frames: 3,
        ..config()
    };
    let mut harness = Harness::with(config, Transport::WebSocket);
    let group = [
        Frame::message("51-[]"),
        Frame::Binary(Bytes::from_static(&[1])),
    ];
    harness.session.send_all(&group).unwrap();
    assert_eq!(
        harness.session.send_all(&group),
        Err(SessionError::QueueFull)
    );
    assert_eq!(
        harness.ws_output().len(),
        3,
        "open packet plus the one group"
    );
}

#[test]
fn abort_drops_the_queue_and_closes_at_once() {
    let mut harness = Harness::opened_polling();
    harness.session.send(Frame::message("never sent")).unwrap();
    harness.session.abort(CloseReason::TransportError);
    assert_eq!(
        harness.events(),
        [Event::Closed(CloseReason::TransportError)]
    );
    let mut websocket = Harness::websocket();
    websocket.session.abort(CloseReason::TransportError);
    assert_eq!(
        websocket.ws_output(),
        ["<close>"],
        "the open packet is dropped too"
    );
}
