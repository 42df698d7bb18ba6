function Disconnect-CkService {
    <#
    .SYNOPSIS
    Closes the CustomerKey session.
    .DESCRIPTION
    Closes the open store, if any. The next CustomerKey cmdlet opens the default store unless
    Connect-CkService is run first.
    .EXAMPLE
    Disconnect-CkService

    Closes the current session.
    #>
    [CmdletBinding()]
    param()

    begin {
        [CustomerKey.Native.CallerPreference]::Apply($PSCmdlet, $ExecutionContext.SessionState)
    }

    process {
        Close-NativeSession
    }
}
