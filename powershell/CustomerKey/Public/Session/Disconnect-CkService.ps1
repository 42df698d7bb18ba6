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
        foreach ($preference in Get-CallerPreference -Cmdlet $PSCmdlet) {
            $ExecutionContext.SessionState.PSVariable.Set($preference.Name, $preference.Value)
        }
    }

    process {
        Close-NativeSession
    }
}
