function Test-SwitchParameter {
    <#
    .SYNOPSIS
    Tells whether a switch (or bool) parameter was given and is on.
    .PARAMETER BoundParameters
    The cmdlet's $PSBoundParameters.
    .PARAMETER Name
    The parameter name.
    .EXAMPLE
    Test-SwitchParameter -BoundParameters $PSBoundParameters -Name 'PassThru'
    #>
    param(
        [System.Collections.IDictionary] $BoundParameters,
        [string] $Name
    )

    if ([string]::IsNullOrEmpty($Name) -or -not ($BoundParameters.Keys -contains $Name)) {
        return $false
    }
    $value = $BoundParameters[$Name]
    if ($value -is [System.Management.Automation.SwitchParameter]) {
        return $value.IsPresent
    }
    return [bool] $value
}
