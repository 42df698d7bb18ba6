//! The operation table: every operation's name, parameters and output type, and the handler that
//! runs it. The C ABI (`ck_call`, `ck_describe`), the CLI and the PowerShell parity checks all
//! read this one table.

use crate::error::{Error, Result};
use crate::session::{Call, Session};
use crate::vault;

mod presentation_temp;
mod validate;
use once_cell::sync::Lazy;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
pub use validate::validate;

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

#[derive(Debug, Clone)]
pub struct Param {
    pub name: &'static str,
    pub ty: ParamType,
    pub mandatory: bool,
    pub allowed: &'static [&'static str],
    pub range: Option<(i64, i64)>,
    pub pipeline_by_property_name: bool,
    pub help: &'static str,
    /// The parameter sets the parameter belongs to, each with whether it is mandatory there.
    /// Empty: every set of the operation, mandatory as `mandatory` says.
    pub sets: Vec<(&'static str, bool)>,
}

impl Param {
    fn new(name: &'static str, ty: ParamType, help: &'static str) -> Self {
        Param {
            name,
            ty,
            mandatory: false,
            allowed: &[],
            range: None,
            pipeline_by_property_name: false,
            help,
            sets: Vec::new(),
        }
    }
    /// Puts the parameter in a parameter set (mandatory there or not).
    fn in_set(mut self, set: &'static str, mandatory: bool) -> Self {
        self.sets.push((set, mandatory));
        self
    }
    /// Whether the parameter may be given in `set`, and must be.
    pub fn in_parameter_set(&self, set: &str) -> Option<bool> {
        if self.sets.is_empty() {
            return Some(self.mandatory);
        }
        self.sets.iter().find(|(s, _)| *s == set).map(|(_, m)| *m)
    }
    fn mandatory(mut self) -> Self {
        self.mandatory = true;
        self
    }
    fn pipeline(mut self) -> Self {
        self.pipeline_by_property_name = true;
        self
    }
    fn allowed(mut self, values: &'static [&'static str]) -> Self {
        self.allowed = values;
        self
    }
    fn range(mut self, low: i64, high: i64) -> Self {
        self.range = Some((low, high));
        self
    }
}

/// How much an operation changes: drives `SupportsShouldProcess` and `ConfirmImpact`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impact {
    /// Reads only.
    None,
    Medium,
    /// Removal and purge.
    High,
}

type Handler = fn(&Call<'_>, Value) -> Result<Value>;

pub struct Operation {
    pub name: &'static str,
    pub synopsis: &'static str,
    pub output_type: &'static str,
    /// A switch that changes the output type (`-InRemovedState` gives deleted objects).
    pub output_type_when: Option<(&'static str, &'static str)>,
    /// When set, the cmdlet emits this property of the result rather than the object (as
    /// `Backup-AzKeyVaultKey` emits the file path).
    pub output_property: Option<&'static str>,
    pub impact: Impact,
    /// The parameter set PowerShell picks when the given parameters fit several.
    pub default_set: Option<&'static str>,
    pub params: Vec<Param>,
    handler: Handler,
}

impl Operation {
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
                    "ParameterSets": p.sets.iter().map(|(s, m)| json!({"Name": s, "Mandatory": m})).collect::<Vec<_>>(),
                })
            })
            .collect();
        let mut described = json!({
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
        });
        if let (Some(out), Value::Object(extra)) = (
            described.as_object_mut(),
            presentation_temp::presentation(self.name),
        ) {
            out.extend(extra);
        }
        described
    }
}

/// Wraps a typed operation function as a table handler: JSON in, typed arguments, JSON out.
macro_rules! handler {
    ($f:path) => {
        |call: &Call<'_>, args: Value| -> Result<Value> { run_typed(call, args, $f) }
    };
}

