//! Replays the committed fuzz seeds (`fuzz/corpus/<target>/`) on stable Rust.
//!
//! Every file must go through the decoder without a panic. Seeds named
//! `ok-*` must decode cleanly into at least one packet; seeds named `err-*`
//! must be rejected. Files the fuzzer adds under other names are only
//! checked for panics.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use tidings_sio::{DecodeError, Decoder, DecoderLimits, Packet};

/// What one replay produced.
#[derive(Debug, Default)]
struct Outcome {
    packets: Vec<Packet>,
    errors: Vec<DecodeError>,
    pending: usize,
}

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.expect("readable corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no seeds in {}", dir.display());
    paths
        .into_iter()
        .map(|path| {
            let name = path
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            let bytes = std::fs::read(&path).expect("readable seed");
            (name, bytes)
        })
        .collect()
}

fn check(name: &str, outcome: &Outcome) {
    if name.starts_with("ok-") {
        assert!(outcome.errors.is_empty(), "{name}: {:?}", outcome.errors);
        assert!(!outcome.packets.is_empty(), "{name}: no packet");
        assert_eq!(outcome.pending, 0, "{name}: attachments still pending");
    } else if name.starts_with("err-") {
        assert!(!outcome.errors.is_empty(), "{name}: accepted");
    }
}

/// The `sio_packet` input format: messages split on 0x1E; `b…` is binary.
fn replay_text(input: &[u8]) -> Outcome {
    let mut decoder = Decoder::new(DecoderLimits::default());
    let mut outcome = Outcome::default();
    for message in input.split(|&b| b == 0x1e) {
        let decoded = match message.split_first() {
            Some((b'b', bytes)) => decoder.handle_binary(Bytes::copy_from_slice(bytes)),
            _ => decoder.handle_text(&String::from_utf8_lossy(message)),
        };
        match decoded {
            Ok(Some(packet)) => outcome.packets.push(packet),
            Ok(None) => {}
            Err(err) => outcome.errors.push(err),
        }
    }
    outcome.pending = decoder.pending_attachments();
    outcome
}

#[test]
fn sio_packet_seeds_replay() {
    for (name, input) in seeds("sio_packet") {
        check(&name, &replay_text(&input));
    }
}

#[test]
fn text_seed_session_yields_every_packet_in_order() {
    let (_, input) = seeds("sio_packet")
        .into_iter()
        .find(|(name, _)| name == "ok-session")
        .expect("the ok-session seed");
    let kinds: Vec<_> = replay_text(&input)
        .packets
        .iter()
        .map(|packet| (packet.kind.as_u8(), packet.nsp.clone()))
        .collect();
    let expected = [
        (0, "/"),
        (2, "/"),
        (2, "/"),
        (0, "/admin"),
        (2, "/admin"),
        (1, "/"),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(k, n)| (*k, (*n).to_owned()))
        .collect();
    assert_eq!(kinds, expected);
}

#[cfg(feature = "msgpack")]
#[test]
fn sio_msgpack_seeds_replay() {
    for (name, input) in seeds("sio_msgpack") {
        let mut outcome = Outcome::default();
        match tidings_sio::msgpack::decode(&input, &DecoderLimits::default()) {
            Ok(packet) => outcome.packets.push(packet),
            Err(err) => outcome.errors.push(err),
        }
        check(&name, &outcome);
    }
}
