function Invoke-NativeCall {
    <#
    .SYNOPSIS
    Makes one ck_call with arguments already built, and returns its status and parsed result.
    .DESCRIPTION
    Private; the only place that calls ck_call. Opens the default store first when
    Connect-CkService was not used. Secrets are converted from SecureString only while the JSON
    is built, and the JSON is dropped at once; the returned string is read and freed exactly once.
    Writes nothing itself: Invoke-NativeOperation turns a failure into an ErrorRecord, and
    Get-NativeChangeImpact lets a failed preview pass quietly. A call that cannot be made at all
    (no session, broken library) is a terminating error of the calling cmdlet.
    .PARAMETER Cmdlet
    The calling cmdlet's $PSCmdlet.
    .PARAMETER Operation
    The registry operation name, such as 'Get-KeyVaultKey'.
    .PARAMETER Arguments
    The operation's arguments, ready for JSON.
    .PARAMETER Secrets
    Arguments given as SecureString, by name.
    .PARAMETER Shape
    The output type's conversions (a CustomerKey.Native.OutputShape): a successful answer is read
    into typed objects with it. Without one, the answer is read as plain objects.
    .OUTPUTS
    An object with Status (0 on success) and Result: the answer's objects (a list, with a Shape),
    the plain answer or error envelope, or $null. An answer that is not JSON is a terminating
    error of the calling cmdlet, never a half-read result.
    .EXAMPLE
    $call = Invoke-NativeCall -Cmdlet $PSCmdlet -Operation 'Get-KeyVault' -Arguments ([ordered]@{}) -Secrets ([ordered]@{})
    #>
    param(
        [System.Management.Automation.PSCmdlet] $Cmdlet,
        [string] $Operation,
        [System.Collections.IDictionary] $Arguments,
        [System.Collections.IDictionary] $Secrets,
        [CustomerKey.Native.OutputShape] $Shape
    )

    # The first call opens the default store when Connect-CkService was not used.
    $session = $script:CkSession
    if ($null -eq $session -or $session.IsInvalid -or $session.IsClosed) {
        Open-NativeSession -Cmdlet $Cmdlet -Options ([ordered]@{})
        $session = $script:CkSession
        if ($null -eq $session -or $session.IsInvalid -or $session.IsClosed) {
            $record = New-NativeErrorRecord -Code 'NoSession' -Category 'ConnectionError' -Message 'No CustomerKey session is open; run Connect-CkService.' -Target $null
            $Cmdlet.ThrowTerminatingError($record)
        }
    }

    if ($VerbosePreference -ne 'SilentlyContinue') {
        Write-Verbose ("CustomerKey: calling {0}" -f $Operation)
    }

    $outPointer = [System.IntPtr]::Zero
    $status = -1
    $text = $null
    $json = $null
    try {
        foreach ($secretName in $Secrets.Keys) {
            $Arguments[$secretName] = ConvertFrom-SecureString -SecureString $Secrets[$secretName] -AsPlainText
        }
        $json = [CustomerKey.Native.EngineJson]::Write($Arguments)
        foreach ($secretName in $Secrets.Keys) {
            $Arguments[$secretName] = $null
        }
        $status = [CustomerKey.Native.NativeMethods]::ck_call($session, $Operation, $json, [ref] $outPointer)
    }
    catch {
        $record = New-NativeErrorRecord -Code 'NativeCallFailed' -Category 'NotSpecified' -Message ("The native call for {0} failed: {1}" -f $Operation, $_.Exception.Message) -Target $Operation -InnerException $_.Exception
        $Cmdlet.ThrowTerminatingError($record)
    }
    finally {
        # Drop the JSON (it may hold a secret) and read + free the returned string exactly once.
        $json = $null
        $text = [CustomerKey.Native.NativeMethods]::TakeString($outPointer)
    }

    $result = $null
    try {
        if ($status -eq 0 -and $null -ne $Shape) {
            $result = [CustomerKey.Native.EngineJson]::Read($text, $Shape)
        }
        else {
            $result = [CustomerKey.Native.EngineJson]::ReadPlain($text)
        }
    }
    catch {
        $record = New-NativeErrorRecord -Code 'InvalidEngineAnswer' -Category 'InvalidResult' -Message ("The engine's answer to {0} could not be read: {1}" -f $Operation, $_.Exception.GetBaseException().Message) -Target $Operation -InnerException $_.Exception
        $Cmdlet.ThrowTerminatingError($record)
    }

    [pscustomobject]@{
        Status = $status
        Result = $result
    }
}
