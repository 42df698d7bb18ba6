//! The background job that applies assignments and refreshes: it moves each mailbox's content
//! key to the revision its assignment asks for. Within one policy the content key is only
//! rewrapped (items untouched); across policies (or from the Microsoft-managed key) the
//! mailbox gets a new content key and its items are re-encrypted.

use super::keys::{self, ItemText};
use super::Service;
use crate::crypto::Secret;
use crate::error::Result;
use crate::jobs::{self, Batch, JobContext, JobKind, JobRecord};
use crate::store::exchange::{self as sql, MailboxRow, MailboxSelection};
use crate::store::m365;
use crate::store::{Store, Tx};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

pub const APPLY_POLICY_KIND: &str = "exchange-apply-policy";
/// Mailboxes per batch: one transaction each, well under the lease.
const BATCH_MAILBOXES: i64 = 500;

/// Exchange's job kinds, for the session runner.
pub fn job_kinds() -> Vec<Arc<dyn JobKind>> {
    vec![Arc::new(ApplyPolicyKind)]
}

fn policy_target(policy: &str) -> String {
    format!("Policy:{policy}")
}

/// The job that moves every mailbox of `policy` under its new revision `revision` (the
/// revision is recorded for [`rewrap_job`]; the job itself moves them to the current one).
pub(crate) fn enqueue_for_policy(
    tx: &Tx<'_>,
    policy: &str,
    revision: &str,
    total: u64,
    now: i64,
) -> Result<i64> {
    jobs::enqueue(
        tx,
        APPLY_POLICY_KIND,
        &policy_target(policy),
        total,
        &json!({"Policy": policy, "Revision": revision}),
        now,
    )
}

/// The job rewrapping the mailboxes of `policy` under its current revision `revision`: the
/// policy's newest job, unless that one was for an earlier revision (a refresh with no mailbox
/// assigned enqueues none). A job enqueued before jobs recorded their revision counts as the
/// current one's.
pub(crate) fn rewrap_job(tx: &Tx<'_>, policy: &str, revision: &str) -> Result<Option<JobRecord>> {
    let newest =
        crate::store::jobs::list(tx, Some(APPLY_POLICY_KIND), Some(&policy_target(policy)))?.pop();
    Ok(newest.filter(|j| j.payload["Revision"].as_str().is_none_or(|r| r == revision)))
}

pub(crate) fn enqueue_for_mailbox(tx: &Tx<'_>, mailbox: &MailboxRow, now: i64) -> Result<i64> {
    jobs::enqueue(
        tx,
        APPLY_POLICY_KIND,
        &format!("Mailbox:{}", mailbox.guid),
        1,
        &json!({"Mailbox": mailbox.seq}),
        now,
    )
}

/// Whether a job of this kind is working on (Running) the mailbox now: its own, its policy's,
/// or, for a mailbox without a policy, the tenant's multi-workload policy's.
pub(crate) fn job_is_running_for(store: &Store, mailbox: &MailboxRow) -> Result<bool> {
    let covering = match &mailbox.assigned_policy {
        Some(policy) => Some(policy.clone()),
        None => store.read(|tx| Ok(m365::assignment(tx)?.map(|(p, _)| p.guid)))?,
    };
    Ok(jobs::list(store, Some(APPLY_POLICY_KIND), None)?
        .iter()
        .any(|j| {
            j.state == jobs::JobState::Running
                && (j.payload["Mailbox"].as_i64() == Some(mailbox.seq)
                    || j.payload["Policy"]
                        .as_str()
                        .zip(covering.as_deref())
                        .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b)))
        }))
}

pub struct ApplyPolicyKind;

/// What one mailbox's move writes.
struct MailboxMove {
    seq: i64,
    from: Option<String>,
    to: Option<String>,
    wrapped: Vec<u8>,
    /// Items re-encrypted under a new content key: (item id, sealed).
    items: Vec<(i64, Vec<u8>)>,
    /// Whether the content key is new (the items above are then all of the mailbox's).
    new_content_key: bool,
}

