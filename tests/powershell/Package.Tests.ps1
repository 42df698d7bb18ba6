#Requires -Version 7.2
# The module as admins get it: 'customer-key package-powershell' builds the package into a
# folder, and a fresh pwsh whose HOME is a temporary folder registers that folder as a
# PSResourceGet repository, installs CustomerKey from it, imports it by name, runs a short real
# workflow (vault, key, roll, backup, restore) and uninstalls it. Prints the package size and the
# installed module's import time (median of 5 fresh pwsh) as figures, not assertions.
# Needs target/release (cargo build --release), dotnet and strip, as package-powershell does.

BeforeAll {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $cli = Join-Path -Path $repositoryRoot -ChildPath 'target/release/customer-key'
    $version = ((Get-Content -LiteralPath (Join-Path -Path $repositoryRoot -ChildPath 'Cargo.toml') |
                Select-String -Pattern '^version\s*=\s*"([^"]+)"' | Select-Object -First 1).Matches[0].Groups[1].Value) -replace '[-+].*$', ''
    # pwsh from PATH: a .NET global tool's process is 'dotnet', which cannot be started as pwsh.
    $pwshPath = @(Get-Command -Name pwsh -CommandType Application)[0].Source

    $feed = Join-Path -Path $TestDrive -ChildPath 'feed'
    Push-Location -LiteralPath $repositoryRoot
    try {
        $packageOutput = & $cli package-powershell --out $feed 2>&1
        $packageExit = $LASTEXITCODE
    }
    finally {
        Pop-Location
    }
    $stage = Join-Path -Path $feed -ChildPath ('CustomerKey/{0}' -f $version)
    $nupkg = Join-Path -Path $feed -ChildPath ('CustomerKey.{0}.nupkg' -f $version)

    # The child's HOME: PSResourceGet's repository list and the CurrentUser module folder live
    # under it, so nothing of this machine's PowerShell setup takes part.
    $childHome = Join-Path -Path $TestDrive -ChildPath 'home'
    $null = New-Item -ItemType Directory -Path $childHome -Force

    # Runs $Script in a fresh pwsh with HOME (and the XDG folders) in $childHome, no
    # PSModulePath, CUSTOMER_KEY_LIB unset and the working folder outside the repository; the
    # script's last output line is JSON, returned as an object.
    function Invoke-FreshPwsh {
        param([string] $Script)
        $scriptPath = Join-Path -Path $TestDrive -ChildPath ('child-{0}.ps1' -f [System.Guid]::NewGuid().ToString('N'))
        Set-Content -LiteralPath $scriptPath -Value $Script
        $names = @('HOME', 'XDG_DATA_HOME', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'PSModulePath', 'CUSTOMER_KEY_LIB')
        $saved = @{}
        foreach ($name in $names) { $saved[$name] = [System.Environment]::GetEnvironmentVariable($name) }
        Push-Location -LiteralPath $TestDrive
        try {
            [System.Environment]::SetEnvironmentVariable('HOME', $childHome)
            [System.Environment]::SetEnvironmentVariable('XDG_DATA_HOME', (Join-Path -Path $childHome -ChildPath '.local/share'))
            [System.Environment]::SetEnvironmentVariable('XDG_CACHE_HOME', (Join-Path -Path $childHome -ChildPath '.cache'))
            [System.Environment]::SetEnvironmentVariable('XDG_CONFIG_HOME', (Join-Path -Path $childHome -ChildPath '.config'))
            [System.Environment]::SetEnvironmentVariable('PSModulePath', $null)
            [System.Environment]::SetEnvironmentVariable('CUSTOMER_KEY_LIB', $null)
            $output = & $pwshPath -NoProfile -NonInteractive -File $scriptPath 2>&1
        }
        finally {
            Pop-Location
            foreach ($name in $names) { [System.Environment]::SetEnvironmentVariable($name, $saved[$name]) }
        }
        $lines = @($output | ForEach-Object { "$_" } | Where-Object { $_ -ne '' })
        try {
            $lines[-1] | ConvertFrom-Json
        }
        catch {
            throw ('the child pwsh printed no JSON answer: {0}' -f ($lines -join "`n"))
        }
    }
}

