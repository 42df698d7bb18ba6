//! Exchange Online: data encryption policies (DEPs) over two customer keys, mailboxes whose
//! content is really encrypted, assignment and refresh applied by a background job.
//!
//! Key hierarchy: each mailbox has a content key (AES-256-GCM over its items); it is sealed
//! under the policy key of one policy revision, or under the Microsoft-managed key when no
//! policy applies. A revision's policy key is wrapped by each customer key through the vault
//! boundary, as the Exchange Online service principal, and sealed under the policy's
//! availability key, which the engine holds (sealed under a store-derived key).

pub mod bulk;
pub mod job;
mod keys;
mod mailboxes;
mod moves;
pub mod operations;
mod policies;

pub use job::{job_kinds, ApplyPolicyKind, APPLY_POLICY_KIND};

use crate::error::{Error, Result};
use crate::identity::Principal;
use crate::operations::Context;
use crate::store::exchange::{self as sql, MailboxRow, PolicyRow};
use crate::store::{Store, Tx};
use crate::vault::boundary::{Caller, KeyVaultBoundary};
use std::sync::Arc;

/// The Exchange Online service principal's application id: its access policy, not the
/// admin's, decides whether mailbox content can be read.
pub const EXCHANGE_APP_ID: &str = "00000002-0000-0ff1-ce00-000000000000";
/// Exchange Online allows at most this many data encryption policies per tenant.
pub const MAX_POLICIES: i64 = 50;

pub(crate) const USER_MAILBOX: &str = "UserMailbox";
pub(crate) const MAIL_USER: &str = "MailUser";

/// The Exchange service principal reaching the vaults, on a call's or a job's clock.
pub(crate) struct Service {
    vaults: Arc<dyn KeyVaultBoundary>,
    principal: Principal,
    clock: crate::time::Clock,
    time_shift: i64,
    operation: String,
}

impl Service {
    pub(crate) fn for_call(ctx: &Context<'_>) -> Service {
        Service {
            vaults: crate::vault::vaults_for(ctx),
            principal: Principal::service(EXCHANGE_APP_ID),
            clock: ctx.clock().clone(),
            time_shift: ctx.time_shift(),
            operation: ctx.operation().to_string(),
        }
    }

    pub(crate) fn for_store(
        store: &Arc<Store>,
        remote: Option<&Arc<dyn crate::azure_backend::AzureBackend>>,
        clock: &crate::time::Clock,
        time_shift: i64,
        operation: &str,
    ) -> Service {
        Service {
            vaults: crate::vault::vaults_for_store(store, remote),
            principal: Principal::service(EXCHANGE_APP_ID),
            clock: clock.clone(),
            time_shift,
            operation: operation.to_string(),
        }
    }

    pub(crate) fn vaults(&self) -> &dyn KeyVaultBoundary {
        self.vaults.as_ref()
    }

    pub(crate) fn caller(&self) -> Caller<'_> {
        Caller {
            principal: &self.principal,
            clock: &self.clock,
            time_shift: self.time_shift,
            operation: &self.operation,
        }
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.unix_seconds() + self.time_shift
    }
}

/// The one mailbox `identity` names (name, alias, SMTP address or GUID).
pub(crate) fn find_mailbox(tx: &Tx<'_>, parameter: &str, identity: &str) -> Result<MailboxRow> {
    let identity = identity.trim();
    let mut found = sql::find_mailboxes(tx, identity)?;
    match found.len() {
        0 => Err(Error::not_found(
            "MailboxNotFound",
            format!("{parameter}: no mailbox or mail user has the name, alias, SMTP address or GUID '{identity}'"),
            identity,
        )),
        1 => Ok(found.remove(0)),
        _ => Err(Error::invalid_argument(
            parameter,
            format!("'{identity}' matches more than one mailbox; give its SMTP address or GUID, which are unique"),
        )),
    }
}

/// The policy `identity` names: its name, its Guid, or any DataEncryptionPolicyID a mailbox
/// ever reported (a revision id resolves to its policy).
pub(crate) fn find_policy(tx: &Tx<'_>, parameter: &str, identity: &str) -> Result<PolicyRow> {
    let identity = identity.trim();
    sql::find_policy(tx, identity)?.ok_or_else(|| {
        Error::not_found(
            "DataEncryptionPolicyNotFound",
            format!("{parameter}: no data encryption policy has the name, Guid or DataEncryptionPolicyID '{identity}'"),
            identity,
        )
    })
}

/// The keys policy `identity` uses now, for the setup check: its current revision's versioned
/// ids (so a roll without -Refresh shows). None when no policy has that identity.
pub fn policy_keys(
    ctx: &Context<'_>,
    identity: &str,
) -> Result<Option<crate::vault::inspect::PolicyKeys>> {
    ctx.read(|tx| {
        let Some(p) = sql::find_policy(tx, identity.trim())? else {
            return Ok(None);
        };
        let wraps = sql::revision_wraps(tx, &p.current_revision)?;
        Ok(Some(crate::vault::inspect::PolicyKeys {
            workload: crate::vault::rules::Workload::Exchange,
            name: p.name,
            key_ids: wraps.into_iter().map(|w| w.key_id).collect(),
        }))
    })
}
