//! The command line of `customer-key`, parsed without side effects: the binary reads the
//! process's arguments, current directory and `@file` values and hands them here through
//! [`CliEnv`], so the same parser runs under the fuzzer with no file system behind it.

use crate::error::Error;
use crate::operations::ParamType;
use crate::session::SessionOptions;
use serde_json::{Map, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "usage: customer-key [--store DIR] [--upn USER] [--time-shift SECONDS] [REMOTE] <Operation> [-Param value ...]
       REMOTE: [--environment Local|AzureCloud|AzureUSGovernment|AzureChinaCloud] [--vault-domain HOST[:PORT]]
               [--ca-file PEM] [--access-token-file FILE] [--api-version 7.6]
               [--management-endpoint URL] [--graph-endpoint URL] [--subscription-id GUID]
               [--management-access-token-file FILE] [--graph-access-token-file FILE]
               (a token is read from a file, never given on the command line)
       customer-key --list | --describe | --version
       customer-key generate-powershell [--check] [DIR]
       customer-key [--store DIR] serve [--listen 127.0.0.1:0] [--tenant NAME] [--throttle N]
Switches take no value (-Disable); arrays take comma-separated values (-KeyOps wrapKey,unwrapKey);
hashtables take name=value pairs (-Tag owner=alice,env=prod); booleans take true/false; byte values
and passwords take @file to read the value from a file (-ByteArrayValue @data.bin, -KeyFilePassword
@pw.txt), which keeps a password off the command line. Output is JSON on stdout; errors are a JSON
envelope on stderr, with the status as exit code.";

/// What the parser needs from the process: its current directory (relative paths are made
/// absolute against it) and the contents of `@file` values.
pub trait CliEnv {
    fn current_dir(&self) -> std::io::Result<PathBuf>;
    fn read_file(&self, path: &str) -> std::io::Result<Vec<u8>>;
}

/// The real process: `std::env::current_dir` and `std::fs::read`.
pub struct ProcessEnv;

impl CliEnv for ProcessEnv {
    fn current_dir(&self) -> std::io::Result<PathBuf> {
        std::env::current_dir()
    }
    fn read_file(&self, path: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }
}

/// A parsed command line.
pub enum Command {
    /// Print this text (usage, version, the operation list, the registry) and exit 0.
    Print(String),
    Serve(SessionOptions, ServeOptions),
    Call {
        options: SessionOptions,
        operation: &'static str,
        arguments: Map<String, Value>,
    },
}

/// How `customer-key serve` serves: its flags, and the knobs the tests turn. Here rather than
/// in `serve`, which the library the PowerShell module loads leaves out, so that the fuzzer
/// reaches these flags' parser too.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    /// The tenant in the token route and the challenge's authority.
    pub tenant: String,
    /// Answer 429 once a vault exceeds this many requests per 10 seconds.
    pub throttle: Option<u32>,
    /// Throttled answers leave out Retry-After, as some proxies in front of a vault do (the
    /// remote target's tests use it to see the client's own backoff).
    pub throttle_without_retry_after: bool,
    pub token_lifetime_seconds: i64,
    /// A client that takes longer to send its headers is cut off; its body gets three times
    /// as long (408).
    pub header_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tenant: "customerkey".into(),
            throttle: None,
            throttle_without_retry_after: false,
            token_lifetime_seconds: 3600,
            header_timeout: Duration::from_secs(10),
        }
    }
}

fn usage_error(message: impl Into<String>) -> Error {
    Error::invalid_argument("command line", format!("{}\n{USAGE}", message.into()))
}

/// `customer-key --list`: one line per operation, its name padded to 32 columns, then its
/// synopsis.
pub fn list_text() -> String {
    let names: Vec<String> = crate::registry()
        .operations()
        .iter()
        .map(|op| format!("{:<32} {}", op.name, op.synopsis))
        .collect();
    names.join("\n")
}

