//! The machinery every operation shares: how an operation is declared ([`Operation`], its
//! typed [`arguments!`](crate::operations::arguments) struct), how a call is checked
//! ([`validate`]) and the per-call [`Context`] the dispatcher builds. No domain's entries live
//! here: each domain folder declares its own operations next to their handlers, and the
//! [`crate::registry`] module above every domain assembles and dispatches them.

use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use zeroize::{Zeroize, Zeroizing};

#[macro_use]
pub mod arguments;
mod context;
mod in_memory;
pub mod paging;
mod validate;

pub use crate::identity::Principal;
pub use arguments::{kinds, Arguments, Fits};
pub use context::Context;
pub use in_memory::InMemory;
pub use paging::Page;
pub use validate::{validate, Validated};

/// The PowerShell type of a parameter, which fixes its JSON type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    String,
    StringArray,
    Int,
    Switch,
    Bool,
    DateTime,
    Hashtable,
    Bytes,
    /// A file path: PowerShell resolves it against its own location and passes it absolute.
    Path,
    /// A secret: PowerShell takes a SecureString and converts it only for the native call.
    SecureString,
}

impl ParamType {
    pub fn powershell_type(self) -> &'static str {
        match self {
            ParamType::String | ParamType::Path => "string",
            ParamType::StringArray => "string[]",
            ParamType::Int => "int",
            ParamType::Switch => "switch",
            ParamType::Bool => "bool",
            ParamType::DateTime => "datetime",
            ParamType::Hashtable => "hashtable",
            ParamType::Bytes => "byte[]",
            ParamType::SecureString => "securestring",
        }
    }

    pub fn json_type(self) -> &'static str {
        match self {
            ParamType::String | ParamType::Path | ParamType::SecureString => "string",
            ParamType::DateTime | ParamType::Bytes => "string",
            ParamType::StringArray => "array",
            ParamType::Int => "integer",
            ParamType::Switch | ParamType::Bool => "boolean",
            ParamType::Hashtable => "object",
        }
    }
}

/// How a result property is typed. The first three are converted by the module on every object
/// of the output type, nested ones included (a key's `Attributes` share the key's property
/// names); the others keep their JSON type and are declared so that a view may show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyType {
    /// An ISO 8601 time: `[datetime]` in UTC.
    DateTime,
    /// Base64 (or base64url): `byte[]`, as Az's `RawResult`.
    Bytes,
    /// A JSON object of name/value pairs: a hashtable, as Az's `Tags`.
    Hashtable,
    /// A JSON string, kept as `[string]`.
    String,
    /// A JSON true or false.
    Boolean,
    /// A JSON number without a fraction.
    Integer,
    /// A JSON array (of strings or of objects).
    Array,
    /// A JSON object with properties of its own.
    Object,
}

impl PropertyType {
    fn json_name(self) -> &'static str {
        match self {
            PropertyType::DateTime => "datetime",
            PropertyType::Bytes => "bytes",
            PropertyType::Hashtable => "hashtable",
            PropertyType::String => "string",
            PropertyType::Boolean => "boolean",
            PropertyType::Integer => "integer",
            PropertyType::Array => "array",
            PropertyType::Object => "object",
        }
    }
}

/// How an output type is shown by default: a table (Format-Table) or a list (Format-List).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewControl {
    Table,
    List,
}

/// How a view column shows its property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// The value as PowerShell formats it (dates and numbers by the current culture).
    Value,
    /// An array's items joined with ", ": with `select`, that property of each item; with
    /// `only`, of the items whose `only` property is true.
    Join {
        select: Option<&'static str>,
        only: Option<&'static str>,
    },
    /// A hashtable as `name=value` pairs sorted by name, joined with ", " (as Tags).
    Pairs,
    /// A script block over `$_`, for what the forms above cannot say; it reads the column's
    /// property (`$_.<Property>`), which the registry checks.
    Script(&'static str),
}

/// One column of a default view (a list item, for a list view): a declared property of the
/// output type, with the header an admin sees when it is not the property's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub property: &'static str,
    pub label: Option<&'static str>,
    /// Characters, for a table column; PowerShell sizes it when none.
    pub width: Option<u16>,
    pub show: Show,
}

impl Column {
    pub const fn new(property: &'static str) -> Self {
        Column {
            property,
            label: None,
            width: None,
            show: Show::Value,
        }
    }

    pub const fn label(mut self, label: &'static str) -> Self {
        self.label = Some(label);
        self
    }

    pub const fn width(mut self, width: u16) -> Self {
        self.width = Some(width);
        self
    }

    /// The array's items joined with ", ".
    pub const fn joined(mut self) -> Self {
        self.show = Show::Join {
            select: None,
            only: None,
        };
        self
    }

    /// The `select` property of the array's items whose `only` property is true, joined.
    pub const fn joined_where(mut self, only: &'static str, select: &'static str) -> Self {
        self.show = Show::Join {
            select: Some(select),
            only: Some(only),
        };
        self
    }

