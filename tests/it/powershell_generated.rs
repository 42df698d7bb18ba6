//! The committed PowerShell cmdlets and manifest are what `customer-key generate-powershell`
//! writes from the operation registry: a registry change without regenerating fails here.

use crate::common::TempDir;
use std::path::Path;
use std::process::{Command, Output};

const REGENERATE: &str = "cargo run --release --bin customer-key -- generate-powershell";

fn generate_powershell(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_customer-key"))
        .arg("generate-powershell")
        .args(args)
        .arg(dir)
        .output()
        .expect("customer-key runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn committed_module_matches_the_registry() {
    let module = Path::new(env!("CARGO_MANIFEST_DIR")).join("powershell/CustomerKey");
    let out = generate_powershell(&["--check"], &module);
    assert!(
        out.status.success(),
        "the PowerShell module is out of date with the operation registry:\n{}{}\nRegenerate it with:\n    {REGENERATE}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn check_reports_each_drifted_file_and_the_command_that_fixes_it() {
    let dir = TempDir::new("psgen-drift");
    let module = dir.path();
    std::fs::create_dir_all(module.join("Public/Session")).unwrap();
    std::fs::write(
        module.join("Public/Session/Connect-CkService.ps1"),
        "# hand-written\n",
    )
    .unwrap();

    let first = generate_powershell(&[], module);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let clean = generate_powershell(&["--check"], module);
    assert!(clean.status.success(), "{}", text(&clean.stdout));
    let manifest = std::fs::read_to_string(module.join("CustomerKey.psd1")).unwrap();
    assert!(
        manifest.contains("        'Connect-CkService',\n"),
        "{manifest}"
    );

    let edited = module.join("Public/KeyVault/Get-CkKeyVault.ps1");
    std::fs::write(&edited, "# edited by hand\n").unwrap();
    std::fs::remove_file(module.join("Public/KeyVault/New-CkKeyVault.ps1")).unwrap();
    std::fs::write(module.join("Public/KeyVault/Get-CkGone.ps1"), "# stale\n").unwrap();
    let drift = generate_powershell(&["--check"], module);
    let stdout = text(&drift.stdout);
    assert_eq!(drift.status.code(), Some(1), "{stdout}");
    for expected in [
        "differs: Public/KeyVault/Get-CkKeyVault.ps1",
        "missing: Public/KeyVault/New-CkKeyVault.ps1",
        "should not exist: Public/KeyVault/Get-CkGone.ps1",
        REGENERATE,
    ] {
        assert!(stdout.contains(expected), "{expected:?} not in:\n{stdout}");
    }
    assert_eq!(
        std::fs::read_to_string(&edited).unwrap(),
        "# edited by hand\n",
        "--check must not write"
    );

    let again = generate_powershell(&[], module);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(generate_powershell(&["--check"], module).status.success());
    assert!(!module.join("Public/KeyVault/Get-CkGone.ps1").exists());
    assert_eq!(
        std::fs::read_to_string(module.join("Public/Session/Connect-CkService.ps1")).unwrap(),
        "# hand-written\n"
    );
}

#[test]
fn bad_usage_is_an_error_not_drift() {
    let dir = TempDir::new("psgen-usage");
    let out = generate_powershell(&["--frobnicate"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown option --frobnicate"));
    let missing = generate_powershell(&["--check"], &dir.join("no-such-folder"));
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("is not a folder"));
}

#[test]
fn every_format_file_the_manifest_names_exists() {
    let module = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("powershell/CustomerKey");
    let manifest = std::fs::read_to_string(module.join("CustomerKey.psd1")).unwrap();
    let line = manifest
        .lines()
        .find(|l| l.trim_start().starts_with("FormatsToProcess"))
        .expect("FormatsToProcess");
    let names: Vec<&str> = line.split('\'').skip(1).step_by(2).collect();
    assert!(names.contains(&"CustomerKey.Format.ps1xml"), "{line}");
    for name in names {
        assert!(
            module.join(name).is_file(),
            "the manifest names {name}, which does not exist"
        );
    }
}

#[test]
fn every_output_type_has_a_table_view_the_manifest_loads() {
    let module = Path::new(env!("CARGO_MANIFEST_DIR")).join("powershell/CustomerKey");
    let manifest = std::fs::read_to_string(module.join("CustomerKey.psd1")).unwrap();
    let line = manifest
        .lines()
        .find(|l| l.trim_start().starts_with("FormatsToProcess"))
        .expect("FormatsToProcess");
    let views: String = line
        .split('\'')
        .skip(1)
        .step_by(2)
        .map(|name| std::fs::read_to_string(module.join(name)).unwrap_or_default())
        .collect();
    for op in customer_key::registry().operations() {
        let types = std::iter::once(op.output_type).chain(op.output_type_when.map(|(_, t)| t));
        for ty in types.filter(|t| t.starts_with("CustomerKey.")) {
            assert!(
                views.contains(&format!("<TypeName>{ty}</TypeName>")),
                "{} emits {ty}, which no loaded Format.ps1xml has a view for",
                op.name
            );
        }
    }
}
