//! The background job behind Register, Update and Restore: rewraps every site key under the
//! policy's new TIK, a batch at a time, in site id order. The cursor (the last site id done)
//! commits with each batch, so a crash or exit resumes where it stopped; a site is moved only
//! from the generation it was read under, so a batch applied late changes nothing twice. The
//! last batch sets the policy Registered, drops TIKs no site needs and the key references
//! they held.

use super::keys::{self, service_principal};
use super::model::{self as m, REFERRER_NAME};
use crate::crypto::Secret;
use crate::error::{Error, Result};
use crate::jobs::{Batch, JobContext, JobKind, JobRecord};
use crate::store::sharepoint::{self as sql, PendingSite, TikRow};
use crate::store::Tx;
use crate::vault::boundary::{Caller, KeyReference};
use serde_json::json;
use std::collections::hash_map::{Entry, HashMap};
use std::time::Duration;

pub const KIND: &str = "sharepoint-rewrap";
/// Site keys per batch: a batch is two RSA unwraps plus AES key wraps, well under the lease.
pub const DEFAULT_BATCH_SIZE: u64 = 2_000;
/// Overrides the batch size (1-10000) for jobs enqueued while it is set.
pub const BATCH_SIZE_ENV: &str = "CUSTOMER_KEY_SPO_BATCH_SIZE";
/// Milliseconds (0-1000) each batch waits before it commits, for jobs enqueued while it is set:
/// lets a test or a rehearsal watch, or interrupt, a roll of few sites.
pub const BATCH_PAUSE_ENV: &str = "CUSTOMER_KEY_SPO_BATCH_PAUSE_MS";

/// Why the job runs: where the old site keys are unwrapped from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// From the Microsoft-managed key.
    Register,
    /// From the previous TIK, through either customer key.
    Roll,
    /// From the previous TIK, through the availability key (both customer keys are lost).
    Recover,
}

impl Purpose {
    fn name(self) -> &'static str {
        match self {
            Purpose::Register => "Register",
            Purpose::Roll => "Roll",
            Purpose::Recover => "Recover",
        }
    }
    fn parse(s: &str) -> Option<Purpose> {
        [Purpose::Register, Purpose::Roll, Purpose::Recover]
            .into_iter()
            .find(|p| p.name() == s)
    }
    /// The operation the job's vault calls are audited under.
    fn operation(self) -> &'static str {
        match self {
            Purpose::Register => "Register-SPODataEncryptionPolicy",
            Purpose::Roll => "Update-SPODataEncryptionPolicy",
            Purpose::Recover => "Restore-SPODataEncryptionPolicy",
        }
    }
}

fn env_number(name: &str, default: u64, low: u64, high: u64) -> Result<u64> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| (low..=high).contains(n))
            .ok_or_else(|| {
                Error::invalid_argument(
                    name,
                    format!("must be a whole number from {low} to {high}"),
                )
            }),
    }
}

/// Inside the policy change's transaction: the job that moves every site to `generation`.
pub fn enqueue(
    tx: &Tx<'_>,
    generation: i64,
    purpose: Purpose,
    total: u64,
    now: i64,
) -> Result<i64> {
    let payload = json!({
        "generation": generation,
        "purpose": purpose.name(),
        "batch_size": env_number(BATCH_SIZE_ENV, DEFAULT_BATCH_SIZE, 1, 10_000)?,
        "pause_ms": env_number(BATCH_PAUSE_ENV, 0, 0, 1_000)?,
    });
    crate::jobs::enqueue(tx, KIND, super::model::TARGET, total, &payload, now)
}

struct Payload {
    generation: i64,
    purpose: Purpose,
    batch_size: u64,
    pause_ms: u64,
}

fn payload(job: &JobRecord) -> Result<Payload> {
    let p = &job.payload;
    let bad = || Error::internal(format!("job {} has a malformed payload", job.id));
    Ok(Payload {
        generation: p["generation"].as_i64().ok_or_else(bad)?,
        purpose: p["purpose"]
            .as_str()
            .and_then(Purpose::parse)
            .ok_or_else(bad)?,
        batch_size: p["batch_size"]
            .as_u64()
            .filter(|n| *n > 0)
            .ok_or_else(bad)?,
        pause_ms: p["pause_ms"].as_u64().ok_or_else(bad)?.min(1_000),
    })
}

/// What a batch reads in one snapshot.
struct BatchInput {
    current: bool,
    pending: Vec<PendingSite>,
    target: Option<TikRow>,
    sources: Vec<TikRow>,
}

pub struct RewrapKind;

