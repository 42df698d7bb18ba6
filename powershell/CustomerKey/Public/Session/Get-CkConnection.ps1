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
        [CustomerKey.Native.CallerPreference]::Apply($PSCmdlet, $ExecutionContext.SessionState)
    }

    process {
        if ($null -ne $script:CkConnection) {
            $script:CkConnection
        }
    }
}
