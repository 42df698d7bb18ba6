//! Throughput of the C ABI against the bare cryptography it wraps.
//!
//! Opens a temporary store through the `ck_*` functions (the same entry points C and PowerShell
//! use, called here through the rlib), creates a vault and one RSA-2048 key, then measures
//! operations per second, one thread, for:
//!
//! - `ck_call Get-KeyVaultKey` (no cryptography: the fixed cost of one ABI call),
//! - `ck_call Invoke-KeyVaultKeyOperation` Wrap and Unwrap (RSA-OAEP-256, 32 bytes),
//! - RSA-OAEP-256 encrypt and decrypt of 32 bytes directly on aws-lc-rs with a key held in
//!   memory (the floor the ABI cannot beat), and decrypt with the key parsed from PKCS#8 on each
//!   call (what the engine must do, since it keeps private keys sealed at rest).
//!
//! Each ABI call counts `ck_call` plus `ck_free_string` of its result; argument strings are built
//! once, as a caller reusing them would. Each ABI call and the bare operation it is compared with
//! run in alternating 10 ms slices, so load from other processes weighs on both alike and the
//! ratio is the ABI's, not the machine's moment. This is a benchmark, not a test: nothing asserts on
//! speed. Run: `cargo bench --bench throughput`. `CK_BENCH_SECONDS` (default 1.5) sets the time
//! spent on each measurement.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    KeySize, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey,
    OAEP_SHA256_MGF1SHA256,
};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use customer_key::ffi::{ck_call, ck_close, ck_free_string, ck_open, ck_session};
use serde_json::Value;
use std::ffi::{c_char, CStr, CString};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Removes the store directory when the benchmark ends, however it ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An open session, closed on drop.
struct Session(*mut ck_session);

impl Drop for Session {
    fn drop(&mut self) {
        unsafe { ck_close(self.0) };
    }
}

/// The session pointer shared by the two unwrap threads: the library promises a session is
/// safe to use from several threads at once.
struct SharedSession(*mut ck_session);

// SAFETY: ck_session is documented thread-safe (every call takes its own connection and
// locks only short critical sections); the pointer outlives the scope the threads run in.
unsafe impl Sync for SharedSession {}

impl SharedSession {
    fn call_raw(&self, operation: &CString, arguments: &CString) {
        let mut out: *mut c_char = std::ptr::null_mut();
        // SAFETY: the session is open for the whole scope; the strings are NUL-terminated and
        // outlive the call; `out` is a valid out pointer, and its string is freed once here.
        let status = unsafe { ck_call(self.0, operation.as_ptr(), arguments.as_ptr(), &mut out) };
        // SAFETY: `out` is NULL or a string the library returned, freed exactly once.
        unsafe { ck_free_string(out) };
        assert_eq!(status, 0, "ck_call failed");
    }
}

impl Session {
    fn open(store: &std::path::Path) -> Session {
        let options = CString::new(
            serde_json::json!({
                "Store": store.to_str().expect("temp dir is UTF-8"),
                "UserPrincipalName": "bench@contoso.com",
            })
            .to_string(),
        )
        .unwrap();
        let mut session: *mut ck_session = std::ptr::null_mut();
        let mut out: *mut c_char = std::ptr::null_mut();
        let status = unsafe { ck_open(options.as_ptr(), &mut session, &mut out) };
        let text = take(out);
        if status != 0 {
            panic!("ck_open failed with status {status}: {text}");
        }
        Session(session)
    }

    /// One checked call, for setup: the result as JSON.
    fn call(&self, operation: &str, arguments: &Value) -> Value {
        let op = CString::new(operation).unwrap();
        let args = CString::new(arguments.to_string()).unwrap();
        let mut out: *mut c_char = std::ptr::null_mut();
        let status = unsafe { ck_call(self.0, op.as_ptr(), args.as_ptr(), &mut out) };
        let text = take(out);
        if status != 0 {
            panic!("{operation} failed with status {status}: {text}");
        }
        serde_json::from_str(&text).expect("ck_call returns JSON")
    }

