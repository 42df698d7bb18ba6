//! The integration tests, one binary: each file below is the module of one area, and the
//! support modules are compiled once for all of them. The few suites that change process-wide
//! state (environment variables read by the engine, the global allocator) are their own
//! binaries beside this folder: `sharepoint/`, `store_trouble/`, `panic_boundary.rs`,
//! `remote_identity.rs`, `wiped_results.rs`; the crash trials (`crash/`) and the load run
//! (`load.rs`) too, for their long settings.

#[path = "../aip_support/mod.rs"]
mod aip_support;
#[path = "../common/mod.rs"]
mod common;
#[path = "../exchange_support/mod.rs"]
mod exchange_support;
#[path = "../jobs_support/mod.rs"]
mod jobs_support;
#[path = "../remote_common/mod.rs"]
mod remote_common;
#[path = "../serve_common/mod.rs"]
mod serve_common;
#[path = "../setup_support/mod.rs"]
mod setup_support;

mod abi;
mod access_and_safety;
mod aip_cli;
mod aip_crash;
mod aip_fuzz;
mod aip_lifecycle;
mod aip_tpd;
mod aip_usage;
mod audit_and_reads;
mod backup_restore;
mod batches_and_pages;
mod cancellation;
mod change_impact;
mod cli;
mod concurrency_and_crash;
mod exchange_crash;
mod exchange_job;
mod exchange_keys;
mod exchange_rules;
mod exchange_seed;
mod exchange_states;
mod exchange_usage;
mod fuzz_files;
mod fuzz_regressions;
mod jobs;
mod key_import;
mod key_lifecycle;
mod layering;
mod m365_policies;
mod permission_matrix;
mod powershell_generated;
mod registry;
mod release_hooks;
mod remote;
mod remote_live;
mod remote_management;
mod remote_recordings;
mod remote_transport;
mod retention_and_store;
mod secret_scan;
mod serve;
mod serve_azure_sdk;
mod serve_cli;
mod serve_keys_in_memory;
mod session_clock;
mod setup_check;
mod setup_check_keys;
mod setup_check_remote;
mod setup_check_remote_rbac;
mod setup_rules;
mod sharepoint_cli;
mod store_files;
mod store_upgrade;
mod store_upgrade_rbac;
mod vault_boundary;
mod vault_rbac;
mod wire;
