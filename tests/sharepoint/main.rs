//! The SharePoint policy tests: their own binary because they pace the rewrap job through
//! environment variables (`pace_batches`), read by every job enqueued in the process.

#[path = "../common/mod.rs"]
mod common;
#[path = "../sharepoint_common/mod.rs"]
mod sharepoint_common;

mod sharepoint_access;
mod sharepoint_crash;
mod sharepoint_policy;
mod sharepoint_resume;
