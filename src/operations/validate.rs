//! Checking a call's arguments against the operation table: every failure names the
//! parameter and the rule it broke, and what passes comes out under canonical names.

use super::{Operation, Param, ParamType as T};
use crate::error::{Error, Result};
use serde_json::{Map, Value};

/// Arguments that passed [`validate`], as the handler decodes them.
#[derive(Debug)]
pub enum Validated<'a> {
    /// The caller's own object: every name already canonical and every value already in its
    /// canonical form (the usual call, which then costs no copy).
    AsGiven(&'a Value),
    /// Rebuilt under canonical names, values canonicalized, nulls dropped.
    Canonical(Value),
}

impl Validated<'_> {
    pub fn value(&self) -> &Value {
        match self {
            Validated::AsGiven(v) => v,
            Validated::Canonical(v) => v,
        }
    }

    /// The arguments as an object keyed by canonical parameter name.
    pub fn into_map(self) -> Map<String, Value> {
        match self {
            Validated::AsGiven(Value::Object(m)) => m.clone(),
            Validated::Canonical(Value::Object(m)) => m,
            _ => Map::new(),
        }
    }
}

/// Checks arguments against an operation's parameters and gives them under their canonical
/// names. Every failure names the parameter and the rule it broke.
pub fn validate<'a>(op: &Operation, arguments: &'a Value) -> Result<Validated<'a>> {
    validate_given(op, arguments, None)
}

/// [`validate`] for a caller that holds the content of the file parameter `in_memory` names
/// (see [`super::InMemory`]): that parameter counts as given, for the parameter sets, and may
/// not be given as a path besides.
pub(crate) fn validate_in_memory<'a>(
    op: &Operation,
    arguments: &'a Value,
    in_memory: &str,
) -> Result<Validated<'a>> {
    let param = op
        .param(in_memory)
        .ok_or_else(|| op.unknown_parameter(in_memory))?;
    validate_given(op, arguments, Some(param.name))
}

fn validate_given<'a>(
    op: &Operation,
    arguments: &'a Value,
    in_memory: Option<&'static str>,
) -> Result<Validated<'a>> {
    let empty = Map::new();
    let given = match arguments {
        Value::Null => &empty,
        Value::Object(m) => m,
        _ => {
            return Err(Error::invalid_argument(
                "arguments",
                "must be a JSON object keyed by parameter name",
            ))
        }
    };
    let mut as_given = matches!(arguments, Value::Object(_));
    let mut checked: Vec<(&'static str, &Value, Option<Value>)> = Vec::with_capacity(given.len());
    // Which parameters were given, by their index in `op.params`: the parameter-set rule is
    // then a few mask tests on every call, and walks the sets only to word an error.
    let mut given_mask = 0u64;
    if let Some(name) = in_memory {
        if let Some(index) = op.params.iter().position(|p| p.name == name) {
            given_mask |= 1u64.checked_shl(index as u32).unwrap_or(0);
        }
    }
    for (key, value) in given {
        let (index, param) = op
            .params
            .iter()
            .enumerate()
            .find(|(_, p)| p.name.eq_ignore_ascii_case(key))
            .ok_or_else(|| op.unknown_parameter(key))?;
        if value.is_null() {
            as_given = false;
            continue;
        }
        if in_memory == Some(param.name) {
            return Err(Error::invalid_argument(
                param.name,
                "is given in memory by this caller, and cannot be a path as well",
            ));
        }
        let bit = 1u64.checked_shl(index as u32).unwrap_or(0);
        let twice = if bit == 0 {
            checked.iter().any(|(name, _, _)| *name == param.name)
        } else {
            given_mask & bit != 0
        };
        if twice {
            return Err(Error::invalid_argument(param.name, "is given twice"));
        }
        given_mask |= bit;
        let change = check_value(param, value)?;
        as_given &= change.is_none() && key.as_str() == param.name;
        checked.push((param.name, value, change));
    }
    let canonical = |checked: Vec<(&'static str, &Value, Option<Value>)>| {
        let mut out = Map::with_capacity(checked.len());
        for (name, value, change) in checked {
            out.insert(name.to_string(), change.unwrap_or_else(|| value.clone()));
        }
        out
    };
    match op.set_masks() {
        Some(masks) if masks.accepts(given_mask) => Ok(if as_given {
            Validated::AsGiven(arguments)
        } else {
            Validated::Canonical(Value::Object(canonical(checked)))
        }),
        _ => {
            let out = canonical(checked);
            check_parameter_sets(op, &out, in_memory)?;
            Ok(Validated::Canonical(Value::Object(out)))
        }
    }
}