fn run_typed<A: DeserializeOwned, R: Serialize>(
    call: &Call<'_>,
    args: Value,
    f: fn(&Call<'_>, A) -> Result<R>,
) -> Result<Value> {
    // The arguments were checked against the table already, so a failure here is a table bug.
    let typed: A = serde_json::from_value(args)
        .map_err(|e| Error::internal(format!("argument table and struct disagree: {e}")))?;
    let result = f(call, typed)?;
    serde_json::to_value(result).map_err(|e| Error::internal(format!("result encoding: {e}")))
}

use ParamType as T;

const VAULT_NAME_HELP: &str = "Name of the key vault";
const KEY_PERMISSIONS: &[&str] = vault::model::KEY_PERMISSION_VALUES;
const KEY_OPS: &[&str] = &[
    "encrypt",
    "decrypt",
    "sign",
    "verify",
    "wrapKey",
    "unwrapKey",
    "import",
    "export",
];

fn vault_name() -> Param {
    Param::new("VaultName", T::String, VAULT_NAME_HELP)
        .mandatory()
        .pipeline()
}
fn key_name() -> Param {
    Param::new("Name", T::String, "Name of the key")
        .mandatory()
        .pipeline()
}
// Parameter set names, as Az.KeyVault's.
const CREATE: &str = "InteractiveCreate";
const IMPORT: &str = "InteractiveImport";
const BY_VAULT_NAME: &str = "ByVaultName";
const BY_KEY_VERSION: &str = "ByKeyVersion";
const BY_KEY_VERSIONS: &str = "ByKeyVersions";
const BY_UPN: &str = "ByUserPrincipalName";
const BY_OBJECT_ID: &str = "ByObjectId";
const BY_SPN: &str = "ByServicePrincipalName";

/// As Set-AzKeyVaultAccessPolicy: one parameter set per way of naming the principal.
fn principal_params() -> Vec<Param> {
    vec![
        Param::new(
            "UserPrincipalName",
            T::String,
            "User principal name of the user",
        )
        .pipeline()
        .in_set(BY_UPN, true),
        Param::new(
            "ObjectId",
            T::String,
            "Object id of the user, group or service principal",
        )
        .pipeline()
        .in_set(BY_OBJECT_ID, true),
        Param::new(
            "ServicePrincipalName",
            T::String,
            "Application id or name of the service principal",
        )
        .pipeline()
        .in_set(BY_SPN, true),
    ]
}

fn table() -> Vec<Operation> {
    vec![
        Operation {
            name: "New-KeyVault",
            synopsis: "Creates a key vault in the store.",
            output_type: "CustomerKey.KeyVault",
            output_type_when: None,
            output_property: None,
            impact: Impact::Medium,
            default_set: None,
            params: vec![
                vault_name(),
                Param::new("Location", T::String, "Azure region of the vault (its geography bounds backup and restore)").mandatory().pipeline(),
                Param::new("Sku", T::String, "Standard, or Premium for HSM-protected keys").allowed(&["Standard", "Premium"]),
                Param::new("SoftDeleteRetentionInDays", T::Int, "Days a deleted vault or key is kept before it is purged (7-90, default 90)").range(7, 90),
                Param::new("EnablePurgeProtection", T::Switch, "Forbid purging deleted keys before their retention ends"),
                Param::new("DisableSoftDelete", T::Switch, "Delete keys at once instead of keeping them recoverable"),
                Param::new("Tag", T::Hashtable, "Tags as name/value pairs"),
            ],
            handler: handler!(vault::new_key_vault),
        },
        Operation {
            name: "Get-KeyVault",
            synopsis: "Gets key vaults, with their access policies.",
            output_type: "CustomerKey.KeyVault",
            output_type_when: Some(("InRemovedState", "CustomerKey.DeletedKeyVault")),
            output_property: None,
            impact: Impact::None,
            default_set: None,
            params: vec![
                Param::new("VaultName", T::String, VAULT_NAME_HELP).pipeline(),
                Param::new("InRemovedState", T::Switch, "Get soft-deleted vaults"),
            ],
            handler: handler!(vault::get_key_vault),
        },
        Operation {
            name: "Remove-KeyVault",
            synopsis: "Deletes a key vault (soft delete when enabled), or purges a deleted one.",
            output_type: "None",
            output_type_when: None,
            output_property: None,
            impact: Impact::High,
            default_set: None,
            params: vec![
                vault_name(),
                Param::new("InRemovedState", T::Switch, "Purge a soft-deleted vault for good"),
                Param::new("Force", T::Switch, "Remove even when a data encryption policy uses a key of the vault"),
            ],
            handler: handler!(vault::remove_key_vault),
        },
        Operation {
            name: "Undo-KeyVaultRemoval",
            synopsis: "Recovers a soft-deleted key vault with its keys.",
            output_type: "CustomerKey.KeyVault",
            output_type_when: None,
            output_property: None,
            impact: Impact::Medium,
            default_set: None,
            params: vec![vault_name()],
            handler: handler!(vault::undo_key_vault_removal),
        },
        Operation {
            name: "Set-KeyVaultAccessPolicy",
            synopsis: "Grants key permissions on a vault to a user or service principal.",
            output_type: "CustomerKey.KeyVault",
            output_type_when: None,
            output_property: None,
            impact: Impact::Medium,
            default_set: Some(BY_UPN),
            params: {
                let mut p = vec![vault_name()];
                p.extend(principal_params());
                p.push(
                    Param::new("PermissionsToKeys", T::StringArray, "Key permissions to grant (replaces the principal's current ones)")
                        .mandatory()
                        .allowed(KEY_PERMISSIONS),
                );
                p.push(Param::new("PassThru", T::Switch, "Return the vault"));
                p
            },
            handler: handler!(vault::set_access_policy),
        },
        Operation {
            name: "Remove-KeyVaultAccessPolicy",
            synopsis: "Removes a principal's access policy from a vault.",
            output_type: "CustomerKey.KeyVault",
            output_type_when: None,
            output_property: None,
            impact: Impact::High,
            default_set: Some(BY_UPN),
            params: {
                let mut p = vec![vault_name()];
                p.extend(principal_params());
                p.push(Param::new("PassThru", T::Switch, "Return the vault"));
                p
            },
            handler: handler!(vault::remove_access_policy),
        },
        Operation {
            name: "Add-KeyVaultKey",
            synopsis: "Creates a key, or a new version of an existing key (a key roll).",
            output_type: "CustomerKey.KeyVaultKey",
            output_type_when: None,
            output_property: None,
            impact: Impact::Medium,
            default_set: Some(CREATE),
            params: vec![
                vault_name(),
                key_name(),
                Param::new("Destination", T::String, "Software, or HSM (Premium vaults only)").allowed(&["Software", "HSM"]),
                Param::new("KeyOps", T::StringArray, "Operations the key may be used for").allowed(KEY_OPS),
                Param::new("NotBefore", T::DateTime, "The key cannot be used before this time"),
                Param::new("Expires", T::DateTime, "The key cannot be used after this time"),
                Param::new("Disable", T::Switch, "Create the key disabled"),
                Param::new("Tag", T::Hashtable, "Tags as name/value pairs"),
                Param::new("Size", T::Int, "RSA key size in bits").range(2048, 4096).in_set(CREATE, false),
                Param::new("KeyType", T::String, "RSA or RSA-HSM").allowed(&["RSA", "RSA-HSM"]).in_set(CREATE, false),
                Param::new("KeyFilePath", T::Path, "Import the key from this file: .pfx (PKCS#12) or PKCS#8 (PEM or DER, encrypted or not)").in_set(IMPORT, true),
                Param::new("KeyFilePassword", T::SecureString, "Password of a .pfx or encrypted PKCS#8 key file").in_set(IMPORT, false),
            ],
            handler: handler!(vault::add_key),
        },
        Operation {
            name: "Get-KeyVaultKey",
            synopsis: "Gets keys, key versions, or soft-deleted keys.",
            output_type: "CustomerKey.KeyVaultKey",
            output_type_when: Some(("InRemovedState", "CustomerKey.DeletedKeyVaultKey")),
            output_property: None,
            impact: Impact::None,
            default_set: Some(BY_VAULT_NAME),
            params: vec![
                vault_name(),
                Param::new("Name", T::String, "Name of the key")
                    .pipeline()
                    .in_set(BY_VAULT_NAME, false)
                    .in_set(BY_KEY_VERSION, true)
                    .in_set(BY_KEY_VERSIONS, true),
                Param::new("Version", T::String, "Version of the key")
                    .pipeline()
                    .in_set(BY_KEY_VERSION, true),
                Param::new("IncludeVersions", T::Switch, "List every version of the key")
                    .in_set(BY_KEY_VERSIONS, true),
                Param::new("InRemovedState", T::Switch, "Get soft-deleted keys")
                    .in_set(BY_VAULT_NAME, false),
            ],
            handler: handler!(vault::get_key),
        },
        Operation {
            name: "Update-KeyVaultKey",
            synopsis: "Changes a key version's attributes (enabled, dates, operations, tags).",
            output_type: "CustomerKey.KeyVaultKey",
            output_type_when: None,
            output_property: None,
            impact: Impact::Medium,
            default_set: None,
            params: vec![
                vault_name(),
                key_name(),
                Param::new("Version", T::String, "Version to update (default: the newest)").pipeline(),
                Param::new("Enable", T::Bool, "Enable or disable the version"),
                Param::new("Expires", T::DateTime, "The key cannot be used after this time"),
                Param::new("NotBefore", T::DateTime, "The key cannot be used before this time"),
                Param::new("KeyOps", T::StringArray, "Operations the key may be used for").allowed(KEY_OPS),
                Param::new("Tag", T::Hashtable, "Tags as name/value pairs (replaces the current ones)"),
                Param::new("Force", T::Switch, "Disable even when a data encryption policy uses the version"),
                Param::new("PassThru", T::Switch, "Return the updated key"),
            ],
            handler: handler!(vault::update_key),
        },
        Operation {
            name: "Remove-KeyVaultKey",
            synopsis: "Deletes a key with all its versions (soft delete when enabled), or purges a deleted key.",
            output_type: "CustomerKey.DeletedKeyVaultKey",
            output_type_when: None,
            output_property: None,
            impact: Impact::High,
            default_set: None,
            params: vec![
                vault_name(),
                key_name(),
                Param::new("InRemovedState", T::Switch, "Purge the soft-deleted key for good"),
                Param::new("Force", T::Switch, "Remove even when a data encryption policy uses the key"),
                Param::new("PassThru", T::Switch, "Return the deleted key"),
            ],
            handler: handler!(vault::remove_key),
        },
        Operation {
            name: "Undo-KeyVaultKeyRemoval",
            synopsis: "Recovers a soft-deleted key with all its versions.",
            output_type: "CustomerKey.KeyVaultKey",
            output_type_when: None,
            output_property: None,
            impact: Impact::Medium,
            default_set: None,
            params: vec![vault_name(), key_name()],
            handler: handler!(vault::undo_key_removal),
        },
        Operation {
            name: "Backup-KeyVaultKey",
            synopsis: "Writes every version of a key, with its metadata, to an encrypted backup file.",
            output_type: "System.String",
            output_type_when: None,
            output_property: Some("OutputFile"),
            impact: Impact::Medium,
            default_set: None,
            params: vec![
                vault_name(),
                key_name(),
                Param::new("OutputFile", T::Path, "File to write (default: a new file in the store's backups folder)"),
                Param::new("Force", T::Switch, "Overwrite an existing file"),
            ],
            handler: handler!(vault::backup_key),
        },
        Operation {
            name: "Restore-KeyVaultKey",
            synopsis: "Restores a key with all its versions from a backup file.",
            output_type: "CustomerKey.KeyVaultKey",
            output_type_when: None,
            output_property: None,
            impact: Impact::Medium,
            default_set: None,
            params: vec![
                vault_name(),
                Param::new("InputFile", T::Path, "Backup file written by Backup-KeyVaultKey").mandatory().pipeline(),
            ],
            handler: handler!(vault::restore_key),
        },
        Operation {
            name: "Invoke-KeyVaultKeyOperation",
            synopsis: "Wraps, unwraps, encrypts or decrypts a value with a key.",
            output_type: "CustomerKey.KeyOperationResult",
            output_type_when: None,
            output_property: None,
            impact: Impact::None,
            default_set: None,
            params: vec![
                vault_name(),
                key_name(),
                Param::new("Version", T::String, "Version to use (default: the newest)").pipeline(),
                Param::new("Operation", T::String, "Encrypt, Decrypt, Wrap or Unwrap").mandatory().allowed(&["Encrypt", "Decrypt", "Wrap", "Unwrap"]),
                Param::new("Algorithm", T::String, "RSA-OAEP-256 (recommended), RSA-OAEP or RSA1_5").mandatory().allowed(&["RSA-OAEP-256", "RSA-OAEP", "RSA1_5"]),
                Param::new("ByteArrayValue", T::Bytes, "The value (base64 in JSON)").mandatory(),
            ],
            handler: handler!(vault::invoke_key_operation),
        },
    ]
}

static TABLE: Lazy<Vec<Operation>> = Lazy::new(table);

pub fn operations() -> &'static [Operation] {
    &TABLE
}

pub fn find(name: &str) -> Option<&'static Operation> {
    TABLE.iter().find(|op| op.name.eq_ignore_ascii_case(name))
}

/// The registry `ck_describe` returns.
pub fn describe() -> Value {
    json!({
        "Version": crate::VERSION,
        "Operations": TABLE.iter().map(Operation::describe).collect::<Vec<_>>(),
    })
}

/// Runs one operation: checks the arguments against the table, then calls the handler.
pub fn call(session: &Session, operation: &str, arguments: &Value) -> Result<Value> {
    let op = find(operation).ok_or_else(|| {
        Error::invalid_argument(
            "operation",
            format!("'{operation}' is not an operation; see ck_describe or customer-key --list"),
        )
    })?;
    let call = Call {
        session,
        operation: op.name,
    };
    let result = validate(op, arguments).and_then(|args| (op.handler)(&call, Value::Object(args)));
    if let Err(e) = &result {
        call.audit_failure(&audit_target(arguments, e), e);
    }
    result
}

/// The object a failed call concerned, for its audit row: VaultName[/Name] when given.
fn audit_target(arguments: &Value, e: &Error) -> String {
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
        _ => e.target.chars().take(160).collect(),
    }
}