impl JobKind for ApplyPolicyKind {
    fn name(&self) -> &'static str {
        APPLY_POLICY_KIND
    }

    fn next_batch(&self, ctx: &JobContext, job: &JobRecord) -> Result<Batch> {
        let after: i64 = job
            .cursor
            .as_deref()
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let policy = job.payload["Policy"].as_str().map(str::to_string);
        let only = job.payload["Mailbox"].as_i64();
        let store = &ctx.store;
        let (rows, policies, tenant_revision, tenant_data) = store.read(|tx| {
            let policies: HashMap<String, sql::PolicyRow> = sql::list_policies(tx)?
                .into_iter()
                .map(|p| (p.guid.to_ascii_lowercase(), p))
                .collect();
            let of_policy = policy
                .as_deref()
                .and_then(|g| policies.get(&g.to_ascii_lowercase()));
            let multi_workload = of_policy.is_some_and(|p| p.workload == sql::MULTI_WORKLOAD);
            let selection = match (only, of_policy) {
                (Some(seq), _) => MailboxSelection::One(seq),
                (None, Some(_)) if multi_workload => MailboxSelection::WithoutPolicy,
                (None, Some(p)) => MailboxSelection::AssignedTo(&p.guid),
                // A policy gone from the table (never, today): only its mailboxes, none.
                (None, None) if policy.is_some() => MailboxSelection::AssignedTo(""),
                (None, None) => MailboxSelection::All,
            };
            let rows = sql::mailboxes_needing_work(tx, after, selection, BATCH_MAILBOXES)?;
            let mut revision_policy = HashMap::new();
            for p in policies.values() {
                for r in sql::list_revisions(tx, &p.guid)? {
                    revision_policy.insert(r.id, p.guid.clone());
                }
            }
            let tenant_revision = m365::assignment(tx)?
                .filter(|(p, _)| !p.purged)
                .map(|(p, _)| p.current_revision);
            // The tenant data kinds move with the first batch of the multi-workload job.
            let tenant_data = if multi_workload && job.cursor.is_none() {
                m365::list_data(tx)?
                    .into_iter()
                    .filter(|d| d.applied_revision != tenant_revision)
                    .collect()
            } else {
                Vec::new()
            };
            Ok((
                rows,
                (policies, revision_policy),
                tenant_revision,
                tenant_data,
            ))
        })?;
        let (policies, revision_policy) = policies;
        let finished = (rows.len() as i64) < BATCH_MAILBOXES;
        let cursor = rows
            .last()
            .map(|m| m.seq.to_string())
            .or(job.cursor.clone());
        let service = Service::for_store(
            store,
            ctx.remote.as_ref(),
            &ctx.clock,
            ctx.time_shift,
            "Apply-DataEncryptionPolicy",
        );
        let mut policy_keys: HashMap<String, Secret> = HashMap::new();
        let mut moves = Vec::with_capacity(rows.len());
        for m in &rows {
            // A session closing under a long batch ends it here, not after 500 mailboxes.
            ctx.stop.check()?;
            // A mailbox policy wins; without one the tenant's multi-workload policy applies.
            let target = match &m.assigned_policy {
                Some(g) => policies
                    .get(&g.to_ascii_lowercase())
                    .map(|p| p.current_revision.clone()),
                None => tenant_revision.clone(),
            };
            for revision in [&m.applied_revision, &target].into_iter().flatten() {
                open_for_move(&service, store, &mut policy_keys, revision)?;
            }
            fn under<'a>(
                keys: &'a HashMap<String, Secret>,
                r: &'a Option<String>,
            ) -> Option<(&'a str, &'a Secret)> {
                r.as_deref().map(|id| (id, &keys[id]))
            }
            let wrapped = m.wrapped_content_key.as_deref().unwrap_or_default();
            let content_key = keys::open_content_key(
                store,
                &m.guid,
                under(&policy_keys, &m.applied_revision),
                wrapped,
            )?;
            let same_policy = match (&m.applied_revision, &target) {
                (Some(a), Some(b)) => revision_policy.get(a) == revision_policy.get(b),
                _ => false,
            };
            let mut items = Vec::new();
            let new_content_key = !same_policy;
            let new_wrapped = if same_policy {
                keys::seal_content_key(store, &m.guid, under(&policy_keys, &target), &content_key)?
            } else {
                // A new policy (or leaving one) gets a new content key: the old one stays
                // known to the keys the mailbox leaves.
                let fresh = keys::new_key()?;
                for item in store.read(|tx| sql::list_items(tx, m.seq))? {
                    let text: ItemText = keys::open_item(&content_key, &m.guid, &item.sealed)?;
                    items.push((item.id, keys::seal_item(&fresh, &m.guid, &text)?));
                }
                keys::seal_content_key(store, &m.guid, under(&policy_keys, &target), &fresh)?
            };
            moves.push(MailboxMove {
                seq: m.seq,
                from: m.applied_revision.clone(),
                to: target,
                wrapped: new_wrapped,
                items,
                new_content_key,
            });
        }
        let mut data_moves = Vec::new();
        if let Some(target) = &tenant_revision {
            for d in &tenant_data {
                ctx.stop.check()?;
                for revision in d.applied_revision.iter().chain([target]) {
                    open_for_move(&service, store, &mut policy_keys, revision)?;
                }
                // The kind keeps its content key: only its wrap moves (see `tenant`).
                let content_key = keys::open_content_key(
                    store,
                    &d.guid,
                    d.applied_revision.as_deref().map(|r| (r, &policy_keys[r])),
                    &d.wrapped_content_key,
                )?;
                let wrapped = keys::seal_content_key(
                    store,
                    &d.guid,
                    Some((target.as_str(), &policy_keys[target])),
                    &content_key,
                )?;
                data_moves.push(DataMove {
                    workload: d.workload.clone(),
                    from: d.applied_revision.clone(),
                    to: target.clone(),
                    wrapped,
                });
            }
        }
        let done = (moves.len() + data_moves.len()) as u64;
        Ok(Batch {
            cursor,
            done,
            finished,
            apply: Box::new(move |tx| {
                apply_data_moves(tx, data_moves)?;
                apply_moves(tx, moves)
            }),
        })
    }
}