/// An operation's parameter sets as bit masks over its parameters (bit i: `params[i]`).
#[derive(Debug)]
pub(crate) struct SetMasks {
    /// Per set: (its members, its mandatory members). Empty when the operation has no sets.
    sets: Vec<(u64, u64)>,
    /// The mandatory parameters of an operation without sets.
    mandatory: u64,
}

impl SetMasks {
    pub(crate) fn of(op: &Operation) -> Option<SetMasks> {
        if op.params.len() > 64 {
            return None;
        }
        let bit = |i: usize| 1u64 << i;
        let sets =
            op.parameter_sets()
                .into_iter()
                .map(|set| {
                    op.params.iter().enumerate().fold(
                        (0, 0),
                        |(members, mandatory), (i, p)| match p.in_parameter_set(set) {
                            Some(true) => (members | bit(i), mandatory | bit(i)),
                            Some(false) => (members | bit(i), mandatory),
                            None => (members, mandatory),
                        },
                    )
                })
                .collect();
        let mandatory = op
            .params
            .iter()
            .enumerate()
            .filter(|(_, p)| p.mandatory)
            .fold(0, |m, (i, _)| m | bit(i));
        Some(SetMasks { sets, mandatory })
    }

    /// Whether the given parameters fit one set and give all its mandatory ones; false sends
    /// the caller to the rule's full check, which words the error.
    fn accepts(&self, given: u64) -> bool {
        if self.sets.is_empty() {
            return self.mandatory & !given == 0;
        }
        self.sets
            .iter()
            .any(|&(members, mandatory)| given & !members == 0 && mandatory & !given == 0)
    }
}

/// PowerShell's parameter-set rule: the given parameters must all belong to one set, and that
/// set's mandatory parameters must all be given.
fn check_parameter_sets(
    op: &Operation,
    given: &Map<String, Value>,
    in_memory: Option<&'static str>,
) -> Result<()> {
    let sets = op.parameter_sets();
    let params: Vec<&Param> = given
        .keys()
        .map(String::as_str)
        .chain(in_memory)
        .filter_map(|k| op.param(k))
        .collect();
    let is_given = |name: &str| given.contains_key(name) || in_memory == Some(name);
    if sets.is_empty() {
        return match op.params.iter().find(|p| p.mandatory && !is_given(p.name)) {
            Some(missing) => Err(Error::invalid_argument(missing.name, "is mandatory")),
            None => Ok(()),
        };
    }
    let fits: Vec<&str> = sets
        .iter()
        .copied()
        .filter(|set| params.iter().all(|p| p.in_parameter_set(set).is_some()))
        .collect();
    if fits.is_empty() {
        // Name two parameters that share no set.
        for a in &params {
            for b in &params {
                if !sets
                    .iter()
                    .any(|s| a.in_parameter_set(s).is_some() && b.in_parameter_set(s).is_some())
                {
                    return Err(Error::invalid_argument(
                        a.name,
                        format!("cannot be used together with '{}' (they belong to different parameter sets)", b.name),
                    ));
                }
            }
        }
        return Err(Error::invalid_argument(
            params.first().map_or("arguments", |p| p.name),
            "these parameters do not form one parameter set",
        ));
    }
    let missing_in = |set: &str| {
        op.params
            .iter()
            .find(|p| p.in_parameter_set(set) == Some(true) && !is_given(p.name))
    };
    if fits.iter().any(|set| missing_in(set).is_none()) {
        return Ok(());
    }
    let set = op
        .default_set
        .filter(|d| fits.contains(d))
        .unwrap_or(fits[0]);
    let missing = missing_in(set).map_or("arguments", |p| p.name);
    let others: Vec<String> = fits
        .iter()
        .filter(|s| **s != set)
        .filter_map(|s| missing_in(s).map(|p| p.name.to_string()))
        .collect();
    let alternatives = if others.is_empty() {
        String::new()
    } else {
        format!(" (or give {})", others.join(" or "))
    };
    Err(Error::invalid_argument(
        missing,
        format!("is mandatory{alternatives}"),
    ))
}

