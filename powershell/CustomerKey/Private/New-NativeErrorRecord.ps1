function New-NativeErrorRecord {
    <#
    .SYNOPSIS
    Builds the ErrorRecord for a failure reported by the engine or by the module.
    .DESCRIPTION
    Private. The error id is the engine's code ('KeyNotFound'); PowerShell appends the name of the
    cmdlet that writes the record, so FullyQualifiedErrorId reads 'KeyNotFound,Get-CkKeyVaultKey'.
    .PARAMETER Code
    The engine's error code, used as the error id.
    .PARAMETER Category
    The name of a System.Management.Automation.ErrorCategory value; unknown names give NotSpecified.
    .PARAMETER Message
    The message for the admin.
    .PARAMETER Target
    The object the error concerns.
    .PARAMETER InnerException
    An exception to keep as the inner exception, if any.
    .EXAMPLE
    New-NativeErrorRecord -Code 'KeyNotFound' -Category 'ObjectNotFound' -Message 'Key not found' -Target 'k1'
    #>
    param(
        [string] $Code,
        [string] $Category,
        [string] $Message,
        [object] $Target,
        [System.Exception] $InnerException
    )

    $errorCategory = [System.Management.Automation.ErrorCategory]::NotSpecified
    if (-not [string]::IsNullOrEmpty($Category)) {
        try {
            $errorCategory = [System.Management.Automation.ErrorCategory] $Category
        }
        catch {
            $errorCategory = [System.Management.Automation.ErrorCategory]::NotSpecified
        }
    }
    if ([string]::IsNullOrEmpty($Code)) {
        $Code = 'NativeError'
    }
    if ([string]::IsNullOrEmpty($Message)) {
        $Message = 'The CustomerKey engine reported an error without a message.'
    }

    # An exception type that matches the category, so 'catch [ItemNotFoundException]' works too.
    $exception = $null
    if ($null -ne $InnerException) {
        $exception = [System.InvalidOperationException]::new($Message, $InnerException)
    }
    elseif ($errorCategory -eq [System.Management.Automation.ErrorCategory]::ObjectNotFound) {
        $exception = [CustomerKey.Native.CkItemNotFoundException]::new($Message)
    }
    elseif ($errorCategory -eq [System.Management.Automation.ErrorCategory]::InvalidArgument) {
        $exception = [System.ArgumentException]::new($Message)
    }
    elseif ($errorCategory -eq [System.Management.Automation.ErrorCategory]::PermissionDenied) {
        $exception = [System.UnauthorizedAccessException]::new($Message)
    }
    elseif ($errorCategory -eq [System.Management.Automation.ErrorCategory]::WriteError) {
        $exception = [System.IO.IOException]::new($Message)
    }
    else {
        $exception = [System.InvalidOperationException]::new($Message)
    }

    if ($null -ne $Target -and ($Target -is [string]) -and $Target.Length -eq 0) {
        $Target = $null
    }
    $record = [System.Management.Automation.ErrorRecord]::new($exception, $Code, $errorCategory, $Target)
    if ($exception -is [CustomerKey.Native.CkItemNotFoundException]) {
        $exception.Attach($record)
    }
    return $record
}
