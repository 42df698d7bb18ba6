//! The per-call context the dispatcher builds: the store, who acts, the clock, and the
//! operation's name for the audit table.

use crate::azure_backend::AzureBackend;
use crate::error::{Error, Result};
use crate::identity::Principal;
use crate::operations::Page;
use crate::store::{AuditEntry, Store, Tx};
use crate::time::{Clock, SYSTEM_CLOCK};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// Where a call keeps the first audit refusal: its own slot, or (a context acting for it)
/// its parent's. No allocation per call.
enum Refusal<'a> {
    Own(OnceLock<Error>),
    Parent(&'a OnceLock<Error>),
}

impl Refusal<'_> {
    fn slot(&self) -> &OnceLock<Error> {
        match self {
            Refusal::Own(slot) => slot,
            Refusal::Parent(slot) => slot,
        }
    }
}

/// One running operation.
pub struct Context<'a> {
    store: &'a Arc<Store>,
    principal: &'a Principal,
    time_shift: i64,
    clock: &'a Clock,
    operation: &'a str,
    /// Whether this call wrote (or queued) its own audit row, so the dispatcher can give every
    /// call that did not one of its own.
    audited: AtomicBool,
    /// An audit row of this call (or of a context acting for it) the audit writer refused:
    /// the dispatcher fails the call with it rather than return an unaudited result.
    audit_refused: Refusal<'a>,
    /// The session's Azure Key Vault backend, when its Environment names a cloud.
    remote: Option<&'a Arc<dyn AzureBackend>>,
    /// The page the caller asked for, when it asked for one.
    page: Option<&'a Page>,
    /// The token of the page after this one, set by a handler that gave a page.
    next_page: OnceLock<String>,
}

impl<'a> Context<'a> {
    pub fn new(
        store: &'a Arc<Store>,
        principal: &'a Principal,
        time_shift: i64,
        operation: &'a str,
    ) -> Self {
        Context {
            store,
            principal,
            time_shift,
            clock: &SYSTEM_CLOCK,
            operation,
            audited: AtomicBool::new(false),
            audit_refused: Refusal::Own(OnceLock::new()),
            remote: None,
            page: None,
            next_page: OnceLock::new(),
        }
    }

    /// The same call asking for one page of the results.
    pub fn with_page(mut self, page: Option<&'a Page>) -> Self {
        self.page = page;
        self
    }

    /// The page asked for, if any: a paged operation's handler gives that page and, when more
    /// results follow, calls [`Context::set_next_page`].
    pub fn page(&self) -> Option<&Page> {
        self.page
    }

    /// Says where the next page starts (a token the handler reads back from `$Page.After`).
    pub fn set_next_page(&self, token: String) {
        let _ = self.next_page.set(token);
    }

    /// The next page's token, when the handler set one.
    pub fn next_page(&self) -> Option<&str> {
        self.next_page.get().map(String::as_str)
    }

    /// The same call on the session's clock (the system clock until given).
    pub fn with_clock(mut self, clock: &'a Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The clock the call reads.
    pub fn clock(&self) -> &'a Clock {
        self.clock
    }

    /// The same call against the session's remote vaults (none for a local session).
    pub fn with_remote(mut self, remote: Option<&'a Arc<dyn AzureBackend>>) -> Self {
        self.remote = remote;
        self
    }

