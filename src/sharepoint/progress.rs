//! Where a change of the policy stands: its progress over the sites, the ResourceBusy refusal
//! of a second change while one runs, and resuming a change whose job stopped (failed after
//! its retries, or cancelled) when the same change is asked for again.

use super::model::{self as m, percent, thousands, KeyVersionUsage, TARGET};
use super::rewrap::{self, Purpose};
use crate::error::{CkStatus, Error, Result};
use crate::jobs::{JobRecord, JobState};
use crate::operations::Context;
use crate::store::sharepoint::{self as sql, PolicyRow, TikRow};
use crate::store::Tx;

/// How far the policy's current job is: sites on the policy's TIK of all sites.
pub(crate) fn progress(tx: &Tx<'_>, policy: Option<&PolicyRow>) -> Result<(u64, u64)> {
    let counts = sql::sites_by_generation(tx)?;
    let total = counts.iter().map(|(_, n)| n).sum();
    let done = policy.map_or(0, |p| {
        counts
            .iter()
            .filter(|(g, _)| *g == Some(p.generation))
            .map(|(_, n)| *n)
            .sum()
    });
    Ok((done, total))
}

/// The ResourceBusy error of a change asked for while the policy is not Registered.
pub(crate) fn busy(tx: &Tx<'_>, policy: &PolicyRow) -> Result<Error> {
    let (done, total) = progress(tx, Some(policy))?;
    let what = match (policy.state.as_str(), &policy.rolling_key_type) {
        (m::ROLLING, Some(key_type)) => format!("Rolling {key_type}"),
        (state, _) => state.to_string(),
    };
    let progress = format!(
        "{what}: {} of {} sites, {}%",
        thousands(done),
        thousands(total),
        percent(done, total)
    );
    let message = match stalled_job(tx, policy)? {
        Some(job) => format!(
            "A key roll stopped before it finished ({progress}): {}. Repeat the same {} to resume it; SharePoint allows one roll at a time.",
            job.last_error.as_deref().unwrap_or("the job was cancelled"),
            resuming_operation(policy)
        ),
        None => format!(
            "A key roll is in progress ({progress}); SharePoint allows one at a time. Wait until Get-SPODataEncryptionPolicy shows State Registered, then repeat."
        ),
    };
    Ok(Error::new(
        CkStatus::Busy,
        "KeyRollInProgress",
        message,
        TARGET,
    ))
}

fn resuming_operation(policy: &PolicyRow) -> &'static str {
    match policy.state.as_str() {
        m::REGISTERING => "Register-SPODataEncryptionPolicy",
        m::RECOVERING => "Restore-SPODataEncryptionPolicy",
        _ => "Update-SPODataEncryptionPolicy",
    }
}

/// The policy's job when it ended without finishing (failed after its retries, or cancelled).
pub(crate) fn stalled_job(tx: &Tx<'_>, policy: &PolicyRow) -> Result<Option<JobRecord>> {
    if policy.state == m::REGISTERED {
        return Ok(None);
    }
    let Some(id) = policy.job_id else {
        return Ok(None);
    };
    Ok(crate::store::jobs::get(tx, id)?
        .filter(|job| matches!(job.state, JobState::Failed | JobState::Cancelled)))
}

/// Asking again for the change a stalled job was making (same state, same key version as its
/// target TIK) resumes it: a new job for the same TIK, which skips the sites already moved.
/// False when there is nothing to resume; the caller's own checks then apply.
pub(crate) fn resume_if_stalled(
    ctx: &Context<'_>,
    state: &str,
    purpose: Purpose,
    same_change: impl Fn(&PolicyRow, &TikRow) -> bool,
) -> Result<bool> {
    let candidate = ctx.read(|tx| {
        Ok(match sql::get_policy(tx)? {
            Some(policy) if policy.state == state => stalled_job(tx, &policy)?.is_some(),
            _ => false,
        })
    })?;
    if !candidate {
        return Ok(false);
    }
    let resumed = ctx.transaction(TARGET, |tx| {
        let Some(mut policy) = sql::get_policy(tx)? else {
            return Ok(false);
        };
        if policy.state != state || stalled_job(tx, &policy)?.is_none() {
            return Ok(false);
        }
        let tik = super::sites::tik_of(tx, Some(policy.generation))?
            .ok_or_else(|| Error::internal("the policy has no TIK"))?;
        if !same_change(&policy, &tik) {
            return Ok(false);
        }
        let (done, total) = progress(tx, Some(&policy))?;
        policy.job_id = Some(rewrap::enqueue(
            tx,
            policy.generation,
            purpose,
            total - done,
            ctx.now(),
        )?);
        policy.updated = ctx.now();
        sql::put_policy(tx, &policy)?;
        Ok(true)
    })?;
    if resumed {
        crate::jobs::notify(ctx.store());
    }
    Ok(resumed)
}

/// The key versions the TIKs in use are wrapped under, with how many sites depend on each.
pub(crate) fn key_usage(tx: &Tx<'_>) -> Result<Vec<KeyVersionUsage>> {
    let counts = sql::sites_by_generation(tx)?;
    let mut usage: Vec<KeyVersionUsage> = Vec::new();
    for tik in sql::list_tiks(tx)? {
        let sites = counts
            .iter()
            .find(|(g, _)| *g == Some(tik.generation))
            .map_or(0, |(_, n)| *n);
        for key_id in [tik.primary_key_id, tik.secondary_key_id] {
            match usage
                .iter_mut()
                .find(|u| u.key_id.eq_ignore_ascii_case(&key_id))
            {
                Some(u) => u.sites += sites,
                None => usage.push(KeyVersionUsage { key_id, sites }),
            }
        }
    }
    Ok(usage)
}
