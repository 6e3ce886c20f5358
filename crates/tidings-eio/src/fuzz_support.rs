//! Drivers for the fuzz targets (`fuzz/`), shared with the corpus replay test so that
//! the committed seeds run on stable Rust in CI. Not part of the API.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use crate::{Frame, Packet, Session, SessionConfig, Sid, Transport, payload};

/// Decodes a polling body; every decoded packet must encode back to a payload that
/// decodes to the same packets.
pub fn payload(input: &[u8]) {
    let Ok(packets) = payload::decode(input) else {
        return;
    };
    let frames: Vec<Frame> = packets.iter().map(frame_of).collect();
    let mut encoded = BytesMut::new();
    payload::encode(&frames, &mut encoded);
    let again = payload::decode(&encoded).expect("an encoded payload decodes");
    assert_eq!(again, packets);
}

fn frame_of(packet: &Packet) -> Frame {
    match packet {
        Packet::Message(text) => Frame::message(text),
        Packet::Binary(data) => Frame::Binary(data.clone()),
        Packet::Ping(data) => text_frame('2', data),
        Packet::Pong(data) => text_frame('3', data),
        other => Frame::bare(other.kind()),
    }
}

fn text_frame(kind: char, data: &str) -> Frame {
    Frame::Text(Bytes::from(format!("{kind}{data}")))
}

/// Runs a session through the operations the input spells, one byte per operation (the
/// bytes after a POST or WebSocket operation, up to `\x1e`, are its data), draining every
/// output after each step. The session must never panic and must keep its invariants.
pub fn session(input: &[u8]) {
    // Any start works: time only moves by the operations below.
    #[allow(clippy::disallowed_methods)]
    let mut now = Instant::now();
    let config = SessionConfig {
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(200),
        upgrade_timeout: Duration::from_millis(500),
        max_queued_frames: 8,
        ..SessionConfig::default()
    };
    let transport = if input.first().is_some_and(|b| b % 2 == 1) {
        Transport::WebSocket
    } else {
        Transport::Polling
    };
    let mut session = Session::new(Sid::from_random([7; 15]), &config, transport, now);
    let mut rest = input.get(1..).unwrap_or_default();
    while let Some((&op, tail)) = rest.split_first() {
        let end = tail.iter().position(|&b| b == 0x1e).unwrap_or(tail.len());
        let (data, after) = tail.split_at(end);
        rest = after.get(1..).unwrap_or_default();
        match op % 12 {
            0 => {
                let _ = session.handle_poll_request(now);
            }
            1 => session.handle_poll_aborted(),
            2 => {
                if session.handle_post_start().is_ok() {
                    let _ = session.handle_post(data, now);
                }
            }
            3 => session.handle_post_failed(),
            4 => {
                let _ = session.handle_upgrade_request(now);
            }
            5 => {
                let packet = match std::str::from_utf8(data) {
                    Ok(text) => Packet::decode_text(text),
                    Err(_) => Ok(Packet::Binary(Bytes::copy_from_slice(data))),
                };
                match packet {
                    Ok(packet) => session.handle_websocket_packet(packet, now),
                    Err(_) => session.handle_parse_error(Transport::WebSocket),
                }
            }
            6 => session.handle_websocket_closed(data.first().is_some_and(|b| b % 2 == 0)),
            7 => {
                now += Duration::from_millis(u64::from(data.first().copied().unwrap_or(100)) * 4);
                session.handle_timeout(now);
            }
            8 => {
                let _ = session.send(Frame::Binary(Bytes::copy_from_slice(data)));
            }
            9 => {
                let _ = session.send_all(&[Frame::message("a"), Frame::Binary(Bytes::new())]);
            }
            10 => session.close(crate::CloseReason::ServerClose, now),
            _ => session.handle_parse_error(Transport::Polling),
        }
        while session.poll_polling_response().is_some() {}
        while session.poll_websocket().is_some() {}
        while session.poll_event().is_some() {}
        assert!(session.queued_frames() <= 9, "the queue stays bounded");
        assert_eq!(session.poll_timeout().is_none(), session.is_closed());
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn replay(target: &str, run: fn(&[u8])) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus")
            .join(target);
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).expect("the corpus folder exists") {
            let path = entry.expect("a readable entry").path();
            run(&std::fs::read(&path).expect("a readable seed"));
            count += 1;
        }
        assert!(count > 0, "no seeds in {}", dir.display());
    }

    #[test]
    fn payload_corpus_replays_without_panic() {
        replay("eio_payload", super::payload);
    }

    #[test]
    fn session_corpus_replays_without_panic() {
        replay("eio_session", super::session);
    }
}