    /// The hashtable as sorted `name=value` pairs.
    pub const fn pairs(mut self) -> Self {
        self.show = Show::Pairs;
        self
    }

    pub const fn script(mut self, script: &'static str) -> Self {
        self.show = Show::Script(script);
        self
    }

    fn describe(&self) -> Value {
        let mut column = json!({
            "Property": self.property,
            "Label": self.label.unwrap_or(self.property),
            "Width": self.width,
        });
        let show = match self.show {
            Show::Value => json!({"Format": "Value"}),
            Show::Join { select, only } => {
                json!({"Format": "Join", "Select": select, "Only": only})
            }
            Show::Pairs => json!({"Format": "Pairs"}),
            Show::Script(script) => json!({"Format": "Script", "Script": script}),
        };
        column
            .as_object_mut()
            .expect("an object")
            .extend(show.as_object().expect("an object").clone());
        column
    }
}

/// What an admin sees of an output type without asking for more: the columns, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultView {
    pub control: ViewControl,
    pub columns: Vec<Column>,
    /// A property the rows are grouped by (Format-Table -GroupBy), shown above each group.
    pub group_by: Option<&'static str>,
}

impl DefaultView {
    fn describe(&self) -> Value {
        json!({
            "Control": match self.control { ViewControl::Table => "Table", ViewControl::List => "List" },
            "GroupBy": self.group_by,
            "Columns": self.columns.iter().map(Column::describe).collect::<Vec<_>>(),
        })
    }
}

/// What an operation returns, by the type name its objects carry (`CustomerKey.KeyVaultKey`),
/// with its properties and their types, and the view PowerShell shows it in by default (the
/// module's format files are generated from it). Declared once per domain, next to the
/// operations that return it; `ck_describe` lists them under `OutputTypes`.
#[derive(Debug, Clone)]
pub struct OutputType {
    pub name: &'static str,
    pub properties: &'static [(&'static str, PropertyType)],
    pub default_view: Option<DefaultView>,
}

impl OutputType {
    pub const fn new(
        name: &'static str,
        properties: &'static [(&'static str, PropertyType)],
    ) -> Self {
        OutputType {
            name,
            properties,
            default_view: None,
        }
    }

    /// A table of these properties, in order, each shown as its value under its own name.
    pub fn table(self, properties: &[&'static str]) -> Self {
        self.view(
            ViewControl::Table,
            properties.iter().copied().map(Column::new).collect(),
        )
    }

    /// A table of every declared property, in order.
    pub fn table_of_all(self) -> Self {
        let properties: Vec<&'static str> = self.properties.iter().map(|(name, _)| *name).collect();
        self.table(&properties)
    }

    /// A table of these columns, in order.
    pub fn table_of(self, columns: &[Column]) -> Self {
        self.view(ViewControl::Table, columns.to_vec())
    }

    /// A list of these items, in order.
    pub fn list_of(self, columns: &[Column]) -> Self {
        self.view(ViewControl::List, columns.to_vec())
    }

    fn view(mut self, control: ViewControl, columns: Vec<Column>) -> Self {
        self.default_view = Some(DefaultView {
            control,
            columns,
            group_by: None,
        });
        self
    }

    /// Groups the default view's rows by `property`.
    pub fn grouped_by(mut self, property: &'static str) -> Self {
        if let Some(view) = &mut self.default_view {
            view.group_by = Some(property);
        }
        self
    }

    pub fn property_type(&self, property: &str) -> Option<PropertyType> {
        self.properties
            .iter()
            .find(|(name, _)| *name == property)
            .map(|(_, ty)| *ty)
    }

    /// Why the declaration cannot be shown as it says: no default view, a column or group
    /// that is not a declared property, a property shown twice, a script that does not read
    /// its column's property.
    pub fn check(&self) -> std::result::Result<(), String> {
        let name = self.name;
        for (i, (property, _)) in self.properties.iter().enumerate() {
            if self.properties[..i].iter().any(|(p, _)| p == property) {
                return Err(format!(
                    "output type {name} declares property {property} twice"
                ));
            }
        }
        let view = self
            .default_view
            .as_ref()
            .ok_or_else(|| format!("output type {name} has no default view"))?;
        if view.columns.is_empty() {
            return Err(format!(
                "output type {name}: its default view has no column"
            ));
        }
        for (i, column) in view.columns.iter().enumerate() {
            let property = column.property;
            if self.property_type(property).is_none() {
                return Err(format!(
                    "output type {name}: view column {property} is not a declared property of {name}"
                ));
            }
            if view.columns[..i].iter().any(|c| c.property == property) {
                return Err(format!(
                    "output type {name}: view column {property} is shown twice"
                ));
            }
            if let Show::Script(script) = column.show {
                if !script.contains(&format!("$_.{property}")) {
                    return Err(format!(
                        "output type {name}: the script of view column {property} does not read $_.{property}"
                    ));
                }
            }
        }
        if let Some(group) = view.group_by {
            if self.property_type(group).is_none() {
                return Err(format!(
                    "output type {name}: the view groups by {group}, which is not a declared property of {name}"
                ));
            }
        }
        Ok(())
    }

    pub fn describe(&self) -> Value {
        let mut described = json!({
            "Name": self.name,
            "Properties": self.properties.iter().map(|(name, ty)| json!({"Name": name, "Type": ty.json_name()})).collect::<Vec<_>>(),
        });
        if let Some(view) = &self.default_view {
            described["DefaultView"] = view.describe();
        }
        described
    }
}

