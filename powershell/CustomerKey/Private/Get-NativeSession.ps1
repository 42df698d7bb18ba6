function Get-NativeSession {
    <#
    .SYNOPSIS
    Returns the open session, opening the default store first when Connect-CkService was not used.
    .DESCRIPTION
    Private; every path that makes a ck_call takes its session from here. No session at all is a
    terminating error of the calling cmdlet.
    .PARAMETER Cmdlet
    The calling cmdlet's $PSCmdlet.
    .OUTPUTS
    CustomerKey.Native.CkSessionHandle
    .EXAMPLE
    $session = Get-NativeSession -Cmdlet $PSCmdlet
    #>
    param(
        [System.Management.Automation.PSCmdlet] $Cmdlet
    )

    $session = $script:CkSession
    if ($null -eq $session -or $session.IsInvalid -or $session.IsClosed) {
        Open-NativeSession -Cmdlet $Cmdlet -Options ([ordered]@{})
        $session = $script:CkSession
        if ($null -eq $session -or $session.IsInvalid -or $session.IsClosed) {
            $record = New-NativeErrorRecord -Code 'NoSession' -Category 'ConnectionError' -Message 'No CustomerKey session is open; run Connect-CkService.' -Target $null
            $Cmdlet.ThrowTerminatingError($record)
        }
    }
    $session
}
