function Invoke-NativeBatch {
    <#
    .SYNOPSIS
    Sends a cmdlet's pending pipeline inputs as one batched ck_call and writes the answers.
    .DESCRIPTION
    Private; the generated cmdlets of operations whose registry entry has Batch call it from
    their process block when the batch is full, and from their end block for the rest. The
    answers' objects are written to the cmdlet in input order (CustomerKey.Native.CallBatch);
    each failed input becomes a non-terminating ErrorRecord at its place in that order, as a
    failed input is in a per-input call, so one bad input leaves the rest to go on. A batch the
    engine refuses whole is one error; a call that cannot be made at all is terminating.
    .PARAMETER Cmdlet
    The calling cmdlet's $PSCmdlet.
    .PARAMETER Batch
    The cmdlet's CustomerKey.Native.CallBatch, made in its begin block.
    .EXAMPLE
    Invoke-NativeBatch -Cmdlet $PSCmdlet -Batch $batch
    #>
    param(
        [System.Management.Automation.PSCmdlet] $Cmdlet,
        [CustomerKey.Native.CallBatch] $Batch
    )

    if ($Batch.Count -eq 0) {
        return
    }
    $session = Get-NativeSession -Cmdlet $Cmdlet
    if ($VerbosePreference -ne 'SilentlyContinue') {
        Write-Verbose ('CustomerKey: calling {0} for {1} inputs' -f $Batch.Operation, $Batch.Count)
    }
    try {
        $failure = $Batch.Send($session)
    }
    catch {
        $Cmdlet.ThrowTerminatingError((New-CallFailureRecord -Operation $Batch.Operation -ErrorRecord $_))
    }
    if ($null -ne $failure) {
        $Cmdlet.WriteError((New-ErrorRecordFromEnvelope -Envelope $failure.Envelope -Status $failure.Status -What $Batch.Operation))
        return
    }
    # The answers were parsed by Send; what can throw here is the pipeline after this cmdlet
    # (Select-Object -First stopping it, a terminating error downstream), which must go on up.
    while ($null -ne ($failure = $Batch.EmitUntilFailure())) {
        $Cmdlet.WriteError((New-ErrorRecordFromEnvelope -Envelope $failure.Envelope -Status $failure.Status -What $Batch.Operation))
    }
}
