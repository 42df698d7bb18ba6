function Import-NativeLibrary {
    <#
    .SYNOPSIS
    Finds and loads libcustomer_key, and binds the P/Invoke declarations of Native.cs to it.
    .DESCRIPTION
    Private; the module runs it once at import. The library is looked for where a packaged module
    carries it, runtimes/<rid>/native/ beside the manifest (rid: linux-x64, osx-arm64,
    ... from the process's architecture), then in the repository's cargo output (target/release,
    then target/debug) for development. CUSTOMER_KEY_LIB, the full path of a library file,
    overrides both. Sets $script:CkLibraryPath and $script:CkLibraryHandle. Throws one error naming
    the RID, every path tried and the override when the library is missing or cannot be bound. On
    Windows it throws at once that Windows is not supported (the engine builds for Unix only).
    .PARAMETER ModuleRoot
    The module folder ($PSScriptRoot of the .psm1).
    .EXAMPLE
    Import-NativeLibrary -ModuleRoot $PSScriptRoot
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)]
        [string] $ModuleRoot
    )

    # The engine is Unix only (its store rests on Unix file modes and owners): no Windows
    # library exists, so say that instead of listing paths where none will ever be.
    if ($IsWindows) {
        throw 'CustomerKey supports Linux and macOS only: Windows is not supported (the engine protects its store with Unix file modes and owners, and builds for Unix only). Use the module on Linux, for example in WSL.'
    }
    $osName = 'linux'
    $libraryFile = 'libcustomer_key.so'
    if ($IsMacOS) {
        $osName = 'osx'
        $libraryFile = 'libcustomer_key.dylib'
    }
    # The process's architecture, not the OS's: an x64 pwsh on an arm64 Mac loads an x64 library.
    # Architecture values X64, Arm64, X86 lower-cased are the RID's x64, arm64, x86.
    $architecture = [System.Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture.ToString().ToLowerInvariant()
    $runtimeIdentifier = '{0}-{1}' -f $osName, $architecture

    $override = [System.Environment]::GetEnvironmentVariable('CUSTOMER_KEY_LIB')
    if (-not [string]::IsNullOrEmpty($override)) {
        $candidates = @([System.IO.Path]::GetFullPath($override))
    }
    else {
        # In a checkout the module sits at <repo>/powershell/CustomerKey, so cargo's output is ../../target.
        $candidates = @(
            [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($ModuleRoot, 'runtimes', $runtimeIdentifier, 'native', $libraryFile)),
            [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($ModuleRoot, '..', '..', 'target', 'release', $libraryFile)),
            [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($ModuleRoot, '..', '..', 'target', 'debug', $libraryFile))
        )
    }
    $script:CkLibraryPath = $null
    foreach ($candidate in $candidates) {
        if ([System.IO.File]::Exists($candidate)) {
            $script:CkLibraryPath = $candidate
            break
        }
    }
    if ($null -eq $script:CkLibraryPath) {
        if (-not [string]::IsNullOrEmpty($override)) {
            throw ("CustomerKey: the native library for {0} was not found at '{1}', the path CUSTOMER_KEY_LIB names. Point CUSTOMER_KEY_LIB at an existing {2}, or unset it to use the module's own runtimes/{0}/native/{2}." -f $runtimeIdentifier, $candidates[0], $libraryFile)
        }
        throw ("CustomerKey: the native library for {0} ({1}) was not found. Paths tried: {2}. Install the module package built for {0}, run 'cargo build --release' in a checkout, or set CUSTOMER_KEY_LIB to the library's full path." -f $runtimeIdentifier, $libraryFile, ($candidates -join ', '))
    }

    # Loaded by full path. Native.cs imports it by the bare name 'customer_key'; the resolver
    # below answers that name with this handle on every platform.
    try {
        $script:CkLibraryHandle = [System.Runtime.InteropServices.NativeLibrary]::Load($script:CkLibraryPath)
    }
    catch {
        throw ("CustomerKey: could not load '{0}' ({1}): {2}. Rebuild it for this platform with 'cargo build --release', or set CUSTOMER_KEY_LIB to a library built for {1}." -f $script:CkLibraryPath, $runtimeIdentifier, $_.Exception.Message)
    }

    # A resolver can be set only once per assembly, and the Add-Type assembly lives as long as the
    # process: on a re-import SetDllImportResolver throws, and the first resolver stays. It must
    # not be a script block: the runtime may call it on a thread with no runspace, where a script
    # block cannot run. Native.cs's resolver is plain C# and reads the handle it was given.
    [CustomerKey.Native.NativeMethods]::UseLibrary($script:CkLibraryHandle)

    # Bind every P/Invoke now: a library that lacks a ck_* function is reported at import.
    try {
        [System.Runtime.InteropServices.Marshal]::PrelinkAll([CustomerKey.Native.NativeMethods])
    }
    catch {
        throw ("CustomerKey: '{0}' was loaded but its functions could not be bound: {1}. Rebuild it with 'cargo build --release'." -f $script:CkLibraryPath, $_.Exception.Message)
    }
}
