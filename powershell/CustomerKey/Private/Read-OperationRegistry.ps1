function Read-OperationRegistry {
    <#
    .SYNOPSIS
    Reads the operation registry once with ck_describe.
    .DESCRIPTION
    Private; the module runs it once at import. Fills $script:CkOperations (operation name ->
    definition), which tells Invoke-NativeOperation which parameters are paths and what type
    each operation returns, and $script:CkVersion. Throws when ck_describe fails.
    .EXAMPLE
    Read-OperationRegistry
    #>
    param()

    $describePointer = [System.IntPtr]::Zero
    $describeStatus = -1
    $describeText = $null
    try {
        $describeStatus = [CustomerKey.Native.NativeMethods]::ck_describe([ref] $describePointer)
    }
    finally {
        # TakeString reads the UTF-8 text and frees it (IntPtr.Zero gives $null).
        $describeText = [CustomerKey.Native.NativeMethods]::TakeString($describePointer)
    }
    if ($describeStatus -ne 0 -or [string]::IsNullOrEmpty($describeText)) {
        throw ("CustomerKey: ck_describe failed (status {0}): {1}" -f $describeStatus, $describeText)
    }
    $registry = ConvertFrom-Json -InputObject $describeText
    $script:CkVersion = [string] $registry.Version
    $script:CkOperations = @{}
    foreach ($operation in $registry.Operations) {
        $script:CkOperations[[string] $operation.Name] = $operation
    }
}