impl JobKind for RewrapKind {
    fn name(&self) -> &'static str {
        KIND
    }

    fn next_batch(&self, ctx: &JobContext, job: &JobRecord) -> Result<Batch> {
        let p = payload(job)?;
        let after: i64 = match job.cursor.as_deref() {
            None => 0,
            Some(c) => c
                .parse()
                .map_err(|_| Error::internal(format!("job {} has a malformed cursor", job.id)))?,
        };
        let input = ctx.store.read(|tx| {
            let policy = sql::get_policy(tx)?;
            let current = policy
                .as_ref()
                .is_some_and(|pol| pol.job_id == Some(job.id) && pol.generation == p.generation);
            if !current {
                return Ok(BatchInput {
                    current,
                    pending: Vec::new(),
                    target: None,
                    sources: Vec::new(),
                });
            }
            let pending = sql::sites_to_rewrap(tx, after, p.generation, p.batch_size)?;
            let mut sources = Vec::new();
            for g in pending.iter().filter_map(|s| s.generation) {
                if !sources.iter().any(|t: &TikRow| t.generation == g) {
                    sources.extend(sql::get_tik(tx, g)?);
                }
            }
            Ok(BatchInput {
                current,
                pending,
                target: sql::get_tik(tx, p.generation)?,
                sources,
            })
        })?;
        if !input.current {
            // Superseded (cannot happen while changes wait for Registered, but a stale job
            // must never touch the policy).
            return Ok(Batch {
                cursor: job.cursor.clone(),
                done: 0,
                finished: true,
                apply: Box::new(|_| Ok(())),
            });
        }
        let target = input
            .target
            .ok_or_else(|| Error::internal("the rewrap job's TIK is missing"))?;
        let finished = (input.pending.len() as u64) < p.batch_size;
        let last = input.pending.last().map_or(after, |s| s.id);
        let rewrapped = if input.pending.is_empty() {
            Vec::new()
        } else {
            rewrap_sites(ctx, &p, &target, &input.sources, &input.pending)?
        };
        // Pacing, cut short by a close: the batch worked out still commits.
        let _ = ctx.stop.sleep(Duration::from_millis(p.pause_ms));
        let done = rewrapped.len() as u64;
        let (job_id, generation, now) = (job.id, p.generation, ctx.now());
        Ok(Batch {
            cursor: Some(last.to_string()),
            done,
            finished,
            apply: Box::new(move |tx| {
                for (id, from, wrapped) in &rewrapped {
                    sql::rewrap_site(tx, *id, *from, generation, wrapped)?;
                }
                if finished {
                    finish(tx, job_id, generation, now)?;
                }
                Ok(())
            }),
        })
    }
}

/// Site key moves: (site id, generation it was under, its key wrapped under the target TIK).
type Rewrapped = Vec<(i64, Option<i64>, Vec<u8>)>;

fn rewrap_sites(
    ctx: &JobContext,
    p: &Payload,
    target: &TikRow,
    sources: &[TikRow],
    pending: &[PendingSite],
) -> Result<Rewrapped> {
    let sp = service_principal();
    let caller = Caller {
        principal: &sp,
        clock: &ctx.clock,
        time_shift: ctx.time_shift,
        operation: p.purpose.operation(),
    };
    let vaults = crate::vault::vaults_for_store(&ctx.store, ctx.remote.as_ref());
    let new_tik = keys::unwrap_tik(vaults.as_ref(), &caller, target)?;
    let mut old: HashMap<Option<i64>, Secret> = HashMap::new();
    let mut out = Vec::with_capacity(pending.len());
    for site in pending {
        if let Entry::Vacant(slot) = old.entry(site.generation) {
            let kek = match site.generation {
                None => keys::managed_key(&ctx.store)?,
                Some(g) => {
                    let tik = sources
                        .iter()
                        .find(|t| t.generation == g)
                        .ok_or_else(|| Error::internal(format!("TIK generation {g} is missing")))?;
                    if p.purpose == Purpose::Recover {
                        keys::unwrap_tik_for_recovery(&ctx.store, tik)?
                    } else {
                        keys::unwrap_tik(vaults.as_ref(), &caller, tik)?
                    }
                }
            };
            slot.insert(kek);
        }
        let site_key = keys::unwrap(&old[&site.generation], &site.wrapped_site_key)?;
        out.push((site.id, site.generation, keys::wrap(&new_tik, &site_key)?));
    }
    Ok(out)
}

/// The last batch: the policy is Registered on `generation`, and what no site needs goes.
fn finish(tx: &Tx<'_>, job_id: i64, generation: i64, now: i64) -> Result<()> {
    let Some(mut policy) = sql::get_policy(tx)? else {
        return Ok(());
    };
    if policy.job_id != Some(job_id) || policy.generation != generation {
        return Ok(());
    }
    policy.state = m::REGISTERED.to_string();
    policy.rolling_key_type = None;
    policy.updated = now;
    sql::put_policy(tx, &policy)?;
    sql::delete_unused_tiks(tx, generation)?;
    record_key_references(tx)
}

/// Records, in `key_references`, every key version a TIK still in use is wrapped under.
pub fn record_key_references(tx: &Tx<'_>) -> Result<()> {
    let mut versions: Vec<(String, String, String)> = Vec::new();
    for tik in sql::list_tiks(tx)? {
        for id in [&tik.primary_key_id, &tik.secondary_key_id] {
            let key = KeyReference::parse("KeyId", id)?;
            let entry = (key.vault_name, key.name, key.version.unwrap_or_default());
            if !versions.contains(&entry) {
                versions.push(entry);
            }
        }
    }
    sql::set_key_references(tx, REFERRER_NAME, &versions)
}
