//! The CLI: `customer-key <Operation> [-Param value ...]`. Process glue only: the arguments are
//! parsed by `customer_key::cli` (where the fuzzer reaches the parser), the operation table does
//! the rest.

use customer_key::cli::{self, Command};
use customer_key::Error;
use std::process::ExitCode;

mod generate_powershell;
mod package_powershell;

// `customer-key serve` in every build of the CLI, while the library a plain build makes (the
// one the PowerShell module loads) leaves the server out: one package cannot give its binary a
// feature its library lacks, so the binary compiles src/serve itself unless the library already
// has it (the tests' builds). Its paths name the library `engine`, as src/lib.rs does.
#[cfg(not(feature = "serve"))]
#[path = "../../serve/mod.rs"]
mod serve;
#[cfg(not(feature = "serve"))]
extern crate customer_key as engine;
#[cfg(feature = "serve")]
use customer_key::serve;

fn fail(e: &Error) -> ExitCode {
    eprintln!("{}", e.envelope());
    ExitCode::from(u8::try_from(e.status as i32).unwrap_or(1).max(1))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "generate-powershell") {
        return generate_powershell::main(&args[1..]);
    }
    if args.first().is_some_and(|a| a == "package-powershell") {
        return package_powershell::main(&args[1..]);
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

fn run(args: Vec<String>) -> Result<Option<String>, Error> {
    match cli::parse(args, &cli::ProcessEnv)? {
        Command::Print(text) => Ok(Some(text)),
        Command::Serve(options, serve) => {
            let session = std::sync::Arc::new(customer_key::open_session(options)?);
            serve::run_until_signal(session, serve, |info| {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{}", serde_json::to_string(info).unwrap_or_default());
                let _ = out.flush();
            })?;
            Ok(None)
        }
        Command::Call {
            options,
            operation,
            arguments,
        } => {
            let session = customer_key::open_session(options)?;
            let result = customer_key::registry().call(
                &session,
                operation,
                &serde_json::Value::Object(arguments),
            )?;
            Ok(Some(
                serde_json::to_string_pretty(&result).unwrap_or_default(),
            ))
        }
    }
}
