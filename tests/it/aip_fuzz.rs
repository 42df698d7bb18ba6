//! Fuzz-style, deterministic: truncated and bit-flipped protected files and TPD files fed to
//! Unprotect-AipContent and Import-AipServiceTpd through the C ABI. Every case ends in a clear
//! error (a named parameter or a missing key, never an internal error or a panic) and never
//! in content or an import.

use crate::common;

use crate::aip_support::*;
use crate::common::{CallError, TempDir};

/// xorshift64: the same cases on every run.
struct Cases(u64);

impl Cases {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn assert_clear(e: &CallError, case: &str) {
    assert!(
        e.status != 8 && e.status != 9,
        "{case}: internal error or panic: {:?}",
        e.error
    );
    assert!(
        matches!(e.category(), "InvalidArgument" | "ObjectNotFound"),
        "{case}: {:?}",
        e.error
    );
    let m = e.message();
    assert!(
        m.contains("Parameter 'InputFile'")
            || m.contains("Parameter 'TpdFile'")
            || m.contains("Parameter 'ProtectionPassword'")
            || m.contains("which this tenant does not have"),
        "{case}: {m}"
    );
}

#[test]
fn truncated_and_bit_flipped_protected_files_never_open_and_always_say_why() {
    let (dir, ck) = tenant("aip-fuzz-content");
    let (doc, _) = protect(&ck, &dir, "the fuzzed secret");
    let original = std::fs::read(&doc).unwrap();
    let mutated = dir.join("mutated.ckaip");
    let try_bytes = |bytes: &[u8], case: &str| {
        std::fs::write(&mutated, bytes).unwrap();
        match unprotect(&ck, &mutated) {
            Ok(v) => panic!("{case}: opened as {v:?}"),
            Err(e) => assert_clear(&e, case),
        }
    };
    for len in 0..original.len() {
        try_bytes(&original[..len], &format!("truncated to {len}"));
    }
    let mut longer = original.clone();
    longer.extend_from_slice(b"tail");
    try_bytes(&longer, "extended");
    let mut cases = Cases(0x2545_f491_4f6c_dd1d);
    let bits = original.len() * 8;
    for i in 0..3000 {
        // Each bit of the first 96 bytes (magic, key id, content id, lengths) once, then random.
        let bit = if i < 96 * 8 {
            i
        } else {
            (cases.next() as usize) % bits
        };
        let mut bytes = original.clone();
        bytes[bit / 8] ^= 1 << (bit % 8);
        try_bytes(&bytes, &format!("bit {bit} flipped"));
    }
    assert_eq!(unprotect(&ck, &doc).unwrap(), "the fuzzed secret");
}

#[test]
fn truncated_and_bit_flipped_tpd_files_import_nothing_and_always_say_why() {
    let (dir, ck) = tenant("aip-fuzz-tpd");
    let tpd = dir.join("t.tpd");
    export(&ck, &tpd, None).unwrap();
    let original = std::fs::read(&tpd).unwrap();
    let target_dir = TempDir::new("aip-fuzz-tpd-target");
    let target = common::Ck::at(&target_dir.join("store"), common::ADMIN);
    let before = keys(&target);
    let mutated = dir.join("mutated.tpd");
    let try_bytes = |bytes: &[u8], case: &str| {
        std::fs::write(&mutated, bytes).unwrap();
        match import(&target, &mutated, PASSWORD) {
            Ok(v) => panic!("{case}: imported {v}"),
            Err(e) => assert_clear(&e, case),
        }
    };
    // Truncations are refused before the key derivation, so every one of them is tried.
    for len in 0..original.len() {
        try_bytes(&original[..len], &format!("truncated to {len}"));
    }
    // Flips: each pays a 600,000-iteration derivation, so a few, in every part of the file
    // (the library's unit test flips thousands against one derivation).
    let mut cases = Cases(0x9e37_79b9_7f4a_7c15);
    let mut positions = vec![0, 6, 8, 12, 30, 40, 70, 80];
    for _ in 0..4 {
        positions.push(80 + (cases.next() as usize) % (original.len() - 80));
    }
    for byte in positions {
        let mut bytes = original.clone();
        bytes[byte] ^= 1 << (cases.next() % 8);
        try_bytes(&bytes, &format!("byte {byte} flipped"));
    }
    assert_eq!(keys(&target), before, "nothing imported");
}
