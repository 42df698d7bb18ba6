//! The command-line parser of `customer-key` (customer_key::cli::parse), with no file system
//! behind it: the current directory is fixed and an `@file` value reads as the file's name
//! (or fails, for a name starting with "missing").
//!
//! Input: the arguments, separated by NUL bytes (lossily UTF-8).
#![no_main]

use customer_key::cli::{parse, CliEnv, Command};
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;

struct NoFiles;

impl CliEnv for NoFiles {
    fn current_dir(&self) -> std::io::Result<PathBuf> {
        Ok(PathBuf::from("/fuzz/cwd"))
    }
    fn read_file(&self, path: &str) -> std::io::Result<Vec<u8>> {
        if path.starts_with("missing") {
            return Err(std::io::Error::from(std::io::ErrorKind::NotFound));
        }
        Ok(path.as_bytes().to_vec())
    }
}

fuzz_target!(|data: &[u8]| {
    let args: Vec<String> = data
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    match parse(args, &NoFiles) {
        Ok(Command::Call {
            options,
            operation,
            arguments,
        }) => {
            assert!(customer_key::registry().find(operation).is_some());
            if let Some(store) = options.store {
                assert!(store.is_absolute(), "{store:?}");
            }
            // Every argument the parser passes on is one of the operation's parameters.
            let op = customer_key::registry().find(operation).unwrap();
            for name in arguments.keys() {
                assert!(op.param(name).is_some(), "{operation} -{name}");
            }
        }
        Ok(Command::Print(text)) => assert!(!text.is_empty()),
        Ok(Command::Serve(..)) => {}
        Err(e) => assert!(!e.target.is_empty(), "an error names its parameter: {e:?}"),
    }
});
