//! Mailboxes and mail users: creation, assignment of a data encryption policy (applied by the
//! background job), statistics with the encryption state, and items really encrypted.

use super::keys::{self, ItemText};
use super::policy_keys::{key_health, KeyHealth};
use super::{find_mailbox, find_policy, job, Service, MAIL_USER, USER_MAILBOX};
use crate::crypto::{self, Secret};
use crate::error::{Error, Result};
use crate::operations::Context;
use crate::store::exchange::{self as sql, MailboxRow};
use crate::store::{m365, Tx};
use crate::time::iso_from_unix;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MailboxOut {
    pub identity: String,
    pub name: String,
    pub alias: String,
    pub primary_smtp_address: String,
    pub guid: String,
    pub recipient_type_details: String,
    /// The assigned policy's name (null: the Microsoft-managed key).
    pub data_encryption_policy: Option<String>,
}

fn mailbox_out(tx: &Tx<'_>, m: &MailboxRow) -> Result<MailboxOut> {
    let policy = match &m.assigned_policy {
        Some(g) => sql::get_policy(tx, g)?.map(|p| p.name),
        None => None,
    };
    Ok(MailboxOut {
        identity: m.alias.clone(),
        name: m.name.clone(),
        alias: m.alias.clone(),
        primary_smtp_address: m.smtp.clone(),
        guid: m.guid.clone(),
        recipient_type_details: m.kind.clone(),
        data_encryption_policy: policy,
    })
}

fn check_text(parameter: &str, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(Error::invalid_argument(
            parameter,
            format!("must be 1-{max} characters, not only spaces"),
        ));
    }
    Ok(v.to_string())
}

fn check_alias(alias: &str) -> Result<String> {
    let a = check_text("Alias", alias, 64)?;
    if !a
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
    {
        return Err(Error::invalid_argument(
            "Alias",
            "may hold only letters, digits and !#$%&'*+-/=?^_`{|}~. (no spaces)",
        ));
    }
    Ok(a)
}

fn check_smtp(smtp: &str) -> Result<String> {
    let s = check_text("PrimarySmtpAddress", smtp, 320)?;
    match s.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !s.contains(' ')
                && !domain.contains('@') =>
        {
            Ok(s)
        }
        _ => Err(Error::invalid_argument(
            "PrimarySmtpAddress",
            format!("'{s}' is not an SMTP address of the form user@domain.tld"),
        )),
    }
}

arguments! {
    pub struct NewMailboxArgs {
        pub name: String = "Name", String, "Display name of the mailbox", mandatory, position(0);
        pub alias: String = "Alias", String, "Unique alias", mandatory;
        pub primary_smtp_address: String = "PrimarySmtpAddress", String, "Unique primary SMTP address", mandatory;
        pub data_encryption_policy: Option<String> = "DataEncryptionPolicy", String, "Data encryption policy (name, Guid or DataEncryptionPolicyID) to assign";
    }
}

pub fn new_mailbox(ctx: &Context<'_>, a: NewMailboxArgs) -> Result<MailboxOut> {
    create(ctx, a, USER_MAILBOX)
}

pub fn new_mail_user(ctx: &Context<'_>, a: NewMailboxArgs) -> Result<MailboxOut> {
    create(ctx, a, MAIL_USER)
}

fn create(ctx: &Context<'_>, a: NewMailboxArgs, kind: &str) -> Result<MailboxOut> {
    let name = check_text("Name", &a.name, 256)?;
    let alias = check_alias(&a.alias)?;
    let smtp = check_smtp(&a.primary_smtp_address)?;
    let guid = crypto::new_guid()?;
    let content_key = keys::new_key()?;
    let wrapped = keys::seal_content_key(ctx.store(), &guid, None, &content_key)?;
    let now = ctx.now();
    let (out, enqueued) = ctx.transaction(&smtp.clone(), |tx| {
        if sql::identity_taken(tx, &alias, &smtp)? {
            return Err(Error::conflict(format!("Alias/PrimarySmtpAddress: a mailbox or mail user already has alias '{alias}' or address '{smtp}'; both must be unique"), smtp.clone()));
        }
        let policy = a.data_encryption_policy.as_deref().map(|p| assignable_policy(tx, p)).transpose()?;
        let mut row = MailboxRow {
            seq: 0,
            guid: guid.clone(),
            name: name.clone(),
            alias: alias.clone(),
            smtp: smtp.clone(),
            kind: kind.to_string(),
            assigned_policy: policy,
            applied_revision: None,
            wrapped_content_key: Some(wrapped.clone()),
            availability_uses: 0,
            last_availability_use: None,
            created: now,
        };
        row.seq = sql::insert_mailbox(tx, &row)?;
        // Without a mailbox policy, the tenant's multi-workload policy (if any) covers it.
        let enqueued = kind == USER_MAILBOX
            && (row.assigned_policy.is_some() || m365::assignment(tx)?.is_some());
        if enqueued {
            job::enqueue_for_mailbox(tx, &row, now)?;
        }
        Ok((mailbox_out(tx, &row)?, enqueued))
    })?;
    if enqueued {
        crate::jobs::notify(ctx.store());
    }
    Ok(out)
}

