function Get-NativeChangeImpact {
    <#
    .SYNOPSIS
    Asks the engine what still needs what a change takes away, for the ShouldProcess action.
    .DESCRIPTION
    Private; generated cmdlets that remove, purge or disable call it before ShouldProcess, so
    that -WhatIf and the confirmation prompt say "still needed by 3 policies, 5,000 mailboxes".
    It calls a read-only registry operation (Get-KeyVaultChangeImpact) with those of the given
    parameters that were bound, and returns its Impact text when InUse, else $null. A preview
    that fails (the caller may not read the vault) returns $null and says why with
    Write-Verbose: the change itself then reports the real error.
    .PARAMETER Cmdlet
    The calling cmdlet's $PSCmdlet.
    .PARAMETER Operation
    The read-only operation that previews, such as 'Get-KeyVaultChangeImpact'.
    .PARAMETER BoundParameters
    The calling cmdlet's $PSBoundParameters.
    .PARAMETER Parameters
    The names of the parameters passed on to the preview when bound.
    .EXAMPLE
    $impact = Get-NativeChangeImpact -Cmdlet $PSCmdlet -Operation 'Get-KeyVaultChangeImpact' -BoundParameters $PSBoundParameters -Parameters @('VaultName', 'Name')
    #>
    param(
        [System.Management.Automation.PSCmdlet] $Cmdlet,
        [string] $Operation,
        [System.Collections.IDictionary] $BoundParameters,
        [string[]] $Parameters
    )

    # Under -WhatIf nothing may be created or written: with no session open, the preview would
    # open (or create) the default store and start its runner. Say instead why there is none.
    $whatIf = $Cmdlet.MyInvocation.BoundParameters.ContainsKey('WhatIf') -or [bool] $WhatIfPreference
    if ($whatIf -and -not (Test-NativeSession)) {
        Write-Verbose 'CustomerKey: no impact preview: no session is open, and -WhatIf opens none (run Connect-CkService first)'
        return 'what the store records (not previewed: no session is open; run Connect-CkService first)'
    }

    $arguments = [ordered]@{}
    foreach ($name in $Parameters) {
        if ($BoundParameters.ContainsKey($name) -and $null -ne $BoundParameters[$name]) {
            $arguments[$name] = [string] $BoundParameters[$name]
        }
    }
    $call = Invoke-NativeCall -Cmdlet $Cmdlet -Operation $Operation -Arguments $arguments
    if ($call.Status -ne 0) {
        $reason = ''
        if ($null -ne $call.Envelope -and $null -ne $call.Envelope.error) {
            $reason = [string] $call.Envelope.error.message
        }
        Write-Verbose ("CustomerKey: no impact preview ({0}): {1}" -f $Operation, $reason)
        return $null
    }
    $preview = $call.Envelope
    if ($null -ne $preview -and $preview.InUse) {
        return [string] $preview.Impact
    }
    return $null
}
