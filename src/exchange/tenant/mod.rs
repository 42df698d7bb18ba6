//! Microsoft 365 multi-workload data encryption policies (New-, Get-, Set- and
//! Test-M365DataAtRestEncryptionPolicy) and their tenant assignment.
//!
//! A multi-workload policy is an Exchange policy of another service: the same revisions, each a
//! fresh policy key wrapped by both customer keys and sealed under the policy's availability
//! key, made and rolled by the same code (`policies`), but used by the M365DataAtRestEncryption
//! service principal. Many may exist; one is assigned to the tenant. It covers each kind of
//! tenant data (`data`) and the user mailboxes that have no mailbox policy; a mailbox policy
//! wins over it. The assignment and every roll are applied by Exchange's background job.
//!
//! Decided where Microsoft is silent: a kind of tenant data keeps its content key when the
//! policy over it changes (the job rewraps it, as SharePoint's roll does), while a mailbox gets a
//! new content key when it crosses policies, as it does between mailbox policies.

mod data;
pub mod operations;

use super::policies::{
    change_settings, create_policy, get_policies, is_assigned, rewrap_progress, roll_policy_key,
    tenant_coverage, NewPolicy, PolicyOut, PolicyView, SettingsChange, HELP_KEY_IDS,
    HELP_NEW_KEY_IDS, HELP_REFRESH, HELP_REPLACE,
};
pub(crate) use super::policies::{SET_KEYS, SET_REFRESH, SET_SETTINGS};
use super::{find_policy_of, job, Service};
use crate::error::{Error, Result};
use crate::operations::Context;
use crate::store::exchange::{self as sql, PolicyRow};
use crate::store::{m365, Tx};
use crate::time::iso_from_unix;
use crate::vault::rules::Workload;
use serde::Serialize;

const WORKLOAD: Workload = Workload::MultiWorkload;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct M365PolicyOut {
    #[serde(flatten)]
    pub policy: PolicyOut,
    /// Whether this is the policy assigned to the tenant.
    pub assigned: bool,
    /// What the policy covers while assigned, and how much of it is under the current revision.
    pub items_done: i64,
    pub items_total: i64,
    pub when_created: String,
}

impl PolicyView for M365PolicyOut {
    fn read(tx: &Tx<'_>, p: &PolicyRow, warnings: Vec<String>) -> Result<Self> {
        let rewrap = rewrap_progress(tx, p)?;
        Ok(M365PolicyOut {
            assigned: is_assigned(tx, p)?,
            items_done: rewrap.done,
            items_total: rewrap.total,
            when_created: iso_from_unix(p.created),
            policy: PolicyOut::new(p, warnings, rewrap),
        })
    }

    fn policy(&mut self) -> &mut PolicyOut {
        &mut self.policy
    }
}

arguments! {
    pub struct NewM365PolicyArgs {
        pub name: String = "Name", String, "Unique name of the policy, without spaces", mandatory, position(0);
        pub azure_key_ids: Vec<String> = "AzureKeyIDs", StringArray, HELP_KEY_IDS, mandatory;
        pub description: Option<String> = "Description", String, "Description of the policy";
        pub enabled: Option<bool> = "Enabled", Bool, "Whether the policy may be assigned to the tenant (default true)";
    }
}

pub fn new_m365_policy(ctx: &Context<'_>, a: NewM365PolicyArgs) -> Result<M365PolicyOut> {
    create_policy(
        ctx,
        &Service::for_call_as(ctx, WORKLOAD),
        NewPolicy {
            name: a.name,
            azure_key_ids: a.azure_key_ids,
            description: a.description,
            enabled: a.enabled,
        },
    )
}

arguments! {
    pub struct GetM365PolicyArgs {
        pub identity: Option<String> = "Identity", String, "Name, Guid or DataEncryptionPolicyID of the policy", pipeline, pipeline_value, position(0);
    }
}

pub fn get_m365_policy(ctx: &Context<'_>, a: GetM365PolicyArgs) -> Result<Vec<M365PolicyOut>> {
    get_policies(
        ctx,
        &Service::for_call_as(ctx, WORKLOAD),
        a.identity.as_deref(),
    )
}

arguments! {
    pub struct SetM365PolicyArgs {
        pub identity: String = "Identity", String, "Name, Guid or DataEncryptionPolicyID of the policy", mandatory, pipeline, pipeline_value, position(0);
        pub refresh: bool = "Refresh", Switch, HELP_REFRESH, in_set(SET_REFRESH, true);
        pub name: Option<String> = "Name", String, "New unique name, without spaces", in_set(SET_SETTINGS, false);
        pub description: Option<String> = "Description", String, "New description", in_set(SET_SETTINGS, false);
        pub enabled: Option<bool> = "Enabled", Bool, "Whether the policy may be assigned (an assigned policy cannot be disabled)", in_set(SET_SETTINGS, false);
        pub azure_key_ids: Option<Vec<String>> = "AzureKeyIDs", StringArray, HELP_NEW_KEY_IDS, in_set(SET_KEYS, true);
        pub replace: bool = "Replace", Switch, HELP_REPLACE, in_set(SET_KEYS, true);
        // Exchange Online's cmdlet takes it; this one asks no question of its own to skip.
        pub force: bool = "Force", Switch, "Accepted as Exchange Online's cmdlet accepts it: no change asks a question of its own (-Confirm still asks)";
    }
}

