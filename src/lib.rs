//! CustomerKey: Customer Key / BYOK workflows for Microsoft 365 admins, run by an embedded engine
//! (SQLite store, aws-lc-rs cryptography) behind a C ABI, a CLI and a PowerShell module.
//!
//! Data enters at one door (the C ABI in [`ffi`], or the CLI), is routed by the [`registry`] to
//! a domain module, and reaches storage and cryptography only through [`store`] and
//! [`crypto`]. Module order, with no cycle: `store`, `crypto` → `session` → `operations` (the
//! machinery) → `jobs` → domains (`vault`, then the workloads, which reach keys only through
//! `vault::boundary`) → [`registry`] (every domain's operations and job kinds) → `ffi`, the CLI.

#![deny(clippy::undocumented_unsafe_blocks)]

pub mod b64;
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
pub mod serve;
pub mod session;
pub mod sharepoint;
pub mod store;
pub mod time;
pub mod vault;
// Workloads after the vault domain (and after `operations`, whose macro they use).
pub mod aip;
pub mod exchange;
// For the fuzz targets in fuzz/ only: not a supported API.
#[doc(hidden)]
pub mod fuzzing;

pub use error::{CkStatus, Error, Result};
pub use identity::Principal;
pub use registry::{open_session, open_session_json, registry};
pub use session::{Session, SessionOptions};

/// The library version, as `ck_version` reports it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
