//! Every input the fuzz targets (fuzz/) found failing, fed again to what failed, so a fix
//! stays fixed. The inputs are kept as the fuzzer wrote them, under tests/data/fuzz/.

use customer_key::cli::{parse, CliEnv};
use std::path::{Path, PathBuf};

fn input(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/fuzz")
            .join(name),
    )
    .unwrap()
}

/// The cli_parser target's environment: a fixed directory, no files.
struct NoFiles;

impl CliEnv for NoFiles {
    fn current_dir(&self) -> std::io::Result<PathBuf> {
        Ok(PathBuf::from("/fuzz/cwd"))
    }
    fn read_file(&self, _: &str) -> std::io::Result<Vec<u8>> {
        Err(std::io::Error::from(std::io::ErrorKind::NotFound))
    }
}

fn cli_args(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// cli_parser found: `Add-KeyVaultKey - ...` (a bare "-") was refused as "Parameter '': ...",
/// an error naming no parameter. It is now the command line's error, quoting what it found.
#[test]
fn a_bare_dash_is_refused_as_a_command_line_error() {
    let args = cli_args(&input("cli_parser-bare-dash"));
    assert_eq!(args[1], "-");
    let e = match parse(args, &NoFiles) {
        Ok(_) => panic!("a bare '-' parsed"),
        Err(e) => e,
    };
    assert_eq!(e.target, "command line", "{e:?}");
    assert!(
        e.message
            .starts_with("Parameter 'command line': expected -Parameter, found '-'"),
        "{}",
        e.message
    );
}
