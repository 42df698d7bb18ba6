function Assert-RegistryMatch {
    <#
    .SYNOPSIS
    Refuses a native library whose operation registry is not the one the module was generated from.
    .DESCRIPTION
    Private; the module runs it once at import, after Read-OperationRegistry. The manifest's
    PrivateData.CkRegistry records the engine version and the SHA-256 of the ck_describe JSON
    that 'customer-key generate-powershell' wrote the cmdlets from; the loaded library's
    ck_describe must hash the same, or the cmdlets would send parameters the library does not
    take. Throws one error naming both versions. A manifest without CkRegistry is not checked.
    .PARAMETER Recorded
    The manifest's PrivateData.CkRegistry (Version, Hash), or $null.
    .PARAMETER DescribeText
    The JSON ck_describe returned.
    .EXAMPLE
    Assert-RegistryMatch -Recorded $ExecutionContext.SessionState.Module.PrivateData.CkRegistry -DescribeText $text
    #>
    [CmdletBinding()]
    param(
        [AllowNull()]
        [System.Collections.IDictionary] $Recorded,
        [Parameter(Mandatory)]
        [string] $DescribeText
    )

    if ($null -eq $Recorded -or -not $Recorded.Contains('Hash')) {
        return
    }
    $bytes = [System.Text.Encoding]::UTF8.GetBytes($DescribeText)
    $actual = [System.Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData($bytes)).ToLowerInvariant()
    if ($actual -eq [string] $Recorded['Hash']) {
        return
    }
    throw ("CustomerKey: the module was generated from the operation registry of customer_key {0} (registry {1}), but the native library '{2}' is customer_key {3} (registry {4}). Install the module and library of one release together, or in a checkout run 'cargo build --release' and then 'cargo run --release --bin customer-key -- generate-powershell'." -f $Recorded['Version'], ([string] $Recorded['Hash']).Substring(0, [System.Math]::Min(12, ([string] $Recorded['Hash']).Length)), $script:CkLibraryPath, $script:CkVersion, $actual.Substring(0, 12))
}