/// Checks one value against its parameter: `None` when it is already in canonical form,
/// else the canonical value.
fn check_value(p: &Param, value: &Value) -> Result<Option<Value>> {
    let wrong = |what: &str| Error::invalid_argument(p.name, format!("must be {what}"));
    let changed = match p.ty {
        T::String | T::Path | T::SecureString => {
            let s = value.as_str().ok_or_else(|| wrong("a string"))?;
            if p.ty == T::Path && !std::path::Path::new(s).is_absolute() {
                return Err(wrong("an absolute path"));
            }
            if s.contains('\0') {
                return Err(wrong("a string without NUL characters"));
            }
            None
        }
        T::StringArray => match value {
            // A single string is accepted as a one-element array, as PowerShell does.
            Value::String(s) => Some(Value::Array(vec![Value::String(s.clone())])),
            Value::Array(items) if items.iter().all(Value::is_string) => None,
            _ => return Err(wrong("an array of strings")),
        },
        T::Int => {
            let n = value.as_i64().ok_or_else(|| wrong("an integer"))?;
            if let Some((low, high)) = p.range {
                if n < low || n > high {
                    return Err(wrong(&format!("between {low} and {high}")));
                }
            }
            None
        }
        T::Switch | T::Bool => {
            value.as_bool().ok_or_else(|| wrong("true or false"))?;
            None
        }
        T::DateTime => {
            let s = value
                .as_str()
                .ok_or_else(|| wrong("an ISO 8601 date and time"))?;
            let t = chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|_| wrong("an ISO 8601 date and time with a UTC offset"))?;
            let iso = crate::time::iso(t.with_timezone(&chrono::Utc));
            (iso != s).then_some(Value::String(iso))
        }
        T::Hashtable => {
            let m = value
                .as_object()
                .ok_or_else(|| wrong("an object of name/value pairs"))?;
            if m.values().all(Value::is_string) {
                None
            } else {
                let mut out = Map::new();
                for (k, v) in m {
                    let s = match v {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => return Err(wrong("an object whose values are strings")),
                    };
                    out.insert(k.clone(), Value::String(s));
                }
                Some(Value::Object(out))
            }
        }
        T::Bytes => {
            let s = value.as_str().ok_or_else(|| wrong("a base64 string"))?;
            if !looks_like_base64(s) {
                return Err(wrong("a standard base64 string"));
            }
            None
        }
    };
    if p.allowed.is_empty() {
        return Ok(changed);
    }
    // PowerShell's ValidateSet is case-insensitive; keep the canonical spelling.
    let canonical = |item: &str| {
        p.allowed
            .iter()
            .copied()
            .find(|a| a.eq_ignore_ascii_case(item))
            .ok_or_else(|| wrong(&format!("one of {}", p.allowed.join(", "))))
    };
    match changed.as_ref().unwrap_or(value) {
        Value::String(s) => {
            let found = canonical(s)?;
            Ok((found != s || changed.is_some()).then(|| match p.ty {
                T::StringArray => Value::Array(vec![Value::String(found.to_string())]),
                _ => Value::String(found.to_string()),
            }))
        }
        Value::Array(items) => {
            let mut exact = changed.is_none();
            let mut out = Vec::with_capacity(items.len());
            for item in items.iter().filter_map(Value::as_str) {
                let found = canonical(item)?;
                exact &= found == item;
                out.push(Value::String(found.to_string()));
            }
            Ok((!exact).then_some(Value::Array(out)))
        }
        _ => Ok(changed),
    }
}

