function New-CallFailureRecord {
    <#
    .SYNOPSIS
    The terminating error of a ck_call that could not be made or whose answer could not be read.
    .DESCRIPTION
    Private; Invoke-NativeCall and Invoke-NativeOperation use it in their catch blocks. An answer
    that is not JSON is InvalidEngineAnswer (InvalidResult); anything else NativeCallFailed.
    .PARAMETER Operation
    The registry operation that was called.
    .PARAMETER ErrorRecord
    The error the call threw.
    .EXAMPLE
    $Cmdlet.ThrowTerminatingError((New-CallFailureRecord -Operation 'Get-KeyVault' -ErrorRecord $_))
    #>
    [CmdletBinding()]
    param(
        [string] $Operation,
        [System.Management.Automation.ErrorRecord] $ErrorRecord
    )

    $cause = $ErrorRecord.Exception.GetBaseException()
    $code = 'NativeCallFailed'
    $category = 'NotSpecified'
    if ($cause -is [System.Text.Json.JsonException]) {
        $code = 'InvalidEngineAnswer'
        $category = 'InvalidResult'
    }
    New-NativeErrorRecord -Code $code -Category $category -Message ("The native call for {0} failed: {1}" -f $Operation, $cause.Message) -Target $Operation -InnerException $ErrorRecord.Exception
}