    /// The session's Azure Key Vault backend, if it has one.
    pub fn remote(&self) -> Option<&'a Arc<dyn AzureBackend>> {
        self.remote
    }

    /// The same call acting as someone else (a workload's service principal).
    pub fn acting_as<'b>(&'b self, principal: &'b Principal) -> Context<'b> {
        Context {
            store: self.store,
            principal,
            time_shift: self.time_shift,
            clock: self.clock,
            operation: self.operation,
            audited: AtomicBool::new(false),
            audit_refused: Refusal::Parent(self.audit_refused.slot()),
            remote: self.remote,
            page: None,
            next_page: OnceLock::new(),
        }
    }

    /// Whether this call has its audit row: written in its transaction, or queued.
    pub fn has_audited(&self) -> bool {
        self.audited.load(Ordering::Relaxed)
    }

    fn mark_audited(&self) {
        self.audited.store(true, Ordering::Relaxed);
    }

    /// The call's clock in unix seconds: wall clock plus the session's TimeShiftSeconds.
    pub fn now(&self) -> i64 {
        self.clock.unix_seconds() + self.time_shift
    }

    pub fn time_shift(&self) -> i64 {
        self.time_shift
    }

    pub fn principal(&self) -> &Principal {
        self.principal
    }

    pub fn operation(&self) -> &str {
        self.operation
    }

    pub fn store(&self) -> &Store {
        self.store
    }

    pub fn store_arc(&self) -> &Arc<Store> {
        self.store
    }

    fn audit_entry<'b>(&'b self, target: &'b str) -> AuditEntry<'b> {
        AuditEntry {
            time: self.clock.unix_seconds(),
            principal: self.principal.name(),
            operation: self.operation,
            target,
        }
    }

    /// Audits this operation's failure (once, whatever stage it came from), through the
    /// store's group-committing audit writer: `Failed: {code}`, with the service's request id
    /// (`Failed: {code} (x-ms-request-id: {id})`) when a remote answer gave one.
    pub fn audit_failure(&self, target: &str, error: &Error) {
        self.mark_audited();
        let queued = self
            .store
            .audit(&self.audit_entry(target), &failure_result(error));
        self.note_refusal(queued);
    }

    fn note_refusal(&self, queued: Result<()>) {
        if let Err(refused) = queued {
            let _ = self.audit_refused.slot().set(refused);
        }
    }

    /// The refusal of one of this call's audit rows, if the audit writer refused one.
    pub fn audit_refused(&self) -> Option<Error> {
        self.audit_refused.slot().get().cloned()
    }

    /// Audits a success that is not a store change (a read, a cryptographic operation), with
    /// detail, through the audit writer.
    pub fn audit_success(&self, target: &str, detail: &str) {
        let result = if detail.is_empty() {
            "Succeeded".to_string()
        } else {
            format!("Succeeded: {detail}")
        };
        self.mark_audited();
        let queued = self.store.audit(&self.audit_entry(target), &result);
        self.note_refusal(queued);
    }

    /// Audits a success at once, in a transaction of its own, for what must not be lost to a
    /// crash (a backup file written): an error when the row cannot be written.
    pub fn audit_success_now(&self, target: &str, detail: &str) -> Result<()> {
        self.mark_audited();
        self.store
            .audit_now(&self.audit_entry(target), &format!("Succeeded: {detail}"))
    }

    /// Runs `work` as a read of a consistent snapshot, without an audit row (the caller
    /// audits, or it is part of a larger call that does).
    pub fn read<R>(&self, work: impl FnOnce(&Tx<'_>) -> Result<R>) -> Result<R> {
        self.store.read(work)
    }

    /// Runs `work` as a read-only operation: a read transaction that writes nothing on the
    /// caller's path; its success row goes to the audit writer.
    pub fn read_audited<R>(
        &self,
        target: &str,
        work: impl FnOnce(&Tx<'_>) -> Result<R>,
    ) -> Result<R> {
        let value = self.store.read(work)?;
        self.audit_success(target, "");
        Ok(value)
    }

    /// Runs `work` as this operation's one transaction, audited against `target`.
    pub fn transaction<R>(
        &self,
        target: &str,
        work: impl FnOnce(&Tx<'_>) -> Result<R>,
    ) -> Result<R> {
        let value = self
            .store
            .transaction(&self.audit_entry(target), self.now(), work)?;
        self.mark_audited();
        Ok(value)
    }
}

/// The audit row's result for a failure: its code, and the service's ids when it has them.
fn failure_result(error: &Error) -> String {
    let mut result = format!("Failed: {}", error.code);
    let mut ids = Vec::new();
    if let Some(id) = error.request_id() {
        ids.push(format!("x-ms-request-id: {id}"));
    }
    if let Some(id) = error.correlation_id() {
        ids.push(format!("x-ms-correlation-request-id: {id}"));
    }
    if !ids.is_empty() {
        result = format!("{result} ({})", ids.join(", "));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::failure_result;
    use crate::error::Error;

    #[test]
    fn a_failures_audit_result_names_the_request_id_when_the_error_has_one() {
        let e = Error::not_found("KeyNotFound", "gone", "k1");
        assert_eq!(failure_result(&e), "Failed: KeyNotFound");
        let e = e.with_request_id(Some("id-1"), None);
        assert_eq!(
            failure_result(&e),
            "Failed: KeyNotFound (x-ms-request-id: id-1)"
        );
        let e = Error::not_found("VaultNotFound", "gone", "v")
            .with_request_id(Some("id-2"), Some("c-2"));
        assert_eq!(
            failure_result(&e),
            "Failed: VaultNotFound (x-ms-request-id: id-2, x-ms-correlation-request-id: c-2)"
        );
    }
}
