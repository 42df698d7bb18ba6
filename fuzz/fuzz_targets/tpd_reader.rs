//! The trusted publishing domain reader of Import-AipServiceTpd.
//!
//! Input, by its first byte: even, the rest is a TPD file for the file reader (signature,
//! derivation, iteration bounds, lengths); odd, the rest is the key list that follows the
//! file's authentication, for its decoder (a password's 600,000 PBKDF2 iterations per try are
//! far too slow to fuzz through, so the fuzzer reaches it directly).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let outcome = if mode % 2 == 0 {
        customer_key::crypto::tpd::parse(rest).map(|_| 0)
    } else {
        customer_key::fuzzing::decode_tpd_keys(rest)
    };
    if let Err(e) = outcome {
        assert_eq!(e.target, "TpdFile", "a TPD error must name TpdFile: {e:?}");
        assert!(e.message.contains("Parameter 'TpdFile'"), "{e:?}");
    }
});
