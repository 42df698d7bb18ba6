function Get-OutputShape {
    <#
    .SYNOPSIS
    The conversions of one output type's properties, for CustomerKey.Native.EngineJson.
    .DESCRIPTION
    Private; Read-OperationRegistry calls it once per output type at import. Times become
    [datetime] in UTC, RawResult byte[], Tags a hashtable; everything else keeps its JSON type,
    so a tag value or a name that looks like a date stays a string. Only CustomerKey.* types get
    their name into PSTypeNames.
    .PARAMETER TypeName
    The output type the registry names (CustomerKey.KeyVaultKey, System.String, None, ...).
    .PARAMETER Cache
    Shapes already made, by type name.
    .EXAMPLE
    Get-OutputShape -TypeName 'CustomerKey.KeyVaultKey' -Cache @{}
    #>
    [CmdletBinding()]
    param(
        [string] $TypeName,
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
    foreach ($dateName in $script:CkDateProperties) {
        $shape.Add($dateName, [CustomerKey.Native.PropertyKind]::DateTime)
    }
    $shape.Add('RawResult', [CustomerKey.Native.PropertyKind]::Bytes)
    $shape.Add('Tags', [CustomerKey.Native.PropertyKind]::Hashtable)
    $Cache[$TypeName] = $shape
    return $shape
}