pub fn set_m365_policy(ctx: &Context<'_>, a: SetM365PolicyArgs) -> Result<M365PolicyOut> {
    let service = Service::for_call_as(ctx, WORKLOAD);
    let policy = ctx.read(|tx| find_policy_of(tx, WORKLOAD, "Identity", &a.identity))?;
    if a.refresh || a.replace {
        let replace_ids = a
            .replace
            .then(|| a.azure_key_ids.clone().unwrap_or_default());
        return roll_policy_key(ctx, &service, policy, replace_ids);
    }
    let change = SettingsChange {
        name: a.name.clone(),
        description: a.description.clone(),
        enabled: a.enabled,
    };
    change_settings(ctx, policy, &change, |tx, row| {
        if !row.enabled && is_assigned(tx, row)? {
            return Err(Error::invalid_operation(
                "PolicyAssigned",
                format!("Enabled: policy '{}' is assigned to the tenant and cannot be disabled; assign another policy first (Set-CkM365DataAtRestEncryptionPolicyAssignment)", row.name),
                row.name.clone(),
            ));
        }
        Ok(())
    })
}

/// The tenant's assignment, as Get-M365DataAtRestEncryptionPolicyAssignment shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssignmentOut {
    /// The assigned policy's name.
    pub data_encryption_policy: String,
    pub data_encryption_policy_guid: String,
    /// The revision the covered data is being moved under (the policy's current one).
    #[serde(rename = "DataEncryptionPolicyID")]
    pub data_encryption_policy_id: String,
    pub when_assigned: String,
    /// Assigning (the job moves the covered data under the policy's current revision, after
    /// the assignment or a roll), Assigned, or Stopped (its job failed or was cancelled).
    pub state: &'static str,
    pub percent_complete: i64,
    pub items_done: i64,
    pub items_total: i64,
    pub job_state: Option<&'static str>,
    pub last_error: Option<String>,
}

pub(crate) const ASSIGNED: &str = "Assigned";

fn assignment_out(tx: &Tx<'_>) -> Result<Option<AssignmentOut>> {
    let Some((p, assigned)) = m365::assignment(tx)? else {
        return Ok(None);
    };
    let rewrap = rewrap_progress(tx, &p)?;
    Ok(Some(AssignmentOut {
        data_encryption_policy: p.name.clone(),
        data_encryption_policy_guid: p.guid.clone(),
        data_encryption_policy_id: p.current_revision.clone(),
        when_assigned: iso_from_unix(assigned),
        state: match rewrap.state {
            super::policies::REWRAP_DONE => ASSIGNED,
            "Stopped" => "Stopped",
            _ => "Assigning",
        },
        percent_complete: rewrap.percent,
        items_done: rewrap.done,
        items_total: rewrap.total,
        job_state: rewrap.job_state,
        last_error: rewrap.last_error,
    }))
}

arguments! {
    pub struct NoArgs {
    }
}

pub fn get_assignment(ctx: &Context<'_>, _a: NoArgs) -> Result<Option<AssignmentOut>> {
    ctx.read(assignment_out)
}

arguments! {
    pub struct SetAssignmentArgs {
        pub data_encryption_policy: String = "DataEncryptionPolicy", String, "Name, Guid or DataEncryptionPolicyID of the multi-workload policy to assign to the tenant", mandatory, pipeline, aliases(&["Identity"]), position(0);
    }
}

/// Assigns the policy to the tenant (replacing any other) and starts the job that moves every
/// kind of tenant data and every mailbox without a mailbox policy under it. The answer is the
/// assignment as committed, read in the same transaction, whether or not the runner has begun.
pub fn set_assignment(ctx: &Context<'_>, a: SetAssignmentArgs) -> Result<AssignmentOut> {
    let now = ctx.now();
    let (assignment, enqueued) = ctx.transaction(&a.data_encryption_policy.clone(), |tx| {
        let p = find_policy_of(tx, WORKLOAD, "DataEncryptionPolicy", &a.data_encryption_policy)?;
        if !p.enabled {
            return Err(Error::invalid_argument("DataEncryptionPolicy", format!("policy '{}' is disabled; enable it (Set-CkM365DataAtRestEncryptionPolicy -Enabled $true) before assigning it", p.name)));
        }
        m365::assign(tx, &p.guid, now)?;
        let (total, left) = tenant_coverage(tx, &p.current_revision)?;
        let enqueued = left > 0;
        if enqueued {
            job::enqueue_for_policy(tx, &p.guid, &p.current_revision, total as u64, now)?;
        }
        let assignment =
            assignment_out(tx)?.ok_or_else(|| Error::internal("the assignment vanished"))?;
        Ok((assignment, enqueued))
    })?;
    if enqueued {
        crate::jobs::notify(ctx.store());
    }
    Ok(assignment)
}

/// The keys the multi-workload policy `identity` uses now, for its test: its name and the
/// current revision's versioned key ids.
pub fn policy_keys(ctx: &Context<'_>, identity: &str) -> Result<(String, Vec<String>)> {
    ctx.read(|tx| {
        let p = find_policy_of(tx, WORKLOAD, "Identity", identity)?;
        let wraps = sql::revision_wraps(tx, &p.current_revision)?;
        Ok((p.name, wraps.into_iter().map(|w| w.key_id).collect()))
    })
}
