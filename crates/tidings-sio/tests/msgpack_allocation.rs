//! What a hostile msgpack message makes the decoder allocate. This test binary counts
//! every allocation, so it holds nothing but this test.
#![cfg(feature = "msgpack")]

use std::alloc::System;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tidings_sio::{DecodeError, DecoderLimits, msgpack};

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// `{"type":2,"nsp":"/","data":…}` where `data` opens `levels` arrays (or maps) that
/// each claim 2³² − 1 elements, padded to `size` bytes.
fn nested_bomb(level_header: &[u8], levels: usize, size: usize) -> Vec<u8> {
    let mut message = b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data".to_vec();
    for _ in 0..levels {
        message.extend_from_slice(level_header);
    }
    message.resize(size, 0xc0);
    message
}

#[test]
fn nested_collections_claiming_huge_lengths_reserve_little() {
    const SIZE: usize = 1_000_000;
    for (header, what) in [
        (&b"\xdd\xff\xff\xff\xff"[..], "array32"),
        (&b"\xdf\xff\xff\xff\xff\xa0"[..], "map32 with an empty key"),
    ] {
        // Deeper than the 128 levels allowed, so the decoder stops with `TooDeep`.
        let message = nested_bomb(header, 130, SIZE);
        let region = Region::new(ALLOCATOR);
        let result = msgpack::decode(&message, &DecoderLimits::default());
        let allocated = region.change().bytes_allocated;
        assert_eq!(result.unwrap_err(), DecodeError::TooDeep, "{what}");
        // 127 levels of at most 64 values each. Sizing each level by the bytes left
        // instead would reserve about 127 × 1 M values, some 10 GB.
        assert!(allocated < 4 * SIZE, "{what}: {allocated} bytes allocated");
    }
}
