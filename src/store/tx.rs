//! The transaction handle domain code passes to store functions, so that no domain names rusqlite.

use super::jobs::RunnerTroubleCell;

/// One open SQLite transaction; store functions take `&Tx<'_>`.
pub struct Tx<'c> {
    inner: rusqlite::Transaction<'c>,
    /// The store's runner trouble, which job reads show on the jobs it holds up; `None` for
    /// transactions outside a `Store` (the audit writer's).
    runner_trouble: Option<&'c RunnerTroubleCell>,
}

impl<'c> Tx<'c> {
    pub(crate) fn new(inner: rusqlite::Transaction<'c>) -> Self {
        Tx {
            inner,
            runner_trouble: None,
        }
    }

    /// A transaction of a `Store`, whose job reads show the store's runner trouble.
    pub(crate) fn of_store(
        inner: rusqlite::Transaction<'c>,
        runner_trouble: &'c RunnerTroubleCell,
    ) -> Self {
        Tx {
            inner,
            runner_trouble: Some(runner_trouble),
        }
    }

    pub(crate) fn runner_trouble(&self) -> Option<&'c RunnerTroubleCell> {
        self.runner_trouble
    }

    pub(crate) fn commit(self) -> rusqlite::Result<()> {
        self.inner.commit()
    }
}

impl<'c> std::ops::Deref for Tx<'c> {
    type Target = rusqlite::Transaction<'c>;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}
