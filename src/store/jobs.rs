//! SQL for the job table: enqueueing, claiming under a lease, committing a batch against the
//! batch counter it was computed from, and recording failures. Also the test ledger table.
//!
//! Leases and backoff times are wall-clock milliseconds (`lease_until`, `not_before`): they are
//! between processes, and sessions may run on shifted clocks. A runner does not compare them
//! with its wall clock, which can be set; it times them on its monotonic clock (the runner's
//! `jobs::leases`), so [`claim`] asks it about each. `created` and `updated` are the enqueuing
//! or running session's clock, as every other time the engine shows.

use super::Tx;
use crate::error::{Error, Result};
use rusqlite::{params, OptionalExtension, Row};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "Queued",
            JobState::Running => "Running",
            JobState::Completed => "Completed",
            JobState::Failed => "Failed",
            JobState::Cancelled => "Cancelled",
        }
    }

    fn parse(s: &str) -> rusqlite::Result<JobState> {
        Ok(match s {
            "Queued" => JobState::Queued,
            "Running" => JobState::Running,
            "Completed" => JobState::Completed,
            "Failed" => JobState::Failed,
            "Cancelled" => JobState::Cancelled,
            other => {
                return Err(rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Text,
                    format!("unknown job state {other}").into(),
                ))
            }
        })
    }
}

/// One row of the job table, as job kinds and callers see it.
#[derive(Debug, Clone)]
pub struct JobRecord {
    pub id: i64,
    pub kind: String,
    pub target: String,
    pub state: JobState,
    pub done: u64,
    pub total: u64,
    pub cursor: Option<String>,
    pub payload: serde_json::Value,
    pub last_error: Option<String>,
    /// Failed attempts since the last committed batch.
    pub attempts: u32,
    pub created: i64,
    pub updated: i64,
}

/// A job this runner now holds the lease of, with the batch counter its next commit must match.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub record: JobRecord,
    pub batches: i64,
}

/// What a claim found.
pub enum Claim {
    Job(Box<ClaimedJob>),
    /// Nothing to run now; how soon something may become runnable (a backoff or a live lease
    /// ending), if anything waits.
    Idle {
        next_due: Option<Duration>,
    },
}

/// What may keep a Queued or Running job from a runner: another's lease, a backoff.
pub struct HeldJob<'a> {
    pub id: i64,
    pub owner: Option<&'a str>,
    pub lease_until_ms: Option<i64>,
    pub not_before_ms: Option<i64>,
    /// Moves with every committed batch, so a renewed lease shows even on a clock that stood.
    pub batches: i64,
}

/// The lease to take or renew: who, and until when (wall-clock ms, for other processes to see
/// it change; none of them compares it with its own clock).
pub struct Lease<'a> {
    pub owner: &'a str,
    pub now_ms: i64,
    pub until_ms: i64,
}

/// How a batch ends the job row.
pub struct BatchUpdate<'a> {
    pub cursor: Option<&'a str>,
    pub done: u64,
    pub finished: bool,
    pub now: i64,
}

/// How a failed attempt is recorded.
pub struct FailureUpdate<'a> {
    pub error: &'a str,
    /// Give up now (a panic, or the last allowed attempt).
    pub fail: bool,
    pub retry_at_ms: i64,
    pub now: i64,
}

const COLUMNS: &str = "id, kind, target, state, done, total, cursor, payload, last_error, attempts, created, updated, batches";

fn job_row(r: &Row<'_>) -> rusqlite::Result<ClaimedJob> {
    let payload: String = r.get(7)?;
    let state: String = r.get(3)?;
    Ok(ClaimedJob {
        record: JobRecord {
            id: r.get(0)?,
            kind: r.get(1)?,
            target: r.get(2)?,
            state: JobState::parse(&state)?,
            done: r.get::<_, i64>(4)?.max(0) as u64,
            total: r.get::<_, i64>(5)?.max(0) as u64,
            cursor: r.get(6)?,
            payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
            last_error: r.get(8)?,
            attempts: r.get::<_, i64>(9)?.clamp(0, i64::from(u32::MAX)) as u32,
            created: r.get(10)?,
            updated: r.get(11)?,
        },
        batches: r.get(12)?,
    })
}

