//! New-, Get- and Set-DataEncryptionPolicy: policies over two customer keys, each revision a
//! fresh policy key wrapped by both, and the permanent data purge; New-, Get- and Set- are
//! written once for the multi-workload policies too (`PolicyView`). The keys' checks, a
//! revision's wraps and the keys' health are `policy_keys`'.

use super::keys::{self, availability_aad};
use super::policy_keys::{
    current_health, new_revision, references_of, resolve_keys, revision_health, KeyHealth, KEY_IDS,
};
use super::{
    find_policy, find_policy_of, job, policy_workload_name, workload_of_policy, Service,
    MAX_POLICIES,
};
use crate::crypto;
use crate::error::{Error, Result};
use crate::jobs::JobState;
use crate::operations::Context;
use crate::store::exchange::{self as sql, PolicyRow};
use crate::store::{m365, Tx};
use crate::vault::boundary::KeyReference;
use crate::vault::rules::Workload;
use serde::Serialize;

/// What a mailbox policy and a multi-workload policy show alike, flattened into each one's
/// output.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyOut {
    pub identity: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    #[serde(rename = "AzureKeyIDs")]
    pub azure_key_ids: Vec<String>,
    pub guid: String,
    /// The current revision's id: what a mailbox (or the tenant data a multi-workload policy
    /// covers) reports once it is under the policy's key.
    #[serde(rename = "DataEncryptionPolicyID")]
    pub data_encryption_policy_id: String,
    pub key_health: Vec<KeyHealth>,
    pub warnings: Vec<String>,
    /// Done: everything the policy covers (a mailbox policy's mailboxes; while assigned, a
    /// multi-workload policy's kinds of tenant data and mailboxes without a mailbox policy) has
    /// its content key under the current revision; Rewrapping: the background job is moving
    /// them (after -Refresh, -Replace or an assignment); Stopped: its job failed or was
    /// cancelled with some left (JobState, LastError), and a new -Refresh starts over.
    pub rewrap_state: &'static str,
    pub percent_complete: i64,
    /// The rewrap job's state (Queued, Running, Completed, Failed, Cancelled), if one ran for
    /// the current revision.
    pub job_state: Option<&'static str>,
    /// The rewrap job's last error, while the rewrap is not done.
    pub last_error: Option<String>,
}

