//! A test-only job kind whose work the tests can verify row by row: item `n` of a job writes
//! row `(job, n)` of `job_test_ledger`, which is UNIQUE, so a batch applied twice fails loudly
//! and a lost batch leaves a gap. Sessions register it only when `CUSTOMER_KEY_TEST_JOB_KINDS=1`.

use super::{Batch, JobContext, JobKind, JobRecord};
use crate::error::{Error, Result};
use crate::store;
use std::ops::RangeInclusive;
use std::time::Duration;

/// Items `0..total`; payload `{"batch_size": 1-10000 (default 100), "pause_ms": 0-1000}`, the
/// pause being spent in each `next_batch` so a test can kill the process between batches.
pub struct LedgerKind;

impl LedgerKind {
    pub const NAME: &'static str = "test-ledger";
}

fn payload_number(
    job: &JobRecord,
    field: &str,
    default: u64,
    range: RangeInclusive<u64>,
) -> Result<u64> {
    match job.payload.get(field) {
        None => Ok(default),
        Some(v) => v.as_u64().filter(|n| range.contains(n)).ok_or_else(|| {
            Error::invalid_argument(
                &format!("payload.{field}"),
                format!(
                    "must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            )
        }),
    }
}

impl JobKind for LedgerKind {
    fn name(&self) -> &'static str {
        LedgerKind::NAME
    }

    fn next_batch(&self, _ctx: &JobContext, job: &JobRecord) -> Result<Batch> {
        let batch_size = payload_number(job, "batch_size", 100, 1..=10_000)?;
        let pause_ms = payload_number(job, "pause_ms", 0, 0..=1_000)?;
        let start: u64 = match job.cursor.as_deref() {
            None => 0,
            Some(c) => c
                .parse()
                .map_err(|_| Error::internal("the ledger job's cursor is not a number"))?,
        };
        std::thread::sleep(Duration::from_millis(pause_ms));
        let end = start.saturating_add(batch_size).min(job.total);
        let job_id = job.id;
        Ok(Batch {
            cursor: Some(end.to_string()),
            done: end.saturating_sub(start),
            finished: end >= job.total,
            apply: Box::new(move |tx| {
                store::jobs::insert_test_ledger_items(tx, job_id, start..end)
            }),
        })
    }
}
