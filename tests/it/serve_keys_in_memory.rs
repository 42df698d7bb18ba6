//! The endpoint's import, backup and restore keep key material in memory. While an RSA JSON Web
//! Key with its private parts is imported, and the key backed up, purged and restored over
//! HTTPS, every file written under the store folder is read as it is written (inotify on the
//! store folder and each folder below it): none may ever hold the private key (its PKCS#8 DER,
//! its private exponent raw or as the JWK's base64url) or a backup (the blob the endpoint
//! answers, raw or base64url, its `CKBACKUP1` signature, or its payload's JSON in the clear).
//! Overwriting a file before unlinking it does not take its bytes off an SSD or a copy-on-write
//! or journaling filesystem, and a crash in between leaves them in place: the bytes must never
//! reach a file at all. The endpoint path keeps the cmdlets' access checks and audit rows.

use crate::serve_common::Endpoint;
use base64::Engine;
use customer_key::serve::ServeOptions;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Seek};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const VAULT: &str = "vault-a";

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn from_b64url(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

/// One DER element: (its content, what follows it).
fn tlv(der: &[u8]) -> (&[u8], &[u8]) {
    let (len, start) = match der[1] {
        n if n < 0x80 => (n as usize, 2),
        n => {
            let count = (n & 0x7f) as usize;
            let len = der[2..2 + count]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | *b as usize);
            (len, 2 + count)
        }
    };
    (&der[start..start + len], &der[start + len..])
}

