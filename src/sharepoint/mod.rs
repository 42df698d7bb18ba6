//! SharePoint Online and OneDrive for Business: sites and files encrypted through a key
//! hierarchy, and the tenant's data encryption policy over it (Register-, Update-, Get- and
//! Restore-SPODataEncryptionPolicy).
//!
//! The hierarchy, each level with real keys: every file has its own AES-256-GCM key, wrapped
//! (AES key wrap) by its site's key; a site key is wrapped by the tenant intermediate key
//! (TIK), or before registration by the Microsoft-managed key; the TIK is wrapped by both
//! customer keys through the vault boundary, as SharePoint's service principal, and by the
//! engine's availability key. A roll makes a new TIK and rewraps the site keys under it in
//! batches ([`rewrap`]); file keys never change, so files stay readable throughout.

pub mod keys;
pub mod model;
pub mod operations;
pub mod policy;
pub mod progress;
pub mod rewrap;
pub mod sites;

use crate::jobs::JobKind;
use std::sync::Arc;

/// SharePoint Online's application id: the service principal that reaches the customer keys.
pub const APP_ID: &str = "00000003-0000-0ff1-ce00-000000000000";

/// The job kinds of this domain, for the session's job runner.
pub fn job_kinds() -> Vec<Arc<dyn JobKind>> {
    vec![Arc::new(rewrap::RewrapKind)]
}
