//! Above every domain: the list of domains (their operations and job kinds), dispatch by
//! name through a map, the call context built per call, failures audited; and opening a
//! session with every domain's job kinds. The C ABI, the CLI (and later the HTTPS endpoint)
//! enter here.

use crate::cancel::Stop;
use crate::error::{Error, Result};
use crate::identity::Principal;
use crate::jobs::JobKind;
use crate::operations::paging::{self, Page};
use crate::operations::{
    validate, Arguments, Context, Impact, InMemory, Operation, Output, OutputType, ResultForm,
};
use crate::session::{Session, SessionOptions};
use once_cell::sync::Lazy;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use zeroize::Zeroizing;

static REGISTRY: Lazy<Registry> = Lazy::new(|| {
    Registry::new(vec![
        crate::vault::operations::operations(),
        crate::aip::operations::operations(),
        crate::sharepoint::operations::operations(),
        crate::exchange::operations::operations(),
        crate::exchange::tenant_operations::operations(),
        crate::directory::operations::operations(),
        crate::setup::operations::operations(),
    ])
    .and_then(|registry| {
        registry.with_output_types(
            [
                crate::vault::operations::output_types(),
                crate::aip::operations::output_types(),
                crate::sharepoint::operations::output_types(),
                crate::exchange::operations::output_types(),
                crate::exchange::tenant_operations::output_types(),
                crate::directory::operations::output_types(),
                crate::setup::operations::output_types(),
            ]
            .concat(),
        )
    })
    .unwrap_or_else(|problem| panic!("the operation registry is inconsistent: {problem}"))
});

/// Every operation of every domain.
pub fn registry() -> &'static Registry {
    &REGISTRY
}

/// The background job kinds of every domain, for the session's runner.
pub fn job_kinds() -> Vec<Arc<dyn JobKind>> {
    let mut kinds = crate::jobs::builtin_kinds();
    kinds.extend(crate::sharepoint::job_kinds());
    kinds.extend(crate::exchange::job_kinds());
    kinds
}

/// Opens a session whose runner resumes every domain's jobs.
pub fn open_session(options: SessionOptions) -> Result<Session> {
    Session::open(options, job_kinds(), crate::vault::open_azure)
}

/// [`open_session`] on a clock the test moves by hand. Test hooks only.
#[cfg(feature = "test-hooks")]
pub fn open_session_with_clock(
    options: SessionOptions,
    clock: crate::time::Clock,
) -> Result<Session> {
    Session::open_with_clock(options, job_kinds(), crate::vault::open_azure, clock)
}

/// [`open_session`] from `ck_open`'s JSON options.
pub fn open_session_json(options: &Value) -> Result<Session> {
    Session::open_json(options, job_kinds(), crate::vault::open_azure)
}

pub struct Registry {
    operations: Vec<Operation>,
    output_types: Vec<OutputType>,
    /// Lower-cased name -> index: names are matched case-insensitively, as PowerShell does.
    by_name: HashMap<String, usize>,
}

impl Registry {
    /// Builds the registry from each domain's operations. A name declared twice is refused.
    pub fn new(domains: Vec<Vec<Operation>>) -> std::result::Result<Registry, String> {
        let operations: Vec<Operation> = domains.into_iter().flatten().collect();
        let mut by_name = HashMap::with_capacity(operations.len());
        for (i, op) in operations.iter().enumerate() {
            if by_name.insert(op.name.to_ascii_lowercase(), i).is_some() {
                return Err(format!("operation {} is declared twice", op.name));
            }
            if op.batch && !op.reads_only() {
                // A batch runs its items without a ShouldProcess for each.
                return Err(format!(
                    "operation {} changes state and cannot be batched",
                    op.name
                ));
            }
        }
        Ok(Registry {
            operations,
            output_types: Vec::new(),
            by_name,
        })
    }

    /// Adds the domains' output types. Every `CustomerKey.*` type an operation returns must be
    /// declared, once, so that the module converts each by its own description, and each with
    /// a default view whose columns are declared properties of the type (see
    /// [`OutputType::check`]), so that the generated views show what the objects carry.
    pub fn with_output_types(
        mut self,
        output_types: Vec<OutputType>,
    ) -> std::result::Result<Registry, String> {
        for (i, declared) in output_types.iter().enumerate() {
            if output_types[..i].iter().any(|t| t.name == declared.name) {
                return Err(format!("output type {} is declared twice", declared.name));
            }
            declared.check()?;
        }
        for op in &self.operations {
            let returned = std::iter::once(op.output_type)
                .chain(op.output_type_when.map(|(_, type_name)| type_name));
            for type_name in returned.filter(|t| t.starts_with("CustomerKey.")) {
                if !output_types.iter().any(|t| t.name == type_name) {
                    return Err(format!(
                        "operation {} returns {type_name}, which no domain declares",
                        op.name
                    ));
                }
            }
        }
        self.output_types = output_types;
        Ok(self)
    }

    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    pub fn find(&self, name: &str) -> Option<&Operation> {
        if let Some(&i) = self.by_name.get(name) {
            return Some(&self.operations[i]);
        }
        self.by_name
            .get(&name.to_ascii_lowercase())
            .map(|&i| &self.operations[i])
    }

