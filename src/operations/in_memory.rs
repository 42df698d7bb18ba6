//! In-memory entries of operations with a file parameter, for callers inside the process (the
//! HTTPS endpoint) that hold the file's content themselves: a key to import, a backup blob to
//! restore, or a backup to hand back. Key material must never pass through a file the engine
//! writes for the purpose: overwriting a file before unlinking it does not take its bytes off
//! an SSD or a copy-on-write or journaling filesystem, and a crash in between leaves them there.
//!
//! Such an entry is the operation itself, not another one: the registry checks its arguments
//! against the operation's parameter table, runs it where the operation runs (the store or
//! Azure, as the vault domain's backend decides), and audits it under the operation's name (see
//! [`crate::registry::Registry::call_in_memory_as`]). Only the bytes differ: they travel as a
//! typed value (`X`, wiped when dropped where it is a secret), never in the JSON arguments,
//! whose text a serializer may copy around and never wipe. Nothing here is in `ck_describe`:
//! the cmdlets, the CLI and the C ABI take paths, and read or write the file themselves before
//! or after calling the same engine functions.

use super::validate::validate_in_memory;
use super::{decode_arguments, Arguments, Context, Operation};
use crate::error::Result;
use serde_json::Value;

/// An operation's in-memory entry: `A` its argument struct, `X` what the caller holds in place
/// of the file (`()` when the operation writes one and `R` carries its bytes instead).
pub struct InMemory<A, X, R> {
    /// The operation's name, as the registry and the audit table know it.
    pub operation: &'static str,
    /// The Path parameter whose file the caller's bytes stand for: counted as given when the
    /// arguments are checked against the parameter sets, and refused as a path besides.
    pub file_parameter: &'static str,
    /// The handler (the domain routes it to the store or to Azure, as the operation's).
    pub handler: fn(&Context<'_>, A, X) -> Result<R>,
}

impl<A: Arguments, X, R> InMemory<A, X, R> {
    /// Checks `arguments` against `op`'s parameters, resolves -ResourceId, and runs the
    /// handler.
    pub(crate) fn run(
        &self,
        op: &Operation,
        ctx: &Context<'_>,
        arguments: &Value,
        input: X,
    ) -> Result<R> {
        let validated = validate_in_memory(op, arguments, self.file_parameter)?;
        let located = op.located(ctx, validated.value())?;
        let args: A = decode_arguments(&located)?;
        (self.handler)(ctx, args, input)
    }
}
