# CustomerKey PowerShell module: Az.KeyVault-style cmdlets (noun prefix Ck) over the customer_key
# native library.
#
# Layout of this file:
#   1. Module state.
#   2. Loading the native library (Native.cs via Add-Type, then the library itself).
#   3. Private helpers: sessions, error records, result shaping, and Invoke-NativeOperation, the one
#      function that makes every ck_call.
#   4. Session cmdlets: Connect-CkService, Disconnect-CkService, Get-CkConnection.
#   5. One thin cmdlet per operation of the engine's registry (src/operations.rs, ck_describe).
#      Each declares Microsoft's parameter names, asks ShouldProcess when it changes state, and
#      hands $PSBoundParameters to Invoke-NativeOperation.
#
# Kept deliberately plain (no classes, no dynamic code generation) so the grammar checks in
# tests/static can read every cmdlet's declaration.

# ---------------------------------------------------------------------------------------------
# 1. Module state
# ---------------------------------------------------------------------------------------------

# The open session (an opaque pointer from ck_open); IntPtr.Zero when none is open.
$script:CkSession = [System.IntPtr]::Zero
# The CustomerKey.Connection object Get-CkConnection shows; $null when no session is open.
$script:CkConnection = $null
# The operation registry from ck_describe, keyed by operation name ('Get-KeyVaultKey', ...).
$script:CkOperations = @{}
# The engine version ck_describe reports.
$script:CkVersion = $null
# Full path of the native library that was loaded, and its handle.
$script:CkLibraryPath = $null
$script:CkLibraryHandle = [System.IntPtr]::Zero

# PowerShell's common and risk-mitigation parameters: never sent to the engine.
$script:CkCommonParameters = @(
    'Verbose', 'Debug', 'ErrorAction', 'WarningAction', 'InformationAction', 'ProgressAction',
    'ErrorVariable', 'WarningVariable', 'InformationVariable', 'OutVariable', 'OutBuffer',
    'PipelineVariable', 'WhatIf', 'Confirm'
)

# Result properties that hold times: the engine sends ISO 8601 strings, the cmdlets emit [datetime].
$script:CkDateProperties = @('Expires', 'NotBefore', 'Created', 'Updated', 'DeletedDate', 'ScheduledPurgeDate')

# ---------------------------------------------------------------------------------------------
# 2. Loading the native library
# ---------------------------------------------------------------------------------------------

# Which file to look for, by platform. $IsWindows / $IsMacOS exist in PowerShell 7.
$ckOsName = 'linux'
$ckLibraryFile = 'libcustomer_key.so'
if ($IsWindows) {
    $ckOsName = 'win'
    $ckLibraryFile = 'customer_key.dll'
}
elseif ($IsMacOS) {
    $ckOsName = 'osx'
    $ckLibraryFile = 'libcustomer_key.dylib'
}
# Architecture enum values are X64, Arm64, ...: lower-cased they give the folder names x64, arm64.
$ckArchName = [System.Runtime.InteropServices.RuntimeInformation]::OSArchitecture.ToString().ToLowerInvariant()

# 1) A packaged module carries the library in bin/<os>-<arch>/.
# 2) In a checkout the module sits at <repo>/powershell/CustomerKey, so cargo's output is
#    ../../target/release.
$ckCandidates = @(
    [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($PSScriptRoot, 'bin', ($ckOsName + '-' + $ckArchName), $ckLibraryFile)),
    [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($PSScriptRoot, '..', '..', 'target', 'release', $ckLibraryFile))
)
foreach ($ckCandidate in $ckCandidates) {
    if ([System.IO.File]::Exists($ckCandidate)) {
        $script:CkLibraryPath = $ckCandidate
        break
    }
}
if ($null -eq $script:CkLibraryPath) {
    throw ("CustomerKey: the native library '{0}' was not found. Looked for: {1}. In a checkout of the repository, run 'cargo build --release' in the repository root to build it." -f $ckLibraryFile, ($ckCandidates -join ', '))
}

# Compile the P/Invoke declarations. Types added with Add-Type cannot be unloaded, and adding the
# same type twice fails, so on a re-import (Import-Module -Force) the already loaded type is reused.
if ($null -eq ('CustomerKey.Native.NativeMethods' -as [type])) {
    Add-Type -Path (Join-Path -Path $PSScriptRoot -ChildPath 'Native.cs')
}

# Load the library by its full path. Native.cs imports it by the bare name 'customer_key':
# on Linux the library's SONAME is libcustomer_key.so, so the runtime's later dlopen of that name
# finds this already loaded copy; on Windows LoadLibrary matches loaded modules by name too.
try {
    $script:CkLibraryHandle = [System.Runtime.InteropServices.NativeLibrary]::Load($script:CkLibraryPath)
}
catch {
    throw ("CustomerKey: could not load '{0}': {1}. Rebuild it for this platform with 'cargo build --release'." -f $script:CkLibraryPath, $_.Exception.Message)
}

# For platforms where a loaded library is not matched by name (macOS), also tell the runtime
# directly: a DllImport resolver for the Native.cs assembly that answers 'customer_key' with the
# handle loaded above. A resolver can be set only once per assembly and the Add-Type assembly lives
# as long as the process, so on a re-import SetDllImportResolver throws: the first resolver (which
# returns the same library) stays in place and the error is ignored.
$ckResolvedHandle = $script:CkLibraryHandle
$ckResolverBody = {
    param([string] $LibraryName, [System.Reflection.Assembly] $Assembly, $SearchPath)
    if ($LibraryName -eq 'customer_key') {
        return $ckResolvedHandle
    }
    return [System.IntPtr]::Zero
}
$ckResolver = $ckResolverBody.GetNewClosure()
try {
    [System.Runtime.InteropServices.NativeLibrary]::SetDllImportResolver([CustomerKey.Native.NativeMethods].Assembly, [System.Runtime.InteropServices.DllImportResolver] $ckResolver)
}
catch {
    Write-Verbose ('CustomerKey: DllImport resolver already set for this process ({0})' -f $_.Exception.Message)
}

# Bind every P/Invoke now, on this thread: the resolver above is a script block, and script blocks
# need a runspace on the thread that runs them, which a later call from another thread may not
# have. This also reports a library that lacks a ck_* function at import, not at first use.
try {
    [System.Runtime.InteropServices.Marshal]::PrelinkAll([CustomerKey.Native.NativeMethods])
}
catch {
    throw ("CustomerKey: '{0}' was loaded but its functions could not be bound: {1}. Rebuild it with 'cargo build --release'." -f $script:CkLibraryPath, $_.Exception.Message)
}

# Read the operation registry once: it tells the helper which parameters are paths and what
# type each operation returns.
$ckDescribePointer = [System.IntPtr]::Zero
$ckDescribeStatus = -1
$ckDescribeText = $null
try {
    $ckDescribeStatus = [CustomerKey.Native.NativeMethods]::ck_describe([ref] $ckDescribePointer)
}
finally {
    # TakeString reads the UTF-8 text and frees it (IntPtr.Zero gives $null).
    $ckDescribeText = [CustomerKey.Native.NativeMethods]::TakeString($ckDescribePointer)
}
if ($ckDescribeStatus -ne 0 -or [string]::IsNullOrEmpty($ckDescribeText)) {
    throw ("CustomerKey: ck_describe failed (status {0}): {1}" -f $ckDescribeStatus, $ckDescribeText)
}
$ckRegistry = ConvertFrom-Json -InputObject $ckDescribeText
$script:CkVersion = [string] $ckRegistry.Version
foreach ($ckOperation in $ckRegistry.Operations) {
    $script:CkOperations[[string] $ckOperation.Name] = $ckOperation
}

