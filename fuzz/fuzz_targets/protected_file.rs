//! The protected-file reader of Unprotect-AipContent.
//!
//! Input: a protected file. The reader splits it; a file it accepts then goes through
//! Unprotect-AipContent on a store whose tenant has its key (one store per process), which
//! must refuse it cleanly (its signature check fails, or it names a key the tenant lacks)
//! unless the fuzzer produced a file the tenant key signed.
#![no_main]

use customer_key_fuzz::{populate, scratch, Session};
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use std::sync::OnceLock;

struct Target {
    session: Session,
    input: std::path::PathBuf,
}

fn target() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| {
        let dir = scratch();
        let store = dir.join("store");
        let _ = std::fs::remove_dir_all(&store);
        let session = Session::open(&store);
        populate(&session);
        // The tenant key exists from the first protection on.
        session.ok(
            "Protect-AipContent",
            json!({"Value": "seed", "OutputFile": dir.join("seed.ckaip")}),
        );
        Target {
            session,
            input: dir.join("input.ckaip"),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    match customer_key::aip::content::parse(data) {
        Err(e) => assert_eq!(e.target, "InputFile", "{e:?}"),
        Ok(_) => {
            let t = target();
            std::fs::write(&t.input, data).unwrap();
            let _ = t
                .session
                .call("Unprotect-AipContent", json!({"InputFile": t.input}));
        }
    }
});
