function Invoke-NativeOperation {
    <#
    .SYNOPSIS
    Runs one registry operation through ck_call and writes its results or errors.
    .DESCRIPTION
    Private; every operation cmdlet calls it (Invoke-NativeCall makes the ck_call itself).
    It sends the operation's own parameters (never PowerShell's common parameters) as a JSON object:
    switches as true (omitted when off), [datetime] as ISO 8601 UTC, byte[] as base64, hashtables
    as objects of strings, paths resolved against PowerShell's location, and SecureString converted
    to text only while the JSON is built.
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

    $arguments = [ordered]@{}
    $secrets = [ordered]@{}
    foreach ($key in $BoundParameters.Keys) {
        if ($script:CkCommonParameterSet.Contains($key)) {
            continue
        }
        $value = $BoundParameters[$key]
        if ($null -eq $value) {
            continue
        }
        if ($value -is [System.Management.Automation.SwitchParameter]) {
            if ($value.IsPresent) {
                $arguments[$key] = $true
            }
        }
        elseif ($value -is [string]) {
            if ($null -ne $plan -and $plan.PathParameters.Contains($key)) {
                # PowerShell's current location is not the process's working directory: resolve
                # here and send an absolute path.
                $arguments[$key] = $Cmdlet.GetUnresolvedProviderPathFromPSPath($value)
            }
            else {
                $arguments[$key] = $value
            }
        }
        elseif ($value -is [bool]) {
            $arguments[$key] = $value
        }
        elseif ($value -is [datetime]) {
            $arguments[$key] = $value.ToUniversalTime().ToString('o', [System.Globalization.CultureInfo]::InvariantCulture)
        }
        elseif ($value -is [System.Security.SecureString]) {
            # Converted to text only while Invoke-NativeCall builds the JSON.
            $secrets[$key] = $value
        }
        elseif ($value -is [byte[]]) {
            $arguments[$key] = [System.Convert]::ToBase64String($value)
        }
        elseif ($value -is [System.Collections.IDictionary]) {
            # Key Vault's tag names are case-sensitive: keep 'Owner' and 'owner' apart.
            $pairs = [System.Collections.Specialized.OrderedDictionary]::new([System.StringComparer]::Ordinal)
            foreach ($pairName in $value.Keys) {
                $pairValue = $value[$pairName]
                if ($null -eq $pairValue) {
                    $pairValue = ''
                }
                $pairs[[string] $pairName] = [string] $pairValue
            }
            $arguments[$key] = $pairs
        }
        elseif ($value -is [array]) {
            $items = [System.Collections.Generic.List[string]]::new()
            foreach ($element in $value) {
                $items.Add([string] $element)
            }
            $arguments[$key] = $items
        }
        else {
            # int, long
            $arguments[$key] = $value
        }
    }

    $shape = $null
    if ($null -ne $plan) {
        $shape = $plan.Shape
        if ($null -ne $plan.WhenSwitch -and (Test-SwitchParameter -BoundParameters $BoundParameters -Name $plan.WhenSwitch)) {
            $shape = $plan.WhenShape
        }
    }
    $call = Invoke-NativeCall -Cmdlet $Cmdlet -Operation $Operation -Arguments $arguments -Secrets $secrets -Shape $shape

    if ($call.Status -ne 0) {
        $record = New-ErrorRecordFromEnvelope -Envelope $call.Result -Status $call.Status -What $Operation
        $Cmdlet.WriteError($record)
        return
    }
    if ($null -eq $plan) {
        return $call.Result
    }
    # -PassThru: like Az, the result is emitted only when asked for.
    if ($plan.HasPassThru -and -not (Test-SwitchParameter -BoundParameters $BoundParameters -Name 'PassThru')) {
        return
    }
    # Operations declared to return nothing (Remove-KeyVault) emit nothing, whatever the engine sends.
    if ($plan.ReturnsNothing) {
        return
    }
    foreach ($item in $call.Result) {
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