/// One parameter of an operation, as PowerShell binds it.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: &'static str,
    pub ty: ParamType,
    pub mandatory: bool,
    pub allowed: &'static [&'static str],
    pub range: Option<(i64, i64)>,
    pub pipeline_by_property_name: bool,
    /// ValueFromPipeline: the piped object itself binds (Exchange's -Identity takes names).
    pub pipeline_value: bool,
    /// Where the parameter binds without its name, as Microsoft's cmdlet declares it; None:
    /// by name only (cmdlets are generated with PositionalBinding off).
    pub position: Option<u8>,
    pub help: &'static str,
    pub aliases: &'static [&'static str],
    /// The parameter sets the parameter belongs to, each with whether it is mandatory there.
    /// Empty: every set of the operation, mandatory as `mandatory` says.
    pub sets: Vec<(&'static str, bool)>,
    /// Sets in which the parameter does not bind from the pipeline, though it does in its
    /// others (Az.KeyVault's ResourceId sets: there only -ResourceId binds by property name).
    pub pipeline_off_in: Vec<&'static str>,
}

impl Param {
    pub fn new(name: &'static str, ty: ParamType, help: &'static str) -> Self {
        Param {
            name,
            ty,
            mandatory: false,
            allowed: &[],
            range: None,
            pipeline_by_property_name: false,
            pipeline_value: false,
            position: None,
            help,
            aliases: &[],
            sets: Vec::new(),
            pipeline_off_in: Vec::new(),
        }
    }
    /// Puts the parameter in a parameter set (mandatory there or not).
    pub fn in_set(mut self, set: &'static str, mandatory: bool) -> Self {
        self.sets.push((set, mandatory));
        self
    }
    /// Whether the parameter binds by property name in `set` (a set it belongs to).
    pub fn binds_by_property_name_in(&self, set: &str) -> bool {
        self.pipeline_by_property_name && !self.pipeline_off_in.contains(&set)
    }
    /// Whether the parameter binds the piped object itself in `set`.
    pub fn binds_value_in(&self, set: &str) -> bool {
        self.pipeline_value && !self.pipeline_off_in.contains(&set)
    }
    /// Whether the parameter may be given in `set`, and must be.
    pub fn in_parameter_set(&self, set: &str) -> Option<bool> {
        if self.sets.is_empty() {
            return Some(self.mandatory);
        }
        self.sets.iter().find(|(s, _)| *s == set).map(|(_, m)| *m)
    }
    pub fn mandatory(mut self) -> Self {
        self.mandatory = true;
        self
    }
    pub fn pipeline(mut self) -> Self {
        self.pipeline_by_property_name = true;
        self
    }
    pub fn pipeline_value(mut self) -> Self {
        self.pipeline_value = true;
        self
    }
    pub fn position(mut self, position: u8) -> Self {
        self.position = Some(position);
        self
    }
    pub fn allowed(mut self, values: &'static [&'static str]) -> Self {
        self.allowed = values;
        self
    }
    pub fn range(mut self, low: i64, high: i64) -> Self {
        self.range = Some((low, high));
        self
    }
    pub fn aliases(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }
}

/// How much an operation changes: drives `SupportsShouldProcess`, `ConfirmImpact`, and whether
/// the dispatcher may treat it as a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impact {
    /// Reads only.
    None,
    Medium,
    /// Removal and purge.
    High,
}

/// The ShouldProcess wording of a state-changing cmdlet. `{Param}` placeholders name the
/// operation's parameters; the first `action_when` whose parameter was given wins.
#[derive(Debug, Clone)]
pub struct ShouldProcess {
    pub target: &'static str,
    pub action: &'static str,
    pub action_when: Vec<(&'static str, &'static str)>,
}