fn to_sql_count(value: u64, parameter: &str) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::invalid_argument(parameter, "is too large"))
}

/// Inserts a Queued job; it becomes visible to runners when `tx` commits.
pub fn insert(
    tx: &Tx<'_>,
    kind: &str,
    target: &str,
    total: u64,
    payload: &str,
    now: i64,
) -> Result<i64> {
    tx.execute(
        "INSERT INTO jobs (kind, target, state, done, total, payload, attempts, created, updated, batches)
         VALUES (?1, ?2, 'Queued', 0, ?3, ?4, 0, ?5, ?5, 0)",
        params![kind, target, to_sql_count(total, "total")?, payload, now],
    )?;
    Ok(tx.last_insert_rowid())
}

/// A job as status reads show it: with the runner's trouble when that holds it up.
pub fn get(tx: &Tx<'_>, id: i64) -> Result<Option<JobRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1");
    let trouble = runner_trouble_of(tx);
    Ok(tx
        .query_row(&sql, [id], job_row)
        .optional()?
        .map(|c| with_runner_trouble(c.record, trouble.as_ref())))
}

pub fn list(tx: &Tx<'_>, kind: Option<&str>, target: Option<&str>) -> Result<Vec<JobRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM jobs WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR target = ?2) ORDER BY id"
    );
    let trouble = runner_trouble_of(tx);
    tx.rows(&sql, params![kind, target], |r| {
        job_row(r).map(|c| with_runner_trouble(c.record, trouble.as_ref()))
    })
}

/// Why the job runner of a store cannot use it: the store error's code and message (which the
/// engine keeps free of secrets) and when the trouble started, on the runner's session clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerTrouble {
    pub code: String,
    pub message: String,
    pub since: i64,
}

impl RunnerTrouble {
    /// The last error status reads show on a job this trouble holds up.
    pub fn describe(&self) -> String {
        format!(
            "JobRunnerStalled: the job runner cannot use the store since {}: {}: {}",
            crate::time::iso_from_unix(self.since),
            self.code,
            self.message
        )
    }
}

/// The runner trouble of one `Store`, in memory only.
#[derive(Default)]
pub struct RunnerTroubleCell(Mutex<Option<RunnerTrouble>>);

impl RunnerTroubleCell {
    pub(crate) fn set(&self, error: &Error, now: i64) {
        let mut trouble = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let since = trouble.as_ref().map_or(now, |t| t.since);
        *trouble = Some(RunnerTrouble {
            code: error.code.clone(),
            message: error.message.clone(),
            since,
        });
    }