/// n, e, d, p, q, dp, dq, qi of a PKCS#8 RSA key, without their sign bytes.
fn rsa_components(pkcs8: &[u8]) -> Vec<Vec<u8>> {
    let (info, _) = tlv(pkcs8);
    let (_, rest) = tlv(info); // version
    let (_, rest) = tlv(rest); // algorithm
    let (octets, _) = tlv(rest);
    let (mut ints, _) = tlv(octets);
    let (_, rest) = tlv(ints); // the RSAPrivateKey's version
    ints = rest;
    let mut out = Vec::new();
    for _ in 0..8 {
        let (int, rest) = tlv(ints);
        let start = int.iter().position(|b| *b != 0).unwrap_or(int.len());
        out.push(int[start..].to_vec());
        ints = rest;
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    let last_start = match haystack.len().checked_sub(needle.len()) {
        Some(n) => n,
        None => return false,
    };
    (0..=last_start).any(|i| haystack[i] == first && &haystack[i + 1..i + needle.len()] == rest)
}

/// What to search each file for: (what it is, its bytes).
type Needles = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// Where `after` starts to differ from `before`, to the 4 KiB block (slices compare with
/// memcmp, fast in a debug build too).
fn first_difference(before: &[u8], after: &[u8]) -> usize {
    let common = before.len().min(after.len());
    let mut at = 0;
    while at < common {
        let end = (at + 4096).min(common);
        if before[at..end] != after[at..end] {
            return at;
        }
        at = end;
    }
    common
}

/// What the watcher saw: files read, the secrets found in them, folders created.
#[derive(Default)]
struct Seen {
    reads: usize,
    files: HashSet<PathBuf>,
    found: Vec<(PathBuf, String)>,
    created_dirs: Vec<PathBuf>,
    overflowed: bool,
}

/// Watches a folder tree with inotify from a thread of its own, reading every file created,
/// written or closed after writing there as soon as the event arrives (through a descriptor
/// opened when the file appeared, so a file unlinked since is still read) and searching it for
/// each needle.
struct Watcher {
    stop: Arc<AtomicBool>,
    needles: Needles,
    thread: Option<std::thread::JoinHandle<Seen>>,
}

impl Watcher {
    fn start(root: &Path, needles: Vec<(String, Vec<u8>)>) -> Watcher {
        // SAFETY: inotify_init1 takes flags only; the descriptor is closed by the thread.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        assert!(
            fd >= 0,
            "inotify_init1: {}",
            std::io::Error::last_os_error()
        );
        let stop = Arc::new(AtomicBool::new(false));
        let needles = Arc::new(Mutex::new(needles));
        let mut tree = Tree {
            fd,
            dirs: HashMap::new(),
            open: HashMap::new(),
            last: HashMap::new(),
            seen: Seen::default(),
            needles: Arc::clone(&needles),
        };
        // Watched before the thread starts: nothing the caller does next goes unseen.
        tree.watch_dir(root, false);
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || tree.run(&stopping));
        Watcher {
            stop,
            needles,
            thread: Some(thread),
        }
    }

    fn add_needle(&self, label: &str, bytes: &[u8]) {
        self.needles
            .lock()
            .unwrap()
            .push((label.to_string(), bytes.to_vec()));
    }

    /// Reads what is still queued, stops, and tells what was seen.
    fn finish(mut self) -> Seen {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Watcher {
    /// A test that fails before [`Watcher::finish`] leaves no thread polling behind it.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

struct Tree {
    fd: i32,
    dirs: HashMap<i32, PathBuf>,
    open: HashMap<PathBuf, File>,
    /// Each file's content when last read.
    last: HashMap<PathBuf, Vec<u8>>,
    seen: Seen,
    needles: Needles,
}

const FILE_EVENTS: u32 =
    libc::IN_CREATE | libc::IN_MODIFY | libc::IN_CLOSE_WRITE | libc::IN_MOVED_TO | libc::IN_DELETE;

impl Tree {
    /// Watches `dir` and every folder below it, and reads the files already there (they may
    /// have been written before the watch on their folder existed).
    fn watch_dir(&mut self, dir: &Path, created: bool) {
        let path = CString::new(dir.as_os_str().as_bytes()).unwrap();
        // SAFETY: `path` is a NUL-terminated string that outlives the call.
        let wd = unsafe { libc::inotify_add_watch(self.fd, path.as_ptr(), FILE_EVENTS) };
        if wd < 0 {
            // Gone again before it could be watched: nothing can be written in it now.
            return;
        }
        if created {
            self.seen.created_dirs.push(dir.to_path_buf());
        }
        self.dirs.insert(wd, dir.to_path_buf());
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                self.watch_dir(&p, created);
            } else {
                self.read(&p);
            }
        }
    }

    fn read(&mut self, path: &Path) {
        if !self.open.contains_key(path) {
            match File::open(path) {
                Ok(f) => {
                    self.open.insert(path.to_path_buf(), f);
                }
                Err(_) => return,
            }
        }
        let file = self.open.get_mut(path).unwrap();
        let mut bytes = Vec::new();
        if file.rewind().is_err() || file.read_to_end(&mut bytes).is_err() {
            return;
        }
        self.seen.reads += 1;
        self.seen.files.insert(path.to_path_buf());
        let needles = self.needles.lock().unwrap();
        // Only what changed since this file's last read is searched (SQLite's WAL grows by a
        // few pages a commit): a debug build searching the whole WAL on every write would fall
        // behind the writes it has to catch.
        let longest = needles.iter().map(|(_, n)| n.len()).max().unwrap_or(0);
        let from = self.last.get(path).map_or(0, |before| {
            first_difference(before, &bytes).saturating_sub(longest)
        });
        for (label, needle) in needles.iter() {
            if contains(&bytes[from..], needle) {
                self.seen.found.push((path.to_path_buf(), label.clone()));
            }
        }
        drop(needles);
        self.last.insert(path.to_path_buf(), bytes);
    }

    fn run(mut self, stop: &AtomicBool) -> Seen {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            // Checked before draining: once the caller stops, what its last request queued is
            // still read.
            let stopping = stop.load(Ordering::SeqCst);
            let mut pollfd = libc::pollfd {
                fd: self.fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, for the duration of the call.
            unsafe { libc::poll(&mut pollfd, 1, 20) };
            let mut any = false;
            loop {
                // SAFETY: reads into `buffer`, at most its length.
                let n = unsafe { libc::read(self.fd, buffer.as_mut_ptr().cast(), buffer.len()) };
                if n <= 0 {
                    break;
                }
                any = true;
                self.events(&buffer[..n as usize]);
            }
            if stopping && !any {
                break;
            }
        }
        // SAFETY: the descriptor inotify_init1 gave, closed once.
        unsafe { libc::close(self.fd) };
        self.seen
    }

    fn events(&mut self, mut bytes: &[u8]) {
        const HEADER: usize = std::mem::size_of::<libc::inotify_event>();
        // The paths this batch touched, read once each after the batch: a burst of writes
        // (SQLite's pages) is one read, not one per write.
        let mut touched: Vec<PathBuf> = Vec::new();
        while bytes.len() >= HEADER {
            // SAFETY: at least HEADER bytes; read unaligned into a plain C struct.
            let event: libc::inotify_event =
                unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast()) };
            let name_bytes = &bytes[HEADER..HEADER + event.len as usize];
            bytes = &bytes[HEADER + event.len as usize..];
            if event.mask & libc::IN_Q_OVERFLOW != 0 {
                self.seen.overflowed = true;
                continue;
            }
            let Some(dir) = self.dirs.get(&event.wd).cloned() else {
                continue;
            };
            let end = name_bytes
                .iter()
                .position(|b| *b == 0)
                .unwrap_or(name_bytes.len());
            if end == 0 {
                continue;
            }
            let path = dir.join(std::ffi::OsStr::from_bytes(&name_bytes[..end]));
            if event.mask & libc::IN_ISDIR != 0 {
                if event.mask & (libc::IN_CREATE | libc::IN_MOVED_TO) != 0 {
                    self.watch_dir(&path, true);
                }
                continue;
            }
            if event.mask & (libc::IN_CREATE | libc::IN_MOVED_TO) != 0 {
                // Opened at once, so that its bytes are read even if it is unlinked first.
                if let Ok(f) = File::open(&path) {
                    self.open.insert(path.clone(), f);
                }
            }
            if event.mask & libc::IN_DELETE != 0 {
                if let Some(pos) = touched.iter().position(|p| *p == path) {
                    self.read(&path);
                    touched.remove(pos);
                }
                self.open.remove(&path);
                continue;
            }
            if !touched.contains(&path) {
                touched.push(path);
            }
        }
        for path in touched {
            self.read(&path);
        }
    }
}