/// A cmdlet's `-Wait`, written in PowerShell around the native call (the engine's operations
/// return at once, as Microsoft's do): poll `poll` (with `poll_parameters`, below; its other
/// parameters optional) until its `state_property` is one of `done_states`, showing Write-Progress with
/// `percent_property` and `status` (`{Property}` placeholders name the polled object's
/// properties), then emit the polled object. When `failed_property` is one of `failed_states`
/// (the background job gave up or was cancelled), the wait ends with an error carrying
/// `error_property` (the job's last error) instead of polling forever. `poll_parameters` are the
/// poll's parameters, each `(parameter, property)` taken from that property of the object the
/// cmdlet returned (say, `("Identity", "Guid")` to poll the one policy it changed, whatever
/// -Identity named it by or renamed it to); none: the poll gets no parameters.
#[derive(Debug, Clone)]
pub struct WaitFor {
    pub poll: &'static str,
    pub activity: &'static str,
    pub state_property: &'static str,
    pub done_states: &'static [&'static str],
    pub percent_property: &'static str,
    pub status: &'static str,
    pub failed_property: &'static str,
    pub failed_states: &'static [&'static str],
    pub error_property: &'static str,
    pub poll_parameters: &'static [(&'static str, &'static str)],
}

/// A read-only call the cmdlet makes before ShouldProcess, so that -WhatIf and the prompt say
/// what still needs what the change takes away: `operation` gets those of `parameters` that
/// were given, and its `Impact` property, when `InUse`, is added to the ShouldProcess action.
/// With `when_false`, only when that boolean parameter was given as `$false` (a disable).
#[derive(Debug, Clone)]
pub struct ImpactPreview {
    pub operation: &'static str,
    pub parameters: &'static [&'static str],
    pub when_false: Option<&'static str>,
}

impl ImpactPreview {
    pub fn of(operation: &'static str, parameters: &'static [&'static str]) -> Self {
        ImpactPreview {
            operation,
            parameters,
            when_false: None,
        }
    }
    pub fn when_false(mut self, parameter: &'static str) -> Self {
        self.when_false = Some(parameter);
        self
    }
}

/// A question asked with ShouldContinue, after ShouldProcess, when `parameter` (a switch) is
/// given, unless -Force is: for what cannot be undone in a cmdlet whose other uses need no
/// prompt. `{Param}` placeholders name the operation's parameters.
#[derive(Debug, Clone)]
pub struct ContinueWhen {
    pub parameter: &'static str,
    pub query: &'static str,
}

/// A help example: the code an admin types and what it does.
#[derive(Debug, Clone)]
pub struct Example {
    pub code: &'static str,
    pub remarks: &'static str,
}

/// The form a caller takes an operation's result in, made straight from the result struct:
/// JSON text (ck_call, the CLI), or a JSON value for a caller that reshapes it (the endpoint
/// builds Key Vault's bodies from it) and would otherwise parse the text back.
/// `Typed` hands over the result struct itself, for the endpoint's hottest reads, which write
/// Key Vault's body straight from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultForm {
    Text,
    Value,
    Typed,
}

/// A result struct, still serializable, that a caller may take as its own type.
pub trait TypedResult {
    fn as_any(&self) -> &dyn std::any::Any;
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any>;
    fn to_value(&self) -> serde_json::Result<Value>;
    fn to_text(&self) -> serde_json::Result<Zeroizing<String>>;
}

impl<R: Serialize + 'static> TypedResult for R {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
    fn to_value(&self) -> serde_json::Result<Value> {
        serde_json::to_value(self)
    }
    fn to_text(&self) -> serde_json::Result<Zeroizing<String>> {
        to_wiped_text(self)
    }
}

/// An operation's result in the [`ResultForm`] asked for.
pub enum Output {
    /// Wiped when dropped: the text can hold an unwrapped key or decrypted plaintext.
    Text(Zeroizing<String>),
    Value(Value),
    Typed(Box<dyn TypedResult>),
}

/// Shows the form and size of a result, never its content: a result can hold an unwrapped key
/// or decrypted plaintext, and `Debug` output ends up in logs and panic messages (an `unwrap` on
/// a `Result<Output>` prints it).
impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Output::Text(t) => write!(f, "Text(<{} bytes redacted>)", t.len()),
            Output::Value(_) => f.write_str("Value(<redacted>)"),
            Output::Typed(_) => f.write_str("Typed(..)"),
        }
    }
}

impl Output {
    /// The result as text, serializing a value if that is what was made.
    pub fn into_text(self) -> Result<Zeroizing<String>> {
        match self {
            Output::Text(text) => Ok(text),
            Output::Value(value) => {
                to_wiped_text(&value).map_err(|e| Error::internal(format!("result encoding: {e}")))
            }
            Output::Typed(result) => result
                .to_text()
                .map_err(|e| Error::internal(format!("result encoding: {e}"))),
        }
    }

    /// The result as a value, parsing text if that is what was made.
    pub fn into_value(self) -> Result<Value> {
        match self {
            Output::Value(value) => Ok(value),
            Output::Text(text) => serde_json::from_str(&text)
                .map_err(|e| Error::internal(format!("result decoding: {e}"))),
            Output::Typed(result) => result
                .to_value()
                .map_err(|e| Error::internal(format!("result encoding: {e}"))),
        }
    }
}