    pub(crate) fn clear(&self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    pub fn get(&self) -> Option<RunnerTrouble> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

fn runner_trouble_of(tx: &Tx<'_>) -> Option<RunnerTrouble> {
    tx.runner_trouble().and_then(RunnerTroubleCell::get)
}

/// A Queued or Running job shows the runner's trouble as its last error, unless its own error
/// is newer than the trouble (recorded after it started, by another process's runner, say).
fn with_runner_trouble(mut job: JobRecord, trouble: Option<&RunnerTrouble>) -> JobRecord {
    if let Some(trouble) = trouble {
        let held_up = matches!(job.state, JobState::Queued | JobState::Running);
        let own_newer = job.last_error.is_some() && job.updated > trouble.since;
        if held_up && !own_newer {
            job.last_error = Some(trouble.describe());
        }
    }
    job
}

/// Takes the lease of the runnable job of one of `kinds` that waited longest since its last
/// claim. A job is runnable when Queued or Running and `held` (the runner's judgement of its
/// lease and backoff) says it waits no longer; otherwise `held` says how long it still waits.
pub fn claim(
    tx: &Tx<'_>,
    kinds: &[&str],
    lease: &Lease<'_>,
    held: &mut dyn FnMut(&HeldJob<'_>) -> Option<Duration>,
) -> Result<Claim> {
    let mut stmt = tx.prepare(
        "SELECT id, kind, owner, lease_until, not_before, batches FROM jobs
         WHERE state IN ('Queued', 'Running')
         ORDER BY COALESCE(last_claimed, 0), id",
    )?;
    type Candidate = (i64, String, Option<String>, Option<i64>, Option<i64>, i64);
    let candidates = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<Candidate>>>()?;
    let mut next_due: Option<Duration> = None;
    for (id, kind, owner, lease_until, not_before, batches) in candidates {
        if !kinds.contains(&kind.as_str()) {
            continue;
        }
        let job = HeldJob {
            id,
            owner: owner.as_deref(),
            lease_until_ms: lease_until,
            not_before_ms: not_before,
            batches,
        };
        if let Some(wait) = held(&job) {
            next_due = Some(next_due.map_or(wait, |d| d.min(wait)));
            continue;
        }
        tx.execute(
            "UPDATE jobs SET state = 'Running', owner = ?2, lease_until = ?3, last_claimed = ?4 WHERE id = ?1",
            params![id, lease.owner, lease.until_ms, lease.now_ms],
        )?;
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1");
        return Ok(Claim::Job(Box::new(tx.query_row(&sql, [id], job_row)?)));
    }
    Ok(Claim::Idle { next_due })
}

/// Moves the job past one batch if it is still Running under `lease.owner` at batch counter
/// `batches`; false (nothing written) when another runner took it over or it was cancelled
/// meanwhile. The caller applies the batch's writes in the same transaction only on true.
pub fn advance(
    tx: &Tx<'_>,
    id: i64,
    batches: i64,
    lease: &Lease<'_>,
    update: &BatchUpdate<'_>,
) -> Result<bool> {
    let changed = tx.execute(
        "UPDATE jobs SET cursor = ?4, done = done + ?5, batches = batches + 1, attempts = 0,
             state = CASE WHEN ?6 THEN 'Completed' ELSE 'Running' END,
             owner = CASE WHEN ?6 THEN NULL ELSE owner END,
             lease_until = CASE WHEN ?6 THEN NULL ELSE ?7 END,
             not_before = NULL, updated = ?8
         WHERE id = ?1 AND batches = ?2 AND owner = ?3 AND state = 'Running'",
        params![
            id,
            batches,
            lease.owner,
            update.cursor,
            to_sql_count(update.done, "done")?,
            update.finished,
            lease.until_ms,
            update.now
        ],
    )?;
    Ok(changed == 1)
}

/// Records a failed attempt and gives the lease up, so any runner may retry after
/// `retry_at_ms`; or ends the job Failed. Ignored when `owner` no longer holds the job.
pub fn record_failure(
    tx: &Tx<'_>,
    id: i64,
    batches: i64,
    owner: &str,
    failure: &FailureUpdate<'_>,
) -> Result<()> {
    tx.run(
        "UPDATE jobs SET attempts = attempts + 1, last_error = ?4,
             state = CASE WHEN ?5 THEN 'Failed' ELSE state END,
             owner = NULL, lease_until = NULL, not_before = ?6, updated = ?7
         WHERE id = ?1 AND batches = ?2 AND owner = ?3 AND state = 'Running'",
        params![
            id,
            batches,
            owner,
            failure.error,
            failure.fail,
            failure.retry_at_ms,
            failure.now
        ],
    )
}

/// Gives up every lease `owner` holds (a runner stopping cleanly), so others resume at once.
pub fn release_leases(tx: &Tx<'_>, owner: &str) -> Result<()> {
    tx.run(
        "UPDATE jobs SET owner = NULL, lease_until = NULL WHERE owner = ?1",
        [owner],
    )
}

/// Cancels a Queued or Running job; false if it had already ended (or does not exist).
pub fn cancel(tx: &Tx<'_>, id: i64, now: i64) -> Result<bool> {
    let changed = tx.execute(
        "UPDATE jobs SET state = 'Cancelled', owner = NULL, lease_until = NULL, updated = ?2
         WHERE id = ?1 AND state IN ('Queued', 'Running')",
        params![id, now],
    )?;
    Ok(changed == 1)
}

/// The test-only ledger kind's writes: one row per item, UNIQUE per job, so applying a batch
/// twice fails instead of passing unnoticed. Test hooks only (the table stays in the schema,
/// so a store keeps one layout with or without the feature).
#[cfg(feature = "test-hooks")]
pub fn insert_test_ledger_items(
    tx: &Tx<'_>,
    job_id: i64,
    items: std::ops::Range<u64>,
) -> Result<()> {
    let mut stmt =
        tx.prepare_cached("INSERT INTO job_test_ledger (job_id, item) VALUES (?1, ?2)")?;
    for item in items {
        stmt.execute(params![job_id, to_sql_count(item, "item")?])?;
    }
    Ok(())
}

/// Wakes the runners of one `Store` value: a generation counter bumped on every notify, so a
/// runner that was busy when it was bumped does not sleep through it.
#[derive(Default)]
pub struct Wakeup {
    generation: Mutex<u64>,
    bell: Condvar,
}

impl Wakeup {
    pub fn notify(&self) {
        let mut generation = self.generation.lock().unwrap_or_else(|p| p.into_inner());
        *generation = generation.wrapping_add(1);
        self.bell.notify_all();
    }

    pub fn generation(&self) -> u64 {
        *self.generation.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sleeps up to `timeout` unless the generation moved past `seen` or `stop()` holds;
    /// returns the generation seen on waking.
    pub fn wait(&self, seen: u64, timeout: Duration, stop: &dyn Fn() -> bool) -> u64 {
        let generation = self.generation.lock().unwrap_or_else(|p| p.into_inner());
        let (generation, _) = self
            .bell
            .wait_timeout_while(generation, timeout, |g| *g == seen && !stop())
            .unwrap_or_else(|p| p.into_inner());
        *generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(state: JobState, last_error: Option<&str>, updated: i64) -> JobRecord {
        JobRecord {
            id: 1,
            kind: "k".into(),
            target: "t".into(),
            state,
            done: 0,
            total: 1,
            cursor: None,
            payload: serde_json::Value::Null,
            last_error: last_error.map(str::to_string),
            attempts: 0,
            created: 0,
            updated,
        }
    }

    #[test]
    fn runner_trouble_shows_on_the_jobs_it_holds_up_only() {
        let cell = RunnerTroubleCell::default();
        cell.set(&Error::internal("first"), 1_000);
        cell.set(&Error::internal("second"), 2_000);
        let trouble = cell.get().unwrap();
        // The trouble keeps the time it started and takes the newest error.
        assert_eq!(trouble.since, 1_000);
        assert!(trouble.message.contains("second"));
        let stalled = trouble.describe();
        assert!(stalled.starts_with(
            "JobRunnerStalled: the job runner cannot use the store since 1970-01-01T00:16:40Z: "
        ));
        let shown = |j| with_runner_trouble(j, Some(&trouble)).last_error;
        assert_eq!(
            shown(job(JobState::Queued, None, 5_000)),
            Some(stalled.clone())
        );
        assert_eq!(
            shown(job(JobState::Running, Some("old"), 900)),
            Some(stalled.clone())
        );
        // A newer error of the job's own, and ended jobs, keep theirs.
        assert_eq!(
            shown(job(JobState::Running, Some("own"), 1_001)),
            Some("own".into())
        );
        assert_eq!(shown(job(JobState::Failed, Some("x"), 0)), Some("x".into()));
        assert_eq!(shown(job(JobState::Completed, None, 0)), None);
        cell.clear();
        assert!(cell.get().is_none());
    }
}
