function Wait-NativeOperation {
    <#
    .SYNOPSIS
    Polls an operation until the background work it reports is done, with Write-Progress.
    .DESCRIPTION
    Private; the generated cmdlets call it for -Wait. Calls Operation (through
    Invoke-NativeOperation, with PollParameters or none) every IntervalMilliseconds until the result's
    StateProperty is one of DoneState, showing PercentProperty and a status made from
    StatusFormat and StatusProperty; then emits that result. A poll that fails has written its
    error, and the wait ends. Ctrl+C stops waiting; the work goes on in the engine.
    .PARAMETER Cmdlet
    The calling cmdlet's $PSCmdlet.
    .PARAMETER Operation
    The registry operation to poll, such as 'Get-SPODataEncryptionPolicy'.
    .PARAMETER Activity
    The Write-Progress activity.
    .PARAMETER StateProperty
    The result property that holds the state.
    .PARAMETER DoneState
    The states that end the wait.
    .PARAMETER PercentProperty
    The result property that holds the percentage done.
    .PARAMETER StatusFormat
    A -f format for the status line.
    .PARAMETER StatusProperty
    The result properties the format's {0}, {1}, ... stand for.
    .PARAMETER FailedProperty
    The result property that tells whether the background work failed.
    .PARAMETER FailedState
    The values of FailedProperty that end the wait with an error.
    .PARAMETER ErrorProperty
    The result property that holds the background work's last error.
    .PARAMETER StallSeconds
    How long the polled state, percentage and status may stay the same before the wait gives up.
    .PARAMETER IntervalMilliseconds
    How long to wait between polls.
    .PARAMETER PollParameters
    The poll's parameters (say, the Identity of the object the cmdlet changed); none by default.
    .EXAMPLE
    Wait-NativeOperation -Cmdlet $PSCmdlet -Operation 'Get-SPODataEncryptionPolicy' -Activity 'Rolling' -StateProperty 'State' -DoneState @('Registered') -PercentProperty 'PercentComplete' -StatusFormat '{0} of {1} sites' -StatusProperty @('SitesDone', 'SitesTotal')
    #>
    param(
        [System.Management.Automation.PSCmdlet] $Cmdlet,
        [string] $Operation,
        [string] $Activity,
        [string] $StateProperty,
        [string[]] $DoneState,
        [string] $PercentProperty,
        [string] $StatusFormat,
        [string[]] $StatusProperty,
        [string] $FailedProperty,
        [string[]] $FailedState = @(),
        [string] $ErrorProperty,
        [int] $StallSeconds = 600,
        [int] $IntervalMilliseconds = 500,
        [System.Collections.IDictionary] $PollParameters = @{}
    )

    $progressId = 1
    $lastSeen = $null
    $unchangedSince = [System.Diagnostics.Stopwatch]::StartNew()
    try {
        while ($true) {
            $current = Invoke-NativeOperation -Cmdlet $Cmdlet -Operation $Operation -BoundParameters $PollParameters
            if ($null -eq $current) {
                return
            }
            $state = [string] $current.PSObject.Properties[$StateProperty].Value
            if ($DoneState -contains $state) {
                $current
                return
            }
            $values = [System.Collections.Generic.List[object]]::new()
            foreach ($name in $StatusProperty) {
                $values.Add($current.PSObject.Properties[$name].Value)
            }
            $status = $StatusFormat -f $values.ToArray()
            $lastError = $null
            if (-not [string]::IsNullOrEmpty($ErrorProperty) -and $null -ne $current.PSObject.Properties[$ErrorProperty]) {
                $lastError = [string] $current.PSObject.Properties[$ErrorProperty].Value
            }
            $failedValue = $null
            if (-not [string]::IsNullOrEmpty($FailedProperty) -and $null -ne $current.PSObject.Properties[$FailedProperty]) {
                $failedValue = [string] $current.PSObject.Properties[$FailedProperty].Value
            }
            $seen = '{0}|{1}|{2}' -f $state, $status, $failedValue
            if ($seen -ne $lastSeen) {
                $lastSeen = $seen
                $unchangedSince.Restart()
            }
            $giveUp = $null
            if ($FailedState -contains $failedValue) {
                $giveUp = 'OperationFailed', ("{0} stopped: its background job is {1} at {2}." -f $Activity, $failedValue, $status)
            }
            elseif ($unchangedSince.Elapsed.TotalSeconds -ge $StallSeconds) {
                $giveUp = 'OperationStalled', ("{0} made no progress for {1} s at {2}; it goes on in the background." -f $Activity, $StallSeconds, $status)
            }
            if ($null -ne $giveUp) {
                $message = $giveUp[1]
                if (-not [string]::IsNullOrEmpty($lastError)) {
                    $message = '{0} Last error: {1}' -f $message, $lastError
                }
                $record = New-NativeErrorRecord -Code $giveUp[0] -Category 'OperationStopped' -Message $message -Target $current
                $Cmdlet.WriteError($record)
                return
            }
            $percent = 0
            $raw = $current.PSObject.Properties[$PercentProperty].Value
            if ($null -ne $raw) {
                $percent = [int] [System.Math]::Floor([double] $raw)
            }
            if ($percent -lt 0) {
                $percent = 0
            }
            if ($percent -gt 100) {
                $percent = 100
            }
            Write-Progress -Id $progressId -Activity $Activity -Status $status -PercentComplete $percent
            Start-Sleep -Milliseconds $IntervalMilliseconds
        }
    }
    finally {
        Write-Progress -Id $progressId -Activity $Activity -Completed
    }
}
