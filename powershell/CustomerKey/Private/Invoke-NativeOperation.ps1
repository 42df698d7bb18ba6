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
    Results get their PSTypeName and [datetime] times; an operation with an output property
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

    $definition = $null
    if ($script:CkOperations.ContainsKey($Operation)) {
        $definition = $script:CkOperations[$Operation]
    }

    # Which of the operation's parameters are paths (resolved here) and which are secrets.
    $pathParameters = @()
    $declaredParameters = @()
    if ($null -ne $definition) {
        foreach ($parameterDefinition in $definition.Parameters) {
            $declaredParameters += [string] $parameterDefinition.Name
            if ($parameterDefinition.IsPath) {
                $pathParameters += [string] $parameterDefinition.Name
            }
        }
    }

    # Build the arguments.
    $arguments = [ordered]@{}
    $secrets = [ordered]@{}
    foreach ($key in $BoundParameters.Keys) {
        if ($script:CkCommonParameters -contains $key) {
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
        elseif ($value -is [bool]) {
            $arguments[$key] = $value
        }
        elseif ($value -is [datetime]) {
            $arguments[$key] = $value.ToUniversalTime().ToString('o', [System.Globalization.CultureInfo]::InvariantCulture)
        }
        elseif ($value -is [System.Security.SecureString]) {
            # Converted to text only just before the JSON is built, below.
            $secrets[$key] = $value
        }
        elseif ($value -is [byte[]]) {
            $arguments[$key] = [System.Convert]::ToBase64String($value)
        }
        elseif ($value -is [System.Collections.IDictionary]) {
            $pairs = [ordered]@{}
            foreach ($pairName in $value.Keys) {
                $pairValue = $value[$pairName]
                if ($null -eq $pairValue) {
                    $pairValue = ''
                }
                $pairs[[string] $pairName] = [string] $pairValue
            }
            $arguments[$key] = $pairs
        }
        elseif ($value -is [string]) {
            if ($pathParameters -contains $key) {
                # PowerShell's current location is not the process's working directory: resolve
                # here and send an absolute path.
                $arguments[$key] = $Cmdlet.GetUnresolvedProviderPathFromPSPath($value)
            }
            else {
                $arguments[$key] = $value
            }
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

    $call = Invoke-NativeCall -Cmdlet $Cmdlet -Operation $Operation -Arguments $arguments -Secrets $secrets
    $status = $call.Status
    $parsed = $call.Result

    if ($status -ne 0) {
        $record = New-ErrorRecordFromEnvelope -Envelope $parsed -Status $status -What $Operation
        $Cmdlet.WriteError($record)
        return
    }

    # -PassThru: like Az, the result is emitted only when asked for.
    if ($declaredParameters -contains 'PassThru') {
        if (-not (Test-SwitchParameter -BoundParameters $BoundParameters -Name 'PassThru')) {
            return
        }
    }

    $typeName = $null
    $outputProperty = $null
    if ($null -ne $definition) {
        $typeName = [string] $definition.OutputType
        if ($null -ne $definition.OutputTypeWhen) {
            if (Test-SwitchParameter -BoundParameters $BoundParameters -Name ([string] $definition.OutputTypeWhen.Switch)) {
                $typeName = [string] $definition.OutputTypeWhen.OutputType
            }
        }
        if (-not [string]::IsNullOrEmpty([string] $definition.OutputProperty)) {
            $outputProperty = [string] $definition.OutputProperty
        }
    }
    # Operations declared to return nothing (Remove-KeyVault) emit nothing, whatever the engine sends.
    if ($typeName -eq 'None') {
        return
    }

    # $parsed is $null, one object, or an array of objects; foreach handles all three.
    foreach ($item in $parsed) {
        if ($null -eq $item) {
            continue
        }
        if (-not ($item -is [System.Management.Automation.PSCustomObject])) {
            $item
            continue
        }
        if ($null -ne $outputProperty) {
            $property = $item.PSObject.Properties[$outputProperty]
            if ($null -ne $property) {
                [string] $property.Value
            }
            continue
        }
        ConvertTo-OutputObject -InputObject $item -TypeName $typeName
    }
}
