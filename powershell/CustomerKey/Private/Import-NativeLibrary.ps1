function Import-NativeLibrary {
    <#
    .SYNOPSIS
    Finds and loads libcustomer_key, and binds the P/Invoke declarations of Native.cs to it.
    .DESCRIPTION
    Private; the module runs it once at import. Looks for the library in bin/<os>-<arch>/ (a
    packaged module), then in the repository's target/release (a checkout), loads it by full
    path and binds every ck_* function now. Sets $script:CkLibraryPath and $script:CkLibraryHandle.
    Throws, with what to do, when the library is missing or cannot be bound.
    .PARAMETER ModuleRoot
    The module folder ($PSScriptRoot of the .psm1).
    .EXAMPLE
    Import-NativeLibrary -ModuleRoot $PSScriptRoot
    #>
    param(
        [string] $ModuleRoot
    )

    # Which file to look for, by platform. $IsWindows / $IsMacOS exist in PowerShell 7.
    $osName = 'linux'
    $libraryFile = 'libcustomer_key.so'
    if ($IsWindows) {
        $osName = 'win'
        $libraryFile = 'customer_key.dll'
    }
    elseif ($IsMacOS) {
        $osName = 'osx'
        $libraryFile = 'libcustomer_key.dylib'
    }
    # Architecture enum values are X64, Arm64, ...: lower-cased they give the folder names x64, arm64.
    $archName = [System.Runtime.InteropServices.RuntimeInformation]::OSArchitecture.ToString().ToLowerInvariant()

    # 1) A packaged module carries the library in bin/<os>-<arch>/.
    # 2) In a checkout the module sits at <repo>/powershell/CustomerKey, so cargo's output is
    #    ../../target/release.
    $candidates = @(
        [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($ModuleRoot, 'bin', ($osName + '-' + $archName), $libraryFile)),
        [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($ModuleRoot, '..', '..', 'target', 'release', $libraryFile))
    )
    $script:CkLibraryPath = $null
    foreach ($candidate in $candidates) {
        if ([System.IO.File]::Exists($candidate)) {
            $script:CkLibraryPath = $candidate
            break
        }
    }
    if ($null -eq $script:CkLibraryPath) {
        throw ("CustomerKey: the native library '{0}' was not found. Looked for: {1}. In a checkout of the repository, run 'cargo build --release' in the repository root to build it." -f $libraryFile, ($candidates -join ', '))
    }

    # Load the library by its full path. Native.cs imports it by the bare name 'customer_key':
    # on Linux the library's SONAME is libcustomer_key.so, so the runtime's later dlopen of that
    # name finds this already loaded copy; on Windows LoadLibrary matches loaded modules by name too.
    try {
        $script:CkLibraryHandle = [System.Runtime.InteropServices.NativeLibrary]::Load($script:CkLibraryPath)
    }
    catch {
        throw ("CustomerKey: could not load '{0}': {1}. Rebuild it for this platform with 'cargo build --release'." -f $script:CkLibraryPath, $_.Exception.Message)
    }

    # For platforms where a loaded library is not matched by name (macOS), also tell the runtime
    # directly: a DllImport resolver for the Native.cs assembly that answers 'customer_key' with
    # the handle loaded above. A resolver can be set only once per assembly and the Add-Type
    # assembly lives as long as the process, so on a re-import SetDllImportResolver throws: the
    # first resolver (which returns the same library) stays in place and the error is ignored.
    $resolvedHandle = $script:CkLibraryHandle
    $resolverBody = {
        param([string] $LibraryName, [System.Reflection.Assembly] $Assembly, $SearchPath)
        if ($LibraryName -eq 'customer_key') {
            return $resolvedHandle
        }
        return [System.IntPtr]::Zero
    }
    $resolver = $resolverBody.GetNewClosure()
    try {
        [System.Runtime.InteropServices.NativeLibrary]::SetDllImportResolver([CustomerKey.Native.NativeMethods].Assembly, [System.Runtime.InteropServices.DllImportResolver] $resolver)
    }
    catch {
        Write-Verbose ('CustomerKey: DllImport resolver already set for this process ({0})' -f $_.Exception.Message)
    }

    # Bind every P/Invoke now, on this thread: the resolver above is a script block, and script
    # blocks need a runspace on the thread that runs them, which a later call from another thread
    # may not have. This also reports a library that lacks a ck_* function at import, not at first use.
    try {
        [System.Runtime.InteropServices.Marshal]::PrelinkAll([CustomerKey.Native.NativeMethods])
    }
    catch {
        throw ("CustomerKey: '{0}' was loaded but its functions could not be bound: {1}. Rebuild it with 'cargo build --release'." -f $script:CkLibraryPath, $_.Exception.Message)
    }
}