fn absolute(env: &dyn CliEnv, p: PathBuf) -> Result<PathBuf, Error> {
    if p.is_absolute() {
        return Ok(p);
    }
    Ok(env
        .current_dir()
        .map_err(|e| Error::io(format!("no current directory: {e}"), ""))?
        .join(p))
}

/// Parses the arguments after the program name (`generate-powershell` is the binary's own).
pub fn parse(args: Vec<String>, env: &dyn CliEnv) -> Result<Command, Error> {
    let mut options = SessionOptions::default();
    let mut rest = args.into_iter().peekable();
    let mut operation = None;
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--help" | "-h" => return Ok(Command::Print(USAGE.to_string())),
            "--version" => return Ok(Command::Print(crate::VERSION.to_string())),
            "--list" => return Ok(Command::Print(list_text())),
            "--describe" => return Ok(Command::Print(crate::registry().describe().to_string())),
            "--store" => {
                let dir = rest
                    .next()
                    .ok_or_else(|| usage_error("--store needs a directory"))?;
                options.store = Some(absolute(env, PathBuf::from(dir))?);
            }
            "--upn" => {
                options.user_principal_name = Some(
                    rest.next()
                        .ok_or_else(|| usage_error("--upn needs a name"))?,
                )
            }
            "--time-shift" => {
                let v = rest
                    .next()
                    .ok_or_else(|| usage_error("--time-shift needs seconds"))?;
                options.time_shift_seconds = Some(v.parse().map_err(|_| {
                    Error::invalid_argument("--time-shift", "must be a whole number of seconds")
                })?);
            }
            "--environment"
            | "--vault-domain"
            | "--ca-file"
            | "--access-token-file"
            | "--management-access-token-file"
            | "--graph-access-token-file"
            | "--management-endpoint"
            | "--graph-endpoint"
            | "--subscription-id"
            | "--api-version" => {
                let v = rest
                    .next()
                    .ok_or_else(|| usage_error(format!("{a} needs a value")))?;
                match a.as_str() {
                    "--environment" => options.environment = Some(v),
                    "--vault-domain" => options.vault_domain = Some(v),
                    "--api-version" => options.api_version = Some(v),
                    "--management-endpoint" => options.management_endpoint = Some(v),
                    "--graph-endpoint" => options.graph_endpoint = Some(v),
                    "--subscription-id" => options.subscription_id = Some(v),
                    "--ca-file" => options.ca_file = Some(absolute(env, PathBuf::from(v))?),
                    flag => {
                        let bytes = zeroize::Zeroizing::new(env.read_file(&v).map_err(|e| {
                            Error::invalid_argument(flag, format!("cannot be read ({e})"))
                        })?);
                        let text = std::str::from_utf8(&bytes)
                            .map_err(|_| Error::invalid_argument(flag, "must hold UTF-8 text"))?;
                        let token = Some(zeroize::Zeroizing::new(text.trim().to_string()));
                        match flag {
                            "--management-access-token-file" => {
                                options.management_access_token = token
                            }
                            "--graph-access-token-file" => options.graph_access_token = token,
                            _ => options.access_token = token,
                        }
                    }
                }
            }
            _ if a.starts_with("--") => return Err(usage_error(format!("unknown option {a}"))),
            _ => {
                operation = Some(a);
                break;
            }
        }
    }
    let operation = operation.ok_or_else(|| usage_error("no operation given"))?;
    if operation == "serve" {
        return Ok(Command::Serve(options, parse_serve(rest.collect())?));
    }
    let op = crate::registry().find(&operation).ok_or_else(|| {
        Error::invalid_argument(
            "operation",
            format!("'{operation}' is not an operation; customer-key --list shows them"),
        )
    })?;
    let mut arguments = Map::new();
    while let Some(flag) = rest.next() {
        // A bare "-" names no parameter: refused as the command line's, not as a parameter ''.
        let name = flag
            .strip_prefix('-')
            .filter(|name| !name.is_empty())
            .ok_or_else(|| usage_error(format!("expected -Parameter, found '{flag}'")))?;
        let param = op.param(name).ok_or_else(|| op.unknown_parameter(name))?;
        let value = if param.ty == ParamType::Switch
            && !rest.peek().is_some_and(|v| v == "true" || v == "false")
        {
            Value::Bool(true)
        } else {
            let raw = rest
                .next()
                .ok_or_else(|| Error::invalid_argument(param.name, "needs a value"))?;
            parse_value(env, param.name, param.ty, &raw)?
        };
        if arguments.insert(param.name.to_string(), value).is_some() {
            return Err(Error::invalid_argument(param.name, "is given twice"));
        }
    }
    Ok(Command::Call {
        options,
        operation: op.name,
        arguments,
    })
}