impl PolicyOut {
    /// `p` with its rewrap's state, without its keys' health; how much is done of the rewrap
    /// is each kind's own property.
    pub(crate) fn new(p: &PolicyRow, warnings: Vec<String>, rewrap: RewrapProgress) -> Self {
        PolicyOut {
            identity: p.name.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            enabled: p.enabled,
            azure_key_ids: p.azure_key_ids.clone(),
            guid: p.guid.clone(),
            data_encryption_policy_id: p.current_revision.clone(),
            key_health: Vec::new(),
            warnings,
            rewrap_state: rewrap.state,
            percent_complete: rewrap.percent,
            job_state: rewrap.job_state,
            last_error: rewrap.last_error,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataEncryptionPolicyOut {
    #[serde(flatten)]
    pub policy: PolicyOut,
    pub permanent_data_purge_requested: bool,
    pub permanent_data_purge_reason: Option<String>,
    pub permanent_data_purge_contact: Option<String>,
    pub mailbox_count: i64,
    /// The user mailboxes assigned to the policy (mail users hold no content key yet), and
    /// how many of them are under the current revision.
    pub mailboxes_done: i64,
    pub mailboxes_total: i64,
}

const REWRAPPING: &str = "Rewrapping";
pub(crate) const REWRAP_DONE: &str = "Done";
const REWRAP_STOPPED: &str = "Stopped";

/// How far the mailboxes of `p` (for a multi-workload policy: the tenant data it covers) are
/// moved under its current revision.
pub(crate) struct RewrapProgress {
    pub state: &'static str,
    pub percent: i64,
    pub done: i64,
    pub total: i64,
    pub job_state: Option<&'static str>,
    pub last_error: Option<String>,
}

/// Whether `p` is the multi-workload policy assigned to the tenant.
pub(crate) fn is_assigned(tx: &Tx<'_>, p: &PolicyRow) -> Result<bool> {
    Ok(m365::assignment(tx)?.is_some_and(|(a, _)| a.guid.eq_ignore_ascii_case(&p.guid)))
}

/// What the tenant's multi-workload policy covers (the user mailboxes without a mailbox policy
/// and each kind of tenant data), and how much of it is not under `revision` yet.
pub(crate) fn tenant_coverage(tx: &Tx<'_>, revision: &str) -> Result<(i64, i64)> {
    let (mailboxes, mailboxes_left) = sql::rewrap_progress_without_policy(tx)?;
    let (data, data_left) = m365::data_progress(tx, revision)?;
    Ok((mailboxes + data, mailboxes_left + data_left))
}

/// `tenant_coverage` of a multi-workload policy while it is assigned; nothing while it is not.
fn assigned_coverage(tx: &Tx<'_>, p: &PolicyRow) -> Result<(i64, i64)> {
    if is_assigned(tx, p)? {
        tenant_coverage(tx, &p.current_revision)
    } else {
        Ok((0, 0))
    }
}

/// How many mailboxes (or, for a multi-workload policy, covered items) a roll of `p` moves.
fn covered(tx: &Tx<'_>, p: &PolicyRow) -> Result<i64> {
    match workload_of_policy(p) {
        Workload::MultiWorkload => Ok(assigned_coverage(tx, p)?.0),
        _ => sql::count_assigned(tx, &p.guid),
    }
}

pub(crate) fn rewrap_progress(tx: &Tx<'_>, p: &PolicyRow) -> Result<RewrapProgress> {
    let (total, left) = match workload_of_policy(p) {
        Workload::MultiWorkload => assigned_coverage(tx, p)?,
        _ => sql::rewrap_progress(tx, &p.guid)?,
    };
    let done = (total - left).max(0);
    let job = job::rewrap_job(tx, &p.guid, &p.current_revision)?;
    let job_state = job.as_ref().map(|j| j.state);
    let state = if left <= 0 {
        REWRAP_DONE
    } else if matches!(
        job_state,
        Some(JobState::Failed) | Some(JobState::Cancelled)
    ) {
        REWRAP_STOPPED
    } else {
        REWRAPPING
    };
    Ok(RewrapProgress {
        state,
        percent: if left <= 0 {
            100
        } else {
            // Below 100 until the last mailbox is moved.
            done * 100 / total
        },
        done,
        total,
        job_state: job_state.map(JobState::as_str),
        // The job keeps its last error after a retry succeeded: only a rewrap not done shows it.
        last_error: job
            .filter(|_| state != REWRAP_DONE)
            .and_then(|j| j.last_error),
    })
}

/// A policy as its cmdlets show it: the mailbox policy's DataEncryptionPolicyOut or the
/// multi-workload policy's M365PolicyOut, so that New-, Get- and Set- are written once for both.
pub(crate) trait PolicyView: Sized {
    /// The policy as `tx` sees it, without its keys' health (asked of the vaults outside any
    /// transaction, then set in `policy()`).
    fn read(tx: &Tx<'_>, p: &PolicyRow, warnings: Vec<String>) -> Result<Self>;
    fn policy(&mut self) -> &mut PolicyOut;
}

impl PolicyView for DataEncryptionPolicyOut {
    fn read(tx: &Tx<'_>, p: &PolicyRow, warnings: Vec<String>) -> Result<Self> {
        let rewrap = rewrap_progress(tx, p)?;
        Ok(DataEncryptionPolicyOut {
            permanent_data_purge_requested: p.purge_requested,
            permanent_data_purge_reason: p.purge_reason.clone(),
            permanent_data_purge_contact: p.purge_contact.clone(),
            mailbox_count: sql::count_assigned(tx, &p.guid)?,
            mailboxes_done: rewrap.done,
            mailboxes_total: rewrap.total,
            policy: PolicyOut::new(p, warnings, rewrap),
        })
    }

    fn policy(&mut self) -> &mut PolicyOut {
        &mut self.policy
    }
}

/// A policy's name, trimmed; Microsoft's guidance for multi-workload policies adds no spaces.
fn check_policy_name(parameter: &str, name: &str, workload: Workload) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(Error::invalid_argument(
            parameter,
            "must be 1-64 characters, not only spaces",
        ));
    }
    if workload == Workload::MultiWorkload && name.chars().any(char::is_whitespace) {
        return Err(Error::invalid_argument(
            parameter,
            format!("'{name}' contains a space; multi-workload policy names cannot contain spaces"),
        ));
    }
    Ok(name.to_string())
}

// The help of the parameters both kinds of policy take, handled by the same code.
pub(crate) const HELP_KEY_IDS: &str = "Key ids of two customer keys in two different vaults (with or without version; versionless: the newest)";
pub(crate) const HELP_REFRESH: &str = "Wrap a new policy key under the newest enabled versions of the policy's keys (after a key roll)";
pub(crate) const HELP_NEW_KEY_IDS: &str = "New key ids (two, in two different vaults)";
pub(crate) const HELP_REPLACE: &str = "Replace the policy's keys by -AzureKeyIDs";

arguments! {
    pub struct NewPolicyArgs {
        pub name: String = "Name", String, "Unique name of the data encryption policy", mandatory, position(0);
        pub azure_key_ids: Vec<String> = "AzureKeyIDs", StringArray, HELP_KEY_IDS, mandatory;
        pub description: Option<String> = "Description", String, "Description of the policy";
        pub enabled: Option<bool> = "Enabled", Bool, "Whether mailboxes may be assigned the policy (default true)";
    }
}

pub fn new_policy(ctx: &Context<'_>, a: NewPolicyArgs) -> Result<DataEncryptionPolicyOut> {
    create_policy(
        ctx,
        &Service::for_call(ctx),
        NewPolicy {
            name: a.name,
            azure_key_ids: a.azure_key_ids,
            description: a.description,
            enabled: a.enabled,
        },
    )
}

/// A policy to create, as the New- cmdlet was given it.
pub(crate) struct NewPolicy {
    pub name: String,
    pub azure_key_ids: Vec<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

fn name_taken_error(name: &str) -> Error {
    Error::conflict(
        format!(
            "Name: a data encryption policy named '{name}' already exists; policy names are unique"
        ),
        name,
    )
}

/// Checks the limits and the name, then whether the keys can be used (as the policy's service
/// principal), then creates the policy with its first revision in one transaction. Returns the
/// policy with the warnings and the keys' health.
pub(crate) fn create_policy<V: PolicyView>(
    ctx: &Context<'_>,
    service: &Service,
    a: NewPolicy,
) -> Result<V> {
    let workload = service.workload();
    let workload_name = super::policy_workload_name(workload);
    let name = check_policy_name("Name", &a.name, workload)?;
    let now = ctx.now();
    let limits = |tx: &Tx<'_>| -> Result<()> {
        if sql::policy_name_taken(tx, &name, "")? {
            return Err(name_taken_error(&name));
        }
        // Microsoft documents a limit for mailbox policies only.
        if workload == Workload::Exchange && sql::count_policies(tx, workload_name)? >= MAX_POLICIES
        {
            return Err(Error::invalid_operation(
                "PolicyLimit",
                format!("Exchange Online allows at most {MAX_POLICIES} data encryption policies"),
                name.clone(),
            ));
        }
        Ok(())
    };
    // Cheap checks before any vault call.
    ctx.read(limits)?;
    let (resolved, warnings) = resolve_keys(service, &a.azure_key_ids)?;
    let guid = crypto::new_guid()?;
    let availability = keys::new_key()?;
    let sealed_availability = ctx
        .store()
        .keys()
        .seal_exchange(availability.expose(), &availability_aad(&guid))?;
    let (revision, wraps) = new_revision(service, &guid, 1, &resolved, &availability, now)?;
    let row = PolicyRow {
        guid: guid.clone(),
        name: name.clone(),
        description: a.description.unwrap_or_default(),
        enabled: a.enabled.unwrap_or(true),
        azure_key_ids: a.azure_key_ids.clone(),
        current_revision: revision.id.clone(),
        sealed_availability_key: Some(sealed_availability),
        purge_requested: false,
        purge_reason: None,
        purge_contact: None,
        purged: false,
        created: now,
        workload: workload_name.to_string(),
    };
    let references = references_of(&wraps)?;
    ctx.transaction(&name, |tx| {
        // Again inside the write: another session may have taken the name meanwhile.
        limits(tx)?;
        sql::insert_policy(tx, &row)?;
        sql::insert_revision(tx, &revision, &wraps)?;
        sql::add_revision_references(
            tx,
            referrer_kind(workload),
            &name,
            &revision.id,
            &references,
        )?;
        Ok(())
    })?;
    let mut out = ctx.read(|tx| V::read(tx, &row, warnings))?;
    out.policy().key_health = revision_health(service, &wraps);
    Ok(out)
}

/// The referrer kind a policy's revisions are recorded under in the key references.
fn referrer_kind(workload: Workload) -> &'static str {
    match workload {
        Workload::MultiWorkload => sql::MULTI_WORKLOAD_REFERRER_KIND,
        _ => sql::REFERRER_KIND,
    }
}

arguments! {
    pub struct GetPolicyArgs {
        pub identity: Option<String> = "Identity", String, "Name, Guid or any DataEncryptionPolicyID of the policy", pipeline, pipeline_value, position(0);
    }
}

pub fn get_policy(ctx: &Context<'_>, a: GetPolicyArgs) -> Result<Vec<DataEncryptionPolicyOut>> {
    get_policies(ctx, &Service::for_call(ctx), a.identity.as_deref())
}

/// The policy `identity` of the service's kind, or every one, with its keys' health.
pub(crate) fn get_policies<V: PolicyView>(
    ctx: &Context<'_>,
    service: &Service,
    identity: Option<&str>,
) -> Result<Vec<V>> {
    let workload = service.workload();
    let (rows, mut outs) = ctx.read(|tx| {
        let rows = match identity {
            Some(identity) => vec![find_policy_of(tx, workload, "Identity", identity)?],
            None => sql::list_policies_of(tx, policy_workload_name(workload))?,
        };
        let outs = rows
            .iter()
            .map(|p| V::read(tx, p, Vec::new()))
            .collect::<Result<Vec<_>>>()?;
        Ok((rows, outs))
    })?;
    // Health is asked of the vaults outside any transaction; a purged policy has no keys left.
    for (out, row) in outs.iter_mut().zip(&rows) {
        if !row.purged {
            out.policy().key_health = current_health(ctx, service, row)?;
        }
    }
    Ok(outs)
}

pub(crate) const SET_REFRESH: &str = "Refresh";
pub(crate) const SET_SETTINGS: &str = "Settings";
pub(crate) const SET_PURGE: &str = "PermanentDataPurge";
pub(crate) const SET_KEYS: &str = "AzureKeyIDs";

arguments! {
    pub struct SetPolicyArgs {
        pub identity: String = "Identity", String, "Name, Guid or any DataEncryptionPolicyID of the policy", mandatory, pipeline, pipeline_value, position(0);
        pub refresh: bool = "Refresh", Switch, HELP_REFRESH, in_set(SET_REFRESH, true);
        pub name: Option<String> = "Name", String, "New unique name", in_set(SET_SETTINGS, false);
        pub description: Option<String> = "Description", String, "New description", in_set(SET_SETTINGS, false);
        pub enabled: Option<bool> = "Enabled", Bool, "Whether mailboxes may be assigned the policy", in_set(SET_SETTINGS, false);
        pub permanent_data_purge_requested: bool = "PermanentDataPurgeRequested", Switch, "Destroy the policy, its availability key and its mailboxes' content for good", in_set(SET_PURGE, true);
        pub permanent_data_purge_reason: Option<String> = "PermanentDataPurgeReason", String, "Why the data is purged", in_set(SET_PURGE, true);
        pub permanent_data_purge_contact: Option<String> = "PermanentDataPurgeContact", String, "Who asked for the purge (an email address)", in_set(SET_PURGE, true);
        pub force: bool = "Force", Switch, "Do not ask for confirmation", in_set(SET_PURGE, false);
        pub azure_key_ids: Option<Vec<String>> = "AzureKeyIDs", StringArray, HELP_NEW_KEY_IDS, in_set(SET_KEYS, true);
        pub replace: bool = "Replace", Switch, HELP_REPLACE, in_set(SET_KEYS, true);
    }
}

pub fn set_policy(ctx: &Context<'_>, a: SetPolicyArgs) -> Result<Option<DataEncryptionPolicyOut>> {
    let service = Service::for_call(ctx);
    let policy = ctx.read(|tx| find_policy(tx, "Identity", &a.identity))?;
    if policy.purged {
        return Err(keys::purged_error(&policy.name));
    }
    if a.permanent_data_purge_requested {
        return purge(ctx, &service, policy, &a).map(Some);
    }
    if a.refresh || a.replace {
        let replace_ids = a
            .replace
            .then(|| a.azure_key_ids.clone().unwrap_or_default());
        return roll_policy_key(ctx, &service, policy, replace_ids).map(Some);
    }
    let change = SettingsChange {
        name: a.name.clone(),
        description: a.description.clone(),
        enabled: a.enabled,
    };
    change_settings(ctx, policy, &change, |_, _| Ok(())).map(Some)
}

/// -Name, -Description and -Enabled of a Set- cmdlet.
pub(crate) struct SettingsChange {
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// Applies a settings change in one transaction; `guard` sees the changed row before it is
/// written and may refuse it. Returns the policy as changed.
pub(crate) fn change_settings<V: PolicyView>(
    ctx: &Context<'_>,
    mut row: PolicyRow,
    change: &SettingsChange,
    guard: impl Fn(&Tx<'_>, &PolicyRow) -> Result<()>,
) -> Result<V> {
    let new_name = change
        .name
        .as_deref()
        .map(|n| check_policy_name("Name", n, workload_of_policy(&row)))
        .transpose()?;
    ctx.transaction(&row.name.clone(), |tx| {
        if let Some(n) = &new_name {
            if sql::policy_name_taken(tx, n, &row.guid)? {
                return Err(name_taken_error(n));
            }
            sql::rename_references(tx, &row.guid, n)?;
            row.name = n.clone();
        }
        if let Some(d) = &change.description {
            row.description = d.clone();
        }
        if let Some(e) = change.enabled {
            row.enabled = e;
        }
        guard(tx, &row)?;
        sql::update_policy(tx, &row)?;
        Ok(())
    })?;
    ctx.read(|tx| V::read(tx, &row, Vec::new()))
}

/// -Refresh and -AzureKeyIDs -Replace: a new revision under the keys' versions now, then the
/// background job moves every mailbox of the policy to it by rewrapping its content key.
/// The policy as changed, with the warnings, is read inside the transaction that enqueues the
/// job, so the cmdlet's answer is the change as committed (RewrapState Rewrapping, JobState
/// Queued) whether or not the runner has begun; the new keys' health comes with it.
pub(crate) fn roll_policy_key<V: PolicyView>(
    ctx: &Context<'_>,
    service: &Service,
    policy: PolicyRow,
    replace_ids: Option<Vec<String>>,
) -> Result<V> {
    let ids = match &replace_ids {
        Some(ids) => ids.clone(),
        // A refresh takes each key's newest enabled version, whatever version was given.
        None => policy
            .azure_key_ids
            .iter()
            .map(|id| {
                KeyReference::parse(KEY_IDS, id).map(|r| KeyReference { version: None, ..r }.id())
            })
            .collect::<Result<Vec<_>>>()?,
    };
    let now = ctx.now();
    let (resolved, warnings) = resolve_keys(service, &ids)?;
    let availability = ctx.store().keys().open_exchange(
        policy
            .sealed_availability_key
            .as_deref()
            .ok_or_else(|| keys::purged_error(&policy.name))?,
        &availability_aad(&policy.guid),
    )?;
    let seq = ctx.read(|tx| sql::next_revision_seq(tx, &policy.guid))?;
    let (revision, wraps) =
        new_revision(service, &policy.guid, seq, &resolved, &availability, now)?;
    let references = references_of(&wraps)?;
    let mut row = policy;
    let old_revision = row.current_revision.clone();
    let (mut out, enqueued) = ctx.transaction(&row.name.clone(), |tx| {
        let current = sql::get_policy(tx, &row.guid)?.ok_or_else(|| Error::internal("policy vanished"))?;
        if current.current_revision != old_revision {
            return Err(Error::new(crate::error::CkStatus::Busy, "PolicyChanged", format!("data encryption policy '{}' was changed by another session meanwhile; repeat the command", row.name), row.name.clone()));
        }
        if let Some(ids) = &replace_ids {
            row.azure_key_ids = ids.clone();
        }
        row.current_revision = revision.id.clone();
        sql::insert_revision(tx, &revision, &wraps)?;
        sql::update_policy(tx, &row)?;
        sql::add_revision_references(
            tx,
            referrer_kind(workload_of_policy(&row)),
            &row.name,
            &revision.id,
            &references,
        )?;
        sql::sync_revision_references(tx, &old_revision, false)?;
        let covered = covered(tx, &row)?;
        let enqueued = covered > 0;
        if enqueued {
            job::enqueue_for_policy(tx, &row.guid, &revision.id, covered as u64, now)?;
        }
        Ok((V::read(tx, &row, warnings)?, enqueued))
    })?;
    if enqueued {
        crate::jobs::notify(ctx.store());
    }
    out.policy().key_health = revision_health(service, &wraps);
    Ok(out)
}

fn purge(
    ctx: &Context<'_>,
    service: &Service,
    policy: PolicyRow,
    a: &SetPolicyArgs,
) -> Result<DataEncryptionPolicyOut> {
    let reason = a.permanent_data_purge_reason.clone().unwrap_or_default();
    let contact = a.permanent_data_purge_contact.clone().unwrap_or_default();
    if reason.trim().is_empty() {
        return Err(Error::invalid_argument(
            "PermanentDataPurgeReason",
            "must say why the data is purged",
        ));
    }
    if contact.trim().is_empty() {
        return Err(Error::invalid_argument(
            "PermanentDataPurgeContact",
            "must name who asked for the purge",
        ));
    }
    // The service must have lost access to every key first: the customer revokes, then purges.
    let key_ids: Vec<String> = ctx.read(|tx| {
        let mut ids = Vec::new();
        for r in sql::list_revisions(tx, &policy.guid)? {
            for w in sql::revision_wraps(tx, &r.id)? {
                if !ids.contains(&w.key_id) {
                    ids.push(w.key_id);
                }
            }
        }
        Ok(ids)
    })?;
    for id in &key_ids {
        let reference = KeyReference::parse(KEY_IDS, id)?;
        for permission in ["wrapKey", "unwrapKey"] {
            if service
                .vaults()
                .check_permission(&service.caller(), &reference, permission)
                .is_ok()
            {
                return Err(Error::invalid_operation(
                    "PurgeRefused",
                    format!("PermanentDataPurgeRequested: the Exchange Online service principal {} still has {permission} on vault '{}'; remove its wrapKey and unwrapKey permissions from both vaults first (Remove-CkKeyVaultAccessPolicy), then request the purge", super::EXCHANGE_APP_ID, reference.vault_name),
                    policy.name.clone(),
                ));
            }
        }
    }
    let mut row = policy;
    ctx.transaction(&row.name.clone(), |tx| {
        sql::destroy_policy_material(tx, &row.guid)?;
        row.purge_requested = true;
        row.purge_reason = Some(reason.clone());
        row.purge_contact = Some(contact.clone());
        row.purged = true;
        row.enabled = false;
        row.sealed_availability_key = None;
        sql::update_policy(tx, &row)?;
        DataEncryptionPolicyOut::read(tx, &row, Vec::new())
    })
}