/// The guid of the policy `identity` names, if mailboxes may be assigned it.
fn assignable_policy(tx: &Tx<'_>, identity: &str) -> Result<String> {
    let p = find_policy(tx, "DataEncryptionPolicy", identity)?;
    if p.purged {
        return Err(Error::invalid_argument(
            "DataEncryptionPolicy",
            format!("policy '{}' was purged and cannot be assigned", p.name),
        ));
    }
    if !p.enabled {
        return Err(Error::invalid_argument("DataEncryptionPolicy", format!("policy '{}' is disabled; enable it (Set-CkDataEncryptionPolicy -Enabled $true) before assigning it", p.name)));
    }
    Ok(p.guid)
}

arguments! {
    pub struct GetMailboxArgs {
        pub identity: Option<String> = "Identity", String, "Name, alias, SMTP address or GUID", pipeline, pipeline_value, position(0);
    }
}

pub fn get_mailbox(ctx: &Context<'_>, a: GetMailboxArgs) -> Result<Vec<MailboxOut>> {
    ctx.read(|tx| {
        let rows = match (&a.identity, ctx.page()) {
            (Some(i), _) => vec![find_mailbox(tx, "Identity", i)?],
            (None, None) => sql::list_mailboxes(tx)?,
            (None, Some(page)) => {
                // One more than the page holds says whether another page follows.
                let after = page.after_position()?.unwrap_or(0);
                let mut rows = sql::list_mailboxes_after(tx, after, page.size + 1)?;
                if rows.len() > page.size {
                    rows.truncate(page.size);
                    if let Some(last) = rows.last() {
                        ctx.set_next_page(last.seq.to_string());
                    }
                }
                rows
            }
        };
        rows.iter().map(|m| mailbox_out(tx, m)).collect()
    })
}

arguments! {
    pub struct SetMailboxArgs {
        pub identity: String = "Identity", String, "Name, alias, SMTP address or GUID", mandatory, pipeline, pipeline_value, position(0);
        pub data_encryption_policy: Option<String> = "DataEncryptionPolicy", String, "Policy to assign (name, Guid or DataEncryptionPolicyID); $null or absent: back to the Microsoft-managed key";
    }
}

pub fn set_mailbox(ctx: &Context<'_>, a: SetMailboxArgs) -> Result<()> {
    assign(ctx, a, USER_MAILBOX)
}

pub fn set_mail_user(ctx: &Context<'_>, a: SetMailboxArgs) -> Result<()> {
    assign(ctx, a, MAIL_USER)
}

