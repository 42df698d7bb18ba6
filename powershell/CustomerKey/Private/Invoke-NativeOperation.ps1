function Invoke-NativeOperation {
    <#
    .SYNOPSIS
    Runs one registry operation through ck_call and writes its results or errors.
    .DESCRIPTION
    Private; every operation cmdlet calls it (Invoke-NativeCall makes the ck_call itself).
    It sends the operation's own parameters (never PowerShell's common parameters) as a JSON object,
    built in .NET by CustomerKey.Native.Invoker: switches as true (omitted when off), [datetime] as
    ISO 8601 UTC, byte[] as base64, hashtables as objects of strings, paths resolved against
    PowerShell's location, and SecureString converted to text only while the JSON is built.
    An operation whose results come in pages (Get-Mailbox) is called a page at a time, each
    page written before the next is asked for.
    Results are read by the output type's shape (CustomerKey.Native.EngineJson): PSTypeName,
    [datetime] times in UTC, byte[] and hashtables where the type has them; an operation with an output property
    (Backup-KeyVaultKey) emits that property; one with -PassThru emits only when -PassThru is on.
    A failed call becomes an ErrorRecord written with the calling cmdlet's WriteError; a call that
    cannot be made at all (no session, broken library) is a terminating error.
    .PARAMETER Cmdlet
    The calling cmdlet's $PSCmdlet.
    .PARAMETER Operation
    The registry operation name, such as 'Get-KeyVaultKey'.
    .PARAMETER BoundParameters
    The calling cmdlet's $PSBoundParameters.
    .EXAMPLE
    Invoke-NativeOperation -Cmdlet $PSCmdlet -Operation 'Get-KeyVaultKey' -BoundParameters $PSBoundParameters
    #>
    param(
        [System.Management.Automation.PSCmdlet] $Cmdlet,
        [string] $Operation,
        [System.Collections.IDictionary] $BoundParameters
    )

    # Worked out once per operation at import (Read-OperationRegistry).
    $plan = $script:CkPlans[$Operation]

    $shape = $null
    if ($null -ne $plan) {
        $shape = $plan.Shape
        if ($null -ne $plan.WhenSwitch -and (Test-SwitchParameter -BoundParameters $BoundParameters -Name $plan.WhenSwitch)) {
            $shape = $plan.WhenShape
        }
    }
    $pathParameters = $null
    if ($null -ne $plan) {
        $pathParameters = $plan.PathParameters
    }
    # A listing that comes in pages is written a page at a time, never held whole.
    if ($null -ne $plan -and $plan.Pages) {
        $session = Get-NativeSession -Cmdlet $Cmdlet
        $after = $null
        do {
            if ($VerbosePreference -ne 'SilentlyContinue') {
                Write-Verbose ("CustomerKey: calling {0} for a page of {1}" -f $Operation, [CustomerKey.Native.PagedCall]::DefaultSize)
            }
            try {
                $call = [CustomerKey.Native.PagedCall]::Call($session, $Operation, $BoundParameters, $pathParameters, $Cmdlet, $shape, [CustomerKey.Native.PagedCall]::DefaultSize, $after)
            }
            catch {
                $Cmdlet.ThrowTerminatingError((New-CallFailureRecord -Operation $Operation -ErrorRecord $_))
            }
            if ($call.Status -ne 0) {
                $Cmdlet.WriteError((New-ErrorRecordFromEnvelope -Envelope $call.Envelope -Status $call.Status -What $Operation))
                return
            }
            $Cmdlet.WriteObject($call.Objects, $true)
            $after = $call.NextPage
        } while ($null -ne $after)
        return
    }

    # The call itself in .NET; with a session open, straight from here, since a PowerShell
    # function call costs as much as the whole native call (Invoke-NativeCall opens one first).
    $session = $script:CkSession
    if ($null -eq $session -or $session.IsInvalid -or $session.IsClosed) {
        $call = Invoke-NativeCall -Cmdlet $Cmdlet -Operation $Operation -Arguments $BoundParameters -PathParameters $pathParameters -Shape $shape
    }
    else {
        if ($VerbosePreference -ne 'SilentlyContinue') {
            Write-Verbose ("CustomerKey: calling {0}" -f $Operation)
        }
        try {
            $call = [CustomerKey.Native.Invoker]::Call($session, $Operation, $BoundParameters, $pathParameters, $Cmdlet, $shape)
        }
        catch {
            $Cmdlet.ThrowTerminatingError((New-CallFailureRecord -Operation $Operation -ErrorRecord $_))
        }
    }

    if ($call.Status -ne 0) {
        $record = New-ErrorRecordFromEnvelope -Envelope $call.Envelope -Status $call.Status -What $Operation
        $Cmdlet.WriteError($record)
        return
    }
    if ($null -eq $plan) {
        return $call.Objects
    }
    # -PassThru: like Az, the result is emitted only when asked for.
    if ($plan.HasPassThru -and -not (Test-SwitchParameter -BoundParameters $BoundParameters -Name 'PassThru')) {
        return
    }
    # Operations declared to return nothing (Remove-KeyVault) emit nothing, whatever the engine sends.
    if ($plan.ReturnsNothing) {
        return
    }
    foreach ($item in $call.Objects) {
        if ($null -eq $item) {
            continue
        }
        if (-not [string]::IsNullOrEmpty($plan.OutputProperty)) {
            $property = $item.PSObject.Properties[$plan.OutputProperty]
            if ($null -ne $property) {
                [string] $property.Value
            }
            continue
        }
        $item
    }
}