/// Opens `revision`'s policy key into `policy_keys` unless it is there. The availability key
/// keeps data readable during an outage; moving keys can wait for the vaults, so a batch that
/// would need it is retried later instead.
fn open_for_move(
    service: &Service,
    store: &Store,
    policy_keys: &mut HashMap<String, Secret>,
    revision: &str,
) -> Result<()> {
    if !policy_keys.contains_key(revision) {
        let key = keys::open_policy_key(service, store, revision)?;
        if key.availability_used {
            return Err(crate::error::Error::new(
                crate::error::CkStatus::Unavailable,
                "VaultUnreachable",
                "the vaults of the policy's keys cannot be reached; the job retries",
                revision,
            ));
        }
        policy_keys.insert(revision.to_string(), key.key);
    }
    Ok(())
}

/// What one tenant data kind's move writes.
struct DataMove {
    workload: String,
    from: Option<String>,
    to: String,
    wrapped: Vec<u8>,
}

fn apply_data_moves(tx: &Tx<'_>, moves: Vec<DataMove>) -> Result<()> {
    for mv in moves {
        // Guarded like a mailbox's: a kind moved meanwhile is left alone.
        if m365::rewrap_data_key(tx, &mv.workload, mv.from.as_deref(), &mv.to, &mv.wrapped)? {
            for (revision, delta) in mv.from.into_iter().map(|r| (r, -1)).chain([(mv.to, 1)]) {
                let is_current = is_current_revision(tx, &revision)?;
                sql::adjust_revision_references(tx, &revision, delta, is_current)?;
            }
        }
    }
    Ok(())
}

fn is_current_revision(tx: &Tx<'_>, revision: &str) -> Result<bool> {
    Ok(match sql::get_revision(tx, revision)? {
        Some(r) => sql::get_policy(tx, &r.policy)?.is_some_and(|p| p.current_revision == revision),
        None => false,
    })
}

fn apply_moves(tx: &Tx<'_>, moves: Vec<MailboxMove>) -> Result<()> {
    let mut deltas: Vec<(String, i64)> = Vec::new();
    let mut add = |revision: String, d: i64| match deltas.iter_mut().find(|(r, _)| *r == revision) {
        Some((_, total)) => *total += d,
        None => deltas.push((revision, d)),
    };
    for mv in moves {
        if mv.new_content_key {
            // An item delivered since the batch read the mailbox is sealed under the old key:
            // retry the batch rather than leave that item unreadable.
            let now = sql::item_ids(tx, mv.seq)?;
            let read: Vec<i64> = mv.items.iter().map(|(id, _)| *id).collect();
            if now != read {
                return Err(crate::error::Error::new(
                    crate::error::CkStatus::Busy,
                    "MailboxChanged",
                    "a mailbox received items while the job re-encrypted it; the batch is retried",
                    mv.seq.to_string(),
                ));
            }
        }
        // Guarded by the revision the batch read: a mailbox moved meanwhile is left alone.
        if sql::rewrap_content_key(
            tx,
            mv.seq,
            mv.from.as_deref(),
            mv.to.as_deref(),
            &mv.wrapped,
        )? {
            for (id, sealed) in &mv.items {
                sql::update_item(tx, *id, sealed)?;
            }
            if let Some(from) = mv.from {
                add(from, -1);
            }
            if let Some(to) = mv.to {
                add(to, 1);
            }
        }
    }
    for (revision, delta) in deltas {
        let is_current = is_current_revision(tx, &revision)?;
        sql::adjust_revision_references(tx, &revision, delta, is_current)?;
    }
    Ok(())
}
