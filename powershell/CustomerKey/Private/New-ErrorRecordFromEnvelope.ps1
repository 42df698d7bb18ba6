function New-ErrorRecordFromEnvelope {
    <#
    .SYNOPSIS
    Builds the ErrorRecord for a failed native call from its error envelope.
    .DESCRIPTION
    Private. The envelope is {"error":{"code","category","message","target"}}; a missing or
    malformed envelope still gives a record that names the status.
    .PARAMETER Envelope
    The parsed JSON the native call returned (may be $null).
    .PARAMETER Status
    The status the native call returned.
    .PARAMETER What
    What was called, for the fallback message.
    .EXAMPLE
    New-ErrorRecordFromEnvelope -Envelope $envelope -Status 2 -What 'Get-KeyVaultKey'
    #>
    param(
        [object] $Envelope,
        [int] $Status,
        [string] $What
    )

    $code = $null
    $category = $null
    $message = $null
    $target = $null
    $detail = $null
    if ($null -ne $Envelope -and ($Envelope -is [System.Management.Automation.PSCustomObject])) {
        $errorProperty = $Envelope.PSObject.Properties['error']
        if ($null -ne $errorProperty) {
            $detail = $errorProperty.Value
        }
    }
    if ($null -ne $detail) {
        $code = [string] $detail.code
        $category = [string] $detail.category
        $message = [string] $detail.message
        $target = $detail.target
    }
    if ([string]::IsNullOrEmpty($message)) {
        $message = "{0} failed with status {1} and no error description." -f $What, $Status
    }
    return New-NativeErrorRecord -Code $code -Category $category -Message $message -Target $target
}