Describe 'customer-key package-powershell' {
    It 'writes the package and prints its size' {
        $packageExit | Should -Be 0 -Because ($packageOutput -join "`n")
        [System.IO.File]::Exists($nupkg) | Should -BeTrue
        ($packageOutput -join "`n") | Should -Match ([regex]::Escape(('CustomerKey.{0}.nupkg: ' -f $version)) + '\d+ bytes')
        Write-Host ('figure: package size: {0:N0} bytes ({1})' -f (Get-Item -LiteralPath $nupkg).Length, [System.IO.Path]::GetFileName($nupkg))
    }

    It 'stages the module files, the interop assembly and the native library, and nothing else' {
        $files = @(Get-ChildItem -LiteralPath $stage -Recurse -File -Force | ForEach-Object {
                [System.IO.Path]::GetRelativePath($stage, $_.FullName).Replace('\', '/')
            })
        $files | Should -Contain 'CustomerKey.psd1'
        $files | Should -Contain 'CustomerKey.psm1'
        $files | Should -Contain 'CustomerKey.Format.ps1xml'
        $files | Should -Contain 'lib/CustomerKey.Native.dll'
        $files | Should -Contain 'runtimes/linux-x64/native/libcustomer_key.so'
        $files | Should -Contain 'Public/KeyVault/Get-CkKeyVaultKey.ps1'
        $files | Should -Contain 'Private/Import-NativeTypes.ps1'
        $unexpected = @($files | Where-Object {
                $_ -notmatch '^(CustomerKey\.(psd1|psm1|Format\.ps1xml)|Formats/\w+\.Format\.ps1xml|Private/[\w-]+\.ps1|Public/\w+/[\w-]+\.ps1|lib/CustomerKey\.Native\.dll|runtimes/linux-x64/native/libcustomer_key\.so)$'
            })
        $unexpected | Should -BeNullOrEmpty
        $runtimes = @(Get-ChildItem -LiteralPath (Join-Path -Path $stage -ChildPath 'runtimes') -Directory | ForEach-Object Name)
        $runtimes | Should -Be @('linux-x64')
    }

    It 'carries a stripped native library' {
        $library = Join-Path -Path $stage -ChildPath 'runtimes/linux-x64/native/libcustomer_key.so'
        $sections = & objdump -h $library 2>&1
        ($sections -join "`n") | Should -Not -Match '\.debug_info|\.symtab'
    }

    It 'passes Test-ModuleManifest on the staged manifest' {
        $manifest = Test-ModuleManifest -Path (Join-Path -Path $stage -ChildPath 'CustomerKey.psd1') -ErrorAction Stop
        $manifest.Version | Should -Be ([version] $version)
        $manifest.CompatiblePSEditions | Should -Be @('Core')
        $manifest.PowerShellVersion | Should -Be ([version] '7.2')
        $psData = $manifest.PrivateData.PSData
        $psData.Tags | Should -Contain 'BYOK'
        $psData.Tags | Should -Contain 'SharePoint'
        $psData.ReleaseNotes | Should -Match 'Supported platforms'
        $manifest.ExportedFunctions.Keys | Should -Contain 'Get-CkKeyVaultKey'
    }
}

Describe 'Install-PSResource CustomerKey from the package folder' {
    BeforeAll {
        $installScript = @'
$ErrorActionPreference = 'Stop'
$result = [ordered]@{}
try {
    Register-PSResourceRepository -Name CkLocal -Uri '{FEED}' -Trusted
    Install-PSResource -Name CustomerKey -Repository CkLocal -TrustRepository -Scope CurrentUser -Quiet
    $result.Installed = @(Get-InstalledPSResource -Name CustomerKey | ForEach-Object { $_.Version.ToString() })
    Import-Module -Name CustomerKey
    $module = Get-Module -Name CustomerKey
    $result.ModuleBase = $module.ModuleBase
    $result.ModuleVersion = $module.Version.ToString()
    $result.Assembly = [CustomerKey.Native.NativeMethods].Assembly.Location
    $result.Library = & $module { $script:CkLibraryPath }

    $store = Join-Path -Path $HOME -ChildPath 'store'
    $null = New-Item -ItemType Directory -Path $store -Force
    $null = Connect-CkService -Path $store
    $null = New-CkKeyVault -VaultName 'pkg-vault-a' -Location westeurope
    $null = New-CkKeyVault -VaultName 'pkg-vault-b' -Location westeurope
    $first = Add-CkKeyVaultKey -VaultName 'pkg-vault-a' -Name 'pkg-key' -Destination Software
    $second = Add-CkKeyVaultKey -VaultName 'pkg-vault-a' -Name 'pkg-key' -Destination Software
    $result.RolledVersions = @(Get-CkKeyVaultKey -VaultName 'pkg-vault-a' -Name 'pkg-key' -IncludeVersions).Count
    $result.RollChangedVersion = $first.Version -ne $second.Version
    $backup = Join-Path -Path $HOME -ChildPath 'pkg-key.keybackup'
    $null = Backup-CkKeyVaultKey -VaultName 'pkg-vault-a' -Name 'pkg-key' -OutputFile $backup
    $restored = Restore-CkKeyVaultKey -VaultName 'pkg-vault-b' -InputFile $backup
    $result.RestoredVault = $restored.VaultName
    $result.RestoredName = $restored.Name
    $result.RestoredVersions = @(Get-CkKeyVaultKey -VaultName 'pkg-vault-b' -Name 'pkg-key' -IncludeVersions).Count
    Disconnect-CkService
}
catch {
    $result.Error = $_.Exception.Message
}
$result | ConvertTo-Json -Compress
'@
        $reply = Invoke-FreshPwsh -Script ($installScript.Replace('{FEED}', $feed))
    }

    It 'installs the version of Cargo.toml into the CurrentUser module folder of HOME' {
        $reply.PSObject.Properties.Name | Should -Not -Contain 'Error' -Because ($reply | ConvertTo-Json)
        $reply.Installed | Should -Be @($version)
        $reply.ModuleVersion | Should -Be $version
        $reply.ModuleBase | Should -BeLike ((Join-Path -Path $childHome -ChildPath '*') + 'CustomerKey*')
    }

    It 'loads the compiled interop assembly and the native library from the installed package' {
        $reply.Assembly | Should -Be (Join-Path -Path $reply.ModuleBase -ChildPath 'lib/CustomerKey.Native.dll')
        $reply.Library | Should -Be (Join-Path -Path $reply.ModuleBase -ChildPath 'runtimes/linux-x64/native/libcustomer_key.so')
    }

    It 'runs a vault, key, roll, backup and restore workflow through the installed module' {
        $reply.RollChangedVersion | Should -BeTrue
        $reply.RolledVersions | Should -Be 2
        $reply.RestoredVault | Should -Be 'pkg-vault-b'
        $reply.RestoredName | Should -Be 'pkg-key'
        $reply.RestoredVersions | Should -Be 2
    }

    It 'imports by name in a fresh pwsh (figure: median of 5)' {
        $timeScript = @'
$watch = [System.Diagnostics.Stopwatch]::StartNew()
Import-Module -Name CustomerKey -ErrorAction Stop
$watch.Stop()
@{ Milliseconds = $watch.Elapsed.TotalMilliseconds } | ConvertTo-Json -Compress
'@
        $times = @(1..5 | ForEach-Object { (Invoke-FreshPwsh -Script $timeScript).Milliseconds })
        $times.Count | Should -Be 5
        $median = ($times | Sort-Object)[2]
        Write-Host ('figure: import time of the installed module (fresh pwsh, median of 5): {0:N0} ms (goal: under 500 ms)' -f $median)
    }

    It 'is removed by Uninstall-PSResource' {
        $uninstallScript = @'
$ErrorActionPreference = 'Stop'
$result = [ordered]@{}
try {
    Uninstall-PSResource -Name CustomerKey -Scope CurrentUser
    $result.Installed = @(Get-InstalledPSResource -Name CustomerKey -ErrorAction SilentlyContinue).Count
    $result.Available = @(Get-Module -ListAvailable -Name CustomerKey).Count
}
catch {
    $result.Error = $_.Exception.Message
}
$result | ConvertTo-Json -Compress
'@
        $uninstalled = Invoke-FreshPwsh -Script $uninstallScript
        $uninstalled.PSObject.Properties.Name | Should -Not -Contain 'Error' -Because ($uninstalled | ConvertTo-Json)
        $uninstalled.Installed | Should -Be 0
        $uninstalled.Available | Should -Be 0
    }
}

Describe 'A library from another build' {
    It 'is refused at import with one error naming both versions' {
        # The staged package with another registry hash recorded in its manifest, as if its
        # cmdlets had been generated from another build of the library.
        $skewed = Join-Path -Path $TestDrive -ChildPath 'skew/CustomerKey'
        $null = New-Item -ItemType Directory -Path (Split-Path -Parent $skewed) -Force
        Copy-Item -LiteralPath $stage -Destination $skewed -Recurse
        $manifestPath = Join-Path -Path $skewed -ChildPath 'CustomerKey.psd1'
        $text = Get-Content -LiteralPath $manifestPath -Raw
        $text -match "Hash    = '[0-9a-f]{64}'" | Should -BeTrue
        Set-Content -LiteralPath $manifestPath -Value ($text -replace "Hash    = '[0-9a-f]{64}'", ("Hash    = '{0}'" -f ('ab' * 32))) -NoNewline
        $skewScript = @'
$result = [ordered]@{}
try {
    Import-Module -Name '{MANIFEST}' -ErrorAction Stop
    $result.Imported = $true
}
catch {
    $result.Error = $_.Exception.Message
}
$result | ConvertTo-Json -Compress
'@
        $reply = Invoke-FreshPwsh -Script ($skewScript.Replace('{MANIFEST}', $manifestPath))
        $reply.PSObject.Properties.Name | Should -Not -Contain 'Imported'
        $reply.Error | Should -Match ('registry of customer_key {0} \(registry abababababab\)' -f [regex]::Escape($version))
        $reply.Error | Should -Match ('is customer_key {0} \(registry [0-9a-f]{{12}}\)' -f [regex]::Escape($version))
    }
}
