//! Tenant data the multi-workload policy protects: Teams chat messages and meeting recordings,
//! each kind with its own content key, under the assigned policy's current revision (or the
//! Microsoft-managed key while none is assigned). Add- and Get-M365DataItem make the encryption
//! observable, as Add- and Get-MailboxItem do for mailboxes.

use super::super::keys::{self, ItemText};
use super::super::mailboxes::{open_content_key, retry_busy};
use super::super::Service;
use super::WORKLOAD;
use crate::crypto::{self, Secret};
use crate::error::{CkStatus, Error, Result};
use crate::operations::Context;
use crate::store::m365::{self, DataRow};
use crate::time::iso_from_unix;
use serde::Serialize;

/// The kinds of tenant data modelled, by the name -Workload takes.
pub const DATA_WORKLOADS: &[&str] = &["TeamsChat", "TeamsMeetingRecording"];
/// Items a Get- reads per transaction.
const PAGE: i64 = 1000;

arguments! {
    pub struct AddDataItemArgs {
        pub workload: String = "Workload", String, "The kind of tenant data: TeamsChat or TeamsMeetingRecording", mandatory, allowed(DATA_WORKLOADS), position(0);
        pub subject: String = "Subject", String, "Subject (a chat's topic, a recording's title)", mandatory;
        pub body: String = "Body", String, "Content of the item", mandatory;
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataItemOut {
    pub workload: String,
    pub subject: String,
    pub body: String,
    pub received: String,
    pub size: i64,
    /// The revision of the multi-workload policy the kind's content key is under; null: the
    /// Microsoft-managed key.
    #[serde(rename = "DataEncryptionPolicyID")]
    pub data_encryption_policy_id: Option<String>,
}

/// The kind's content key, opened through its policy's keys (or the Microsoft-managed key); a
/// use of the availability key is recorded on the kind and in the audit table.
fn open_data_key(ctx: &Context<'_>, service: &Service, d: &DataRow) -> Result<Secret> {
    open_content_key(
        ctx,
        service,
        &d.guid,
        d.applied_revision.as_deref(),
        &d.wrapped_content_key,
        &d.workload,
        |tx| m365::record_availability_use(tx, &d.workload, ctx.now()),
    )
}

/// The kind's row and its content key: an existing kind's, or for a kind's first item a new
/// content key under the assigned policy's current revision (or the Microsoft-managed key),
/// `new` until the item's transaction inserts it.
struct DataKey {
    row: DataRow,
    key: Secret,
    new: bool,
}

fn data_key(ctx: &Context<'_>, service: &Service, workload: &str) -> Result<DataKey> {
    if let Some(row) = ctx.read(|tx| m365::get_data(tx, workload))? {
        let key = open_data_key(ctx, service, &row)?;
        return Ok(DataKey {
            row,
            key,
            new: false,
        });
    }
    let target = ctx.read(|tx| {
        Ok(m365::assignment(tx)?
            .filter(|(p, _)| !p.purged)
            .map(|(p, _)| p.current_revision))
    })?;
    let guid = crypto::new_guid()?;
    let key = keys::new_key()?;
    let wrapped = match &target {
        Some(revision) => {
            let pk = keys::open_policy_key(service, ctx.store(), revision)?;
            keys::seal_content_key(ctx.store(), &guid, Some((revision, &pk.key)), &key)?
        }
        None => keys::seal_content_key(ctx.store(), &guid, None, &key)?,
    };
    Ok(DataKey {
        row: DataRow {
            workload: workload.to_string(),
            guid,
            applied_revision: target,
            wrapped_content_key: wrapped,
            availability_uses: 0,
            last_availability_use: None,
            created: ctx.now(),
        },
        key,
        new: true,
    })
}

pub fn add_data_item(ctx: &Context<'_>, a: AddDataItemArgs) -> Result<DataItemOut> {
    let (text, size) = ItemText::checked(&a.subject, &a.body)?;
    let service = Service::for_call_as(ctx, WORKLOAD);
    // A kind's first item creates its content key in the same transaction; should another
    // session create it meanwhile, the item is sealed again under that one. The job may rewrap
    // a kind's key, but never changes it.
    const ATTEMPTS: usize = 3;
    retry_busy(ATTEMPTS, "DataBusy", || {
        let d = data_key(ctx, &service, &a.workload)?;
        let sealed = keys::seal_item(&d.key, &d.row.guid, &text)?;
        let now = ctx.now();
        let revision = ctx.transaction(&a.workload, |tx| {
            let current = m365::get_data(tx, &d.row.workload)?;
            match (&current, d.new) {
                (None, true) => {
                    m365::insert_data(tx, &d.row)?;
                    if let Some(revision) = &d.row.applied_revision {
                        crate::store::exchange::adjust_revision_references(tx, revision, 1, true)?;
                    }
                }
                (Some(c), false) if c.guid == d.row.guid => {}
                _ => {
                    return Err(Error::new(
                        CkStatus::Busy,
                        "DataBusy",
                        format!("{}: its content key was created by another session meanwhile; repeat the command", d.row.workload),
                        d.row.workload.clone(),
                    ))
                }
            }
            m365::insert_item(tx, &d.row.workload, now, size, &sealed)?;
            Ok(m365::get_data(tx, &d.row.workload)?.and_then(|c| c.applied_revision))
        })?;
        Ok(DataItemOut {
            workload: d.row.workload,
            subject: a.subject.clone(),
            body: a.body.clone(),
            received: iso_from_unix(now),
            size,
            data_encryption_policy_id: revision,
        })
    })
}

arguments! {
    pub struct GetDataItemArgs {
        pub workload: Option<String> = "Workload", String, "The kind of tenant data (default: every kind)", allowed(DATA_WORKLOADS), position(0);
    }
}

/// Reads the items, decrypted: PermissionDenied while the service can use neither key.
pub fn get_data_item(ctx: &Context<'_>, a: GetDataItemArgs) -> Result<Vec<DataItemOut>> {
    let service = Service::for_call_as(ctx, WORKLOAD);
    let kinds = ctx.read(|tx| {
        Ok(m365::list_data(tx)?
            .into_iter()
            .filter(|d| a.workload.as_deref().is_none_or(|w| w == d.workload))
            .collect::<Vec<_>>())
    })?;
    let mut out = Vec::new();
    for d in kinds {
        let content_key = open_data_key(ctx, &service, &d)?;
        let mut after = 0;
        loop {
            let items = ctx.read(|tx| m365::list_items(tx, &d.workload, after, PAGE))?;
            for i in &items {
                let text = keys::open_item(&content_key, &d.guid, &i.sealed)?;
                out.push(DataItemOut {
                    workload: d.workload.clone(),
                    subject: text.subject,
                    body: text.body,
                    received: iso_from_unix(i.received),
                    size: i.size,
                    data_encryption_policy_id: d.applied_revision.clone(),
                });
            }
            match items.last() {
                Some(last) if items.len() as i64 == PAGE => after = last.id,
                _ => break,
            }
        }
    }
    Ok(out)
}
