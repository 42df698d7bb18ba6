function Get-CkConnection {
    <#
    .SYNOPSIS
    Shows the open CustomerKey session: store, user principal name and engine version.
    .DESCRIPTION
    Emits nothing when no session is open.
    .EXAMPLE
    Get-CkConnection

    Shows the store the cmdlets use.
    .OUTPUTS
    CustomerKey.Connection
    #>
    [CmdletBinding()]
    [OutputType('CustomerKey.Connection')]
    param()

    begin {
        foreach ($preference in Get-CallerPreference -Cmdlet $PSCmdlet) {
            $ExecutionContext.SessionState.PSVariable.Set($preference.Name, $preference.Value)
        }
    }

    process {
        if ($null -ne $script:CkConnection) {
            $script:CkConnection
        }
    }
}