# ---------------------------------------------------------------------------------------------
# 3. Private helpers
# ---------------------------------------------------------------------------------------------

function New-NativeErrorRecord {
    <#
    .SYNOPSIS
    Builds the ErrorRecord for a failure reported by the engine or by the module.
    .DESCRIPTION
    Private. The error id is the engine's code ('KeyNotFound'); PowerShell appends the name of the
    cmdlet that writes the record, so FullyQualifiedErrorId reads 'KeyNotFound,Get-CkKeyVaultKey'.
    .PARAMETER Code
    The engine's error code, used as the error id.
    .PARAMETER Category
    The name of a System.Management.Automation.ErrorCategory value; unknown names give NotSpecified.
    .PARAMETER Message
    The message for the admin.
    .PARAMETER Target
    The object the error concerns.
    .PARAMETER InnerException
    An exception to keep as the inner exception, if any.
    .EXAMPLE
    New-NativeErrorRecord -Code 'KeyNotFound' -Category 'ObjectNotFound' -Message 'Key not found' -Target 'k1'
    #>
    param(
        [string] $Code,
        [string] $Category,
        [string] $Message,
        [object] $Target,
        [System.Exception] $InnerException
    )

    $errorCategory = [System.Management.Automation.ErrorCategory]::NotSpecified
    if (-not [string]::IsNullOrEmpty($Category)) {
        try {
            $errorCategory = [System.Management.Automation.ErrorCategory] $Category
        }
        catch {
            $errorCategory = [System.Management.Automation.ErrorCategory]::NotSpecified
        }
    }
    if ([string]::IsNullOrEmpty($Code)) {
        $Code = 'NativeError'
    }
    if ([string]::IsNullOrEmpty($Message)) {
        $Message = 'The CustomerKey engine reported an error without a message.'
    }

    # An exception type that matches the category, so 'catch [ItemNotFoundException]' works too.
    $exception = $null
    if ($null -ne $InnerException) {
        $exception = [System.InvalidOperationException]::new($Message, $InnerException)
    }
    elseif ($errorCategory -eq [System.Management.Automation.ErrorCategory]::ObjectNotFound) {
        $exception = [System.Management.Automation.ItemNotFoundException]::new($Message)
    }
    elseif ($errorCategory -eq [System.Management.Automation.ErrorCategory]::InvalidArgument) {
        $exception = [System.ArgumentException]::new($Message)
    }
    elseif ($errorCategory -eq [System.Management.Automation.ErrorCategory]::PermissionDenied) {
        $exception = [System.UnauthorizedAccessException]::new($Message)
    }
    elseif ($errorCategory -eq [System.Management.Automation.ErrorCategory]::WriteError) {
        $exception = [System.IO.IOException]::new($Message)
    }
    else {
        $exception = [System.InvalidOperationException]::new($Message)
    }

    if ($null -ne $Target -and ($Target -is [string]) -and $Target.Length -eq 0) {
        $Target = $null
    }
    return [System.Management.Automation.ErrorRecord]::new($exception, $Code, $errorCategory, $Target)
}

function New-ErrorRecordFromEnvelope {
    <#
    .SYNOPSIS
    Builds the ErrorRecord for a failed native call from its error envelope.
    .DESCRIPTION
    Private. The envelope is {"error":{"code","category","message","target"}}; a missing or
    malformed envelope still gives a record that names the status.
    .PARAMETER Envelope
    The parsed JSON the native call returned (may be $null).
    .PARAMETER Status
    The status the native call returned.
    .PARAMETER What
    What was called, for the fallback message.
    .EXAMPLE
    New-ErrorRecordFromEnvelope -Envelope $envelope -Status 2 -What 'Get-KeyVaultKey'
    #>
    param(
        [object] $Envelope,
        [int] $Status,
        [string] $What
    )

    $code = $null
    $category = $null
    $message = $null
    $target = $null
    $detail = $null
    if ($null -ne $Envelope -and ($Envelope -is [System.Management.Automation.PSCustomObject])) {
        $errorProperty = $Envelope.PSObject.Properties['error']
        if ($null -ne $errorProperty) {
            $detail = $errorProperty.Value
        }
    }
    if ($null -ne $detail) {
        $code = [string] $detail.code
        $category = [string] $detail.category
        $message = [string] $detail.message
        $target = $detail.target
    }
    if ([string]::IsNullOrEmpty($message)) {
        $message = "{0} failed with status {1} and no error description." -f $What, $Status
    }
    return New-NativeErrorRecord -Code $code -Category $category -Message $message -Target $target
}

function Close-NativeSession {
    <#
    .SYNOPSIS
    Closes the open session, if any.
    .DESCRIPTION
    Private. Used by Connect-CkService (before opening another), Disconnect-CkService and module removal.
    .EXAMPLE
    Close-NativeSession
    #>
    param()

    if ($script:CkSession -ne [System.IntPtr]::Zero) {
        $handle = $script:CkSession
        # Forget the handle first: even if ck_close fails it must never be used again.
        $script:CkSession = [System.IntPtr]::Zero
        $script:CkConnection = $null
        [CustomerKey.Native.NativeMethods]::ck_close($handle)
    }
}

function Open-NativeSession {
    <#
    .SYNOPSIS
    Opens a session on a store with ck_open, replacing the current one.
    .DESCRIPTION
    Private. The current session is closed only once the new one is open. Failures are
    terminating errors of the calling cmdlet.
    .PARAMETER Cmdlet
    The calling cmdlet's $PSCmdlet.
    .PARAMETER Options
    The ck_open options: Store (absolute path), UserPrincipalName, TimeShiftSeconds; empty for the default store.
    .EXAMPLE
    Open-NativeSession -Cmdlet $PSCmdlet -Options ([ordered]@{})
    #>
    param(
        [System.Management.Automation.PSCmdlet] $Cmdlet,
        [System.Collections.IDictionary] $Options
    )

    $optionsJson = ConvertTo-Json -InputObject $Options -Depth 10 -Compress
    $sessionPointer = [System.IntPtr]::Zero
    $outPointer = [System.IntPtr]::Zero
    $status = -1
    $text = $null
    try {
        $status = [CustomerKey.Native.NativeMethods]::ck_open($optionsJson, [ref] $sessionPointer, [ref] $outPointer)
    }
    catch {
        $record = New-NativeErrorRecord -Code 'NativeCallFailed' -Category 'NotSpecified' -Message ("ck_open failed: {0}" -f $_.Exception.Message) -Target $null -InnerException $_.Exception
        $Cmdlet.ThrowTerminatingError($record)
    }
    finally {
        $text = [CustomerKey.Native.NativeMethods]::TakeString($outPointer)
    }

    $reply = $null
    if (-not [string]::IsNullOrEmpty($text)) {
        $reply = ConvertFrom-Json -InputObject $text
    }
    if ($status -ne 0) {
        $record = New-ErrorRecordFromEnvelope -Envelope $reply -Status $status -What 'ck_open'
        $Cmdlet.ThrowTerminatingError($record)
    }

    $store = $null
    $userPrincipalName = $null
    $version = $script:CkVersion
    if ($Options.Keys -contains 'Store') {
        $store = [string] $Options['Store']
    }
    if ($Options.Keys -contains 'UserPrincipalName') {
        $userPrincipalName = [string] $Options['UserPrincipalName']
    }
    if ($null -ne $reply) {
        if ($null -ne $reply.PSObject.Properties['Store']) {
            $store = [string] $reply.Store
        }
        if ($null -ne $reply.PSObject.Properties['UserPrincipalName']) {
            $userPrincipalName = [string] $reply.UserPrincipalName
        }
        if ($null -ne $reply.PSObject.Properties['Version']) {
            $version = [string] $reply.Version
        }
    }

    # The new session is open: only now close the previous one, so a failed Connect-CkService
    # leaves the current session as it was.
    Close-NativeSession
    $script:CkSession = $sessionPointer
    $script:CkConnection = [pscustomobject]@{
        PSTypeName        = 'CustomerKey.Connection'
        Store             = $store
        UserPrincipalName = $userPrincipalName
        Version           = $version
    }
}

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

