function ConvertTo-OutputObject {
    <#
    .SYNOPSIS
    Shapes one result object: [datetime] times, byte[] RawResult, hashtable Tags, and the PSTypeName.
    .PARAMETER InputObject
    One object parsed from the engine's JSON result.
    .PARAMETER TypeName
    The type name to put first in PSTypeNames (CustomerKey.*); other values add none.
    .EXAMPLE
    ConvertTo-OutputObject -InputObject $item -TypeName 'CustomerKey.KeyVaultKey'
    #>
    param(
        [object] $InputObject,
        [string] $TypeName
    )

    $targets = @($InputObject)
    $attributes = $InputObject.PSObject.Properties['Attributes']
    if ($null -ne $attributes -and ($attributes.Value -is [System.Management.Automation.PSCustomObject])) {
        $targets += $attributes.Value
    }
    foreach ($target in $targets) {
        foreach ($dateName in $script:CkDateProperties) {
            $dateProperty = $target.PSObject.Properties[$dateName]
            if ($null -ne $dateProperty) {
                $dateProperty.Value = ConvertTo-UtcDateTime -Value $dateProperty.Value
            }
        }
    }

    # Invoke-KeyVaultKeyOperation: RawResult comes as base64 (standard or URL-safe).
    $rawResult = $InputObject.PSObject.Properties['RawResult']
    if ($null -ne $rawResult -and ($rawResult.Value -is [string])) {
        $base64 = $rawResult.Value.Replace('-', '+').Replace('_', '/')
        while (($base64.Length % 4) -ne 0) {
            $base64 = $base64 + '='
        }
        $rawResult.Value = [System.Convert]::FromBase64String($base64)
    }

    # Tags: a JSON object becomes a hashtable, as in Az.
    $tags = $InputObject.PSObject.Properties['Tags']
    if ($null -ne $tags -and ($tags.Value -is [System.Management.Automation.PSCustomObject])) {
        $table = @{}
        foreach ($tag in $tags.Value.PSObject.Properties) {
            $table[$tag.Name] = $tag.Value
        }
        $tags.Value = $table
    }

    if (-not [string]::IsNullOrEmpty($TypeName) -and $TypeName.StartsWith('CustomerKey.')) {
        $InputObject.PSObject.TypeNames.Insert(0, $TypeName)
    }
    return $InputObject
}
