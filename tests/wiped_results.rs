//! A result that holds a secret (an unwrapped key) leaves no copy of it in memory the library
//! frees: the JSON text is written into a buffer that wipes what it outgrows, handed to the
//! caller without a reallocation, and wiped by `ck_free_string`. A global allocator that scans
//! every block freed during the call for the secret proves it (serde_json's `to_string` and
//! `CString::new(String)` each free an unwiped copy).

mod common;

use common::{b64, store_with_vaults, wrap};
use customer_key::ffi::{ck_call, ck_free_string};
use serde_json::json;
use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::{CStr, CString};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

/// The unwrapped value, and its base64 form as the result's RawResult carries it.
const SECRET: &[u8; 32] = b"ck-marker:wiped-results-0123456!";

static SCANNING: AtomicBool = AtomicBool::new(false);
static FREED_WITH_SECRET: AtomicUsize = AtomicUsize::new(0);
static SCANNED: AtomicUsize = AtomicUsize::new(0);
/// The base64 text to look for (set before scanning starts), as bytes in a fixed buffer so
/// that the allocator itself never allocates.
static NEEDLE: [AtomicU8; 64] = [const { AtomicU8::new(0) }; 64];
static NEEDLE_LEN: AtomicUsize = AtomicUsize::new(0);

struct ScanningAllocator;

fn holds(block: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && block.windows(needle.len()).any(|w| w == needle)
}

// SAFETY: every allocation is System's; dealloc only reads the block it is about to free
// (which is live and `layout.size()` bytes long until System.dealloc below).
unsafe impl GlobalAlloc for ScanningAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout, as GlobalAlloc requires.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if SCANNING.load(Ordering::SeqCst) {
            let mut buffer = [0u8; 64];
            let length = NEEDLE_LEN.load(Ordering::SeqCst);
            for (byte, stored) in buffer.iter_mut().zip(&NEEDLE) {
                *byte = stored.load(Ordering::SeqCst);
            }
            let needle = &buffer[..length];
            // SAFETY: `ptr` is a live block of `layout.size()` bytes until freed below.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            SCANNED.fetch_add(1, Ordering::SeqCst);
            if holds(block, needle) || holds(block, SECRET) {
                FREED_WITH_SECRET.fetch_add(1, Ordering::SeqCst);
            }
        }
        // SAFETY: `ptr` came from System.alloc with this layout (alloc above).
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: ScanningAllocator = ScanningAllocator;

#[test]
fn an_unwrap_result_leaves_no_copy_of_the_key_in_freed_memory() {
    let (_dir, ck) = store_with_vaults("wiped-results", &[("vault-a", "westeurope")]);
    let key = ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    let version = key["Version"].as_str().unwrap().to_string();
    let wrapped = wrap(&ck, "vault-a", "k", Some(&version), SECRET);
    let wrapped = wrapped["RawResult"].as_str().unwrap().to_string();
    let needle = b64(SECRET);
    assert!(needle.len() <= 64);
    for (stored, byte) in NEEDLE.iter().zip(needle.as_bytes()) {
        stored.store(*byte, Ordering::SeqCst);
    }
    NEEDLE_LEN.store(needle.len(), Ordering::SeqCst);
    let operation = CString::new("Invoke-KeyVaultKeyOperation").unwrap();
    let arguments = CString::new(
        json!({"VaultName": "vault-a", "Name": "k", "Version": version, "Operation": "Unwrap",
               "Algorithm": "RSA-OAEP-256", "ByteArrayValue": wrapped})
        .to_string(),
    )
    .unwrap();
    // Warm up (the key's parsed form is cached on first use), then measure a second call.
    for round in 0..2 {
        let mut out = std::ptr::null_mut();
        SCANNING.store(round == 1, Ordering::SeqCst);
        // SAFETY: a live session, NUL-terminated operation and arguments, a local out pointer.
        let status = unsafe { ck_call(ck.raw(), operation.as_ptr(), arguments.as_ptr(), &mut out) };
        // SAFETY: ck_call returned `out`, NUL-terminated and not yet released; it is only
        // borrowed here, so no copy of it is made.
        let returned = unsafe { CStr::from_ptr(out) }.to_bytes();
        let found = holds(returned, needle.as_bytes());
        // SAFETY: released once, as ck_call's contract asks.
        unsafe { ck_free_string(out) };
        SCANNING.store(false, Ordering::SeqCst);
        assert_eq!(status, 0);
        assert!(found, "the result carries the unwrapped value");
    }
    assert!(
        SCANNED.load(Ordering::SeqCst) > 0,
        "the allocator saw no free"
    );
    assert_eq!(
        FREED_WITH_SECRET.load(Ordering::SeqCst),
        0,
        "blocks freed with the unwrapped value in them"
    );
}
