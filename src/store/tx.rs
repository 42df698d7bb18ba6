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

    /// Runs the one statement `sql` with `params`, its prepared form kept for the next call.
    pub(super) fn run<P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
    ) -> crate::error::Result<()> {
        self.inner.prepare_cached(sql)?.execute(params)?;
        Ok(())
    }

    /// The row `sql` selects with `params`, read by `row`; None when there is none.
    pub(super) fn row<T, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
        row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> crate::error::Result<Option<T>> {
        use rusqlite::OptionalExtension;
        let mut stmt = self.inner.prepare_cached(sql)?;
        Ok(stmt.query_row(params, row).optional()?)
    }

    /// Every row `sql` selects with `params`, each read by `row`: the store's listings.
    pub(super) fn rows<T, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> crate::error::Result<Vec<T>> {
        let mut stmt = self.inner.prepare_cached(sql)?;
        let rows = stmt.query_map(params, row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl<'c> std::ops::Deref for Tx<'c> {
    type Target = rusqlite::Transaction<'c>;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}