    /// The registry `ck_describe` returns.
    pub fn describe(&self) -> Value {
        json!({
            "Version": crate::VERSION,
            "Operations": self.operations.iter().map(Operation::describe).collect::<Vec<_>>(),
            "OutputTypes": self.output_types.iter().map(OutputType::describe).collect::<Vec<_>>(),
        })
    }

    /// Runs one operation as the session's user.
    pub fn call(&self, session: &Session, operation: &str, arguments: &Value) -> Result<Value> {
        self.call_value_as(session, session.principal(), operation, arguments)
    }

    /// Runs one operation as the session's user; the result as JSON text (what `ck_call`
    /// returns, serialized once).
    pub fn call_json(
        &self,
        session: &Session,
        operation: &str,
        arguments: &Value,
    ) -> Result<Zeroizing<String>> {
        self.call_json_as(session, session.principal(), operation, arguments)
    }

    /// Runs one operation as `principal`: checks the arguments against the operation's
    /// parameters, then runs its handler; a failure at any stage is audited once.
    pub fn call_json_as(
        &self,
        session: &Session,
        principal: &Principal,
        operation: &str,
        arguments: &Value,
    ) -> Result<Zeroizing<String>> {
        self.call_as(session, principal, operation, arguments, ResultForm::Text)?
            .into_text()
    }

    /// [`Registry::call_json_as`], the result as a JSON value (made from the result struct,
    /// not parsed back from text).
    pub fn call_value_as(
        &self,
        session: &Session,
        principal: &Principal,
        operation: &str,
        arguments: &Value,
    ) -> Result<Value> {
        self.call_as(session, principal, operation, arguments, ResultForm::Value)?
            .into_value()
    }

