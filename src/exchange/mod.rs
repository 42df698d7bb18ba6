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
pub(crate) mod policies;
mod policy_keys;
mod tenant;

pub use job::{job_kinds, ApplyPolicyKind, APPLY_POLICY_KIND};
pub use tenant::operations as tenant_operations;
pub use tenant::policy_keys as multi_workload_policy_keys;

use crate::error::{Error, Result};
use crate::identity::Principal;
use crate::operations::Context;
use crate::store::exchange::{self as sql, MailboxRow, PolicyRow};
use crate::store::{Store, Tx};
use crate::vault::boundary::{Caller, KeyVaultBoundary};
use crate::vault::rules::Workload;
use std::sync::Arc;

/// The Exchange Online service principal's application id: its access policy, not the
/// admin's, decides whether mailbox content can be read.
pub const EXCHANGE_APP_ID: &str = "00000002-0000-0ff1-ce00-000000000000";
/// Exchange Online allows at most this many data encryption policies per tenant.
pub const MAX_POLICIES: i64 = 50;

pub(crate) const USER_MAILBOX: &str = "UserMailbox";
pub(crate) const MAIL_USER: &str = "MailUser";

/// A workload's service principal (Exchange Online's, or M365DataAtRestEncryption's for the
/// multi-workload policies) reaching the vaults, on a call's or a job's clock.
pub(crate) struct Service {
    vaults: Arc<dyn KeyVaultBoundary>,
    principal: Principal,
    workload: Workload,
    clock: crate::time::Clock,
    time_shift: i64,
    operation: String,
}

impl Service {
    pub(crate) fn for_call(ctx: &Context<'_>) -> Service {
        Service::for_call_as(ctx, Workload::Exchange)
    }

    pub(crate) fn for_call_as(ctx: &Context<'_>, workload: Workload) -> Service {
        Service {
            vaults: crate::vault::vaults_for(ctx),
            principal: Principal::service(workload.application_id()),
            workload,
            clock: ctx.clock().clone(),
            time_shift: ctx.time_shift(),
            operation: ctx.operation().to_string(),
        }
    }

    /// The same vaults and clock, acting as `workload`'s service principal: a policy's keys are
    /// always used by the service its kind belongs to, whoever reads.
    pub(crate) fn acting_for(&self, workload: Workload) -> Service {
        Service {
            vaults: self.vaults.clone(),
            principal: Principal::service(workload.application_id()),
            workload,
            clock: self.clock.clone(),
            time_shift: self.time_shift,
            operation: self.operation.clone(),
        }
    }

    pub(crate) fn workload(&self) -> Workload {
        self.workload
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
            workload: Workload::Exchange,
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
    find_policy_of(tx, Workload::Exchange, parameter, identity)
}

/// The same among `workload`'s policies (mailbox or multi-workload).
pub(crate) fn find_policy_of(
    tx: &Tx<'_>,
    workload: Workload,
    parameter: &str,
    identity: &str,
) -> Result<PolicyRow> {
    let identity = identity.trim();
    sql::find_policy(tx, policy_workload_name(workload), identity)?.ok_or_else(|| {
        let kind = match workload {
            Workload::MultiWorkload => "multi-workload data encryption policy",
            _ => "data encryption policy",
        };
        Error::not_found(
            "DataEncryptionPolicyNotFound",
            format!(
                "{parameter}: no {kind} has the name, Guid or DataEncryptionPolicyID '{identity}'"
            ),
            identity,
        )
    })
}

/// The `workload` column's value for a kind of policy.
pub(crate) fn policy_workload_name(workload: Workload) -> &'static str {
    match workload {
        Workload::MultiWorkload => sql::MULTI_WORKLOAD,
        _ => sql::EXCHANGE_WORKLOAD,
    }
}

/// Whose service principal uses a policy's keys.
pub(crate) fn workload_of_policy(p: &PolicyRow) -> Workload {
    if p.workload == sql::MULTI_WORKLOAD {
        Workload::MultiWorkload
    } else {
        Workload::Exchange
    }
}

/// The keys the mailbox or multi-workload policy `identity` uses now, for the setup check: its current revision's versioned
/// ids (so a roll without -Refresh shows). None when no policy has that identity.
pub fn policy_keys(
    ctx: &Context<'_>,
    identity: &str,
) -> Result<Option<crate::vault::inspect::PolicyKeys>> {
    ctx.read(|tx| {
        let identity = identity.trim();
        let found = match sql::find_policy(tx, sql::EXCHANGE_WORKLOAD, identity)? {
            Some(p) => Some(p),
            None => sql::find_policy(tx, sql::MULTI_WORKLOAD, identity)?,
        };
        let Some(p) = found else {
            return Ok(None);
        };
        let wraps = sql::revision_wraps(tx, &p.current_revision)?;
        Ok(Some(crate::vault::inspect::PolicyKeys {
            workload: workload_of_policy(&p),
            name: p.name,
            key_ids: wraps.into_iter().map(|w| w.key_id).collect(),
        }))
    })
}
