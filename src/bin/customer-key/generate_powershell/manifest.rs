//! The module manifest, written whole: everything but FunctionsToExport, ModuleVersion and the
//! release notes (the version's section of CHANGELOG.md) is fixed here.

use super::text::quote;
use super::HEADER;

/// The changelog whose section for the version becomes PrivateData.PSData.ReleaseNotes.
const CHANGELOG: &str = include_str!("../../../../CHANGELOG.md");
/// The oldest PowerShell the module runs on, the manifest's PowerShellVersion: 7.6, the first on
/// .NET 10, which the packaged lib/CustomerKey.Native.dll targets (CustomerKey.Native.csproj's
/// TargetFramework net10.0; PowerShell 7.4 runs on .NET 8, 7.5 on .NET 9, both out of support
/// since November 2026). Keep the two together.
pub const POWERSHELL_VERSION: &str = "7.6";
/// The crate's `repository` (Cargo.toml), the gallery's ProjectUri; omitted while it is empty.
const PROJECT_URI: &str = env!("CARGO_PKG_REPOSITORY");

/// The registry the module is generated from, recorded in PrivateData.CkRegistry: the module
/// refuses at import a library whose `ck_describe` hashes differently.
pub struct Registry<'a> {
    /// The engine version the registry reports.
    pub version: &'a str,
    /// SHA-256 of the registry JSON as `ck_describe` returns it, lower-case hex.
    pub hash: &'a str,
}

/// `CustomerKey.psd1` exporting `functions` (in the order given) at `version`, with the session
/// cmdlets' hand-written format views (CustomerKey.Format.ps1xml) and the generated
/// `Formats/<Area>.Format.ps1xml` of each area in `areas`.
pub fn render(
    version: &str,
    functions: &[String],
    areas: &[String],
    registry: &Registry,
) -> String {
    let exports: Vec<String> = functions
        .iter()
        .map(|f| format!("        {}", quote(f)))
        .collect();
    let mut formats = vec![quote("CustomerKey.Format.ps1xml")];
    formats.extend(
        areas
            .iter()
            .map(|a| quote(&format!("Formats/{a}.Format.ps1xml"))),
    );
    let release_notes = release_notes(CHANGELOG, version);
    let project_uri = if PROJECT_URI.is_empty() {
        String::new()
    } else {
        format!("\n            ProjectUri   = {}", quote(PROJECT_URI))
    };
    format!(
        "{HEADER}
@{{
    RootModule           = 'CustomerKey.psm1'
    ModuleVersion        = {version}
    GUID                 = '6592df79-9ee9-44af-9c2e-5390fc93424b'
    Author               = 'CustomerKey contributors'
    CompanyName          = 'CustomerKey'
    Copyright            = '(c) CustomerKey contributors. MIT License.'
    Description          = 'Customer Key / BYOK workflows for Microsoft 365 admins: Az.KeyVault-style cmdlets (noun prefix Ck) over the customer_key native engine.'
    PowerShellVersion    = {powershell_version}
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @({formats})
    FunctionsToExport    = @(
{exports}
    )
    CmdletsToExport      = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{{
        CkRegistry = @{{
            Version = {registry_version}
            Hash    = {registry_hash}
        }}
        PSData     = @{{
            Tags         = @('CustomerKey', 'BYOK', 'KeyVault', 'Microsoft365', 'Exchange', 'SharePoint', 'AIP', 'Encryption')
            LicenseUri   = 'https://opensource.org/licenses/MIT'{project_uri}
            ReleaseNotes = {release_notes}
        }}
    }}
}}
",
        version = quote(version),
        powershell_version = quote(POWERSHELL_VERSION),
        exports = exports.join(",\n"),
        formats = formats.join(", "),
        release_notes = quote(&release_notes),
        registry_version = quote(registry.version),
        registry_hash = quote(registry.hash),
    )
}

/// The body of `changelog`'s `## <version>` section, trimmed; a line saying so when it has none.
pub fn release_notes(changelog: &str, version: &str) -> String {
    let heading = format!("## {version}");
    let mut lines = changelog.lines().skip_while(|l| l.trim_end() != heading);
    if lines.next().is_none() {
        return format!("No CHANGELOG.md entry for {version}.");
    }
    let body: Vec<&str> = lines.take_while(|l| !l.starts_with("## ")).collect();
    body.join("\n").trim().to_string()
}

/// The engine version as a ModuleVersion, which PowerShell wants as 1 to 4 dot-separated
/// numbers: a pre-release or build suffix ("-beta.1", "+abc") is dropped.
pub fn module_version(engine_version: &str) -> Result<String, String> {
    let core = engine_version.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty()
        || parts.len() > 4
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "the registry Version {engine_version:?} is not 1 to 4 dot-separated numbers"
        ));
    }
    Ok(core.to_string())
}
