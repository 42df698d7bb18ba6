function Import-NativeTypes {
    <#
    .SYNOPSIS
    Loads the module's C# types (Native.cs, Objects.cs, Batch.cs), compiling them at most once per version.
    .DESCRIPTION
    Private; the module runs it once at import, before Import-NativeLibrary. Compiling with
    Add-Type takes over a second and cannot be undone in a process, so the assembly is compiled
    once into a cache file named by the sources' hash and loaded from there: later imports, other
    runspaces and other processes load the same file, and loading one path twice gives the same
    assembly. A packaged module's lib/CustomerKey.Native.dll is used as it is. A process-wide
    mutex keeps runspaces importing at once (ForEach-Object -Parallel) from compiling twice.
    Where no cache can be written, the types are compiled in memory.
    .PARAMETER ModuleRoot
    The module folder ($PSScriptRoot of the .psm1).
    .EXAMPLE
    Import-NativeTypes -ModuleRoot $PSScriptRoot
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [string] $ModuleRoot,

        # The types this version's sources define (a parameter for the tests of the older-
        # version and packaged-assembly paths, which this process cannot otherwise reach).
        [string[]] $ExpectedTypes = @('CustomerKey.Native.NativeMethods', 'CustomerKey.Native.EngineJson', 'CustomerKey.Native.CkItemNotFoundException', 'CustomerKey.Native.OperationPlan', 'CustomerKey.Native.CallBatch', 'CustomerKey.Native.CallWatch')
    )

    $expected = $ExpectedTypes
    $loaded = @($expected.Where({ $null -ne ($_ -as [type]) }))
    if ($loaded.Count -eq $expected.Count) {
        return
    }
    if ($loaded.Count -gt 0) {
        throw 'CustomerKey: this PowerShell process holds the native types of an older CustomerKey; start a new PowerShell session to import this version.'
    }

    # A packaged module's compiled assembly, loaded as Add-Type -Path loads one (Assembly.LoadFrom)
    # without auto-loading Microsoft.PowerShell.Utility for Add-Type at import.
    $prebuilt = [System.IO.Path]::Combine($ModuleRoot, 'lib', 'CustomerKey.Native.dll')
    if ([System.IO.File]::Exists($prebuilt)) {
        $null = [System.Reflection.Assembly]::LoadFrom($prebuilt)
        return
    }

    $sources = @('Native.cs', 'Objects.cs', 'Batch.cs') | ForEach-Object { Join-Path -Path $ModuleRoot -ChildPath $_ }
    $hasher = [System.Security.Cryptography.IncrementalHash]::CreateHash([System.Security.Cryptography.HashAlgorithmName]::SHA256)
    foreach ($source in $sources) {
        $hasher.AppendData([System.IO.File]::ReadAllBytes($source))
    }
    # The same sources compile differently for another PowerShell (its reference assemblies).
    $hasher.AppendData([System.Text.Encoding]::UTF8.GetBytes($PSVersionTable.PSVersion.ToString()))
    $hash = [System.Convert]::ToHexString($hasher.GetHashAndReset()).Substring(0, 16).ToLowerInvariant()
    $dataFolder = [System.Environment]::GetFolderPath('LocalApplicationData', 'DoNotVerify')
    if ([string]::IsNullOrEmpty($dataFolder)) {
        Add-Type -Path $sources
        return
    }
    $cacheFolder = [System.IO.Path]::Combine($dataFolder, 'customer-key', 'assemblies')
    $cached = [System.IO.Path]::Combine($cacheFolder, ('CustomerKey.Native-{0}.dll' -f $hash))

    $mutex = [System.Threading.Mutex]::new($false, 'CustomerKey.Native.' + $hash)
    $null = $mutex.WaitOne()
    try {
        # Another runspace may have loaded the types while this one waited.
        if ($null -ne ('CustomerKey.Native.EngineJson' -as [type])) {
            return
        }
        if (-not [System.IO.File]::Exists($cached)) {
            try {
                $null = [System.IO.Directory]::CreateDirectory($cacheFolder)
                $partial = '{0}.{1}.partial' -f $cached, [System.Guid]::NewGuid().ToString('N')
                Add-Type -Path $sources -OutputAssembly $partial -OutputType Library
                [System.IO.File]::Move($partial, $cached, $true)
            }
            catch {
                Write-Verbose ('CustomerKey: no assembly cache in {0} ({1}); compiling in memory' -f $cacheFolder, $_.Exception.Message)
                Add-Type -Path $sources
                return
            }
        }
        $null = [System.Reflection.Assembly]::LoadFrom($cached)
    }
    finally {
        $mutex.ReleaseMutex()
        $mutex.Dispose()
    }
}
