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
        let param = op.param(&key).ok_or_else(|| {
            Error::invalid_argument(
                &key,
                format!(
                    "{} has no such parameter; it takes {}",
                    op.name,
                    op.params
                        .iter()
                        .map(|p| p.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        if value.is_null() {
            continue;
        }
        if out.contains_key(param.name) {
            return Err(Error::invalid_argument(param.name, "is given twice"));
        }
        let value = check_value(param, value)?;
        out.insert(param.name.to_string(), value);
    }
    for p in op.params.iter().filter(|p| p.mandatory) {
        if !out.contains_key(p.name) {
            return Err(Error::invalid_argument(p.name, "is mandatory"));
        }
    }
    if !op.exactly_one_of.is_empty() {
        let present: Vec<_> = op
            .exactly_one_of
            .iter()
            .filter(|n| out.contains_key(**n))
            .collect();
        if present.len() != 1 {
            return Err(Error::invalid_argument(
                op.exactly_one_of[0],
                format!("give exactly one of {}", op.exactly_one_of.join(", ")),
            ));
        }
    }
    Ok(out)
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
            crate::b64::decode(s).map_err(|_| wrong("a standard base64 string"))?;
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