fn parse_serve(args: Vec<String>) -> Result<ServeOptions, Error> {
    let mut serve = ServeOptions::default();
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| usage_error(format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--listen" => {
                serve.listen = value()?.parse().map_err(|_| {
                    Error::invalid_argument(
                        "--listen",
                        "must be an address and port such as 127.0.0.1:8443",
                    )
                })?
            }
            "--tenant" => serve.tenant = value()?,
            "--throttle" => {
                serve.throttle = Some(value()?.parse().map_err(|_| {
                    Error::invalid_argument(
                        "--throttle",
                        "must be a whole number of requests per 10 seconds",
                    )
                })?)
            }
            _ => {
                return Err(usage_error(format!(
                    "serve takes --listen, --tenant and --throttle, not {flag}"
                )))
            }
        }
    }
    Ok(serve)
}

fn parse_value(env: &dyn CliEnv, name: &str, ty: ParamType, raw: &str) -> Result<Value, Error> {
    let raw = match raw.strip_prefix('@') {
        Some(path) if ty == ParamType::Bytes => {
            let bytes = env
                .read_file(path)
                .map_err(|e| Error::invalid_argument(name, format!("cannot read {path}: {e}")))?;
            return Ok(Value::String(crate::b64::encode(&bytes)));
        }
        Some(path) if ty == ParamType::SecureString => {
            let text = env
                .read_file(path)
                .and_then(|bytes| {
                    String::from_utf8(bytes).map_err(|_| {
                        std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            "stream did not contain valid UTF-8",
                        )
                    })
                })
                .map_err(|e| Error::invalid_argument(name, format!("cannot read {path}: {e}")))?;
            let text = zeroize::Zeroizing::new(text);
            // One trailing newline is the file's, not the password's.
            let text = text.strip_suffix('\n').unwrap_or(&text);
            return Ok(Value::String(
                text.strip_suffix('\r').unwrap_or(text).to_string(),
            ));
        }
        _ => raw.to_string(),
    };
    Ok(match ty {
        ParamType::Int => Value::from(
            raw.parse::<i64>()
                .map_err(|_| Error::invalid_argument(name, "must be a whole number"))?,
        ),
        ParamType::Bool | ParamType::Switch => match raw.to_ascii_lowercase().as_str() {
            "true" | "1" => Value::Bool(true),
            "false" | "0" => Value::Bool(false),
            _ => return Err(Error::invalid_argument(name, "must be true or false")),
        },
        ParamType::StringArray => Value::Array(
            raw.split(',')
                .map(|s| Value::String(s.trim().to_string()))
                .collect(),
        ),
        ParamType::Hashtable => {
            let mut m = Map::new();
            for pair in raw.split(',').filter(|p| !p.is_empty()) {
                let (k, v) = pair
                    .split_once('=')
                    .ok_or_else(|| Error::invalid_argument(name, "takes name=value pairs"))?;
                m.insert(k.trim().to_string(), Value::String(v.trim().to_string()));
            }
            Value::Object(m)
        }
        ParamType::Path => Value::String(absolute(env, PathBuf::from(&raw))?.display().to_string()),
        _ => Value::String(raw),
    })
}
