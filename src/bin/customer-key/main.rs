//! The CLI: `customer-key <Operation> [-Param value ...]`. Argument parsing only; the operation
//! table does the rest.

use customer_key::operations::ParamType;
use customer_key::{Error, SessionOptions};
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::process::ExitCode;

mod generate_powershell;

const USAGE: &str = "usage: customer-key [--store DIR] [--upn USER] [--time-shift SECONDS] [REMOTE] <Operation> [-Param value ...]
       REMOTE: [--environment Local|AzureCloud|AzureUSGovernment|AzureChinaCloud] [--vault-domain HOST[:PORT]]
               [--ca-file PEM] [--access-token-file FILE] [--api-version 7.6]
               (a token is read from a file, never given on the command line)
       customer-key --list | --describe | --version
       customer-key generate-powershell [--check] [DIR]
       customer-key [--store DIR] serve [--listen 127.0.0.1:0] [--tenant NAME] [--throttle N]
Switches take no value (-Disable); arrays take comma-separated values (-KeyOps wrapKey,unwrapKey);
hashtables take name=value pairs (-Tag owner=alice,env=prod); booleans take true/false; byte values
and passwords take @file to read the value from a file (-ByteArrayValue @data.bin, -KeyFilePassword
@pw.txt), which keeps a password off the command line. Output is JSON on stdout; errors are a JSON
envelope on stderr, with the status as exit code.";

fn fail(e: &Error) -> ExitCode {
    eprintln!("{}", e.envelope());
    ExitCode::from(u8::try_from(e.status as i32).unwrap_or(1).max(1))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "generate-powershell") {
        return generate_powershell::main(&args[1..]);
    }
    match run(args) {
        Ok(Some(out)) => {
            use std::io::Write;
            // A closed pipe (customer-key ... | head) is not worth a panic: the work is done.
            let _ = writeln!(std::io::stdout(), "{out}");
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn absolute(path: PathBuf) -> Result<PathBuf, Error> {
    if path.is_absolute() {
        return Ok(path);
    }
    Ok(std::env::current_dir()
        .map_err(|e| Error::io(format!("no current directory: {e}"), ""))?
        .join(path))
}

fn usage_error(message: impl Into<String>) -> Error {
    Error::invalid_argument("command line", format!("{}\n{USAGE}", message.into()))
}

fn run(args: Vec<String>) -> Result<Option<String>, Error> {
    let mut options = SessionOptions::default();
    let mut rest = args.into_iter().peekable();
    let mut operation = None;
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--help" | "-h" => return Ok(Some(USAGE.to_string())),
            "--version" => return Ok(Some(customer_key::VERSION.to_string())),
            "--list" => {
                let names: Vec<String> = customer_key::registry()
                    .operations()
                    .iter()
                    .map(|op| format!("{:<32} {}", op.name, op.synopsis))
                    .collect();
                return Ok(Some(names.join("\n")));
            }
            "--describe" => return Ok(Some(customer_key::registry().describe().to_string())),
            "--store" => {
                let dir = rest
                    .next()
                    .ok_or_else(|| usage_error("--store needs a directory"))?;
                let dir = PathBuf::from(dir);
                let dir = if dir.is_absolute() {
                    dir
                } else {
                    std::env::current_dir()
                        .map_err(|e| Error::io(format!("no current directory: {e}"), ""))?
                        .join(dir)
                };
                options.store = Some(dir);
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
            | "--api-version" => {
                let v = rest
                    .next()
                    .ok_or_else(|| usage_error(format!("{a} needs a value")))?;
                match a.as_str() {
                    "--environment" => options.environment = Some(v),
                    "--vault-domain" => options.vault_domain = Some(v),
                    "--api-version" => options.api_version = Some(v),
                    "--ca-file" => options.ca_file = Some(absolute(PathBuf::from(v))?),
                    _ => {
                        let text =
                            zeroize::Zeroizing::new(std::fs::read_to_string(&v).map_err(|e| {
                                Error::invalid_argument(
                                    "--access-token-file",
                                    format!("cannot be read ({e})"),
                                )
                            })?);
                        options.access_token =
                            Some(zeroize::Zeroizing::new(text.trim().to_string()));
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
        return serve(options, rest.collect()).map(|()| None);
    }
    let op = customer_key::registry().find(&operation).ok_or_else(|| {
        Error::invalid_argument(
            "operation",
            format!("'{operation}' is not an operation; customer-key --list shows them"),
        )
    })?;
    let mut arguments = Map::new();
    while let Some(flag) = rest.next() {
        let name = flag
            .strip_prefix('-')
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
            parse_value(param.name, param.ty, &raw)?
        };
        if arguments.insert(param.name.to_string(), value).is_some() {
            return Err(Error::invalid_argument(param.name, "is given twice"));
        }
    }
    let session = customer_key::open_session(options)?;
    let result = customer_key::registry().call(&session, op.name, &Value::Object(arguments))?;
    Ok(Some(
        serde_json::to_string_pretty(&result).unwrap_or_default(),
    ))
}

/// `serve`: the Key Vault endpoint in the foreground until Ctrl-C or SIGTERM; one JSON line on
/// stdout once it accepts connections.
fn serve(options: SessionOptions, args: Vec<String>) -> Result<(), Error> {
    let mut serve = customer_key::serve::ServeOptions::default();
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
    let session = std::sync::Arc::new(customer_key::open_session(options)?);
    customer_key::serve::run_until_signal(session, serve, |info| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", serde_json::to_string(info).unwrap_or_default());
        let _ = out.flush();
    })
}

fn parse_value(name: &str, ty: ParamType, raw: &str) -> Result<Value, Error> {
    let raw = match raw.strip_prefix('@') {
        Some(path) if ty == ParamType::Bytes => {
            let bytes = std::fs::read(path)
                .map_err(|e| Error::invalid_argument(name, format!("cannot read {path}: {e}")))?;
            return Ok(Value::String(customer_key::b64::encode(&bytes)));
        }
        Some(path) if ty == ParamType::SecureString => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::invalid_argument(name, format!("cannot read {path}: {e}")))?;
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
        ParamType::Path => {
            let p = PathBuf::from(&raw);
            let p = if p.is_absolute() {
                p
            } else {
                std::env::current_dir()
                    .map_err(|e| Error::io(format!("no current directory: {e}"), ""))?
                    .join(p)
            };
            Value::String(p.display().to_string())
        }
        _ => Value::String(raw),
    })
}
