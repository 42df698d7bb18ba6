//! CustomerKey: Customer Key / BYOK workflows for Microsoft 365 admins, run by an embedded engine
//! (SQLite store, aws-lc-rs cryptography) behind a C ABI, a CLI and a PowerShell module.
//!
//! Data enters at one door (the C ABI in [`ffi`], or the CLI), is routed by the [`registry`] to
//! a domain module, and reaches storage and cryptography only through [`store`] and
//! [`crypto`]. Module order, with no cycle: `store`, `crypto` → `session` → `operations` (the
//! machinery) → `jobs` → domains (`vault`, then the workloads, which reach keys only through
//! `vault::boundary`) → [`registry`] (the crate root assembles the domains) → `ffi`, the CLI.

pub mod b64;
pub mod crypto;
pub mod error;
pub mod ffi;
pub mod identity;
pub mod jobs;
#[macro_use]
pub mod operations;
pub mod session;
pub mod store;
pub mod time;
pub mod vault;
// Workloads after the vault domain (and after `operations`, whose macro they use).
pub mod aip;

pub use error::{CkStatus, Error, Result};
pub use identity::Principal;
pub use session::{Session, SessionOptions};

use once_cell::sync::Lazy;
use operations::Registry;

/// The library version, as `ck_version` reports it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

static REGISTRY: Lazy<Registry> = Lazy::new(|| {
    Registry::new(vec![
        vault::operations::operations(),
        aip::operations::operations(),
    ])
    .unwrap_or_else(|duplicate| panic!("the operation registry is inconsistent: {duplicate}"))
});

/// Every operation of every domain: what `ck_call`, `ck_describe` and the CLI dispatch through.
pub fn registry() -> &'static Registry {
    &REGISTRY
}
