//! New-, Get-MoveRequest and Get-MoveRequestStatistics: a mail user migrated into a mailbox
//! (its content encrypted under the pre-assigned policy as it moves), or a mailbox moved so
//! that its assigned policy applies now. The move is the background job's work.

use super::{find_mailbox, job, MAIL_USER, USER_MAILBOX};
use crate::error::{Error, Result};
use crate::jobs::{self, JobState};
use crate::operations::Context;
use crate::store::exchange as sql;
use serde::Serialize;

arguments! {
    pub struct MoveArgs {
        pub identity: String = "Identity", String, "Name, alias, SMTP address or GUID of the mailbox or mail user", mandatory, pipeline, pipeline_value, position(0);
    }
}

arguments! {
    pub struct GetMoveArgs {
        pub identity: Option<String> = "Identity", String, "Name, alias, SMTP address or GUID", pipeline, pipeline_value, position(0);
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MoveRequestOut {
    pub identity: String,
    pub display_name: String,
    pub alias: String,
    pub exchange_guid: String,
    pub status: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MoveRequestStatisticsOut {
    pub identity: String,
    pub display_name: String,
    pub status: String,
    pub percent_complete: i64,
    pub bytes_transferred: i64,
    pub last_failure: Option<String>,
}

fn status(state: Option<JobState>) -> &'static str {
    match state {
        Some(JobState::Queued) | None => "Queued",
        Some(JobState::Running) => "InProgress",
        Some(JobState::Completed) => "Completed",
        Some(JobState::Failed) | Some(JobState::Cancelled) => "Failed",
    }
}

pub fn new_move_request(ctx: &Context<'_>, a: MoveArgs) -> Result<MoveRequestOut> {
    let now = ctx.now();
    let out = ctx.transaction(&a.identity.clone(), |tx| {
        let m = find_mailbox(tx, "Identity", &a.identity)?;
        if let Some((_, job_id, _)) = sql::move_requests(tx, Some(m.seq))?.first() {
            let running = crate::store::jobs::get(tx, *job_id)?
                .is_some_and(|j| matches!(j.state, JobState::Queued | JobState::Running));
            if running {
                return Err(Error::conflict(
                    format!(
                        "Identity: '{}' already has a move request in progress",
                        m.smtp
                    ),
                    m.smtp.clone(),
                ));
            }
        }
        if m.kind == MAIL_USER {
            sql::set_kind(tx, m.seq, USER_MAILBOX)?;
        }
        let (_, bytes) = sql::item_totals(tx, m.seq)?;
        let job_id = job::enqueue_for_mailbox(tx, &m, now)?;
        sql::upsert_move_request(tx, m.seq, job_id, bytes, now)?;
        Ok(MoveRequestOut {
            identity: m.alias.clone(),
            display_name: m.name.clone(),
            alias: m.alias.clone(),
            exchange_guid: m.guid.clone(),
            status: "Queued".into(),
        })
    })?;
    jobs::notify(ctx.store());
    Ok(out)
}

pub fn get_move_request(ctx: &Context<'_>, a: GetMoveArgs) -> Result<Vec<MoveRequestOut>> {
    ctx.read(|tx| {
        let only = a
            .identity
            .as_deref()
            .map(|i| find_mailbox(tx, "Identity", i))
            .transpose()?;
        let mut out = Vec::new();
        for (seq, job_id, _) in sql::move_requests(tx, only.as_ref().map(|m| m.seq))? {
            let Some(m) = sql::get_mailbox(tx, seq)? else {
                continue;
            };
            let state = crate::store::jobs::get(tx, job_id)?.map(|j| j.state);
            out.push(MoveRequestOut {
                identity: m.alias.clone(),
                display_name: m.name,
                alias: m.alias,
                exchange_guid: m.guid,
                status: status(state).into(),
            });
        }
        if let (Some(m), true) = (&only, out.is_empty()) {
            return Err(Error::not_found(
                "MoveRequestNotFound",
                format!("Identity: '{}' has no move request", m.smtp),
                m.smtp.clone(),
            ));
        }
        Ok(out)
    })
}

pub fn get_move_request_statistics(
    ctx: &Context<'_>,
    a: MoveArgs,
) -> Result<MoveRequestStatisticsOut> {
    ctx.read(|tx| {
        let m = find_mailbox(tx, "Identity", &a.identity)?;
        let Some((_, job_id, bytes)) = sql::move_requests(tx, Some(m.seq))?.into_iter().next()
        else {
            return Err(Error::not_found(
                "MoveRequestNotFound",
                format!("Identity: '{}' has no move request", m.smtp),
                m.smtp.clone(),
            ));
        };
        let job = crate::store::jobs::get(tx, job_id)?;
        let state = job.as_ref().map(|j| j.state);
        let percent = match state {
            Some(JobState::Completed) => 100,
            _ => job.as_ref().map_or(0, |j| {
                (j.done * 100).checked_div(j.total).unwrap_or(0) as i64
            }),
        };
        Ok(MoveRequestStatisticsOut {
            identity: m.alias.clone(),
            display_name: m.name,
            status: status(state).into(),
            percent_complete: percent,
            bytes_transferred: bytes * percent / 100,
            last_failure: job.and_then(|j| j.last_error),
        })
    })
}