function Invoke-NativeOperation {
    <#
    .SYNOPSIS
    Runs one registry operation through ck_call and writes its results or errors.
    .DESCRIPTION
    Private; every operation cmdlet calls it, and it is the only place that calls ck_call.
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

    # The first call opens the default store when Connect-CkService was not used.
    if ($script:CkSession -eq [System.IntPtr]::Zero) {
        Open-NativeSession -Cmdlet $Cmdlet -Options ([ordered]@{})
    }
    if ($script:CkSession -eq [System.IntPtr]::Zero) {
        $record = New-NativeErrorRecord -Code 'NoSession' -Category 'ConnectionError' -Message 'No CustomerKey session is open; run Connect-CkService.' -Target $null
        $Cmdlet.ThrowTerminatingError($record)
    }

    Write-Verbose ("CustomerKey: calling {0}" -f $Operation)

    $outPointer = [System.IntPtr]::Zero
    $status = -1
    $text = $null
    $json = $null
    try {
        foreach ($secretName in $secrets.Keys) {
            $arguments[$secretName] = ConvertFrom-SecureString -SecureString $secrets[$secretName] -AsPlainText
        }
        $json = ConvertTo-Json -InputObject $arguments -Depth 10 -Compress
        foreach ($secretName in $secrets.Keys) {
            $arguments[$secretName] = $null
        }
        $status = [CustomerKey.Native.NativeMethods]::ck_call($script:CkSession, $Operation, $json, [ref] $outPointer)
    }
    catch {
        $record = New-NativeErrorRecord -Code 'NativeCallFailed' -Category 'NotSpecified' -Message ("The native call for {0} failed: {1}" -f $Operation, $_.Exception.Message) -Target $Operation -InnerException $_.Exception
        $Cmdlet.ThrowTerminatingError($record)
    }
    finally {
        # Drop the JSON (it may hold a secret) and read + free the returned string exactly once.
        $json = $null
        $text = [CustomerKey.Native.NativeMethods]::TakeString($outPointer)
    }

    $parsed = $null
    if (-not [string]::IsNullOrEmpty($text)) {
        $parsed = ConvertFrom-Json -InputObject $text
    }

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

# ---------------------------------------------------------------------------------------------
# 4. Session cmdlets
# ---------------------------------------------------------------------------------------------

function Connect-CkService {
    <#
    .SYNOPSIS
    Opens a CustomerKey session on a store, closing the current one.
    .DESCRIPTION
    Opens the store folder given by -Path (created when missing) and makes it the store every
    CustomerKey cmdlet uses. Without Connect-CkService, the first cmdlet opens the default store.
    Emits the connection (CustomerKey.Connection), as Get-CkConnection shows it.
    .PARAMETER Path
    The store folder. Relative paths are resolved against the current PowerShell location.
    Default: the engine's default store.
    .PARAMETER UserPrincipalName
    The user principal name the session acts as (access policies are checked against it).
    .PARAMETER TimeShiftSeconds
    Seconds to add to the engine's clock, to try expiry and retention without waiting. Accepted
    only by a rehearsal store: one created by a Connect-CkService that gave -TimeShiftSeconds
    (even 0). A store of real keys refuses a shifted clock, which would purge for real.
    .EXAMPLE
    Connect-CkService -Path ./ck-store -UserPrincipalName admin@contoso.onmicrosoft.com
    Opens (or creates) the store in ./ck-store as admin@contoso.onmicrosoft.com.
    .EXAMPLE
    Connect-CkService -Path ./ck-rehearsal -TimeShiftSeconds 0
    Connect-CkService -Path ./ck-rehearsal -TimeShiftSeconds (91 * 24 * 3600)
    Creates a rehearsal store, then reopens it with the clock 91 days ahead, past the default
    soft-delete retention.
    .OUTPUTS
    CustomerKey.Connection
    #>
    [CmdletBinding()]
    [OutputType('CustomerKey.Connection')]
    param(
        [Parameter(HelpMessage = 'The store folder')]
        [string] $Path,

        [Parameter(HelpMessage = 'The user principal name the session acts as')]
        [string] $UserPrincipalName,

        [Parameter(HelpMessage = 'Seconds to add to the engine clock')]
        [long] $TimeShiftSeconds
    )

    process {
        $options = [ordered]@{}
        if ($PSBoundParameters.ContainsKey('Path')) {
            $options['Store'] = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($Path)
        }
        if ($PSBoundParameters.ContainsKey('UserPrincipalName')) {
            $options['UserPrincipalName'] = $UserPrincipalName
        }
        if ($PSBoundParameters.ContainsKey('TimeShiftSeconds')) {
            $options['TimeShiftSeconds'] = $TimeShiftSeconds
        }
        Open-NativeSession -Cmdlet $PSCmdlet -Options $options
        $script:CkConnection
    }
}

function Disconnect-CkService {
    <#
    .SYNOPSIS
    Closes the CustomerKey session.
    .DESCRIPTION
    Closes the open store, if any. The next CustomerKey cmdlet opens the default store unless
    Connect-CkService is run first.
    .EXAMPLE
    Disconnect-CkService
    Closes the current session.
    #>
    [CmdletBinding()]
    param()

    process {
        Close-NativeSession
    }
}

function Get-CkConnection {
    <#
    .SYNOPSIS
    Shows the open CustomerKey session: store, user principal name and engine version.
    .DESCRIPTION
    Emits nothing when no session is open.
    .EXAMPLE
    Get-CkConnection
    Shows the store the cmdlets use.
    .OUTPUTS
    CustomerKey.Connection
    #>
    [CmdletBinding()]
    [OutputType('CustomerKey.Connection')]
    param()

    process {
        if ($null -ne $script:CkConnection) {
            $script:CkConnection
        }
    }
}

# ---------------------------------------------------------------------------------------------
# 5. Operation cmdlets (one per registry operation, same order as src/operations.rs)
# ---------------------------------------------------------------------------------------------

function New-CkKeyVault {
    <#
    .SYNOPSIS
    Creates a key vault in the store.
    .DESCRIPTION
    Creates a key vault, like New-AzKeyVault. Soft delete is on by default with a 90-day
    retention; Customer Key needs soft delete, and purge protection is recommended.
    .PARAMETER VaultName
    Name of the key vault: 3-24 letters, digits and hyphens, starting with a letter.
    .PARAMETER Location
    Azure region of the vault (its geography bounds backup and restore).
    .PARAMETER Sku
    Standard, or Premium for HSM-protected keys.
    .PARAMETER SoftDeleteRetentionInDays
    Days a deleted vault or key is kept before it is purged (7-90, default 90). Fixed once set.
    .PARAMETER EnablePurgeProtection
    Forbid purging deleted keys before their retention ends.
    .PARAMETER DisableSoftDelete
    Delete keys at once instead of keeping them recoverable.
    .PARAMETER Tag
    Tags as name/value pairs.
    .EXAMPLE
    New-CkKeyVault -VaultName 'contoso-ck-weu' -Location 'westeurope' -EnablePurgeProtection
    Creates a vault with soft delete and purge protection.
    .OUTPUTS
    CustomerKey.KeyVault
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('CustomerKey.KeyVault')]
    param(
        [Parameter(Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Name of the key vault')]
        [string] $VaultName,

        [Parameter(Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Azure region of the vault (its geography bounds backup and restore)')]
        [string] $Location,

        [Parameter(HelpMessage = 'Standard, or Premium for HSM-protected keys')]
        [ValidateSet('Standard', 'Premium')]
        [string] $Sku,

        [Parameter(HelpMessage = 'Days a deleted vault or key is kept before it is purged (7-90, default 90)')]
        [ValidateRange(7, 90)]
        [int] $SoftDeleteRetentionInDays,

        [Parameter(HelpMessage = 'Forbid purging deleted keys before their retention ends')]
        [switch] $EnablePurgeProtection,

        [Parameter(HelpMessage = 'Delete keys at once instead of keeping them recoverable')]
        [switch] $DisableSoftDelete,

        [Parameter(HelpMessage = 'Tags as name/value pairs')]
        [hashtable] $Tag
    )

    process {
        if ($PSCmdlet.ShouldProcess(("Vault '{0}' in '{1}'" -f $VaultName, $Location), 'Create key vault')) {
            Invoke-NativeOperation -Cmdlet $PSCmdlet -Operation 'New-KeyVault' -BoundParameters $PSBoundParameters
        }
    }
}

function Get-CkKeyVault {
    <#
    .SYNOPSIS
    Gets key vaults, with their access policies.
    .DESCRIPTION
    Gets one vault by name, or every vault of the store. With -InRemovedState, gets
    soft-deleted vaults instead (CustomerKey.DeletedKeyVault).
    .PARAMETER VaultName
    Name of the key vault. Default: all vaults.
    .PARAMETER InRemovedState
    Get soft-deleted vaults.
    .EXAMPLE
    Get-CkKeyVault
    Lists the vaults of the store.
    .EXAMPLE
    Get-CkKeyVault -VaultName 'contoso-ck-weu' -InRemovedState
    Shows a deleted vault with its deletion and scheduled purge dates.
    .OUTPUTS
    CustomerKey.KeyVault
    CustomerKey.DeletedKeyVault
    #>
    [CmdletBinding()]
    [OutputType('CustomerKey.KeyVault', 'CustomerKey.DeletedKeyVault')]
    param(
        [Parameter(ValueFromPipelineByPropertyName, HelpMessage = 'Name of the key vault')]
        [string] $VaultName,

        [Parameter(HelpMessage = 'Get soft-deleted vaults')]
        [switch] $InRemovedState
    )

    process {
        Invoke-NativeOperation -Cmdlet $PSCmdlet -Operation 'Get-KeyVault' -BoundParameters $PSBoundParameters
    }
}

function Remove-CkKeyVault {
    <#
    .SYNOPSIS
    Deletes a key vault (soft delete when enabled), or purges a deleted one.
    .DESCRIPTION
    Deletes a vault with its keys. With soft delete on, the vault can be recovered with
    Undo-CkKeyVaultRemoval until its retention ends. With -InRemovedState, purges a deleted vault
    for good. Asks for confirmation (ConfirmImpact High) unless -Force is given; -WhatIf is
    honoured even with -Force. The engine refuses to remove a vault whose key a data encryption
    policy uses unless -Force is given.
    .PARAMETER VaultName
    Name of the key vault.
    .PARAMETER InRemovedState
    Purge a soft-deleted vault for good.
    .PARAMETER Force
    Do not ask for confirmation, and remove even when a data encryption policy uses a key of the vault.
    .EXAMPLE
    Remove-CkKeyVault -VaultName 'contoso-ck-test'
    Deletes the vault after confirmation.
    .EXAMPLE
    Remove-CkKeyVault -VaultName 'contoso-ck-test' -InRemovedState -Force
    Purges the deleted vault without asking.
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    param(
        [Parameter(Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Name of the key vault')]
        [string] $VaultName,

        [Parameter(HelpMessage = 'Purge a soft-deleted vault for good')]
        [switch] $InRemovedState,

        [Parameter(HelpMessage = 'Remove even when a data encryption policy uses a key of the vault')]
        [switch] $Force
    )

    process {
        $action = 'Remove key vault with all its keys'
        if ($InRemovedState) {
            $action = 'Purge deleted key vault (cannot be undone)'
        }
        # -Force skips the confirmation prompt, as in Az, but never -WhatIf: lowering
        # ConfirmPreference here keeps ShouldProcess in charge of -WhatIf. An explicit -Confirm wins.
        if ($Force -and -not $PSBoundParameters.ContainsKey('Confirm')) {
            $ConfirmPreference = 'None'
        }
        if ($PSCmdlet.ShouldProcess(("Vault '{0}'" -f $VaultName), $action)) {
            Invoke-NativeOperation -Cmdlet $PSCmdlet -Operation 'Remove-KeyVault' -BoundParameters $PSBoundParameters
        }
    }
}

function Undo-CkKeyVaultRemoval {
    <#
    .SYNOPSIS
    Recovers a soft-deleted key vault with its keys.
    .DESCRIPTION
    Recovers a vault deleted with Remove-CkKeyVault while its retention has not ended.
    .PARAMETER VaultName
    Name of the deleted key vault.
    .EXAMPLE
    Undo-CkKeyVaultRemoval -VaultName 'contoso-ck-weu'
    Recovers the vault and its keys.
    .OUTPUTS
    CustomerKey.KeyVault
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('CustomerKey.KeyVault')]
    param(
        [Parameter(Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Name of the key vault')]
        [string] $VaultName
    )

    process {
        if ($PSCmdlet.ShouldProcess(("Vault '{0}'" -f $VaultName), 'Recover deleted key vault')) {
            Invoke-NativeOperation -Cmdlet $PSCmdlet -Operation 'Undo-KeyVaultRemoval' -BoundParameters $PSBoundParameters
        }
    }
}

function Set-CkKeyVaultAccessPolicy {
    <#
    .SYNOPSIS
    Grants key permissions on a vault to a user or service principal.
    .DESCRIPTION
    Sets the key permissions of one principal on a vault, replacing its current ones. Give exactly
    one of -UserPrincipalName (parameter set ByUserPrincipalName, the default), -ObjectId
    (ByObjectId) and -ServicePrincipalName (ByServicePrincipalName).
    .PARAMETER VaultName
    Name of the key vault.
    .PARAMETER UserPrincipalName
    User principal name of the user.
    .PARAMETER ObjectId
    Object id of the user, group or service principal.
    .PARAMETER ServicePrincipalName
    Application id or name of the service principal.
    .PARAMETER PermissionsToKeys
    Key permissions to grant (replaces the principal's current ones).
    .PARAMETER PassThru
    Return the vault.
    .EXAMPLE
    Set-CkKeyVaultAccessPolicy -VaultName 'contoso-ck-weu' -UserPrincipalName 'admin@contoso.onmicrosoft.com' -PermissionsToKeys get, list, create, update, backup, restore
    Lets an admin manage the vault's keys (parameter set ByUserPrincipalName).
    .EXAMPLE
    Set-CkKeyVaultAccessPolicy -VaultName 'contoso-ck-weu' -ServicePrincipalName '00000002-0000-0ff1-ce00-000000000000' -PermissionsToKeys get, wrapKey, unwrapKey
    Lets Exchange Online (its service principal's application id) use the vault's keys (parameter
    set ByServicePrincipalName).
    .EXAMPLE
    Set-CkKeyVaultAccessPolicy -VaultName 'contoso-ck-weu' -ObjectId '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' -PermissionsToKeys get, list
    Lets a group, given by its object id, read the vault's keys (parameter set ByObjectId).
    .OUTPUTS
    CustomerKey.KeyVault
    #>
    [CmdletBinding(DefaultParameterSetName = 'ByUserPrincipalName', SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('CustomerKey.KeyVault')]
    param(
        [Parameter(Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Name of the key vault')]
        [string] $VaultName,

        [Parameter(ParameterSetName = 'ByUserPrincipalName', Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'User principal name of the user')]
        [string] $UserPrincipalName,

        [Parameter(ParameterSetName = 'ByObjectId', Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Object id of the user, group or service principal')]
        [string] $ObjectId,

        [Parameter(ParameterSetName = 'ByServicePrincipalName', Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Application id or name of the service principal')]
        [string] $ServicePrincipalName,

        [Parameter(Mandatory, HelpMessage = "Key permissions to grant (replaces the principal's current ones)")]
        [ValidateSet('all', 'decrypt', 'encrypt', 'unwrapKey', 'wrapKey', 'verify', 'sign', 'get', 'list', 'update', 'create', 'import', 'delete', 'backup', 'restore', 'recover', 'purge', 'rotate')]
        [string[]] $PermissionsToKeys,

        [Parameter(HelpMessage = 'Return the vault')]
        [switch] $PassThru
    )

    process {
        # The parameter set tells which principal was given (exactly one of the three).
        $principal = $UserPrincipalName
        if ($PSCmdlet.ParameterSetName -eq 'ByObjectId') {
            $principal = $ObjectId
        }
        elseif ($PSCmdlet.ParameterSetName -eq 'ByServicePrincipalName') {
            $principal = $ServicePrincipalName
        }
        if ($PSCmdlet.ShouldProcess(("Vault '{0}'" -f $VaultName), ("Set key permissions of '{0}' to '{1}'" -f $principal, ($PermissionsToKeys -join ', ')))) {
            Invoke-NativeOperation -Cmdlet $PSCmdlet -Operation 'Set-KeyVaultAccessPolicy' -BoundParameters $PSBoundParameters
        }
    }
}

function Remove-CkKeyVaultAccessPolicy {
    <#
    .SYNOPSIS
    Removes a principal's access policy from a vault.
    .DESCRIPTION
    Removes every key permission of one principal on a vault. Give exactly one of
    -UserPrincipalName (parameter set ByUserPrincipalName, the default), -ObjectId (ByObjectId)
    and -ServicePrincipalName (ByServicePrincipalName). Removing a service's wrap and unwrap
    permissions makes the data it protects with the vault's keys unreadable to it.
    .PARAMETER VaultName
    Name of the key vault.
    .PARAMETER UserPrincipalName
    User principal name of the user.
    .PARAMETER ObjectId
    Object id of the user, group or service principal.
    .PARAMETER ServicePrincipalName
    Application id or name of the service principal.
    .PARAMETER PassThru
    Return the vault.
    .EXAMPLE
    Remove-CkKeyVaultAccessPolicy -VaultName 'contoso-ck-weu' -UserPrincipalName 'old-admin@contoso.onmicrosoft.com'
    Removes a former admin's permissions after confirmation.
    .EXAMPLE
    Remove-CkKeyVaultAccessPolicy -VaultName 'contoso-ck-weu' -ObjectId '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' -PassThru
    Removes the permissions of a principal given by its object id and shows the vault (parameter
    set ByObjectId).
    .EXAMPLE
    Remove-CkKeyVaultAccessPolicy -VaultName 'contoso-ck-test' -ServicePrincipalName '00000002-0000-0ff1-ce00-000000000000'
    Stops Exchange Online from using the keys of a test vault (parameter set
    ByServicePrincipalName).
    .OUTPUTS
    CustomerKey.KeyVault
    #>
    [CmdletBinding(DefaultParameterSetName = 'ByUserPrincipalName', SupportsShouldProcess, ConfirmImpact = 'High')]
    [OutputType('CustomerKey.KeyVault')]
    param(
        [Parameter(Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Name of the key vault')]
        [string] $VaultName,

        [Parameter(ParameterSetName = 'ByUserPrincipalName', Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'User principal name of the user')]
        [string] $UserPrincipalName,

        [Parameter(ParameterSetName = 'ByObjectId', Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Object id of the user, group or service principal')]
        [string] $ObjectId,

        [Parameter(ParameterSetName = 'ByServicePrincipalName', Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Application id or name of the service principal')]
        [string] $ServicePrincipalName,

        [Parameter(HelpMessage = 'Return the vault')]
        [switch] $PassThru
    )

    process {
        # The parameter set tells which principal was given (exactly one of the three).
        $principal = $UserPrincipalName
        if ($PSCmdlet.ParameterSetName -eq 'ByObjectId') {
            $principal = $ObjectId
        }
        elseif ($PSCmdlet.ParameterSetName -eq 'ByServicePrincipalName') {
            $principal = $ServicePrincipalName
        }
        if ($PSCmdlet.ShouldProcess(("Vault '{0}'" -f $VaultName), ("Remove the access policy of '{0}'" -f $principal))) {
            Invoke-NativeOperation -Cmdlet $PSCmdlet -Operation 'Remove-KeyVaultAccessPolicy' -BoundParameters $PSBoundParameters
        }
    }
}

function Add-CkKeyVaultKey {
    <#
    .SYNOPSIS
    Creates a key, or a new version of an existing key (a key roll).
    .DESCRIPTION
    Creates a key in a vault, like Add-AzKeyVaultKey. When the name exists, a new version is
    added and the older versions are kept: this is how a Customer Key is rolled. With -KeyFilePath
    (parameter set InteractiveImport), imports the key from a .pfx (PKCS#12) or PKCS#8 file instead
    of generating one; -Size and -KeyType belong to the default set, InteractiveCreate, and cannot
    be combined with -KeyFilePath or -KeyFilePassword.
    .PARAMETER VaultName
    Name of the key vault.
    .PARAMETER Name
    Name of the key: letters, digits and hyphens, 1-127 characters.
    .PARAMETER Destination
    Software, or HSM (Premium vaults only).
    .PARAMETER KeyOps
    Operations the key may be used for.
    .PARAMETER NotBefore
    The key cannot be used before this time.
    .PARAMETER Expires
    The key cannot be used after this time.
    .PARAMETER Disable
    Create the key disabled.
    .PARAMETER Tag
    Tags as name/value pairs.
    .PARAMETER Size
    RSA key size in bits: 2048, 3072 or 4096.
    .PARAMETER KeyType
    RSA or RSA-HSM.
    .PARAMETER KeyFilePath
    Import the key from this file: .pfx (PKCS#12) or PKCS#8 (PEM or DER, encrypted or not).
    .PARAMETER KeyFilePassword
    Password of a .pfx or encrypted PKCS#8 key file.
    .EXAMPLE
    Add-CkKeyVaultKey -VaultName 'contoso-ck-weu' -Name 'exo-dep-key' -Destination Software -Size 3072
    Creates a 3072-bit RSA key.
    .EXAMPLE
    Add-CkKeyVaultKey -VaultName 'contoso-ck-weu' -Name 'exo-dep-key' -Destination Software
    Rolls the key: adds a new version; the older versions stay enabled.
    .EXAMPLE
    $password = Read-Host -AsSecureString -Prompt 'PFX password'
    Add-CkKeyVaultKey -VaultName 'contoso-ck-weu' -Name 'aip-tenant-key' -KeyFilePath ./tenant-key.pfx -KeyFilePassword $password
    Imports (bring your own key) the RSA key held in a password-protected .pfx file (parameter set
    InteractiveImport).
    .OUTPUTS
    CustomerKey.KeyVaultKey
    #>
    [CmdletBinding(DefaultParameterSetName = 'InteractiveCreate', SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('CustomerKey.KeyVaultKey')]
    param(
        [Parameter(Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Name of the key vault')]
        [string] $VaultName,

        [Parameter(Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Name of the key')]
        [string] $Name,

        [Parameter(HelpMessage = 'Software, or HSM (Premium vaults only)')]
        [ValidateSet('Software', 'HSM')]
        [string] $Destination,

        [Parameter(HelpMessage = 'Operations the key may be used for')]
        [ValidateSet('encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey', 'import', 'export')]
        [string[]] $KeyOps,

        [Parameter(HelpMessage = 'The key cannot be used before this time')]
        [datetime] $NotBefore,

        [Parameter(HelpMessage = 'The key cannot be used after this time')]
        [datetime] $Expires,

        [Parameter(HelpMessage = 'Create the key disabled')]
        [switch] $Disable,

        [Parameter(HelpMessage = 'Tags as name/value pairs')]
        [hashtable] $Tag,

        [Parameter(ParameterSetName = 'InteractiveCreate', HelpMessage = 'RSA key size in bits')]
        [ValidateRange(2048, 4096)]
        [int] $Size,

        [Parameter(ParameterSetName = 'InteractiveCreate', HelpMessage = 'RSA or RSA-HSM')]
        [ValidateSet('RSA', 'RSA-HSM')]
        [string] $KeyType,

        [Parameter(ParameterSetName = 'InteractiveImport', Mandatory, HelpMessage = 'Import the key from this file: .pfx (PKCS#12) or PKCS#8 (PEM or DER, encrypted or not)')]
        [string] $KeyFilePath,

        [Parameter(ParameterSetName = 'InteractiveImport', HelpMessage = 'Password of a .pfx or encrypted PKCS#8 key file')]
        [securestring] $KeyFilePassword
    )

    process {
        $action = 'Create key, or a new version of the key'
        if ($PSCmdlet.ParameterSetName -eq 'InteractiveImport') {
            $action = "Import key from '{0}'" -f $KeyFilePath
        }
        if ($PSCmdlet.ShouldProcess(("Key '{0}' in vault '{1}'" -f $Name, $VaultName), $action)) {
            Invoke-NativeOperation -Cmdlet $PSCmdlet -Operation 'Add-KeyVaultKey' -BoundParameters $PSBoundParameters
        }
    }
}

function Get-CkKeyVaultKey {
    <#
    .SYNOPSIS
    Gets keys, key versions, or soft-deleted keys.
    .DESCRIPTION
    Gets the keys of a vault or one key (its newest version), or soft-deleted keys with
    -InRemovedState (CustomerKey.DeletedKeyVaultKey): parameter set ByVaultName, the default.
    With -Name and -Version, gets that version of the key (ByKeyVersion); with -Name and
    -IncludeVersions, every version of the key (ByKeyVersions).
    .PARAMETER VaultName
    Name of the key vault.
    .PARAMETER Name
    Name of the key. Default: all keys of the vault. Required with -Version or -IncludeVersions.
    .PARAMETER Version
    Version of the key. Default: the newest.
    .PARAMETER IncludeVersions
    List every version of the key.
    .PARAMETER InRemovedState
    Get soft-deleted keys.
    .EXAMPLE
    Get-CkKeyVaultKey -VaultName 'contoso-ck-weu'
    Lists the keys of the vault.
    .EXAMPLE
    Get-CkKeyVaultKey -VaultName 'contoso-ck-weu' -Name 'exo-dep-key' -Version '0f6c5a3c2b1e4d7a9f8e7d6c5b4a3921'
    Gets one version of the key, such as the one a data encryption policy used (parameter set
    ByKeyVersion).
    .EXAMPLE
    Get-CkKeyVaultKey -VaultName 'contoso-ck-weu' -Name 'exo-dep-key' -IncludeVersions
    Lists every version of the key, as after a roll (parameter set ByKeyVersions).
    .EXAMPLE
    Get-CkKeyVaultKey -VaultName 'contoso-ck-weu' -InRemovedState
    Lists deleted keys with their scheduled purge dates.
    .OUTPUTS
    CustomerKey.KeyVaultKey
    CustomerKey.DeletedKeyVaultKey
    #>
    [CmdletBinding(DefaultParameterSetName = 'ByVaultName')]
    [OutputType('CustomerKey.KeyVaultKey', 'CustomerKey.DeletedKeyVaultKey')]
    param(
        [Parameter(Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Name of the key vault')]
        [string] $VaultName,

        [Parameter(ParameterSetName = 'ByVaultName', ValueFromPipelineByPropertyName, HelpMessage = 'Name of the key')]
        [Parameter(ParameterSetName = 'ByKeyVersion', Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Name of the key')]
        [Parameter(ParameterSetName = 'ByKeyVersions', Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Name of the key')]
        [string] $Name,

        [Parameter(ParameterSetName = 'ByKeyVersion', Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Version of the key')]
        [string] $Version,

        [Parameter(ParameterSetName = 'ByKeyVersions', Mandatory, HelpMessage = 'List every version of the key')]
        [switch] $IncludeVersions,

        [Parameter(ParameterSetName = 'ByVaultName', HelpMessage = 'Get soft-deleted keys')]
        [switch] $InRemovedState
    )

    process {
        Invoke-NativeOperation -Cmdlet $PSCmdlet -Operation 'Get-KeyVaultKey' -BoundParameters $PSBoundParameters
    }
}

function Update-CkKeyVaultKey {
    <#
    .SYNOPSIS
    Changes a key version's attributes (enabled, dates, operations, tags).
    .DESCRIPTION
    Updates the newest version of a key, or the version given. Do not disable a version a data
    encryption policy still needs: the engine refuses unless -Force is given.
    .PARAMETER VaultName
    Name of the key vault.
    .PARAMETER Name
    Name of the key.
    .PARAMETER Version
    Version to update (default: the newest).
    .PARAMETER Enable
    Enable ($true) or disable ($false) the version.
    .PARAMETER Expires
    The key cannot be used after this time.
    .PARAMETER NotBefore
    The key cannot be used before this time.
    .PARAMETER KeyOps
    Operations the key may be used for.
    .PARAMETER Tag
    Tags as name/value pairs (replaces the current ones).
    .PARAMETER Force
    Disable even when a data encryption policy uses the version.
    .PARAMETER PassThru
    Return the updated key.
    .EXAMPLE
    Update-CkKeyVaultKey -VaultName 'contoso-ck-weu' -Name 'exo-dep-key' -Expires (Get-Date).AddYears(2) -PassThru
    Sets a new expiry on the newest version and shows the key.
    .OUTPUTS
    CustomerKey.KeyVaultKey
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('CustomerKey.KeyVaultKey')]
    param(
        [Parameter(Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Name of the key vault')]
        [string] $VaultName,

        [Parameter(Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Name of the key')]
        [string] $Name,

        [Parameter(ValueFromPipelineByPropertyName, HelpMessage = 'Version to update (default: the newest)')]
        [string] $Version,

        [Parameter(HelpMessage = 'Enable or disable the version')]
        [bool] $Enable,

        [Parameter(HelpMessage = 'The key cannot be used after this time')]
        [datetime] $Expires,

        [Parameter(HelpMessage = 'The key cannot be used before this time')]
        [datetime] $NotBefore,

        [Parameter(HelpMessage = 'Operations the key may be used for')]
        [ValidateSet('encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey', 'import', 'export')]
        [string[]] $KeyOps,

        [Parameter(HelpMessage = 'Tags as name/value pairs (replaces the current ones)')]
        [hashtable] $Tag,

        [Parameter(HelpMessage = 'Disable even when a data encryption policy uses the version')]
        [switch] $Force,

        [Parameter(HelpMessage = 'Return the updated key')]
        [switch] $PassThru
    )

    process {
        $target = "Key '{0}' in vault '{1}'" -f $Name, $VaultName
        if (-not [string]::IsNullOrEmpty($Version)) {
            $target = "Key '{0}' version '{1}' in vault '{2}'" -f $Name, $Version, $VaultName
        }
        if ($PSCmdlet.ShouldProcess($target, 'Update key attributes')) {
            Invoke-NativeOperation -Cmdlet $PSCmdlet -Operation 'Update-KeyVaultKey' -BoundParameters $PSBoundParameters
        }
    }
}

function Remove-CkKeyVaultKey {
    <#
    .SYNOPSIS
    Deletes a key with all its versions (soft delete when enabled), or purges a deleted key.
    .DESCRIPTION
    Deletes a key, like Remove-AzKeyVaultKey. With soft delete on, the key can be recovered with
    Undo-CkKeyVaultKeyRemoval until its retention ends. With -InRemovedState, purges a deleted key
    for good. Asks for confirmation (ConfirmImpact High) unless -Force is given; -WhatIf is
    honoured even with -Force. The engine refuses to remove a key a data encryption policy uses
    unless -Force is given.
    .PARAMETER VaultName
    Name of the key vault.
    .PARAMETER Name
    Name of the key.
    .PARAMETER InRemovedState
    Purge the soft-deleted key for good.
    .PARAMETER Force
    Do not ask for confirmation, and remove even when a data encryption policy uses the key.
    .PARAMETER PassThru
    Return the deleted key.
    .EXAMPLE
    Remove-CkKeyVaultKey -VaultName 'contoso-ck-test' -Name 'old-key' -PassThru
    Soft-deletes the key after confirmation and shows its scheduled purge date.
    .EXAMPLE
    Remove-CkKeyVaultKey -VaultName 'contoso-ck-test' -Name 'old-key' -InRemovedState -Force
    Purges the deleted key without asking.
    .OUTPUTS
    CustomerKey.DeletedKeyVaultKey
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    [OutputType('CustomerKey.DeletedKeyVaultKey')]
    param(
        [Parameter(Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Name of the key vault')]
        [string] $VaultName,

        [Parameter(Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Name of the key')]
        [string] $Name,

        [Parameter(HelpMessage = 'Purge the soft-deleted key for good')]
        [switch] $InRemovedState,

        [Parameter(HelpMessage = 'Remove even when a data encryption policy uses the key')]
        [switch] $Force,

        [Parameter(HelpMessage = 'Return the deleted key')]
        [switch] $PassThru
    )

    process {
        $action = 'Remove key with all its versions'
        if ($InRemovedState) {
            $action = 'Purge deleted key (cannot be undone)'
        }
        # -Force skips the confirmation prompt, as in Az, but never -WhatIf: lowering
        # ConfirmPreference here keeps ShouldProcess in charge of -WhatIf. An explicit -Confirm wins.
        if ($Force -and -not $PSBoundParameters.ContainsKey('Confirm')) {
            $ConfirmPreference = 'None'
        }
        if ($PSCmdlet.ShouldProcess(("Key '{0}' in vault '{1}'" -f $Name, $VaultName), $action)) {
            Invoke-NativeOperation -Cmdlet $PSCmdlet -Operation 'Remove-KeyVaultKey' -BoundParameters $PSBoundParameters
        }
    }
}

function Undo-CkKeyVaultKeyRemoval {
    <#
    .SYNOPSIS
    Recovers a soft-deleted key with all its versions.
    .DESCRIPTION
    Recovers a key deleted with Remove-CkKeyVaultKey while its retention has not ended, like
    Undo-AzKeyVaultKeyRemoval.
    .PARAMETER VaultName
    Name of the key vault.
    .PARAMETER Name
    Name of the deleted key.
    .EXAMPLE
    Undo-CkKeyVaultKeyRemoval -VaultName 'contoso-ck-weu' -Name 'exo-dep-key'
    Recovers the key.
    .EXAMPLE
    Get-CkKeyVaultKey -VaultName 'contoso-ck-weu' -InRemovedState | Undo-CkKeyVaultKeyRemoval
    Recovers every deleted key of the vault.
    .OUTPUTS
    CustomerKey.KeyVaultKey
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('CustomerKey.KeyVaultKey')]
    param(
        [Parameter(Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Name of the key vault')]
        [string] $VaultName,

        [Parameter(Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Name of the key')]
        [string] $Name
    )

    process {
        if ($PSCmdlet.ShouldProcess(("Key '{0}' in vault '{1}'" -f $Name, $VaultName), 'Recover deleted key')) {
            Invoke-NativeOperation -Cmdlet $PSCmdlet -Operation 'Undo-KeyVaultKeyRemoval' -BoundParameters $PSBoundParameters
        }
    }
}

function Backup-CkKeyVaultKey {
    <#
    .SYNOPSIS
    Writes every version of a key, with its metadata, to an encrypted backup file.
    .DESCRIPTION
    Backs up a key, like Backup-AzKeyVaultKey, and emits the path of the file written. An existing
    file is an error unless -Force is given. The backup restores only into a vault of the same
    geography.
    .PARAMETER VaultName
    Name of the key vault.
    .PARAMETER Name
    Name of the key.
    .PARAMETER OutputFile
    File to write (default: a new file in the store's backups folder). Relative paths are resolved
    against the current PowerShell location.
    .PARAMETER Force
    Overwrite an existing file.
    .EXAMPLE
    Backup-CkKeyVaultKey -VaultName 'contoso-ck-weu' -Name 'exo-dep-key' -OutputFile ./exo-dep-key.keybackup
    Writes the backup to the given file.
    .EXAMPLE
    Get-CkKeyVaultKey -VaultName 'contoso-ck-weu' | Backup-CkKeyVaultKey
    Backs up every key of the vault into the store's backups folder.
    .OUTPUTS
    System.String
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType([System.String])]
    param(
        [Parameter(Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Name of the key vault')]
        [string] $VaultName,

        [Parameter(Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Name of the key')]
        [string] $Name,

        [Parameter(HelpMessage = "File to write (default: a new file in the store's backups folder)")]
        [string] $OutputFile,

        [Parameter(HelpMessage = 'Overwrite an existing file')]
        [switch] $Force
    )

    process {
        $action = 'Back up key to the store backups folder'
        if (-not [string]::IsNullOrEmpty($OutputFile)) {
            $action = "Back up key to '{0}'" -f $OutputFile
        }
        if ($PSCmdlet.ShouldProcess(("Key '{0}' in vault '{1}'" -f $Name, $VaultName), $action)) {
            Invoke-NativeOperation -Cmdlet $PSCmdlet -Operation 'Backup-KeyVaultKey' -BoundParameters $PSBoundParameters
        }
    }
}

function Restore-CkKeyVaultKey {
    <#
    .SYNOPSIS
    Restores a key with all its versions from a backup file.
    .DESCRIPTION
    Restores a key written by Backup-CkKeyVaultKey, like Restore-AzKeyVaultKey. Fails when a key
    of that name exists in the vault, also as a soft-deleted key, and when the vault is in another
    geography than the one backed up from.
    .PARAMETER VaultName
    Name of the key vault to restore into.
    .PARAMETER InputFile
    Backup file written by Backup-CkKeyVaultKey. Relative paths are resolved against the current
    PowerShell location.
    .EXAMPLE
    Restore-CkKeyVaultKey -VaultName 'contoso-ck-weu-2' -InputFile ./exo-dep-key.keybackup
    Restores the key, with all its versions, into another vault of the same geography.
    .OUTPUTS
    CustomerKey.KeyVaultKey
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
    [OutputType('CustomerKey.KeyVaultKey')]
    param(
        [Parameter(Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Name of the key vault')]
        [string] $VaultName,

        [Parameter(Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Backup file written by Backup-KeyVaultKey')]
        [string] $InputFile
    )

    process {
        if ($PSCmdlet.ShouldProcess(("Vault '{0}'" -f $VaultName), ("Restore key from '{0}'" -f $InputFile))) {
            Invoke-NativeOperation -Cmdlet $PSCmdlet -Operation 'Restore-KeyVaultKey' -BoundParameters $PSBoundParameters
        }
    }
}

function Invoke-CkKeyVaultKeyOperation {
    <#
    .SYNOPSIS
    Wraps, unwraps, encrypts or decrypts a value with a key.
    .DESCRIPTION
    Runs one cryptographic operation with a key version, like Invoke-AzKeyVaultKeyOperation.
    Emits KeyId (the version used), RawResult (byte[]) and Algorithm.
    .PARAMETER VaultName
    Name of the key vault.
    .PARAMETER Name
    Name of the key.
    .PARAMETER Version
    Version to use (default: the newest).
    .PARAMETER Operation
    Encrypt, Decrypt, Wrap or Unwrap.
    .PARAMETER Algorithm
    RSA-OAEP-256 (recommended), RSA-OAEP or RSA1_5.
    .PARAMETER ByteArrayValue
    The value to wrap, unwrap, encrypt or decrypt.
    .EXAMPLE
    $wrapped = Invoke-CkKeyVaultKeyOperation -VaultName 'contoso-ck-weu' -Name 'exo-dep-key' -Operation Wrap -Algorithm RSA-OAEP-256 -ByteArrayValue $aesKey
    Wraps a 32-byte key; $wrapped.RawResult holds the wrapped bytes and $wrapped.KeyId the version used.
    .OUTPUTS
    CustomerKey.KeyOperationResult
    #>
    [CmdletBinding()]
    [OutputType('CustomerKey.KeyOperationResult')]
    param(
        [Parameter(Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Name of the key vault')]
        [string] $VaultName,

        [Parameter(Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Name of the key')]
        [string] $Name,

        [Parameter(ValueFromPipelineByPropertyName, HelpMessage = 'Version to use (default: the newest)')]
        [string] $Version,

        [Parameter(Mandatory, HelpMessage = 'Encrypt, Decrypt, Wrap or Unwrap')]
        [ValidateSet('Encrypt', 'Decrypt', 'Wrap', 'Unwrap')]
        [string] $Operation,

        [Parameter(Mandatory, HelpMessage = 'RSA-OAEP-256 (recommended), RSA-OAEP or RSA1_5')]
        [ValidateSet('RSA-OAEP-256', 'RSA-OAEP', 'RSA1_5')]
        [string] $Algorithm,

        [Parameter(Mandatory, HelpMessage = 'The value (base64 in JSON)')]
        [byte[]] $ByteArrayValue
    )

    process {
        Invoke-NativeOperation -Cmdlet $PSCmdlet -Operation 'Invoke-KeyVaultKeyOperation' -BoundParameters $PSBoundParameters
    }
}

# ---------------------------------------------------------------------------------------------
# Module removal and exports
# ---------------------------------------------------------------------------------------------

# Remove-Module (and Import-Module -Force) closes the session so the store is not left open.
$ExecutionContext.SessionState.Module.OnRemove = {
    Close-NativeSession
}

Export-ModuleMember -Function @(
    'Connect-CkService',
    'Disconnect-CkService',
    'Get-CkConnection',
    'New-CkKeyVault',
    'Get-CkKeyVault',
    'Remove-CkKeyVault',
    'Undo-CkKeyVaultRemoval',
    'Set-CkKeyVaultAccessPolicy',
    'Remove-CkKeyVaultAccessPolicy',
    'Add-CkKeyVaultKey',
    'Get-CkKeyVaultKey',
    'Update-CkKeyVaultKey',
    'Remove-CkKeyVaultKey',
    'Undo-CkKeyVaultKeyRemoval',
    'Backup-CkKeyVaultKey',
    'Restore-CkKeyVaultKey',
    'Invoke-CkKeyVaultKeyOperation'
)
