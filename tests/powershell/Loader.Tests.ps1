#Requires -Version 7.2
# How the module finds and loads libcustomer_key, each case in a child pwsh so that what one
# process loaded cannot answer for another: a packaged module's runtimes/<rid>/native/, the
# CUSTOMER_KEY_LIB override, the one error a missing library gives, and re-imports and removal
# that leave no session open.

BeforeAll {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $moduleSource = Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey'
    $libraryFile = 'libcustomer_key.so'
    $osName = 'linux'
    if ($IsWindows) { $osName = 'win'; $libraryFile = 'customer_key.dll' }
    elseif ($IsMacOS) { $osName = 'osx'; $libraryFile = 'libcustomer_key.dylib' }
    $runtimeIdentifier = '{0}-{1}' -f $osName, [System.Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture.ToString().ToLowerInvariant()
    $builtLibrary = Join-Path -Path $repositoryRoot -ChildPath ('target/release/' + $libraryFile)
    # pwsh from PATH: a .NET global tool's process is 'dotnet', which cannot be started as pwsh.
    $pwshPath = @(Get-Command -Name pwsh -CommandType Application)[0].Source

    # Copies the module as a package would lay it out, outside the repository (so the build
    # folder is not found), with or without the library under runtimes/<rid>/native/.
    function New-PackagedModule {
        param([string] $Destination, [switch] $WithLibrary)
        $target = Join-Path -Path $Destination -ChildPath 'CustomerKey'
        Copy-Item -Path $moduleSource -Destination $target -Recurse
        if ($WithLibrary) {
            $native = Join-Path -Path $target -ChildPath ('runtimes/{0}/native' -f $runtimeIdentifier)
            $null = New-Item -ItemType Directory -Path $native -Force
            Copy-Item -LiteralPath $builtLibrary -Destination $native
        }
        Join-Path -Path $target -ChildPath 'CustomerKey.psd1'
    }

    # Runs $Script in a child pwsh with CUSTOMER_KEY_LIB set to $Override (unset when $null);
    # the script's last output line is JSON, returned as an object.
    function Invoke-ChildPwsh {
        param([string] $Script, [AllowNull()][string] $Override)
        $saved = $env:CUSTOMER_KEY_LIB
        try {
            $env:CUSTOMER_KEY_LIB = $Override
            $output = @(& $pwshPath -NoProfile -NonInteractive -Command $Script 2>&1)
        }
        finally {
            $env:CUSTOMER_KEY_LIB = $saved
        }
        $output[-1] | Should -Not -BeNullOrEmpty
        ConvertFrom-Json -InputObject ([string] $output[-1])
    }

    $importAndReport = @'
$ErrorActionPreference = 'Stop'
$result = [ordered]@{ Error = $null; Library = $null }
try {
    Import-Module -Name '{0}'
    $result.Library = & (Get-Module -Name CustomerKey) { $script:CkLibraryPath }
}
catch {
    $result.Error = $_.Exception.Message
}
$result | ConvertTo-Json -Compress
'@
}

Describe 'Finding the native library' {
    It 'loads runtimes/RID/native/ beside the manifest of a packaged module' {
        $manifest = New-PackagedModule -Destination (Join-Path -Path $TestDrive -ChildPath 'packaged') -WithLibrary
        $reply = Invoke-ChildPwsh -Script ($importAndReport -replace '\{0\}', $manifest) -Override $null
        $reply.Error | Should -BeNullOrEmpty
        $reply.Library | Should -Be ([System.IO.Path]::GetFullPath((Join-Path -Path (Split-Path -Parent $manifest) -ChildPath ('runtimes/{0}/native/{1}' -f $runtimeIdentifier, $libraryFile))))
    }

    It 'loads the repository''s build output in a checkout' {
        $manifest = Join-Path -Path $moduleSource -ChildPath 'CustomerKey.psd1'
        $reply = Invoke-ChildPwsh -Script ($importAndReport -replace '\{0\}', $manifest) -Override $null
        $reply.Error | Should -BeNullOrEmpty
        $reply.Library | Should -Be ([System.IO.Path]::GetFullPath($builtLibrary))
    }

    It 'takes CUSTOMER_KEY_LIB over the packaged library' {
        $manifest = New-PackagedModule -Destination (Join-Path -Path $TestDrive -ChildPath 'override') -WithLibrary
        $elsewhere = Join-Path -Path $TestDrive -ChildPath ('elsewhere/' + $libraryFile)
        $null = New-Item -ItemType Directory -Path (Split-Path -Parent $elsewhere) -Force
        Copy-Item -LiteralPath $builtLibrary -Destination $elsewhere
        $reply = Invoke-ChildPwsh -Script ($importAndReport -replace '\{0\}', $manifest) -Override $elsewhere
        $reply.Error | Should -BeNullOrEmpty
        $reply.Library | Should -Be ([System.IO.Path]::GetFullPath($elsewhere))
    }

    It 'says the RID, every path tried and the override when the library is missing' {
        $manifest = New-PackagedModule -Destination (Join-Path -Path $TestDrive -ChildPath 'missing')
        $reply = Invoke-ChildPwsh -Script ($importAndReport -replace '\{0\}', $manifest) -Override $null
        $reply.Library | Should -BeNullOrEmpty
        $reply.Error | Should -BeLike ('*{0}*' -f $runtimeIdentifier)
        $reply.Error | Should -BeLike ('*runtimes/{0}/native/{1}*' -f $runtimeIdentifier, $libraryFile)
        $reply.Error | Should -BeLike '*target/release*'
        $reply.Error | Should -BeLike '*CUSTOMER_KEY_LIB*'
    }

    It 'names the CUSTOMER_KEY_LIB path when the override points nowhere' {
        $manifest = New-PackagedModule -Destination (Join-Path -Path $TestDrive -ChildPath 'bad-override') -WithLibrary
        $nowhere = Join-Path -Path $TestDrive -ChildPath 'no-such-library.so'
        $reply = Invoke-ChildPwsh -Script ($importAndReport -replace '\{0\}', $manifest) -Override $nowhere
        $reply.Library | Should -BeNullOrEmpty
        $reply.Error | Should -BeLike ('*{0}*CUSTOMER_KEY_LIB*' -f $nowhere)
    }
}

Describe 'Importing again and removing' {
    It 'Import-Module -Force twice and Remove-Module close every session and raise nothing' {
        $store = Join-Path -Path $TestDrive -ChildPath 'reimport-store'
        $manifest = Join-Path -Path $moduleSource -ChildPath 'CustomerKey.psd1'
        $script = @'
$ErrorActionPreference = 'Stop'
$handles = [System.Collections.Generic.List[object]]::new()
foreach ($round in 1..3) {
    Import-Module -Name '{0}' -Force
    $null = Connect-CkService -Path '{1}'
    $null = Get-CkKeyVault
    $handles.Add((& (Get-Module -Name CustomerKey) { $script:CkSession }))
}
Remove-Module -Name CustomerKey
[ordered]@{
    Errors = $Error.Count
    Handles = $handles.Count
    Closed = @($handles | Where-Object { $_.IsClosed }).Count
    Module = @(Get-Module -Name CustomerKey).Count
} | ConvertTo-Json -Compress
'@ -replace '\{0\}', $manifest -replace '\{1\}', $store
        $reply = Invoke-ChildPwsh -Script $script -Override $null
        $reply.Errors | Should -Be 0
        $reply.Handles | Should -Be 3
        $reply.Closed | Should -Be 3
        $reply.Module | Should -Be 0
    }
}