/// Standard base64's form (alphabet, padding only at the end, length a multiple of 4), checked
/// without decoding: the handler decodes once, into a buffer that is wiped when the value is a
/// secret.
fn looks_like_base64(s: &str) -> bool {
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return false;
    }
    let body = bytes
        .strip_suffix(b"==")
        .or_else(|| bytes.strip_suffix(b"="))
        .unwrap_or(bytes);
    body.iter()
        .all(|&c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
}

#[cfg(test)]
mod tests {
    use super::{validate, Validated};
    use serde_json::json;

    fn op(name: &str) -> &'static super::Operation {
        crate::registry().find(name).expect(name)
    }

    #[test]
    fn a_call_already_in_canonical_form_is_passed_on_as_given() {
        let args = json!({"VaultName": "v1", "Name": "k", "Operation": "Wrap",
                          "Algorithm": "RSA-OAEP-256", "ByteArrayValue": "AAEC"});
        let validated = validate(op("Invoke-KeyVaultKeyOperation"), &args).unwrap();
        assert!(matches!(validated, Validated::AsGiven(v) if std::ptr::eq(v, &args)));
    }

    #[test]
    fn names_values_and_nulls_are_made_canonical() {
        let args = json!({"vaultname": "v1", "Name": "k", "Operation": "wrap",
                          "Algorithm": "rsa-oaep-256", "ByteArrayValue": "AAEC", "Version": null});
        let out = validate(op("Invoke-KeyVaultKeyOperation"), &args)
            .unwrap()
            .into_map();
        assert_eq!(
            serde_json::Value::Object(out),
            json!({"VaultName": "v1", "Name": "k", "Operation": "Wrap",
                   "Algorithm": "RSA-OAEP-256", "ByteArrayValue": "AAEC"})
        );
        let args = json!({"VaultName": "v1", "Name": "k", "KeyOps": "WRAPKEY",
                          "Expires": "2030-01-01T01:00:00+01:00"});
        let out = validate(op("Add-KeyVaultKey"), &args).unwrap().into_map();
        assert_eq!(out["KeyOps"], json!(["wrapKey"]));
        assert_eq!(out["Expires"], json!("2030-01-01T00:00:00Z"));
        let args = json!({"VaultName": "v1", "Name": "k", "KeyOps": ["wrapKey", "UNWRAPKEY"]});
        let out = validate(op("Add-KeyVaultKey"), &args).unwrap().into_map();
        assert_eq!(out["KeyOps"], json!(["wrapKey", "unwrapKey"]));
    }

    #[test]
    fn the_same_parameter_twice_in_two_spellings_is_refused() {
        let args = json!({"VaultName": "v1", "vaultname": "v2", "Name": "k"});
        let e = validate(op("Get-KeyVaultKey"), &args).unwrap_err();
        assert_eq!(e.target, "VaultName");
        assert!(e.message.contains("given twice"), "{}", e.message);
    }
    #[test]
    fn base64_form_is_checked_as_the_decoder_would() {
        for (text, ok) in [
            ("", true),
            ("eA==", true),
            ("eHk=", true),
            ("eHl6", true),
            ("eA=", false),
            ("e===", false),
            ("eA==eA==", false),
            ("e-_A", false),
            ("eHl6 ", false),
        ] {
            assert_eq!(super::looks_like_base64(text), ok, "{text:?}");
            if ok && !text.is_empty() {
                assert!(crate::b64::decode(text).is_ok(), "{text:?}");
            }
        }
    }
}
