//! The module manifest, written whole: everything but FunctionsToExport and ModuleVersion is
//! fixed here.

use super::text::quote;
use super::HEADER;

/// `CustomerKey.psd1` exporting `functions` (in the order given) at `version`, with the
/// module's own format views and one `Formats/<Area>.Format.ps1xml` per area in `areas`.
pub fn render(version: &str, functions: &[String], areas: &[String]) -> String {
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
    PowerShellVersion    = '7.2'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @({formats})
    FunctionsToExport    = @(
{exports}
    )
    CmdletsToExport      = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{{
        PSData = @{{
            Tags       = @('CustomerKey', 'KeyVault', 'BYOK', 'Microsoft365', 'Encryption')
            LicenseUri = 'https://opensource.org/licenses/MIT'
        }}
    }}
}}
",
        version = quote(version),
        exports = exports.join(",\n"),
        formats = formats.join(", "),
    )
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