/// Runs the operation on validated arguments and returns its result in the form asked for:
/// the result is serialized once, straight to what the caller receives.
/// -ResourceId, added by [`Operation::resource_id_sets`].
pub const RESOURCE_ID: &str = "ResourceId";
const RESOURCE_ID_HELP: &str = "Azure resource ID of the key vault, as Get-AzResource and Get-CkKeyVault give it: /subscriptions/{id}/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults/{name}";

/// Where a resource is in Azure Resource Manager, read from its resource ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceLocation {
    pub subscription_id: String,
    pub resource_group: String,
    pub name: String,
}

/// Turns -ResourceId into the vault's location, or refuses it (naming ResourceId). The flag
/// says whether -VaultName names the vault too: then -ResourceId only has to agree with it.
pub type ResourceIdResolver = fn(&Context<'_>, &str, bool) -> Result<ResourceLocation>;

/// A result's JSON text, written so that no copy is left behind in freed memory: the buffer
/// grows by copying into a larger one and wiping the smaller (serde_json's own `to_string`
/// reallocates as it writes, freeing each smaller buffer as it was). A result can hold an
/// unwrapped key or decrypted plaintext.
pub fn to_wiped_text<R: Serialize + ?Sized>(value: &R) -> serde_json::Result<Zeroizing<String>> {
    // Most results fit in 1 KiB (a key is ~900 bytes of JSON): one allocation, no regrowth.
    let mut buffer = WipingBuffer(Vec::with_capacity(1024));
    serde_json::to_writer(&mut buffer, value)?;
    let bytes = std::mem::take(&mut buffer.0);
    String::from_utf8(bytes).map(Zeroizing::new).map_err(|e| {
        // serde_json writes UTF-8 only; should it not, the bytes are still wiped.
        let mut bytes = e.into_bytes();
        bytes.zeroize();
        <serde_json::Error as serde::ser::Error>::custom("result encoding: not UTF-8")
    })
}

/// An output buffer that wipes what it outgrows, and what it holds when dropped.
struct WipingBuffer(Vec<u8>);

impl std::io::Write for WipingBuffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let needed = self.0.len() + data.len();
        if needed > self.0.capacity() {
            let mut bigger = Vec::with_capacity(needed.max(self.0.capacity() * 2));
            bigger.extend_from_slice(&self.0);
            self.0.zeroize();
            self.0 = bigger;
        }
        self.0.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for WipingBuffer {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

type Handler = Box<dyn Fn(&Context<'_>, &Value, ResultForm) -> Result<Output> + Send + Sync>;

/// One operation: everything ck_describe, the CLI and the generated cmdlet say of it, and its
/// handler. Declared once, in its domain's `operations.rs`.
pub struct Operation {
    pub name: &'static str,
    /// The PowerShell module folder its cmdlet goes in (`Public/<Area>/`).
    pub area: &'static str,
    pub synopsis: &'static str,
    pub description: &'static str,
    pub output_type: &'static str,
    /// A switch that changes the output type (`-InRemovedState` gives deleted objects).
    pub output_type_when: Option<(&'static str, &'static str)>,
    /// When set, the cmdlet emits this property of the result rather than the object (as
    /// `Backup-AzKeyVaultKey` emits the file path).
    pub output_property: Option<&'static str>,
    pub impact: Impact,
    /// The parameter set PowerShell picks when the given parameters fit several.
    pub default_set: Option<&'static str>,
    pub should_process: Option<ShouldProcess>,
    pub examples: Vec<Example>,
    pub params: Vec<Param>,
    /// PowerShell's `-Wait` for an operation that starts background work.
    pub wait: Option<WaitFor>,
    pub impact_preview: Option<ImpactPreview>,
    pub continue_when: Option<ContinueWhen>,
    /// Set by [`Operation::resource_id_sets`]: how -ResourceId becomes -VaultName.
    resource_id: Option<ResourceIdResolver>,
    /// Whether one call may carry many argument sets (see [`paging`]): reads only.
    pub batch: bool,
    /// Whether the results can be asked for in pages (see [`paging`]); the handler reads
    /// [`Context::page`].
    pub pages: bool,
    handler: Handler,
    decode: fn(&Value) -> Result<()>,
    /// The parameter sets as bit masks over `params`, computed on the first call.
    set_masks: std::sync::OnceLock<Option<validate::SetMasks>>,
}

fn boxed<A, R>(handler: fn(&Context<'_>, A) -> Result<R>) -> Handler
where
    A: Arguments + 'static,
    R: Serialize + 'static,
{
    Box::new(move |ctx, args, form| {
        let typed: A = decode_arguments(args)?;
        let result = handler(ctx, typed)?;
        let encoded = match form {
            ResultForm::Text => to_wiped_text(&result).map(Output::Text),
            ResultForm::Value => serde_json::to_value(&result).map(Output::Value),
            ResultForm::Typed => Ok(Output::Typed(Box::new(result))),
        };
        encoded.map_err(|e| Error::internal(format!("result encoding: {e}")))
    })
}

fn decode_arguments<A: DeserializeOwned>(args: &Value) -> Result<A> {
    // Validation already checked every value's form against the parameters this same
    // declaration produced, and `Fits` ties each field's type to its parameter's, so a failure
    // here is a declaration bug. serde's message is not passed on: it can quote the value,
    // and the value may be a secret.
    A::deserialize(args).map_err(|_| {
        Error::internal("the arguments passed validation but do not decode into the operation's argument struct")
    })
}

/// Builder methods that set one field of the operation.
macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*) => $field:ident = $value:expr;)*) => {$(
        $(#[$doc])*
        pub fn $name(mut self, $($arg: $ty),*) -> Self {
            self.$field = $value;
            self
        }
    )*};
}

impl Operation {
    /// Declares an operation whose parameters are those of `A` and whose handler is `handler`.
    pub fn new<A, R>(
        name: &'static str,
        area: &'static str,
        handler: fn(&Context<'_>, A) -> Result<R>,
    ) -> Self
    where
        A: Arguments + 'static,
        R: Serialize + 'static,
    {
        Operation {
            name,
            area,
            synopsis: "",
            description: "",
            output_type: "None",
            output_type_when: None,
            output_property: None,
            impact: Impact::None,
            default_set: None,
            should_process: None,
            examples: Vec::new(),
            params: A::parameters(),
            wait: None,
            impact_preview: None,
            continue_when: None,
            resource_id: None,
            batch: false,
            pages: false,
            handler: boxed(handler),
            decode: |args| decode_arguments::<A>(args).map(|_| ()),
            set_masks: std::sync::OnceLock::new(),
        }
    }
    setters! {
        synopsis(text: &'static str) => synopsis = text;
        description(text: &'static str) => description = text;
        output(type_name: &'static str) => output_type = type_name;
        output_when(switch: &'static str, type_name: &'static str) => output_type_when = Some((switch, type_name));
        output_property(property: &'static str) => output_property = Some(property);
        default_set(set: &'static str) => default_set = Some(set);
        /// Gives the cmdlet a `-Wait` switch (see [`WaitFor`]).
        wait_for(wait: WaitFor) => wait = Some(wait);
        /// Makes the cmdlet preview the change's impact before ShouldProcess (see [`ImpactPreview`]).
        preview_impact(preview: ImpactPreview) => impact_preview = Some(preview);
        /// Makes the cmdlet ask `query` when `parameter` is given, unless -Force is (see
        /// [`ContinueWhen`]).
        continue_when(parameter: &'static str, query: &'static str) => continue_when = Some(ContinueWhen { parameter, query });
        /// Lets one call carry many argument sets, each run as a call of its own, so that a
        /// pipeline of inputs costs one native call per batch. Only for reads: a batch has no
        /// ShouldProcess per item (the registry refuses it on an operation that changes state).
        batched() => batch = true;
        /// Lets a caller read the results in pages, so that a long listing is never held whole;
        /// the handler gives a page when [`Context::page`] asks for one.
        paged() => pages = true;
    }
    /// A state-changing operation: its impact and ShouldProcess wording.
    pub fn changes(mut self, impact: Impact, target: &'static str, action: &'static str) -> Self {
        self.impact = impact;
        self.should_process = Some(ShouldProcess {
            target,
            action,
            action_when: Vec::new(),
        });
        self
    }
    /// Another ShouldProcess action, used when `parameter` is given.
    pub fn action_when(mut self, parameter: &'static str, action: &'static str) -> Self {
        if let Some(sp) = self.should_process.as_mut() {
            sp.action_when.push((parameter, action));
        }
        self
    }
    /// Az.KeyVault's ResourceId parameter sets: for each `(set, resource_id_set)`, a copy of
    /// `set` (of the operation's one implicit set when it has none) in which a mandatory
    /// -ResourceId, a vault's Azure resource ID bound by property name as Get-AzResource and
    /// Get-AzKeyVault give it, stands for -VaultName (and -ResourceGroupName, -SubscriptionId).
    /// No other parameter binds from the pipeline there, so an object with both a Name and a
    /// ResourceId (Get-AzResource's) binds only its ResourceId, as in Az. `resolve` turns the ID
    /// into the vault's location before the handler runs; the handler only ever sees VaultName.
    pub fn resource_id_sets(
        mut self,
        sets: &[(&'static str, &'static str)],
        resolve: ResourceIdResolver,
    ) -> Self {
        const LOCATION: [&str; 3] = ["VaultName", "ResourceGroupName", "SubscriptionId"];
        let mut existing = self.parameter_sets();
        if existing.is_empty() {
            // The one implicit set gets the name the mapping gives it, as Az names it.
            let implicit = sets.first().map_or("ByVaultName", |(from, _)| *from);
            existing.push(implicit);
            self.default_set.get_or_insert(implicit);
        }
        for p in &mut self.params {
            if p.sets.is_empty() {
                p.sets = existing.iter().map(|set| (*set, p.mandatory)).collect();
            }
            if p.name == "VaultName" {
                // PowerShell's binder cannot choose between two sets that each take a
                // mandatory parameter from the pipeline (VaultName, ResourceId) when neither
                // is the default: an object with both (Get-CkKeyVault's, Az's PSKeyVault)
                // piped with -ServicePrincipalName would fail. Optional (and bound by property
                // name) in the ResourceId sets, -VaultName binds there beside -ResourceId, and
                // must name the same vault.
                p.sets.extend(sets.iter().map(|(_, to)| (*to, false)));
                continue;
            }
            if LOCATION.contains(&p.name) {
                continue;
            }
            for (from, to) in sets {
                if let Some(mandatory) = p.in_parameter_set(from) {
                    p.sets.push((to, mandatory));
                    p.pipeline_off_in.push(to);
                }
            }
        }
        let mut resource_id =
            Param::new(RESOURCE_ID, ParamType::String, RESOURCE_ID_HELP).pipeline();
        resource_id.sets = sets.iter().map(|(_, to)| (*to, true)).collect();

        self.params.push(resource_id);
        self.resource_id = Some(resolve);
        self
    }
    pub fn example(mut self, code: &'static str, remarks: &'static str) -> Self {
        self.examples.push(Example { code, remarks });
        self
    }

    pub fn reads_only(&self) -> bool {
        self.impact == Impact::None
    }

    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The error for a parameter the operation does not have, listing those it has.
    pub fn unknown_parameter(&self, name: &str) -> Error {
        let known: Vec<&str> = self.params.iter().map(|p| p.name).collect();
        Error::invalid_argument(
            name,
            format!(
                "{} has no such parameter; it takes {}",
                self.name,
                known.join(", ")
            ),
        )
    }

    /// The parameter sets as bit masks (None when the operation has more than 64 parameters).
    pub(crate) fn set_masks(&self) -> Option<&validate::SetMasks> {
        self.set_masks
            .get_or_init(|| validate::SetMasks::of(self))
            .as_ref()
    }

    /// The operation's parameter sets, in the order their parameters name them.
    pub fn parameter_sets(&self) -> Vec<&'static str> {
        let mut sets = Vec::new();
        for (set, _) in self.params.iter().flat_map(|p| p.sets.iter()) {
            if !sets.contains(set) {
                sets.push(*set);
            }
        }
        sets
    }

    /// Runs the handler on arguments that passed [`validate`]; the result as JSON text.
    pub fn run(&self, ctx: &Context<'_>, args: &Validated<'_>, form: ResultForm) -> Result<Output> {
        let args = self.located(ctx, args.value())?;
        (self.handler)(ctx, &args, form)
    }

    /// The arguments as the handler takes them: -ResourceId replaced by the vault it names.
    pub(crate) fn located<'v>(
        &self,
        ctx: &Context<'_>,
        args: &'v Value,
    ) -> Result<std::borrow::Cow<'v, Value>> {
        match (self.resource_id, args.get(RESOURCE_ID)) {
            (Some(resolve), Some(Value::String(id))) => {
                let named_too = args.get("VaultName").is_some();
                let location = resolve(ctx, id, named_too)?;
                Ok(std::borrow::Cow::Owned(self.located_by(location, args)?))
            }
            _ => Ok(std::borrow::Cow::Borrowed(args)),
        }
    }

    /// The arguments with -ResourceId replaced by the vault's name, and by its subscription and
    /// resource group where the operation takes them (so that Azure Resource Manager is asked
    /// for that vault, and the store checks they are its own).
    fn located_by(&self, location: ResourceLocation, args: &Value) -> Result<Value> {
        let mut map = args.as_object().cloned().unwrap_or_default();
        map.remove(RESOURCE_ID);
        if let Some(given) = map.get("VaultName").and_then(Value::as_str) {
            // -VaultName names the vault; a -ResourceId bound beside it (from an object that
            // has both) only has to name the same one.
            if !given.eq_ignore_ascii_case(&location.name) {
                return Err(Error::invalid_argument(
                    RESOURCE_ID,
                    format!(
                        "names vault '{}', not the vault -VaultName gives ('{given}'); give one of them, or both for the same vault",
                        location.name
                    ),
                ));
            }
            return Ok(Value::Object(map));
        }
        map.insert("VaultName".into(), Value::String(location.name));
        if self.param("SubscriptionId").is_some() {
            map.entry("SubscriptionId")
                .or_insert(Value::String(location.subscription_id));
        }
        if self.param("ResourceGroupName").is_some() {
            map.entry("ResourceGroupName")
                .or_insert(Value::String(location.resource_group));
        }
        Ok(Value::Object(map))
    }

    /// Decodes arguments into the operation's struct without running it (the registry's
    /// self-test: every parameter set's arguments fit the struct).
    /// Decodes arguments that passed validation as the handler would get them (-ResourceId
    /// standing for the vault it names), without running anything.
    pub fn decode_only(&self, args: Value) -> Result<()> {
        match (self.resource_id, args.get(RESOURCE_ID)) {
            (Some(_), Some(Value::String(id))) => {
                let location = ResourceLocation {
                    subscription_id: String::new(),
                    resource_group: String::new(),
                    name: id.clone(),
                };
                let mut args = args;
                if let Some(map) = args.as_object_mut() {
                    map.remove("VaultName");
                }
                (self.decode)(&self.located_by(location, &args)?)
            }
            _ => (self.decode)(&args),
        }
    }

    pub fn describe(&self) -> Value {
        let (verb, noun) = self.name.split_once('-').unwrap_or((self.name, ""));
        let params: Vec<Value> = self
            .params
            .iter()
            .map(|p| {
                json!({
                    "Name": p.name,
                    "Type": p.ty.json_type(),
                    "PowerShellType": p.ty.powershell_type(),
                    "Mandatory": p.mandatory,
                    "AllowedValues": p.allowed,
                    "Range": p.range.map(|(l, h)| json!([l, h])),
                    "ValueFromPipelineByPropertyName": p.pipeline_by_property_name,
                    "IsPath": p.ty == ParamType::Path,
                    "IsSecret": p.ty == ParamType::SecureString,
                    "HelpMessage": p.help,
                    "ParameterSets": p.sets.iter().map(|(s, m)| json!({
                        "Name": s,
                        "Mandatory": m,
                        "ValueFromPipelineByPropertyName": p.binds_by_property_name_in(s),
                        "ValueFromPipeline": p.binds_value_in(s),
                    })).collect::<Vec<_>>(),
                    "Aliases": p.aliases,
                    "ValueFromPipeline": p.pipeline_value,
                    "Position": p.position,
                })
            })
            .collect();
        json!({
            "Name": self.name,
            "Verb": verb,
            "Noun": noun,
            "Synopsis": self.synopsis,
            "OutputType": self.output_type,
            "OutputTypeWhen": self.output_type_when.map(|(s, t)| json!({"Switch": s, "OutputType": t})),
            "OutputProperty": self.output_property,
            "StateChanging": self.impact != Impact::None,
            "ConfirmImpact": match self.impact { Impact::None => "None", Impact::Medium => "Medium", Impact::High => "High" },
            "ParameterSets": self.parameter_sets(),
            "DefaultParameterSetName": self.default_set,
            "Parameters": params,
            "Area": self.area,
            "Description": self.description,
            "Examples": self.examples.iter().map(|e| json!({"Code": e.code, "Remarks": e.remarks})).collect::<Vec<_>>(),
            "ShouldProcess": self.should_process.as_ref().map(|sp| json!({
                "Target": sp.target,
                "Action": sp.action,
                "ActionWhen": sp.action_when.iter().map(|(p, a)| json!({"Parameter": p, "Action": a})).collect::<Vec<_>>(),
            })),
            "Batch": self.batch,
            "Pages": self.pages,
            "PowerShell": self.power_shell_extension(),
        })
    }

    /// What the cmdlet does in PowerShell around the native call, or null.
    fn power_shell_extension(&self) -> Value {
        let mut extension = serde_json::Map::new();
        if let Some(w) = &self.wait {
            extension.insert(
                "Wait".into(),
                json!({
                    "Poll": w.poll,
                    "Activity": w.activity,
                    "StateProperty": w.state_property,
                    "DoneStates": w.done_states,
                    "PercentProperty": w.percent_property,
                    "Status": w.status,
                    "FailedProperty": w.failed_property,
                    "FailedStates": w.failed_states,
                    "ErrorProperty": w.error_property,
                    "PollParameters": w.poll_parameters.iter().map(|(parameter, property)| json!({"Parameter": parameter, "Property": property})).collect::<Vec<_>>(),
                }),
            );
        }
        if let Some(p) = &self.impact_preview {
            extension.insert(
                "ImpactPreview".into(),
                json!({
                    "Operation": p.operation,
                    "Parameters": p.parameters,
                    "WhenFalse": p.when_false,
                }),
            );
        }
        if let Some(c) = &self.continue_when {
            extension.insert(
                "ContinueWhen".into(),
                json!({"Parameter": c.parameter, "Query": c.query}),
            );
        }
        if extension.is_empty() {
            Value::Null
        } else {
            Value::Object(extension)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Output;
    use zeroize::Zeroizing;

    #[test]
    fn output_debug_shows_no_result_content() {
        let secret = "UNWRAPPED-KEY-SECRET";
        let outputs = [
            Output::Text(Zeroizing::new(format!("{{\"Value\":\"{secret}\"}}"))),
            Output::Value(serde_json::json!({ "Value": secret })),
        ];
        for output in &outputs {
            for text in [format!("{output:?}"), format!("{output:#?}")] {
                assert!(!text.contains(secret), "result content in Debug: {text}");
            }
        }
    }
}