fn needles_of_key(pkcs8: &[u8], d: &[u8]) -> Vec<(String, Vec<u8>)> {
    vec![
        ("the private key's PKCS#8 DER".into(), pkcs8.to_vec()),
        ("the private exponent d".into(), d.to_vec()),
        (
            "the private exponent d as base64url".into(),
            b64url(d).into_bytes(),
        ),
        ("a key backup's signature".into(), b"CKBACKUP1\n".to_vec()),
        (
            "a key backup's payload in the clear".into(),
            b"\"SealedPrivateKey\"".to_vec(),
        ),
    ]
}

#[test]
fn import_backup_and_restore_over_https_never_put_key_material_in_a_file() {
    let ep = Endpoint::start("in-memory", &[VAULT], ServeOptions::default());
    let store = ep.dir.0.join("store");
    let (app, secret) = ep.principal_with(
        VAULT,
        &["get", "import", "backup", "restore", "delete", "purge"],
    );
    let token = ep.token(&app, &secret);
    let material = customer_key::crypto::generate_rsa(2048).unwrap();
    let pkcs8 = material.pkcs8.expose().to_vec();
    let c = rsa_components(&pkcs8);
    assert_eq!(c[0], material.modulus, "the test's DER reader");
    let d = c[2].clone();
    assert!(d.len() >= 250, "d has {} bytes", d.len());

    // The folder a backup goes to by default, there as after any earlier backup, so that it is
    // watched from the start.
    std::fs::create_dir(store.join("backups")).unwrap();
    let watcher = Watcher::start(&store, needles_of_key(&pkcs8, &d));
    let jwk = json!({"key": {"kty": "RSA", "key_ops": ["wrapKey", "unwrapKey"],
        "n": b64url(&c[0]), "e": b64url(&c[1]), "d": b64url(&c[2]), "p": b64url(&c[3]),
        "q": b64url(&c[4]), "dp": b64url(&c[5]), "dq": b64url(&c[6]), "qi": b64url(&c[7])},
        "tags": {"source": "jwk"}});
    let imported = ep.call(VAULT, &token, "PUT", "/keys/byok", Some(jwk.clone()));
    assert_eq!(imported.status, 200, "{:?}", imported.body);
    assert_eq!(
        from_b64url(imported.body["key"]["n"].as_str().unwrap()),
        material.modulus
    );
    assert_eq!(imported.body["tags"]["source"], "jwk");

    let backup = ep.call(VAULT, &token, "POST", "/keys/byok/backup", None);
    assert_eq!(backup.status, 200, "{:?}", backup.body);
    let blob_text = backup.body["value"].as_str().unwrap().to_string();
    let blob = from_b64url(&blob_text);
    assert!(blob.starts_with(b"CKBACKUP1\n"));
    watcher.add_needle("the backup blob", &blob);
    watcher.add_needle("the backup blob as base64url", blob_text.as_bytes());

    assert_eq!(
        ep.call(VAULT, &token, "DELETE", "/keys/byok", None).status,
        200
    );
    let purged = ep.call(VAULT, &token, "DELETE", "/deletedkeys/byok", None);
    assert_eq!(purged.status, 204, "{:?}", purged.body);
    let restored = ep.call(
        VAULT,
        &token,
        "POST",
        "/keys/restore",
        Some(json!({"value": blob_text})),
    );
    assert_eq!(restored.status, 200, "{:?}", restored.body);
    assert_eq!(restored.body["key"]["kid"], imported.body["key"]["kid"]);
    // A damaged blob is refused without naming any file.
    let mut damaged = blob.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    let refused = ep.call(
        VAULT,
        &token,
        "POST",
        "/keys/restore",
        Some(json!({"value": b64url(&damaged)})),
    );
    let seen = watcher.finish();

    assert!(!seen.overflowed, "the watcher missed events");
    assert!(
        seen.reads > 0 && seen.files.iter().any(|f| f.ends_with("store.db-wal")),
        "the watcher read nothing the store wrote: {:?}",
        seen.files
    );
    assert!(
        seen.found.is_empty(),
        "key material reached files under the store: {:?}",
        seen.found
    );
    let scratch = store.join("serve").join("scratch");
    assert!(
        !seen.created_dirs.contains(&scratch) && !scratch.exists(),
        "the endpoint made a scratch folder: {:?}",
        seen.created_dirs
    );
    let backups = store.join("backups");
    assert!(
        !seen.files.iter().any(|f| f.starts_with(&backups)),
        "the endpoint wrote into the backups folder: {:?}",
        seen.files
    );

    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert!(
        !refused.message().contains(store.to_str().unwrap()),
        "{}",
        refused.message()
    );

    // The endpoint acts as the token's principal, audited under the cmdlets' operation names.
    ep.session.store().flush_audit();
    let audit = ep.session.store().audit_log().unwrap();
    for op in [
        "Add-KeyVaultKey",
        "Backup-KeyVaultKey",
        "Restore-KeyVaultKey",
    ] {
        assert!(
            audit.iter().any(|(_, who, o, target, result)| who == &app
                && o == op
                && target == &format!("{VAULT}/byok")
                && result.starts_with("Succeeded")),
            "no success row of {op} for {app}: {audit:?}"
        );
    }
    assert!(audit.iter().any(|(_, who, o, _, result)| who == &app
        && o == "Restore-KeyVaultKey"
        && result.starts_with("Failed")));

    // And is refused what its access policy does not grant, naming the permission.
    let (reader, reader_secret) = ep.principal_with(VAULT, &["get"]);
    let reader_token = ep.token(&reader, &reader_secret);
    let cases = [
        ("PUT", "/keys/other", Some(jwk), "keys/import"),
        ("POST", "/keys/byok/backup", None, "keys/backup"),
        (
            "POST",
            "/keys/restore",
            Some(json!({"value": blob_text})),
            "keys/restore",
        ),
    ];
    for (method, path, body, permission) in cases {
        let r = ep.call(VAULT, &reader_token, method, path, body);
        assert_eq!(
            (r.status, r.inner_code()),
            (403, "AccessDenied"),
            "{method} {path}: {:?}",
            r.body
        );
        assert!(r.message().contains(permission), "{}", r.message());
    }
    ep.session.store().flush_audit();
    let audit = ep.session.store().audit_log().unwrap();
    for op in [
        "Add-KeyVaultKey",
        "Backup-KeyVaultKey",
        "Restore-KeyVaultKey",
    ] {
        assert!(
            audit.iter().any(|(_, who, o, _, result)| who == &reader
                && o == op
                && result.starts_with("Failed")),
            "no failure row of {op} for {reader}: {audit:?}"
        );
    }
}
