//! CustomerKey: Customer Key / BYOK workflows for Microsoft 365 admins, run by an embedded engine
//! (SQLite store, aws-lc-rs cryptography) behind a C ABI, a CLI and a PowerShell module.
//!
//! Data enters at one door (the C ABI in [`ffi`], or the CLI), is routed by the [`registry`] to
//! a domain module, and reaches storage and cryptography only through [`store`] and
//! [`crypto`]. Module order, with no cycle: `store`, `crypto` → `session` → `operations` (the
//! machinery) → `jobs` → domains (`vault`, then the workloads, which reach keys only through
//! `vault::boundary`, then `setup`, which reads the workloads' policies for their keys) →
//! [`registry`] (every domain's operations and job kinds) → `ffi`, the CLI and `serve` (the
//! `serve` feature). [`rt`], the tokio runtime, [`cancel`], how a call or a job's batch is
//! told to end, and [`wire`], the Key Vault and Graph bodies that the Azure client
//! (`vault::remote`) reads and `serve` writes, are leaves any layer may use.
//! tests/it/layering.rs holds this order with no exception: the session's Azure backend is
//! carried below the domains as an [`azure_backend::AzureBackend`], a leaf seam that only
//! `vault` opens and reads back.

#![deny(clippy::undocumented_unsafe_blocks)]

// Unix only, on purpose: the store's secrets rest on Unix file modes and owners (master.key and
// store.db 0600, folders 0700, a store folder owned by the caller and writable by no one else),
// the job runner checks another process is alive with `kill(pid, 0)`, the audit writer flushes
// at exit through `atexit`, and `customer-key serve` stops on SIGTERM (`tokio::signal::unix`).
// The code that needs them (its `std::os::unix` imports and the functions calling `libc` or
// `tokio::signal::unix`) is marked `#[cfg(unix)]`; none has a Windows counterpart here, so a
// Windows build stops with this one message rather than build a library that would leave keys
// unprotected.
#[cfg(not(unix))]
compile_error!(
    "CustomerKey supports Linux and macOS (unix) only: its store relies on Unix file modes and \
     owners (0600/0700), kill(pid, 0), atexit and Unix signals, which have no Windows \
     implementation here. Build it on Linux or macOS."
);

pub mod azure_backend;
pub mod b64;
pub mod cancel;
pub mod cli;
pub mod crypto;
pub mod error;
pub mod ffi;
pub mod identity;
pub mod jobs;
#[macro_use]
pub mod operations;
pub mod directory;
pub mod registry;
pub mod rt;
// `customer-key serve` (a hyper server, its CA, the ARM and Graph emulators) is left out of the
// library the PowerShell module loads. The CLI compiles the same files itself (see
// src/bin/customer-key/main.rs); the crate's tests and benches turn the feature on to reach them
// here. Written against the library's public API as `engine::...`, a name both homes give the
// library (not `customer_key`, which in this crate's unit tests is the dev-dependency on itself,
// a second copy of the C ABI's symbols).
#[cfg(feature = "serve")]
pub mod serve;
#[cfg(feature = "serve")]
extern crate self as engine;
pub mod session;
pub mod sharepoint;
pub mod store;
pub mod time;
pub mod vault;
pub mod wire;
// Workloads after the vault domain (and after `operations`, whose macro they use).
pub mod aip;
pub mod exchange;
// Above the workloads: a policy of any of them may supply the keys it checks.
pub mod setup;
// For the fuzz targets in fuzz/ only: not a supported API.
#[doc(hidden)]
pub mod fuzzing;

pub use error::{CkStatus, Error, Result};
pub use identity::Principal;
#[cfg(feature = "test-hooks")]
pub use registry::open_session_with_clock;
pub use registry::{open_session, open_session_json, registry};
pub use session::{Session, SessionOptions};

/// The session behind a `ck_open` handle, for the engine's tests, which drive the library
/// through the C ABI and wait on its job runner ([`Session::settle_jobs`]). Test hooks only.
///
/// # Safety
/// `session` is a live handle from `ck_open`, not closed while the reference is in use.
#[cfg(feature = "test-hooks")]
pub unsafe fn session_of<'a>(session: *const ffi::ck_session) -> &'a Session {
    // SAFETY: the caller promises a live handle, which `ck_open` made from a `Box`.
    unsafe { (*session).session() }
}

/// The library version, as `ck_version` reports it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
