function ConvertTo-UtcDateTime {
    <#
    .SYNOPSIS
    Converts an ISO 8601 time from the engine to a UTC [datetime].
    .DESCRIPTION
    Private. ConvertFrom-Json may already have turned the string into a [datetime] (in local or
    UTC kind); both forms end up as UTC. Anything unparseable is returned unchanged.
    .PARAMETER Value
    The value to convert.
    .EXAMPLE
    ConvertTo-UtcDateTime -Value '2025-01-01T00:00:00Z'
    #>
    param(
        [object] $Value
    )

    if ($null -eq $Value) {
        return $null
    }
    if ($Value -is [datetime]) {
        return $Value.ToUniversalTime()
    }
    if ($Value -is [string]) {
        if ($Value.Length -eq 0) {
            return $null
        }
        $parsed = [System.DateTimeOffset]::MinValue
        if ([System.DateTimeOffset]::TryParse($Value, [System.Globalization.CultureInfo]::InvariantCulture, [System.Globalization.DateTimeStyles]::AssumeUniversal, [ref] $parsed)) {
            return $parsed.UtcDateTime
        }
    }
    return $Value
}
