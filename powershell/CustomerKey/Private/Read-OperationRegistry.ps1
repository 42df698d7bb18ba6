function Read-OperationRegistry {
    <#
    .SYNOPSIS
    Reads the operation registry once with ck_describe.
    .DESCRIPTION
    Private; the module runs it once at import. Fills $script:CkOperations (operation name ->
    definition), $script:CkPlans (operation name -> a CustomerKey.Native.OperationPlan, what
    Invoke-NativeOperation needs on every call, worked out once: path parameters, -PassThru,
    output type and its conversions) and
    $script:CkVersion. Throws when ck_describe fails, and (Assert-RegistryMatch) when the
    library's registry is not the one the manifest records.
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
    $registry = [CustomerKey.Native.EngineJson]::ReadPlain($describeText)
    $script:CkVersion = [string] $registry.Version
    # The library must answer with the registry the cmdlets were generated from.
    $privateData = $ExecutionContext.SessionState.Module.PrivateData
    $recorded = $null
    if ($privateData -is [System.Collections.IDictionary]) {
        $recorded = $privateData['CkRegistry']
    }
    Assert-RegistryMatch -Recorded $recorded -DescribeText $describeText
    $script:CkOperations = @{}
    foreach ($operation in $registry.Operations) {
        $script:CkOperations[[string] $operation.Name] = $operation
    }
    # The plans in C# (OperationPlan): the same work as a PowerShell loop cost about 60 ms of CPU
    # in a fresh import.
    $script:CkPlans = [CustomerKey.Native.OperationPlan]::FromRegistry($describeText)
}