fn assign(ctx: &Context<'_>, a: SetMailboxArgs, kind: &str) -> Result<()> {
    let now = ctx.now();
    let enqueued = ctx.transaction(&a.identity.clone(), |tx| {
        let m = find_mailbox(tx, "Identity", &a.identity)?;
        if m.kind != kind {
            let cmdlet = if m.kind == USER_MAILBOX {
                "Set-CkMailbox"
            } else {
                "Set-CkMailUser"
            };
            return Err(Error::invalid_argument(
                "Identity",
                format!("'{}' is a {}, not a {kind}; use {cmdlet}", m.smtp, m.kind),
            ));
        }
        let policy = a
            .data_encryption_policy
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .map(|p| assignable_policy(tx, p))
            .transpose()?;
        sql::set_assigned_policy(tx, m.seq, policy.as_deref())?;
        // A mail user's content moves with New-MoveRequest; a mailbox's is rewrapped now.
        let enqueued = kind == USER_MAILBOX && policy != m.assigned_policy;
        if enqueued {
            job::enqueue_for_mailbox(tx, &m, now)?;
        }
        Ok(enqueued)
    })?;
    if enqueued {
        crate::jobs::notify(ctx.store());
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MailboxStatisticsOut {
    pub display_name: String,
    pub mailbox_guid: String,
    pub item_count: i64,
    pub total_item_size: String,
    pub is_encrypted: bool,
    #[serde(rename = "DataEncryptionPolicyID")]
    pub data_encryption_policy_id: Option<String>,
    pub encryption_state: String,
    pub key_health: Vec<KeyHealth>,
    pub availability_key_uses: i64,
    pub last_availability_key_use: Option<String>,
}

pub(crate) fn size_text(bytes: i64) -> String {
    let b = bytes as f64;
    let (value, unit) = if b >= 1024.0 * 1024.0 * 1024.0 {
        (b / (1024.0 * 1024.0 * 1024.0), "GB")
    } else if b >= 1024.0 * 1024.0 {
        (b / (1024.0 * 1024.0), "MB")
    } else if b >= 1024.0 {
        (b / 1024.0, "KB")
    } else {
        (b, "B")
    };
    format!("{value:.1} {unit} ({bytes} bytes)")
}

arguments! {
    pub struct IdentityArgs {
        pub identity: String = "Identity", String, "Name, alias, SMTP address or GUID", mandatory, pipeline, pipeline_value, position(0);
    }
}

pub fn get_mailbox_statistics(ctx: &Context<'_>, a: IdentityArgs) -> Result<MailboxStatisticsOut> {
    let service = Service::for_call(ctx);
    let (m, totals, target, purged) = ctx.read(|tx| {
        let m = find_mailbox(tx, "Identity", &a.identity)?;
        let totals = sql::item_totals(tx, m.seq)?;
        // The mailbox policy, or without one the tenant's multi-workload policy.
        let policy = match &m.assigned_policy {
            Some(g) => sql::get_policy(tx, g)?,
            None => m365::assignment(tx)?.map(|(p, _)| p),
        };
        let applied_policy = match &m.applied_revision {
            Some(r) => match sql::get_revision(tx, r)? {
                Some(rev) => sql::get_policy(tx, &rev.policy)?,
                None => None,
            },
            None => None,
        };
        let purged = policy.as_ref().is_some_and(|p| p.purged)
            || applied_policy.as_ref().is_some_and(|p| p.purged);
        let applied_workload = applied_policy.as_ref().map(super::workload_of_policy);
        Ok((
            m,
            totals,
            (policy.map(|p| p.current_revision), applied_workload),
            purged,
        ))
    })?;
    let (target, applied_workload) = target;
    // The keys are the applied policy's, used by that policy's service.
    let service = match applied_workload {
        Some(w) => service.acting_for(w),
        None => service,
    };
    let wraps = match &m.applied_revision {
        Some(r) => ctx.read(|tx| sql::revision_wraps(tx, r))?,
        None => Vec::new(),
    };
    let health: Vec<KeyHealth> = wraps
        .iter()
        .map(|w| key_health(&service, &w.key_id))
        .collect();
    let up_to_date = m.applied_revision == target;
    let state = if purged || m.wrapped_content_key.is_none() {
        "Purged"
    } else if !up_to_date {
        if m.kind == USER_MAILBOX && job::job_is_running_for(ctx.store(), &m)? {
            "Encrypting"
        } else {
            "Pending"
        }
    } else if m.applied_revision.is_none() {
        "Unencrypted"
    } else {
        let usable = health.iter().filter(|h| h.usable).count();
        if usable == health.len() {
            "Encrypted"
        } else if usable > 0 {
            "OneKeyAvailable"
        } else if health.iter().all(|h| h.unreachable) {
            // Every vault is down: the availability key keeps the mailbox readable.
            "Encrypted"
        } else {
            "Unreadable"
        }
    };
    Ok(MailboxStatisticsOut {
        display_name: m.name.clone(),
        mailbox_guid: m.guid.clone(),
        item_count: totals.0,
        total_item_size: size_text(totals.1),
        is_encrypted: m.applied_revision.is_some() && up_to_date && !purged,
        data_encryption_policy_id: m.applied_revision.clone(),
        encryption_state: state.to_string(),
        key_health: health,
        availability_key_uses: m.availability_uses,
        last_availability_key_use: m.last_availability_use.map(iso_from_unix),
    })
}

/// The mailbox's content key, opened through its policy's keys (or the Microsoft-managed
/// key); a use of the availability key is recorded on the mailbox and in the audit table.
fn open_mailbox_key(ctx: &Context<'_>, service: &Service, m: &MailboxRow) -> Result<Secret> {
    let Some(wrapped) = m.wrapped_content_key.as_deref() else {
        let name = ctx.read(|tx| match &m.assigned_policy {
            Some(g) => Ok(sql::get_policy(tx, g)?.map(|p| p.name).unwrap_or_default()),
            None => Ok(String::new()),
        })?;
        return Err(keys::purged_error(&name));
    };
    open_content_key(
        ctx,
        service,
        &m.guid,
        m.applied_revision.as_deref(),
        wrapped,
        &format!("Mailbox '{}'", m.smtp),
        |tx| sql::record_availability_use(tx, m.seq, ctx.now()),
    )
}

/// The content key of a mailbox or a kind of tenant data (`guid`), opened through the policy
/// key of the revision it is under (none: the Microsoft-managed key); a use of the availability
/// key is recorded by `record_availability_use` in a transaction named after `owner`.
pub(crate) fn open_content_key(
    ctx: &Context<'_>,
    service: &Service,
    guid: &str,
    revision: Option<&str>,
    wrapped: &[u8],
    owner: &str,
    record_availability_use: impl FnOnce(&Tx<'_>) -> Result<()>,
) -> Result<Secret> {
    let Some(revision) = revision else {
        return keys::open_content_key(ctx.store(), guid, None, wrapped);
    };
    let pk = keys::open_policy_key(service, ctx.store(), revision)?;
    if pk.availability_used {
        ctx.transaction(
            &format!("{owner}: availability key used (every customer key's vault unreachable)"),
            record_availability_use,
        )?;
    }
    keys::open_content_key(ctx.store(), guid, Some((revision, &pk.key)), wrapped)
}

/// Runs `attempt` again while it fails with the Busy error `busy_code` (another session
/// changed what it read), at most `attempts` times in all.
pub(crate) fn retry_busy<T>(
    attempts: usize,
    busy_code: &str,
    mut attempt: impl FnMut() -> Result<T>,
) -> Result<T> {
    let mut tries = 1;
    loop {
        match attempt() {
            Err(e) if e.code == busy_code && tries < attempts => tries += 1,
            result => return result,
        }
    }
}

arguments! {
    pub struct AddItemArgs {
        pub identity: String = "Identity", String, "Name, alias, SMTP address or GUID", mandatory, pipeline, pipeline_value, position(0);
        pub subject: String = "Subject", String, "Subject of the item", mandatory;
        pub body: String = "Body", String, "Body of the item", mandatory;
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MailboxItemOut {
    pub mailbox: String,
    pub subject: String,
    pub body: String,
    pub received: String,
    pub size: i64,
}

pub fn add_mailbox_item(ctx: &Context<'_>, a: AddItemArgs) -> Result<MailboxItemOut> {
    let (text, size) = ItemText::checked(&a.subject, &a.body)?;
    let service = Service::for_call(ctx);
    // Delivery does not stop while the Refresh job re-encrypts a mailbox: an item sealed under a
    // content key the job has just replaced is sealed again under the new one. The job moves a
    // mailbox in one transaction, so a few attempts always suffice; past them the caller is told.
    const ATTEMPTS: usize = 8;
    retry_busy(ATTEMPTS, "MailboxBusy", || {
        let m = ctx.read(|tx| find_mailbox(tx, "Identity", &a.identity))?;
        let content_key = open_mailbox_key(ctx, &service, &m)?;
        let sealed = keys::seal_item(&content_key, &m.guid, &text)?;
        let now = ctx.now();
        // An error rolls the attempt back, so a retried delivery leaves one item and one row.
        ctx.transaction(&m.smtp.clone(), |tx| {
            let current =
                sql::get_mailbox(tx, m.seq)?.ok_or_else(|| Error::internal("mailbox vanished"))?;
            if current.wrapped_content_key != m.wrapped_content_key {
                return Err(Error::new(
                    crate::error::CkStatus::Busy,
                    "MailboxBusy",
                    format!(
                        "mailbox '{}' is being re-encrypted; repeat the command",
                        m.smtp
                    ),
                    m.smtp.clone(),
                ));
            }
            sql::insert_item(tx, m.seq, now, size, &sealed)
        })?;
        Ok(MailboxItemOut {
            mailbox: m.smtp,
            subject: a.subject.clone(),
            body: a.body.clone(),
            received: iso_from_unix(now),
            size,
        })
    })
}

pub fn get_mailbox_item(ctx: &Context<'_>, a: IdentityArgs) -> Result<Vec<MailboxItemOut>> {
    let service = Service::for_call(ctx);
    // One snapshot: the items and the content key they are sealed under.
    let (m, items) = ctx.read(|tx| {
        let m = find_mailbox(tx, "Identity", &a.identity)?;
        let items = sql::list_items(tx, m.seq)?;
        Ok((m, items))
    })?;
    let content_key = open_mailbox_key(ctx, &service, &m)?;
    items
        .iter()
        .map(|i| {
            let text = keys::open_item(&content_key, &m.guid, &i.sealed)?;
            Ok(MailboxItemOut {
                mailbox: m.smtp.clone(),
                subject: text.subject,
                body: text.body,
                received: iso_from_unix(i.received),
                size: i.size,
            })
        })
        .collect()
}
