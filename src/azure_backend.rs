//! The seam between the layers below the domains and the vault domain's Azure client: a
//! session's Azure backend, opened by the vault domain when the Environment names a cloud (the
//! registry hands [`crate::session::Session::open`] the domain's opener). The session, the call
//! and job contexts and the job runner carry it without knowing its type; only the vault
//! domain reads it back. A leaf: it names nothing of the crate but the stop signal.

use crate::cancel::Stop;
use std::sync::Arc;

/// What the vault domain's Azure client is to the layers that carry it.
pub trait AzureBackend: std::any::Any + Send + Sync {
    /// The same backend, whose requests end when `stop` comes.
    fn with_stop(&self, stop: Stop) -> Arc<dyn AzureBackend>;
    fn as_any(&self) -> &dyn std::any::Any;
    fn into_any(self: Arc<Self>) -> Arc<dyn std::any::Any + Send + Sync>;
    /// What `ck_open` reports of it: Environment, VaultDomain, ManagementEndpoint and
    /// GraphEndpoint.
    fn describe(&self) -> [(&'static str, String); 4];
}
