//! `ck_call` with arbitrary operation names and argument bytes.
//!
//! Input: up to four lines, each `Operation<space>arguments-JSON`, run in order on a FRESH
//! store per input: a copy of a template store (one vault with purge protection, one RSA key,
//! the AIP service principal's access) made once per process, so every input starts from the
//! same state, a crash reproduces from its input alone, and one input can chain calls (back up,
//! then restore). Values of Path parameters are moved into the run's own folder (file name
//! kept), so the fuzzer never writes outside its scratch space.
#![no_main]

use customer_key::operations::ParamType;
use customer_key_fuzz::{copy_store, populate, scratch, Session};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

const MAX_CALLS: usize = 4;

fn template() -> &'static PathBuf {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = scratch().join("template");
        let _ = std::fs::remove_dir_all(&dir);
        let session = Session::open(&dir);
        populate(&session);
        // The AIP tenant key is made by the first protection (an RSA key generation): made
        // here once, not in every input that protects.
        session.ok(
            "Protect-AipContent",
            serde_json::json!({"Value": "template", "OutputFile": scratch().join("template.ckaip")}),
        );
        drop(session);
        dir
    })
}

/// Path parameters point into `run` (last component kept, so two calls can share a file).
fn confine_paths(operation: &str, arguments: &[u8], run: &Path) -> Option<Vec<u8>> {
    let op = customer_key::registry().find(operation)?;
    let Ok(Value::Object(mut args)) = serde_json::from_slice::<Value>(arguments) else {
        return None;
    };
    let mut changed = false;
    for (name, value) in args.iter_mut() {
        if op.param(name).is_some_and(|p| p.ty == ParamType::Path) {
            if let Value::String(s) = value {
                let file = Path::new(s.as_str())
                    .file_name()
                    .and_then(|n| n.to_str())
                    .filter(|n| !n.is_empty())
                    .unwrap_or("file")
                    .to_string();
                *s = run.join(file).display().to_string();
                changed = true;
            }
        }
    }
    changed.then(|| Value::Object(args).to_string().into_bytes())
}

fuzz_target!(|data: &[u8]| {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let template = template();
    let run = scratch().join(format!("run-{}", RUNS.fetch_add(1, Ordering::Relaxed)));
    copy_store(template, &run.join("store"));
    {
        let session = Session::open(&run.join("store"));
        for line in data.split(|b| *b == b'\n').take(MAX_CALLS) {
            let (operation, arguments) = match line.iter().position(|b| *b == b' ') {
                Some(i) => (&line[..i], &line[i + 1..]),
                None => (line, &b""[..]),
            };
            let confined = std::str::from_utf8(operation)
                .ok()
                .and_then(|op| confine_paths(op, arguments, &run));
            session.call_raw(operation, confined.as_deref().unwrap_or(arguments));
        }
    }
    let _ = std::fs::remove_dir_all(&run);
});
