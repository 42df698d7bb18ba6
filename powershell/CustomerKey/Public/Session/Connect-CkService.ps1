function Connect-CkService {
    <#
    .SYNOPSIS
    Opens a CustomerKey session on a store, closing the current one.
    .DESCRIPTION
    Opens the store folder given by -Path (created when missing) and makes it the store every
    CustomerKey cmdlet uses. Without Connect-CkService, the first cmdlet opens the default store.
    Emits the connection (CustomerKey.Connection), as Get-CkConnection shows it.
    .PARAMETER Path
    The store folder. Relative paths are resolved against the current PowerShell location.
    Default: the engine's default store.
    .PARAMETER UserPrincipalName
    The user principal name the session acts as (access policies are checked against it).
    .PARAMETER TimeShiftSeconds
    Seconds to add to the engine's clock, to try expiry and retention without waiting. Accepted
    only by a rehearsal store: one created by a Connect-CkService that gave -TimeShiftSeconds
    (even 0). A store of real keys refuses a shifted clock, which would purge for real.
    .EXAMPLE
    Connect-CkService -Path ./ck-store -UserPrincipalName admin@contoso.onmicrosoft.com
    Opens (or creates) the store in ./ck-store as admin@contoso.onmicrosoft.com.
    .EXAMPLE
    Connect-CkService -Path ./ck-rehearsal -TimeShiftSeconds 0
    Connect-CkService -Path ./ck-rehearsal -TimeShiftSeconds (91 * 24 * 3600)
    Creates a rehearsal store, then reopens it with the clock 91 days ahead, past the default
    soft-delete retention.
    .OUTPUTS
    CustomerKey.Connection
    #>
    [CmdletBinding()]
    [OutputType('CustomerKey.Connection')]
    param(
        [Parameter(HelpMessage = 'The store folder')]
        [string] $Path,

        [Parameter(HelpMessage = 'The user principal name the session acts as')]
        [string] $UserPrincipalName,

        [Parameter(HelpMessage = 'Seconds to add to the engine clock')]
        [long] $TimeShiftSeconds
    )

    process {
        $options = [ordered]@{}
        if ($PSBoundParameters.ContainsKey('Path')) {
            $options['Store'] = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($Path)
        }
        if ($PSBoundParameters.ContainsKey('UserPrincipalName')) {
            $options['UserPrincipalName'] = $UserPrincipalName
        }
        if ($PSBoundParameters.ContainsKey('TimeShiftSeconds')) {
            $options['TimeShiftSeconds'] = $TimeShiftSeconds
        }
        Open-NativeSession -Cmdlet $PSCmdlet -Options $options
        $script:CkConnection
    }
}