    /// The call measured in the loops: `ck_call` and `ck_free_string`, nothing else.
    #[inline]
    fn call_raw(&self, op: &CStr, args: &CStr) {
        let mut out: *mut c_char = std::ptr::null_mut();
        let status = unsafe { ck_call(self.0, op.as_ptr(), args.as_ptr(), &mut out) };
        if status != 0 {
            let text = take(out);
            panic!("{op:?} failed during the benchmark with status {status}: {text}");
        }
        unsafe { ck_free_string(black_box(out)) };
    }
}

/// Copies and releases a string the library returned.
fn take(p: *mut c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    let s = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
    unsafe { ck_free_string(p) };
    s
}

struct Measurement {
    name: &'static str,
    ops: u64,
    elapsed: Duration,
}

impl Measurement {
    fn per_second(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }
    fn micros(&self) -> f64 {
        self.elapsed.as_secs_f64() * 1e6 / self.ops as f64
    }
}

/// Runs `op` for about `budget` after a short warm-up, checking the clock every few calls.
fn measure(name: &'static str, budget: Duration, mut op: impl FnMut()) -> Measurement {
    let warm = Instant::now();
    while warm.elapsed() < budget / 10 {
        op();
    }
    let start = Instant::now();
    let mut ops = 0u64;
    loop {
        for _ in 0..4 {
            op();
        }
        ops += 4;
        let elapsed = start.elapsed();
        if elapsed >= budget {
            let m = Measurement { name, ops, elapsed };
            eprintln!("  {name}: {:.0} ops/s", m.per_second());
            return m;
        }
    }
}

/// Measures two loops in alternating 10 ms slices for about `budget` each, so that a change in
/// the machine's load (another process taking a core) weighs on both alike and their ratio
/// holds.
fn measure_pair(
    names: (&'static str, &'static str),
    budget: Duration,
    mut a: impl FnMut(),
    mut b: impl FnMut(),
) -> (Measurement, Measurement) {
    let slice = Duration::from_millis(10);
    let warm = Instant::now();
    while warm.elapsed() < budget / 10 {
        a();
        b();
    }
    let run = |op: &mut dyn FnMut(), ops: &mut u64, elapsed: &mut Duration| {
        let start = Instant::now();
        loop {
            for _ in 0..4 {
                op();
            }
            *ops += 4;
            let spent = start.elapsed();
            if spent >= slice {
                *elapsed += spent;
                return;
            }
        }
    };
    let (mut ops_a, mut ops_b) = (0u64, 0u64);
    let (mut elapsed_a, mut elapsed_b) = (Duration::ZERO, Duration::ZERO);
    while elapsed_a < budget || elapsed_b < budget {
        run(&mut a, &mut ops_a, &mut elapsed_a);
        run(&mut b, &mut ops_b, &mut elapsed_b);
    }
    let first = Measurement {
        name: names.0,
        ops: ops_a,
        elapsed: elapsed_a,
    };
    let second = Measurement {
        name: names.1,
        ops: ops_b,
        elapsed: elapsed_b,
    };
    eprintln!(
        "  {}: {:.0} ops/s, {}: {:.0} ops/s (alternating)",
        first.name,
        first.per_second(),
        second.name,
        second.per_second()
    );
    (first, second)
}

