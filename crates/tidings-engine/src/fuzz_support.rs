//! Drivers for the fuzz targets (`fuzz/`), shared with the corpus replay test and the
//! property tests so that the committed seeds run on stable Rust in CI. Not part of the
//! API.

use bytes::Bytes;

use crate::http1::{self, Parsed};

/// Parses `input` as the start of a request on `serve`'s own HTTP/1.1 path. Whatever
/// the bytes, nothing panics; a head kept for the own path lies inside them, builds a
/// request or is refused, and ends where `head_may_end` would have looked for it, so a
/// head that trickles in is never missed.
pub fn http_head(input: &[u8]) {
    let Parsed::Request(head) = http1::parse(input) else {
        return;
    };
    assert!(head.len <= input.len());
    assert!(head.body_len <= http1::MAX_BODY);
    let bytes = &input[..head.len];
    assert!(
        http1::head_may_end(bytes, head.len - 1),
        "a whole head whose end is not seen: {}",
        bytes.escape_ascii()
    );
    let shared = Bytes::copy_from_slice(bytes);
    if let Some(request) = http1::request(&head, &shared, ()) {
        assert!(request.uri().path().starts_with('/'));
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn http_head_corpus_replays_without_panic() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/http_head");
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).expect("the corpus folder exists") {
            let path = entry.expect("a readable entry").path();
            super::http_head(&std::fs::read(&path).expect("a readable seed"));
            count += 1;
        }
        assert!(count > 0, "no seeds in {}", dir.display());
    }
}
