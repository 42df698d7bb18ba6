function Get-CallerPreference {
    <#
    .SYNOPSIS
    The preference variables of a cmdlet's caller that the cmdlet should honour.
    .DESCRIPTION
    Private. A script module's function sees the preference variables of its module and the
    global scope, not those of the script that called it, so `$ErrorActionPreference = 'Stop'`
    or `$WhatIfPreference = $true` in an admin's script would not reach our cmdlets as they reach
    Microsoft's compiled ones. Every cmdlet's begin block sets the pairs this returns in its own
    scope. A preference whose common parameter was given (-ErrorAction, -WhatIf, ...) is left out:
    the parameter wins, as in any cmdlet.
    .PARAMETER Cmdlet
    The calling cmdlet's $PSCmdlet; its SessionState is the caller's.
    .OUTPUTS
    Objects with Name and Value.
    .EXAMPLE
    foreach ($preference in Get-CallerPreference -Cmdlet $PSCmdlet) { $ExecutionContext.SessionState.PSVariable.Set($preference.Name, $preference.Value) }
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [System.Management.Automation.PSCmdlet] $Cmdlet
    )

    $bound = $Cmdlet.MyInvocation.BoundParameters
    foreach ($pair in $script:CkPreferenceParameters.GetEnumerator()) {
        if ($bound.ContainsKey($pair.Value)) {
            continue
        }
        $variable = $Cmdlet.SessionState.PSVariable.Get($pair.Key)
        if ($null -ne $variable) {
            [pscustomobject]@{ Name = $pair.Key; Value = $variable.Value }
        }
    }
}