    /// [`Registry::call_value_as`] with the result struct itself when it is an `R` (see
    /// [`ResultForm::Typed`]); otherwise its JSON value.
    pub fn call_typed_as<R: 'static>(
        &self,
        session: &Session,
        principal: &Principal,
        operation: &str,
        arguments: &Value,
    ) -> Result<std::result::Result<R, Value>> {
        match self.call_as(session, principal, operation, arguments, ResultForm::Typed)? {
            Output::Typed(result) if result.as_any().is::<R>() => {
                match result.into_any().downcast::<R>() {
                    Ok(typed) => Ok(Ok(*typed)),
                    Err(_) => Err(Error::internal("the result changed type")),
                }
            }
            other => other.into_value().map(Err),
        }
    }

    /// Runs a batch: each of `items` as a call of its own (see [`paging`]), with a deadline of
    /// its own, as the session's user; the answers as one JSON array in the items' order.
    /// Refused whole, before any item runs, when the operation takes no batches or the batch is
    /// too large; failed whole when it is cancelled (its items are reads: nothing is undone).
    pub fn call_batch_json(
        &self,
        session: &Session,
        operation: &str,
        items: &[Value],
    ) -> Result<Zeroizing<String>> {
        let op = self.operation(operation)?;
        if !op.batch {
            return Err(Error::invalid_argument(
                "arguments_json",
                format!("{} takes one JSON object of arguments; an array (a batch) is for the operations whose ck_describe entry has Batch", op.name),
            ));
        }
        if items.len() > paging::MAX_BATCH_ITEMS {
            return Err(Error::invalid_argument(
                "arguments_json",
                format!(
                    "holds {} argument objects; a batch holds at most {}",
                    items.len(),
                    paging::MAX_BATCH_ITEMS
                ),
            ));
        }
        let batch = session.begin_call();
        let mut out = Zeroizing::new(String::with_capacity(64 + items.len() * 256));
        out.push('[');
        for item in items {
            let stop = batch.renewed(Some(session.call_timeout()));
            stop.check()?;
            let answer = self
                .call_stopping(
                    session,
                    session.principal(),
                    op.name,
                    item,
                    ResultForm::Text,
                    &stop,
                )
                .and_then(Output::into_text);
            paging::push_batch_item(&mut out, answer);
        }
        out.push(']');
        Ok(out)
    }

    /// A page's items in the documented page answer (see [`paging`]).
    fn as_page(output: Output, next: Option<&str>, form: ResultForm) -> Result<Output> {
        match form {
            ResultForm::Text => {
                let items = output.into_text()?;
                Ok(Output::Text(paging::page_text(&items, next)))
            }
            ResultForm::Value | ResultForm::Typed => {
                let items = output.into_value()?;
                Ok(Output::Value(json!({"Items": items, "NextPage": next})))
            }
        }
    }

    fn operation(&self, operation: &str) -> Result<&Operation> {
        self.find(operation).ok_or_else(|| {
            Error::invalid_argument(
                "operation",
                format!(
                    "'{operation}' is not an operation; see ck_describe or customer-key --list"
                ),
            )
        })
    }

    fn call_as(
        &self,
        session: &Session,
        principal: &Principal,
        operation: &str,
        arguments: &Value,
        form: ResultForm,
    ) -> Result<Output> {
        let stop = session.begin_call();
        self.call_stopping(session, principal, operation, arguments, form, &stop)
    }

    /// [`Registry::call_as`] ended by `stop`: every request it makes to Azure is raced
    /// against it.
    fn call_stopping(
        &self,
        session: &Session,
        principal: &Principal,
        operation: &str,
        arguments: &Value,
        form: ResultForm,
        stop: &Stop,
    ) -> Result<Output> {
        let op = self.operation(operation)?;
        // A local session has no requests to end; a remote one gets a view of its vaults
        // carrying this call's stop.
        let remote = session.remote().map(|r| r.with_stop(stop.clone()));
        // A page request sits beside the arguments; the handler sees only the arguments.
        let split = Page::split(op.name, op.pages, arguments);
        let (page, arguments) = match &split {
            Ok(Some((page, rest))) => (Some(page), rest),
            _ => (None, arguments),
        };
        let ctx = Context::new(
            session.store_arc(),
            principal,
            session.time_shift(),
            op.name,
        )
        .with_clock(session.clock())
        .with_remote(remote.as_ref())
        .with_page(page);
        let result = match &split {
            Err(e) => Err(e.clone()),
            Ok(_) => validate(op, arguments).and_then(|args| op.run(&ctx, &args, form)),
        };
        // A read that was stopped may still have answered, from what it could reach (a key's
        // health "unusable" because its request was cut short): it fails instead. A change
        // that answered was made, and says so.
        let result = match stop.check() {
            Err(stopped) if op.impact == Impact::None => Err(stopped),
            _ => result,
        };
        let result = match (result, page) {
            (Ok(output), Some(_)) => Self::as_page(output, ctx.next_page(), form),
            (result, _) => result,
        };
        audited(&ctx, arguments, result)
    }

    /// Runs an operation's in-memory entry as `principal`, with `input` in place of the file
    /// its path parameter would name: validated, routed, access-checked and audited as the
    /// operation is for any caller (the audit row under the operation's own name), the bytes
    /// never put into the JSON arguments. For callers inside the process; see [`InMemory`].
    pub fn call_in_memory_as<A: Arguments, X, R>(
        &self,
        session: &Session,
        principal: &Principal,
        entry: &InMemory<A, X, R>,
        arguments: &Value,
        input: X,
    ) -> Result<R> {
        let op = self.find(entry.operation).ok_or_else(|| {
            Error::internal(format!(
                "the in-memory entry names '{}', which is not an operation",
                entry.operation
            ))
        })?;
        let stop = session.begin_call();
        let remote = session.remote().map(|r| r.with_stop(stop.clone()));
        let ctx = Context::new(
            session.store_arc(),
            principal,
            session.time_shift(),
            op.name,
        )
        .with_clock(session.clock())
        .with_remote(remote.as_ref());
        let result = entry.run(op, &ctx, arguments, input);
        audited(&ctx, arguments, result)
    }
}

/// A call's result once it is audited: a failure at any stage gets its row, once; a success
/// the handler did not audit itself gets one too.
fn audited<R>(ctx: &Context<'_>, arguments: &Value, result: Result<R>) -> Result<R> {
    match &result {
        Err(e) => ctx.audit_failure(&audit_target(arguments, &e.target), e),
        // Every call has its row: a read the handler did not audit itself (a workload's
        // content read, a listing) gets one here, through the group-committing writer.
        Ok(_) if !ctx.has_audited() => ctx.audit_success(&audit_target(arguments, ""), ""),
        Ok(_) => {}
    }
    // A call goes unaudited only by failing: a refused audit row withholds the result.
    match ctx.audit_refused() {
        Some(refused) => Err(refused),
        None => result,
    }
}

/// The object a call concerned, for its audit row: VaultName[/Name] when given, else the
/// workloads' Identity, Site or Url, else `fallback` (a failure's target).
fn audit_target(arguments: &Value, fallback: &str) -> String {
    let field = |name: &str| {
        arguments
            .as_object()
            .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
            .and_then(|(_, v)| v.as_str())
            .map(|s| s.chars().take(160).collect::<String>())
    };
    match (field("VaultName"), field("Name")) {
        (Some(v), Some(n)) => format!("{v}/{n}"),
        (Some(v), None) => v,
        _ => ["Identity", "Site", "Url", "KeyIdentifier"]
            .iter()
            .find_map(|name| field(name))
            .unwrap_or_else(|| fallback.chars().take(160).collect()),
    }
}
