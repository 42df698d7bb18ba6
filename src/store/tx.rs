//! The transaction handle domain code passes to store functions, so that no domain names rusqlite.

/// One open SQLite transaction; store functions take `&Tx<'_>`.
pub struct Tx<'c> {
    inner: rusqlite::Transaction<'c>,
}

impl<'c> Tx<'c> {
    pub(crate) fn new(inner: rusqlite::Transaction<'c>) -> Self {
        Tx { inner }
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
