#Requires -Version 7.2
# The module as admins get it: 'customer-key package-powershell' builds the package into a
# folder, and a fresh pwsh whose HOME is a temporary folder registers that folder as a
# PSResourceGet repository, installs CustomerKey from it, imports it by name, runs a short real
# workflow (vault, key, roll, backup, restore), runs examples/first-workflow.ps1 through it and
# uninstalls it. Then installs the same build again beside itself under the next patch version
# ('package-powershell --version') and proves each is imported by -RequiredVersion and that the
# newer opens the store the older wrote. Prints the package size and the installed module's import
# time (median of 5 fresh pwsh) as figures, not assertions.
# Needs target/release (cargo build --release), dotnet and strip, as package-powershell does.

BeforeAll {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $cli = Join-Path -Path $repositoryRoot -ChildPath 'target/release/customer-key'
    $version = ((Get-Content -LiteralPath (Join-Path -Path $repositoryRoot -ChildPath 'Cargo.toml') |
                Select-String -Pattern '^version\s*=\s*"([^"]+)"' | Select-Object -First 1).Matches[0].Groups[1].Value) -replace '[-+].*$', ''
    # pwsh from PATH: a .NET global tool's process is 'dotnet', which cannot be started as pwsh.
    $pwshPath = @(Get-Command -Name pwsh -CommandType Application)[0].Source
    $example = Join-Path -Path $repositoryRoot -ChildPath 'examples/first-workflow.ps1'

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

    # Runs $Script in a fresh pwsh with HOME (and the XDG folders) in $HomePath ($childHome unless
    # given), no PSModulePath, CUSTOMER_KEY_LIB unset and the working folder outside the
    # repository; the script's last output line is JSON, returned as an object.
    function Invoke-FreshPwsh {
        param([string] $Script, [string] $HomePath = $childHome)
        $scriptPath = Join-Path -Path $TestDrive -ChildPath ('child-{0}.ps1' -f [System.Guid]::NewGuid().ToString('N'))
        Set-Content -LiteralPath $scriptPath -Value $Script
        $names = @('HOME', 'XDG_DATA_HOME', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'PSModulePath', 'CUSTOMER_KEY_LIB')
        $saved = @{}
        foreach ($name in $names) { $saved[$name] = [System.Environment]::GetEnvironmentVariable($name) }
        Push-Location -LiteralPath $TestDrive
        try {
            [System.Environment]::SetEnvironmentVariable('HOME', $HomePath)
            [System.Environment]::SetEnvironmentVariable('XDG_DATA_HOME', (Join-Path -Path $HomePath -ChildPath '.local/share'))
            [System.Environment]::SetEnvironmentVariable('XDG_CACHE_HOME', (Join-Path -Path $HomePath -ChildPath '.cache'))
            [System.Environment]::SetEnvironmentVariable('XDG_CONFIG_HOME', (Join-Path -Path $HomePath -ChildPath '.config'))
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
        $files | Should -Contain 'Formats/Exchange.Format.ps1xml'
        $files | Should -Contain 'lib/CustomerKey.Native.dll'
        $files | Should -Contain 'runtimes/linux-x64/native/libcustomer_key.so'
        # Private/ and Public/ are merged into the .psm1.
        $unexpected = @($files | Where-Object {
                $_ -notmatch '^(CustomerKey\.(psd1|psm1|Format\.ps1xml)|Formats/\w+\.Format\.ps1xml|lib/CustomerKey\.Native\.dll|runtimes/linux-x64/native/libcustomer_key\.so)$'
            })
        $unexpected | Should -BeNullOrEmpty
        $runtimes = @(Get-ChildItem -LiteralPath (Join-Path -Path $stage -ChildPath 'runtimes') -Directory | ForEach-Object Name)
        $runtimes | Should -Be @('linux-x64')
    }

    It 'merges Private/ and Public/ into the .psm1: one definition of each function, the exports as the manifest lists them' {
        $psm1 = Join-Path -Path $stage -ChildPath 'CustomerKey.psm1'
        $tokens = $null
        $errors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($psm1, [ref] $tokens, [ref] $errors)
        $errors | Should -BeNullOrEmpty
        $defined = @($ast.FindAll({ param($node) $node -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $false) | ForEach-Object Name)
        $moduleRoot = Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey'
        $sources = @(Get-ChildItem -LiteralPath (Join-Path -Path $moduleRoot -ChildPath 'Private'), (Join-Path -Path $moduleRoot -ChildPath 'Public') -Filter '*.ps1' -Recurse -File)
        $defined.Count | Should -Be $sources.Count
        @($defined | Sort-Object -Unique).Count | Should -Be $defined.Count
        foreach ($source in $sources) {
            $defined | Should -Contain $source.BaseName
        }
        $exports = (Test-ModuleManifest -Path (Join-Path -Path $stage -ChildPath 'CustomerKey.psd1')).ExportedFunctions.Keys
        $text = Get-Content -LiteralPath $psm1 -Raw
        $text | Should -Not -Match 'ck-package:'
        $text | Should -Match '\$ckPublicFunctions = @\('
        foreach ($name in $exports) {
            $text | Should -Match ("'{0}'" -f [regex]::Escape($name))
        }
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
        # 7.6: the first PowerShell on .NET 10, which lib/CustomerKey.Native.dll targets.
        $manifest.PowerShellVersion | Should -Be ([version] '7.6')
        $assembly = [System.Reflection.AssemblyName]::GetAssemblyName((Join-Path -Path $stage -ChildPath 'lib/CustomerKey.Native.dll'))
        $assembly.Name | Should -Be 'CustomerKey.Native'
        $dllText = [System.Text.Encoding]::UTF8.GetString([System.IO.File]::ReadAllBytes((Join-Path -Path $stage -ChildPath 'lib/CustomerKey.Native.dll')))
        $dllText | Should -Match ([regex]::Escape('.NETCoreApp,Version=v10.0'))
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
    $result.Exported = @(Get-Command -Module CustomerKey | ForEach-Object Name)

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

    It 'exports exactly the functions the manifest lists' {
        $listed = (Test-ModuleManifest -Path (Join-Path -Path $stage -ChildPath 'CustomerKey.psd1')).ExportedFunctions.Keys
        @($reply.Exported | Sort-Object) | Should -Be @($listed | Sort-Object)
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

    It 'runs examples/first-workflow.ps1 (the README first workflow) with the installed module, and stops at its first failure' {
        $exampleScript = @'
$result = [ordered]@{}
try {
    Import-Module -Name CustomerKey -ErrorAction Stop
    $result.ModuleBase = (Get-Module -Name CustomerKey).ModuleBase
    $store = Join-Path -Path $HOME -ChildPath 'demo-store'
    $result.Lines = @(& '{EXAMPLE}' -StorePath $store | ForEach-Object { "$_" })
    $result.StoreFiles = @(Get-ChildItem -LiteralPath $store -File).Count
    # Run again on the same store: the vaults exist, so the script must stop with that error.
    try {
        $null = & '{EXAMPLE}' -StorePath $store
        $result.SecondRun = 'completed'
    }
    catch {
        $result.SecondRun = $_.Exception.Message
    }
}
catch {
    $result.Error = $_.Exception.Message
}
$result | ConvertTo-Json -Compress
'@
        $ran = Invoke-FreshPwsh -Script ($exampleScript.Replace('{EXAMPLE}', $example))
        $ran.PSObject.Properties.Name | Should -Not -Contain 'Error' -Because ($ran | ConvertTo-Json)
        $ran.ModuleBase | Should -BeLike ((Join-Path -Path $childHome -ChildPath '*') + 'CustomerKey*')
        $ran.StoreFiles | Should -BeGreaterThan 0
        $text = $ran.Lines -join "`n"
        $text | Should -Match 'Contoso-O365EX-Key001 has 2 versions after the roll'
        $text | Should -Match 'OK: the restored key \(version [0-9a-f]{32}\) in Contoso-O365EX-VaultA2 unwraps the data key wrapped before the roll'
        $moved = [regex]::Match($text, 'OK: Exchange policy assigned; after the roll and -Refresh the mailbox moved from DataEncryptionPolicyID (\S+) to (\S+) and reads')
        $moved.Success | Should -BeTrue -Because $text
        $moved.Groups[1].Value | Should -Not -Be $moved.Groups[2].Value
        $text | Should -Match 'OK: SharePoint policy Registered and rolled to [0-9a-f]{32}; the file reads back'
        $text | Should -Match 'OK: AIP content protected with the Active tenant key and opened again'
        $ran.SecondRun | Should -Match "A vault named 'Contoso-O365EX-VaultA1' already exists"
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

Describe 'Two versions installed side by side' {
    BeforeAll {
        # The same build packed again as the next patch version, into the same feed.
        $current = [version] $version
        $newer = '{0}.{1}.{2}' -f $current.Major, $current.Minor, ([System.Math]::Max($current.Build, 0) + 1)
        Push-Location -LiteralPath $repositoryRoot
        try {
            $newerOutput = & $cli package-powershell --out $feed --version $newer 2>&1
            $newerExit = $LASTEXITCODE
        }
        finally {
            Pop-Location
        }
        $newerStage = Join-Path -Path $feed -ChildPath ('CustomerKey/{0}' -f $newer)
        # A HOME of its own: the first Describe's install and uninstall take no part.
        $sideHome = Join-Path -Path $TestDrive -ChildPath 'side-home'
        $null = New-Item -ItemType Directory -Path $sideHome -Force
        $installBoth = @'
$ErrorActionPreference = 'Stop'
$result = [ordered]@{}
try {
    Register-PSResourceRepository -Name CkLocal -Uri '{FEED}' -Trusted
    Install-PSResource -Name CustomerKey -Version '{OLDER}' -Repository CkLocal -TrustRepository -Scope CurrentUser -Quiet
    Install-PSResource -Name CustomerKey -Version '{NEWER}' -Repository CkLocal -TrustRepository -Scope CurrentUser -Quiet
    $result.Installed = @(Get-InstalledPSResource -Name CustomerKey | ForEach-Object { $_.Version.ToString() } | Sort-Object)
    Import-Module -Name CustomerKey
    $result.Unpinned = (Get-Module -Name CustomerKey).Version.ToString()
}
catch {
    $result.Error = $_.Exception.Message
}
$result | ConvertTo-Json -Compress
'@
        $installed = Invoke-FreshPwsh -HomePath $sideHome -Script $installBoth.Replace('{FEED}', $feed).Replace('{OLDER}', $version).Replace('{NEWER}', $newer)

        # Imports one version by -RequiredVersion, reports what was loaded from where, then runs
        # {WORK} on the store both versions share.
        $pinned = @'
$ErrorActionPreference = 'Stop'
$result = [ordered]@{}
try {
    Import-Module -Name CustomerKey -RequiredVersion '{VERSION}'
    $modules = @(Get-Module -Name CustomerKey)
    $result.Loaded = @($modules | ForEach-Object { $_.Version.ToString() })
    $result.ModuleBase = $modules[0].ModuleBase
    $result.Assembly = [CustomerKey.Native.NativeMethods].Assembly.Location
    $result.Library = & $modules[0] { $script:CkLibraryPath }
    $null = New-Item -ItemType Directory -Path (Join-Path -Path $HOME -ChildPath 'shared-store') -Force
    $null = Connect-CkService -Path (Join-Path -Path $HOME -ChildPath 'shared-store') -UserPrincipalName 'admin@contoso.com'
{WORK}
    Disconnect-CkService
}
catch {
    $result.Error = $_.Exception.Message
}
$result | ConvertTo-Json -Compress
'@
        $writeWork = @'
    $null = New-CkKeyVault -VaultName 'side-vault' -Location westeurope
    $null = Add-CkKeyVaultKey -VaultName 'side-vault' -Name 'side-key' -Destination Software -KeyOps wrapKey, unwrapKey
    $secret = [byte[]] (1..32)
    $wrapped = Invoke-CkKeyVaultKeyOperation -VaultName 'side-vault' -Name 'side-key' -Operation Wrap -Algorithm RSA-OAEP-256 -ByteArrayValue $secret
    $result.KeyVersion = ($wrapped.KeyId -split '/')[-1]
    $result.Wrapped = [System.Convert]::ToBase64String($wrapped.RawResult)
'@
        $older = Invoke-FreshPwsh -HomePath $sideHome -Script $pinned.Replace('{VERSION}', $version).Replace('{WORK}', $writeWork)
        $readWork = @'
    $result.KeyVersions = @(Get-CkKeyVaultKey -VaultName 'side-vault' -Name 'side-key' -IncludeVersions | ForEach-Object Version)
    $unwrapped = Invoke-CkKeyVaultKeyOperation -VaultName 'side-vault' -Name 'side-key' -Version '{KEYVERSION}' -Operation Unwrap -Algorithm RSA-OAEP-256 -ByteArrayValue ([System.Convert]::FromBase64String('{WRAPPED}'))
    $result.Unwrapped = [System.Convert]::ToBase64String($unwrapped.RawResult)
    $rolled = Add-CkKeyVaultKey -VaultName 'side-vault' -Name 'side-key' -Destination Software -KeyOps wrapKey, unwrapKey
    $result.RolledVersions = @(Get-CkKeyVaultKey -VaultName 'side-vault' -Name 'side-key' -IncludeVersions).Count
'@
        $olderKeyVersion = if ($older.PSObject.Properties.Name -contains 'KeyVersion') { $older.KeyVersion } else { 'none' }
        $olderWrapped = if ($older.PSObject.Properties.Name -contains 'Wrapped') { $older.Wrapped } else { '' }
        $readWork = $readWork.Replace('{KEYVERSION}', $olderKeyVersion).Replace('{WRAPPED}', $olderWrapped)
        $newerReply = Invoke-FreshPwsh -HomePath $sideHome -Script $pinned.Replace('{VERSION}', $newer).Replace('{WORK}', $readWork)
    }

    It 'packs the same build as the next patch version with --version, and its manifest passes Test-ModuleManifest' {
        $newerExit | Should -Be 0 -Because ($newerOutput -join "`n")
        $manifest = Test-ModuleManifest -Path (Join-Path -Path $newerStage -ChildPath 'CustomerKey.psd1') -ErrorAction Stop
        $manifest.Version | Should -Be ([version] $newer)
        $olderManifest = Test-ModuleManifest -Path (Join-Path -Path $stage -ChildPath 'CustomerKey.psd1') -ErrorAction Stop
        # Same build, same registry: only ModuleVersion differs.
        $manifest.PrivateData.CkRegistry.Hash | Should -Be $olderManifest.PrivateData.CkRegistry.Hash
        $manifest.PrivateData.CkRegistry.Version | Should -Be $olderManifest.PrivateData.CkRegistry.Version
        [System.IO.File]::Exists((Join-Path -Path $feed -ChildPath ('CustomerKey.{0}.nupkg' -f $newer))) | Should -BeTrue
    }

    It 'refuses a --version that is not a ModuleVersion' {
        Push-Location -LiteralPath $repositoryRoot
        try {
            $badOutput = & $cli package-powershell --out (Join-Path -Path $TestDrive -ChildPath 'bad') --version '1.2.3-beta' 2>&1
            $badExit = $LASTEXITCODE
        }
        finally {
            Pop-Location
        }
        $badExit | Should -Be 2
        ($badOutput -join "`n") | Should -Match 'is not a ModuleVersion'
    }

    It 'installs both versions, and Import-Module without -RequiredVersion takes the newer' {
        $installed.PSObject.Properties.Name | Should -Not -Contain 'Error' -Because ($installed | ConvertTo-Json)
        $installed.Installed | Should -Be @($version, $newer)
        $installed.Unpinned | Should -Be $newer
    }

    It 'imports the older with -RequiredVersion from its own folder, and it writes a store' {
        $older.PSObject.Properties.Name | Should -Not -Contain 'Error' -Because ($older | ConvertTo-Json)
        $older.Loaded | Should -Be @($version)
        $older.ModuleBase | Should -Be (Join-Path -Path $sideHome -ChildPath ('.local/share/powershell/Modules/CustomerKey/{0}' -f $version))
        $older.Assembly | Should -Be (Join-Path -Path $older.ModuleBase -ChildPath 'lib/CustomerKey.Native.dll')
        $older.Library | Should -Be (Join-Path -Path $older.ModuleBase -ChildPath 'runtimes/linux-x64/native/libcustomer_key.so')
        $older.KeyVersion | Should -Match '^[0-9a-f]{32}$'
    }

    It 'imports the newer with -RequiredVersion from its own folder, and it opens the store the older wrote' {
        $newerReply.PSObject.Properties.Name | Should -Not -Contain 'Error' -Because ($newerReply | ConvertTo-Json)
        $newerReply.Loaded | Should -Be @($newer)
        $newerReply.ModuleBase | Should -Be (Join-Path -Path $sideHome -ChildPath ('.local/share/powershell/Modules/CustomerKey/{0}' -f $newer))
        $newerReply.Assembly | Should -Be (Join-Path -Path $newerReply.ModuleBase -ChildPath 'lib/CustomerKey.Native.dll')
        $newerReply.Library | Should -Be (Join-Path -Path $newerReply.ModuleBase -ChildPath 'runtimes/linux-x64/native/libcustomer_key.so')
        $newerReply.KeyVersions | Should -Be @($older.KeyVersion)
        $newerReply.Unwrapped | Should -Be ([System.Convert]::ToBase64String([byte[]] (1..32)))
        $newerReply.RolledVersions | Should -Be 2
    }
}
