//! Creating many mailboxes at once through the Rust API, for benchmarks and tests at scale:
//! the same key hierarchy as New-Mailbox plus the job (each mailbox's own content key, one
//! item sealed under it, the content key sealed under the policy's current revision), in one
//! transaction per chunk instead of one call per mailbox.

use super::keys::{self, ItemText};
use super::{find_policy, Service, USER_MAILBOX};
use crate::crypto;
use crate::error::Result;
use crate::session::Session;
use crate::store::exchange::{self as sql, MailboxRow};

const CHUNK: usize = 2000;

/// Creates mailboxes `{prefix}{i}` (alias and `{prefix}{i}@contoso.com`), `i` in `0..count`,
/// each with one item whose subject is its alias, already encrypted under `policy`'s current
/// revision (or the Microsoft-managed key when `None`).
pub fn create_mailboxes(
    session: &Session,
    prefix: &str,
    count: usize,
    policy: Option<&str>,
) -> Result<()> {
    let store = session.store_arc();
    let service = Service::for_store(
        store,
        session.remote(),
        session.clock(),
        session.time_shift(),
        "New-Mailbox",
    );
    let target = match policy {
        Some(p) => {
            let row = store.read(|tx| find_policy(tx, "DataEncryptionPolicy", p))?;
            let key = keys::open_policy_key(&service, store, &row.current_revision)?;
            Some((row.guid, row.current_revision, key.key))
        }
        None => None,
    };
    let now = session.now();
    let mut start = 0;
    while start < count {
        let end = (start + CHUNK).min(count);
        let mut rows = Vec::with_capacity(end - start);
        for i in start..end {
            let alias = format!("{prefix}{i}");
            let guid = crypto::new_guid()?;
            let content_key = keys::new_key()?;
            let item = keys::seal_item(
                &content_key,
                &guid,
                &ItemText {
                    subject: alias.clone(),
                    body: format!("body of {alias}"),
                },
            )?;
            let under = target.as_ref().map(|(_, rev, key)| (rev.as_str(), key));
            let wrapped = keys::seal_content_key(store, &guid, under, &content_key)?;
            rows.push((
                MailboxRow {
                    seq: 0,
                    guid,
                    name: alias.clone(),
                    smtp: format!("{alias}@contoso.com"),
                    alias,
                    kind: USER_MAILBOX.into(),
                    assigned_policy: target.as_ref().map(|(g, _, _)| g.clone()),
                    applied_revision: target.as_ref().map(|(_, r, _)| r.clone()),
                    wrapped_content_key: Some(wrapped),
                    availability_uses: 0,
                    last_availability_use: None,
                    created: now,
                },
                item,
            ));
        }
        store.write_tx(|tx| {
            for (row, item) in &rows {
                let seq = sql::insert_mailbox(tx, row)?;
                sql::insert_item(tx, seq, now, (row.alias.len() * 2 + 8) as i64, item)?;
            }
            if let Some((_, revision, _)) = &target {
                sql::sync_revision_references(tx, revision, true)?;
            }
            Ok(())
        })?;
        start = end;
    }
    Ok(())
}
