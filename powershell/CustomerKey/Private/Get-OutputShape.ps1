function Get-OutputShape {
    <#
    .SYNOPSIS
    The conversions of one output type's properties, for CustomerKey.Native.EngineJson.
    .DESCRIPTION
    Private; Read-OperationRegistry calls it once per output type at import, with the type's
    description from ck_describe's OutputTypes: each listed property becomes [datetime] in UTC,
    byte[] or a hashtable; everything else keeps its JSON type, so a tag value or a name that
    looks like a date stays a string. Only CustomerKey.* types get their name into PSTypeNames.
    .PARAMETER TypeName
    The output type the registry names (CustomerKey.KeyVaultKey, System.String, None, ...).
    .PARAMETER Descriptions
    ck_describe's OutputTypes, by type name.
    .PARAMETER Cache
    Shapes already made, by type name.
    .EXAMPLE
    Get-OutputShape -TypeName 'CustomerKey.KeyVaultKey' -Descriptions $descriptions -Cache @{}
    #>
    [CmdletBinding()]
    param(
        [string] $TypeName,
        [hashtable] $Descriptions,
        [hashtable] $Cache
    )

    if ($Cache.ContainsKey($TypeName)) {
        return $Cache[$TypeName]
    }
    $shownAs = $null
    if ($TypeName.StartsWith('CustomerKey.')) {
        $shownAs = $TypeName
    }
    $shape = [CustomerKey.Native.OutputShape]::new($shownAs)
    $kinds = @{ datetime = 'DateTime'; bytes = 'Bytes'; hashtable = 'Hashtable' }
    if ($Descriptions.ContainsKey($TypeName)) {
        foreach ($property in $Descriptions[$TypeName].Properties) {
            $shape.Add([string] $property.Name, [CustomerKey.Native.PropertyKind] $kinds[[string] $property.Type])
        }
    }
    $Cache[$TypeName] = $shape
    return $shape
}
