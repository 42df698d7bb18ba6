//! Checking a call's arguments against the operation table: every failure names the
//! parameter and the rule it broke, and what passes comes out under canonical names.

use super::{Operation, Param, ParamType as T};
use crate::error::{Error, Result};
use serde_json::{Map, Value};

/// Checks arguments against an operation's parameters and returns them under their canonical
/// names. Every failure names the parameter and the rule it broke.
pub fn validate(op: &Operation, arguments: &Value) -> Result<Map<String, Value>> {
    let given = match arguments {
        Value::Null => Map::new(),
        Value::Object(m) => m.clone(),
        _ => {
            return Err(Error::invalid_argument(
                "arguments",
                "must be a JSON object keyed by parameter name",
            ))
        }
    };
    let mut out = Map::new();
    for (key, value) in given {
        let param = op.param(&key).ok_or_else(|| op.unknown_parameter(&key))?;
        if value.is_null() {
            continue;
        }
        if out.contains_key(param.name) {
            return Err(Error::invalid_argument(param.name, "is given twice"));
        }
        let value = check_value(param, value)?;
        out.insert(param.name.to_string(), value);
    }
    check_parameter_sets(op, &out)?;
    Ok(out)
}

/// PowerShell's parameter-set rule: the given parameters must all belong to one set, and that
/// set's mandatory parameters must all be given.
fn check_parameter_sets(op: &Operation, given: &Map<String, Value>) -> Result<()> {
    let sets = op.parameter_sets();
    let params: Vec<&Param> = given.keys().filter_map(|k| op.param(k)).collect();
    if sets.is_empty() {
        return match op
            .params
            .iter()
            .find(|p| p.mandatory && !given.contains_key(p.name))
        {
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
            .find(|p| p.in_parameter_set(set) == Some(true) && !given.contains_key(p.name))
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

fn check_value(p: &Param, value: Value) -> Result<Value> {
    let wrong = |what: &str| Error::invalid_argument(p.name, format!("must be {what}"));
    let checked = match p.ty {
        T::String | T::Path | T::SecureString => {
            let s = value.as_str().ok_or_else(|| wrong("a string"))?;
            if p.ty == T::Path && !std::path::Path::new(s).is_absolute() {
                return Err(wrong("an absolute path"));
            }
            if s.contains('\0') {
                return Err(wrong("a string without NUL characters"));
            }
            value
        }
        T::StringArray => {
            // A single string is accepted as a one-element array, as PowerShell does.
            let items = match value {
                Value::String(s) => vec![Value::String(s)],
                Value::Array(items) if items.iter().all(Value::is_string) => items,
                _ => return Err(wrong("an array of strings")),
            };
            Value::Array(items)
        }
        T::Int => {
            let n = value.as_i64().ok_or_else(|| wrong("an integer"))?;
            if let Some((low, high)) = p.range {
                if n < low || n > high {
                    return Err(wrong(&format!("between {low} and {high}")));
                }
            }
            value
        }
        T::Switch | T::Bool => {
            value.as_bool().ok_or_else(|| wrong("true or false"))?;
            value
        }
        T::DateTime => {
            let s = value
                .as_str()
                .ok_or_else(|| wrong("an ISO 8601 date and time"))?;
            let t = chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|_| wrong("an ISO 8601 date and time with a UTC offset"))?;
            Value::String(crate::time::iso(t.with_timezone(&chrono::Utc)))
        }
        T::Hashtable => {
            let m = value
                .as_object()
                .ok_or_else(|| wrong("an object of name/value pairs"))?;
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
            Value::Object(out)
        }
        T::Bytes => {
            let s = value.as_str().ok_or_else(|| wrong("a base64 string"))?;
            if !looks_like_base64(s) {
                return Err(wrong("a standard base64 string"));
            }
            value
        }
    };
    if !p.allowed.is_empty() {
        let items: Vec<&str> = match &checked {
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            Value::String(s) => vec![s.as_str()],
            _ => vec![],
        };
        let mut canonical = Vec::new();
        for item in items {
            // PowerShell's ValidateSet is case-insensitive; keep the canonical spelling.
            let found = p
                .allowed
                .iter()
                .find(|a| a.eq_ignore_ascii_case(item))
                .ok_or_else(|| wrong(&format!("one of {}", p.allowed.join(", "))))?;
            canonical.push(Value::String(found.to_string()));
        }
        return Ok(match checked {
            Value::Array(_) => Value::Array(canonical),
            _ => canonical.into_iter().next().unwrap_or(Value::Null),
        });
    }
    Ok(checked)
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