fn budget_from_env() -> Duration {
    let seconds = std::env::var("CK_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(1.5);
    Duration::from_secs_f64(seconds.min(60.0))
}

fn main() {
    let budget = budget_from_env();
    let started = Instant::now();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir =
        TempDir(std::env::temp_dir().join(format!("ck-bench-{}-{nanos:08x}", std::process::id())));
    let store = dir.0.join("store");

    eprintln!(
        "throughput: store {} , {:.2} s per measurement",
        store.display(),
        budget.as_secs_f64()
    );
    let session = Session::open(&store);
    session.call(
        "New-KeyVault",
        &serde_json::json!({"VaultName": "bench-vault", "Location": "westeurope"}),
    );
    session.call(
        "Add-KeyVaultKey",
        &serde_json::json!({"VaultName": "bench-vault", "Name": "bench-key", "Size": 2048}),
    );

    let plaintext: Vec<u8> = (0..32u8)
        .map(|i| i.wrapping_mul(37).wrapping_add(11))
        .collect();
    let plain_b64 = STANDARD.encode(&plaintext);
    let crypt_args = |operation: &str, value: &str| {
        CString::new(
            serde_json::json!({
                "VaultName": "bench-vault",
                "Name": "bench-key",
                "Operation": operation,
                "Algorithm": "RSA-OAEP-256",
                "ByteArrayValue": value,
            })
            .to_string(),
        )
        .unwrap()
    };

    // A ciphertext for the unwrap loop, checked to round-trip once before measuring.
    let wrapped = session.call(
        "Invoke-KeyVaultKeyOperation",
        &serde_json::json!({"VaultName": "bench-vault", "Name": "bench-key", "Operation": "Wrap",
                            "Algorithm": "RSA-OAEP-256", "ByteArrayValue": plain_b64}),
    );
    let wrapped_b64 = wrapped["RawResult"]
        .as_str()
        .expect("RawResult")
        .to_string();
    let unwrapped = session.call(
        "Invoke-KeyVaultKeyOperation",
        &serde_json::json!({"VaultName": "bench-vault", "Name": "bench-key", "Operation": "Unwrap",
                            "Algorithm": "RSA-OAEP-256", "ByteArrayValue": wrapped_b64}),
    );
    assert_eq!(
        unwrapped["RawResult"],
        Value::String(plain_b64.clone()),
        "ABI round trip"
    );

    let op_get = CString::new("Get-KeyVaultKey").unwrap();
    let args_get = CString::new(
        serde_json::json!({"VaultName": "bench-vault", "Name": "bench-key"}).to_string(),
    )
    .unwrap();
    let op_crypt = CString::new("Invoke-KeyVaultKeyOperation").unwrap();
    let args_wrap = crypt_args("Wrap", &plain_b64);
    let args_unwrap = crypt_args("Unwrap", &wrapped_b64);

    // The same algorithm directly on aws-lc-rs, keys held in memory.
    let private = PrivateDecryptingKey::generate(KeySize::Rsa2048).expect("RSA keygen");
    let pkcs8 = private.as_der().expect("PKCS#8").as_ref().to_vec();
    let public = OaepPublicEncryptingKey::new(private.public_key()).expect("OAEP public key");
    let decrypting = OaepPrivateDecryptingKey::new(private).expect("OAEP private key");
    let alg = &OAEP_SHA256_MGF1SHA256;
    let mut ct_buf = vec![0u8; public.ciphertext_size()];
    let ciphertext = public
        .encrypt(alg, &plaintext, &mut ct_buf, None)
        .expect("encrypt")
        .to_vec();
    let mut pt_buf = vec![0u8; decrypting.key_size_bytes()];
    assert_eq!(
        decrypting
            .decrypt(alg, &ciphertext, &mut pt_buf, None)
            .expect("decrypt"),
        &plaintext[..],
        "direct round trip"
    );

    eprintln!("measuring:");
    let get = measure("ABI Get-KeyVaultKey", budget, || {
        session.call_raw(&op_get, &args_get)
    });
    let (abi_wrap, direct_encrypt) = measure_pair(
        ("ABI Wrap", "aws-lc-rs encrypt"),
        budget,
        || session.call_raw(&op_crypt, &args_wrap),
        || {
            let out = public
                .encrypt(alg, black_box(&plaintext), &mut ct_buf, None)
                .expect("encrypt");
            black_box(out);
        },
    );
    let (abi_unwrap, direct_decrypt) = measure_pair(
        ("ABI Unwrap", "aws-lc-rs decrypt"),
        budget,
        || session.call_raw(&op_crypt, &args_unwrap),
        || {
            let out = decrypting
                .decrypt(alg, black_box(&ciphertext), &mut pt_buf, None)
                .expect("decrypt");
            black_box(out);
        },
    );
    let parsed_decrypt = measure("aws-lc-rs decrypt + PKCS#8 parse", budget, || {
        let key = PrivateDecryptingKey::from_pkcs8(black_box(&pkcs8)).expect("PKCS#8");
        let key = OaepPrivateDecryptingKey::new(key).expect("OAEP private key");
        let mut buf = [0u8; 256];
        let out = key
            .decrypt(alg, black_box(&ciphertext), &mut buf, None)
            .expect("decrypt");
        black_box(out);
    });

    // Two threads unwrapping on one session (the caller's two cores), against one thread.
    let shared = SharedSession(session.0);
    let per_thread: Vec<Measurement> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (shared, op, args) = (&shared, &op_crypt, &args_unwrap);
                scope.spawn(move || {
                    measure("ABI Unwrap, 1 of 2 threads", budget, || {
                        shared.call_raw(op, args)
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let two_threads: f64 = per_thread.iter().map(Measurement::per_second).sum();

    drop(session);
    // The audit rows the Get loop left, committed by the audit writer (ck_close flushed it).
    let db = rusqlite::Connection::open(store.join("store.db")).expect("store.db");
    let get_rows: u64 = db
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE operation = 'Get-KeyVaultKey'",
            [],
            |r| r.get(0),
        )
        .expect("audit count");
    drop(db);
    drop(dir);

    println!();
    println!("CustomerKey throughput: RSA-2048, RSA-OAEP-256, 32-byte value, one thread");
    println!(
        "{:<44} {:>12} {:>12} {:>10}",
        "measurement", "ops/s", "us/op", "ops"
    );
    for m in [
        &get,
        &abi_wrap,
        &abi_unwrap,
        &direct_encrypt,
        &direct_decrypt,
        &parsed_decrypt,
    ] {
        println!(
            "{:<44} {:>12.0} {:>12.1} {:>10}",
            m.name,
            m.per_second(),
            m.micros(),
            m.ops
        );
    }
    println!(
        "{:<44} {:>12.0} {:>12.1} {:>10}",
        "ABI Unwrap, 2 threads on one session",
        two_threads,
        2e6 / two_threads,
        per_thread.iter().map(|m| m.ops).sum::<u64>()
    );
    println!();
    let wrap_fraction = abi_wrap.per_second() / direct_encrypt.per_second();
    let unwrap_fraction = abi_unwrap.per_second() / direct_decrypt.per_second();
    let scaling = two_threads / abi_unwrap.per_second();
    let audit_rate = get_rows as f64 / get.elapsed.as_secs_f64();
    println!("figure                                              measured       goal");
    println!(
        "Get-KeyVaultKey through ck_call, calls/s           {:>9.0}   >= 50000",
        get.per_second()
    );
    println!("Wrap through ck_call / aws-lc-rs encrypt           {wrap_fraction:>9.2}   >= 0.80");
    println!("Unwrap through ck_call / aws-lc-rs decrypt         {unwrap_fraction:>9.2}   >= 0.95");
    println!("Unwrap, 2 threads / 1 thread                       {scaling:>9.2}   >= 1.80");
    println!(
        "audit rows committed per second under the Get loop {audit_rate:>9.0}   (one per call)"
    );
    println!(
        "audit rows of the Get loop / calls measured        {:>9}   (= {} calls incl. warm-up)",
        get_rows, get.ops
    );

    let wrap_overhead = abi_wrap.micros() - direct_encrypt.micros();
    let unwrap_overhead = abi_unwrap.micros() - direct_decrypt.micros();
    let key_load = parsed_decrypt.micros() - direct_decrypt.micros();
    println!();
    println!(
        "reading: the ABI adds ~{wrap_overhead:.0} us per wrap and ~{unwrap_overhead:.0} us per \
         unwrap over bare aws-lc-rs; a call with no cryptography (Get-KeyVaultKey) costs ~{:.0} us \
         (JSON in/out, argument checks, the key's in-memory snapshot checked against the store's data \
         version, an audit row queued for the group-committing writer), which is the whole overhead. Unsealing and parsing a private key (~{key_load:.0} us) happens once \
         per version: the store keeps parsed keys of versions in use.",
        get.micros()
    );
    eprintln!("total {:.1} s", started.elapsed().as_secs_f64());
}
