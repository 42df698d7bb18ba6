#Requires -Version 7.2
# The module's private helpers on the paths the other suites reach only in child processes or
# not at all, run in this process (InModuleScope) so that what they do is checked where it is
# done: loading the C# types from a packaged module's prebuilt assembly or the compile cache,
# refusing a process that holds another version's types, the one error a missing or broken
# native library gives, bearer tokens kept out of a refused connection, the -Wait poll's
# failure, stall and progress, a call that cannot be made at all, and the error record made for
# each category the engine reports.

BeforeDiscovery {
    # Engine category -> the exception type the record carries, so that 'catch [type]' works.
    $categoryCases = @(
        @{ Category = 'ObjectNotFound'; Expected = 'ObjectNotFound'; ExceptionType = 'CustomerKey.Native.CkItemNotFoundException' }
        @{ Category = 'InvalidArgument'; Expected = 'InvalidArgument'; ExceptionType = 'System.ArgumentException' }
        @{ Category = 'PermissionDenied'; Expected = 'PermissionDenied'; ExceptionType = 'System.UnauthorizedAccessException' }
        @{ Category = 'WriteError'; Expected = 'WriteError'; ExceptionType = 'System.IO.IOException' }
        @{ Category = 'ResourceUnavailable'; Expected = 'ResourceUnavailable'; ExceptionType = 'System.InvalidOperationException' }
        @{ Category = 'NoSuchCategory'; Expected = 'NotSpecified'; ExceptionType = 'System.InvalidOperationException' }
        @{ Category = ''; Expected = 'NotSpecified'; ExceptionType = 'System.InvalidOperationException' }
    )
    # How Invoke-NativeCall and Invoke-NativeOperation reach the engine.
    $callers = @(
        @{ Caller = 'Invoke-NativeCall' }
        @{ Caller = 'Invoke-NativeOperation' }
    )
}

BeforeAll {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $moduleRoot = Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey'
    $manifestPath = Join-Path -Path $moduleRoot -ChildPath 'CustomerKey.psd1'
    Import-Module -Name $manifestPath -Force -ErrorAction Stop

    $storePath = Join-Path -Path $TestDrive -ChildPath 'internals-store'
    $null = Connect-CkService -Path $storePath -UserPrincipalName 'admin@contoso.com'
    $null = New-CkKeyVault -VaultName 'ck-internals' -Location 'westeurope'

    # The private helpers take the calling cmdlet's $PSCmdlet: this advanced function, defined
    # in the module, runs a script block as such a cmdlet (-WhatIf, -Verbose, -ErrorVariable).
    InModuleScope CustomerKey {
        function script:Invoke-AsCmdlet {
            [CmdletBinding(SupportsShouldProcess)]
            param([Parameter(Mandatory)][scriptblock] $Script)
            . $Script
        }
    }
}

AfterAll {
    InModuleScope CustomerKey {
        Remove-Item -Path Function:\Invoke-AsCmdlet -ErrorAction SilentlyContinue
    }
    Disconnect-CkService
}

Describe 'Loading the C# types (Import-NativeTypes)' {
    BeforeAll {
        $savedDataHome = $env:XDG_DATA_HOME
    }
    AfterEach {
        $env:XDG_DATA_HOME = $savedDataHome
    }

    It 'refuses a process that holds only some of the types, as an older CustomerKey left them' {
        InModuleScope CustomerKey -Parameters @{ Root = $moduleRoot } {
            param($Root)
            # As if only NativeMethods were found: another version's assembly, not this one's.
            Mock Add-Type { }
            { Import-NativeTypes -ModuleRoot $Root -ExpectedTypes @('CustomerKey.Native.NativeMethods', 'CustomerKey.Native.TypeOfANewerVersion') } |
                Should -Throw -ExpectedMessage '*holds the native types of an older CustomerKey; start a new PowerShell session*'
            Should -Invoke Add-Type -Times 0 -Exactly
        }
    }

    It 'loads a packaged module''s lib/CustomerKey.Native.dll as it is, without compiling or caching' {
        $namespace = 'CkInternals{0}' -f [System.Guid]::NewGuid().ToString('N')
        $packaged = Join-Path -Path $TestDrive -ChildPath 'packaged'
        $null = New-Item -ItemType Directory -Path (Join-Path -Path $packaged -ChildPath 'lib') -Force
        $prebuilt = Join-Path -Path $packaged -ChildPath 'lib/CustomerKey.Native.dll'
        # An assembly written to a file is not loaded: only Import-NativeTypes can load it here.
        Add-Type -TypeDefinition ('namespace {0} {{ public static class Prebuilt {{ public const string Mark = "prebuilt"; }} }}' -f $namespace) -OutputAssembly $prebuilt -OutputType Library
        ('{0}.Prebuilt' -f $namespace) -as [type] | Should -BeNullOrEmpty
        $env:XDG_DATA_HOME = Join-Path -Path $TestDrive -ChildPath 'data-prebuilt'

        InModuleScope CustomerKey -Parameters @{ Root = $packaged; Expected = ('{0}.Prebuilt' -f $namespace) } {
            param($Root, $Expected)
            Import-NativeTypes -ModuleRoot $Root -ExpectedTypes @($Expected)
        }

        $type = ('{0}.Prebuilt' -f $namespace) -as [type]
        $type | Should -Not -BeNullOrEmpty
        $type.Assembly.Location | Should -Be $prebuilt
        $type::Mark | Should -Be 'prebuilt'
        Join-Path -Path $env:XDG_DATA_HOME -ChildPath 'customer-key' | Should -Not -Exist
    }

    It 'compiles nothing and writes no cache when the types were loaded while it waited for the mutex' {
        $dataHome = Join-Path -Path $TestDrive -ChildPath 'data-cache'
        $env:XDG_DATA_HOME = $dataHome
        InModuleScope CustomerKey -Parameters @{ Root = $moduleRoot } {
            param($Root)
            # Not found at the first look (another runspace is compiling them), found under the
            # mutex (EngineJson is loaded in this process).
            Mock Add-Type { }
            Import-NativeTypes -ModuleRoot $Root -ExpectedTypes @('CustomerKey.Native.StillCompilingElsewhere')
            Should -Invoke Add-Type -Times 0 -Exactly
        }
        Join-Path -Path $dataHome -ChildPath 'customer-key/assemblies' | Should -Not -Exist
        # The cache the types came from is still the one they were loaded from.
        [CustomerKey.Native.EngineJson].Assembly.Location | Should -Not -BeLike "$dataHome*"
    }
}

Describe 'Finding the native library (Import-NativeLibrary)' {
    BeforeAll {
        $savedOverride = $env:CUSTOMER_KEY_LIB
        $libraryFile = 'libcustomer_key.so'
        if ($IsMacOS) { $libraryFile = 'libcustomer_key.dylib' }
        $runtimeIdentifier = '{0}-{1}' -f $(if ($IsMacOS) { 'osx' } else { 'linux' }), [System.Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture.ToString().ToLowerInvariant()

        # Runs Import-NativeLibrary in the module and returns the message it threw; the library
        # loaded at import, its path and handle, are put back whatever happened.
        function Get-LoadFailure {
            param([string] $ModuleRoot, [AllowNull()][string] $Override)
            $env:CUSTOMER_KEY_LIB = $Override
            try {
                InModuleScope CustomerKey -Parameters @{ Root = $ModuleRoot } {
                    param($Root)
                    $path = $script:CkLibraryPath
                    $handle = $script:CkLibraryHandle
                    try {
                        Import-NativeLibrary -ModuleRoot $Root
                        'no error'
                    }
                    catch {
                        $_.Exception.Message
                    }
                    finally {
                        # A failed search or load leaves the handle of the library in use.
                        $script:CkLibraryHandle | Should -Be $handle
                        $script:CkLibraryPath = $path
                    }
                }
            }
            finally {
                $env:CUSTOMER_KEY_LIB = $savedOverride
            }
        }
    }

    It 'names CUSTOMER_KEY_LIB and its path when the file it names does not exist' {
        $missing = Join-Path -Path $TestDrive -ChildPath 'nowhere/libcustomer_key.so'
        $message = Get-LoadFailure -ModuleRoot $moduleRoot -Override $missing
        $message | Should -BeLike ("CustomerKey: the native library for {0} was not found at '{1}', the path CUSTOMER_KEY_LIB names.*" -f $runtimeIdentifier, $missing)
        $message | Should -BeLike "*unset it to use the module's own runtimes/$runtimeIdentifier/native/$libraryFile."
    }

    It 'lists every path it tried when neither the package nor a build has the library' {
        $root = Join-Path -Path $TestDrive -ChildPath 'bare/powershell/CustomerKey'
        $null = New-Item -ItemType Directory -Path $root -Force
        $message = Get-LoadFailure -ModuleRoot $root -Override $null
        $tried = @(
            [System.IO.Path]::Combine($root, 'runtimes', $runtimeIdentifier, 'native', $libraryFile)
            [System.IO.Path]::Combine($TestDrive, 'bare', 'target', 'release', $libraryFile)
            [System.IO.Path]::Combine($TestDrive, 'bare', 'target', 'debug', $libraryFile)
        ) | ForEach-Object { [System.IO.Path]::GetFullPath($_) }
        $message | Should -Be ("CustomerKey: the native library for {0} ({1}) was not found. Paths tried: {2}. Install the module package built for {0}, run 'cargo build --release' in a checkout, or set CUSTOMER_KEY_LIB to the library's full path." -f $runtimeIdentifier, $libraryFile, ($tried -join ', '))
    }

    It 'says it could not load a file that is not a library, naming the file and the platform' {
        $notLibrary = Join-Path -Path $TestDrive -ChildPath 'not-a-library.so'
        Set-Content -LiteralPath $notLibrary -Value 'this is text, not an ELF or Mach-O file'
        $message = Get-LoadFailure -ModuleRoot $moduleRoot -Override $notLibrary
        $message | Should -BeLike ("CustomerKey: could not load '{0}' ({1}): *. Rebuild it for this platform with 'cargo build --release'*" -f $notLibrary, $runtimeIdentifier)
    }
}

Describe 'Refusing a library of another registry (Assert-RegistryMatch)' {
    It 'names both versions when ck_describe hashes differently from the manifest''s record' {
        InModuleScope CustomerKey {
            $recorded = @{ Version = '9.9.9'; Hash = ('ab' * 32) }
            $describe = '{"Version":"0.0.1","Operations":[]}'
            $actual = [System.Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData([System.Text.Encoding]::UTF8.GetBytes($describe))).ToLowerInvariant()
            { Assert-RegistryMatch -Recorded $recorded -DescribeText $describe } |
                Should -Throw -ExpectedMessage ("CustomerKey: the module was generated from the operation registry of customer_key 9.9.9 (registry abababababab), but the native library '{0}' is customer_key {1} (registry {2}).*" -f $script:CkLibraryPath, $script:CkVersion, $actual.Substring(0, 12))
            # The same text with its own hash passes.
            { Assert-RegistryMatch -Recorded @{ Version = '9.9.9'; Hash = $actual } -DescribeText $describe } | Should -Not -Throw
        }
    }
}

Describe 'Opening a session (Connect-CkService, Open-NativeSession)' {
    It 'refuses a bearer token on the Local environment and leaves the current session open' {
        $other = Join-Path -Path $TestDrive -ChildPath 'token-store'
        $token = ConvertTo-SecureString -String 'not-a-real-token' -AsPlainText -Force
        { Connect-CkService -Path $other -UserPrincipalName 'admin@contoso.com' -Environment 'Local' -AccessToken $token -ErrorAction Stop } |
            Should -Throw -ErrorId 'BadParameter,Connect-CkService'
        (Get-CkConnection).Store | Should -Be $storePath
        (Get-CkKeyVault -VaultName 'ck-internals').VaultName | Should -Be 'ck-internals'
        $other | Should -Not -Exist
    }

    It 'opens a store with -Environment Local and -TimeShiftSeconds, and reports them' {
        $shifted = Join-Path -Path $TestDrive -ChildPath 'shifted-store'
        try {
            $connection = Connect-CkService -Path $shifted -UserPrincipalName 'shift@contoso.com' -Environment 'Local' -TimeShiftSeconds 86400
            $connection.Store | Should -Be $shifted
            $connection.Environment | Should -Be 'Local'
            $connection.UserPrincipalName | Should -Be 'shift@contoso.com'
            $vault = New-CkKeyVault -VaultName 'ck-shifted' -Location 'westeurope'
            $null = Add-CkKeyVaultKey -VaultName 'ck-shifted' -Name 'k' -Destination Software
            $key = Get-CkKeyVaultKey -VaultName 'ck-shifted' -Name 'k'
            # The engine's clock runs a day ahead of this one.
            ($key.Created - [datetime]::UtcNow).TotalHours | Should -BeGreaterThan 23
            $vault.VaultName | Should -Be 'ck-shifted'
        }
        finally {
            $null = Connect-CkService -Path $storePath -UserPrincipalName 'admin@contoso.com'
        }
    }

    It 'refuses -CaFile on the Local environment with BadParameter' {
        $caFile = Join-Path -Path $TestDrive -ChildPath 'ca.pem'
        Set-Content -LiteralPath $caFile -Value 'not a certificate'
        { Connect-CkService -Path (Join-Path -Path $TestDrive -ChildPath 'ca-store') -UserPrincipalName 'admin@contoso.com' -CaFile $caFile -ErrorAction Stop } |
            Should -Throw -ErrorId 'BadParameter,Connect-CkService'
        (Get-CkConnection).Store | Should -Be $storePath
    }
}

Describe 'Calls that cannot be made (Invoke-NativeCall, Invoke-NativeOperation)' {
    It '<Caller> with no session, when opening the default store leaves none, is NoSession' -ForEach $callers {
        InModuleScope CustomerKey -Parameters @{ Caller = $Caller } {
            param($Caller)
            Mock Open-NativeSession { }
            $saved = $script:CkSession
            $script:CkSession = $null
            try {
                if ($Caller -eq 'Invoke-NativeCall') {
                    $call = { Invoke-AsCmdlet { Invoke-NativeCall -Cmdlet $PSCmdlet -Operation 'Get-KeyVault' -Arguments @{} } }
                }
                else {
                    $call = { Invoke-AsCmdlet { Invoke-NativeOperation -Cmdlet $PSCmdlet -Operation 'Get-KeyVault' -BoundParameters @{} } }
                }
                $call | Should -Throw -ErrorId 'NoSession,Invoke-AsCmdlet' -ExpectedMessage 'No CustomerKey session is open; run Connect-CkService.'
                Should -Invoke Open-NativeSession -Times 1 -Exactly
            }
            finally {
                $script:CkSession = $saved
            }
        }
    }

    It '<Caller> with arguments it cannot send is a terminating NativeCallFailed naming the operation' -ForEach $callers {
        InModuleScope CustomerKey -Parameters @{ Caller = $Caller } {
            param($Caller)
            # Parameter names are strings; a number as a name cannot be put into the call's JSON.
            $arguments = @{ 42 = 'ck-internals' }
            if ($Caller -eq 'Invoke-NativeCall') {
                $call = { Invoke-AsCmdlet { Invoke-NativeCall -Cmdlet $PSCmdlet -Operation 'Get-KeyVault' -Arguments $arguments } }
            }
            else {
                $call = { Invoke-AsCmdlet { Invoke-NativeOperation -Cmdlet $PSCmdlet -Operation 'Get-KeyVault' -BoundParameters $arguments } }
            }
            $failure = $null
            try { & $call } catch { $failure = $_ }
            $failure | Should -Not -BeNullOrEmpty
            $failure.FullyQualifiedErrorId | Should -Be 'NativeCallFailed,Invoke-AsCmdlet'
            $failure.CategoryInfo.Category | Should -Be 'NotSpecified'
            $failure.TargetObject | Should -Be 'Get-KeyVault'
            $failure.Exception.Message | Should -BeLike 'The native call for Get-KeyVault failed: *'
            $failure.Exception.InnerException | Should -Not -BeNullOrEmpty
        }
        # The session is still usable.
        (Get-CkKeyVault -VaultName 'ck-internals').VaultName | Should -Be 'ck-internals'
    }

    It 'Invoke-NativeCall says what it calls under -Verbose and returns the engine''s answer' {
        InModuleScope CustomerKey {
            $shape = $script:CkPlans['Get-KeyVault'].Shape
            $output = @(Invoke-AsCmdlet -Verbose { Invoke-NativeCall -Cmdlet $PSCmdlet -Operation 'Get-KeyVault' -Arguments @{ VaultName = 'ck-internals' } -Shape $shape } 4>&1)
            $verbose = @($output | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })
            $verbose.Message | Should -Contain 'CustomerKey: calling Get-KeyVault'
            $call = @($output | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
            $call.Count | Should -Be 1
            $call[0].Status | Should -Be 0
            @($call[0].Objects).Count | Should -Be 1
            $call[0].Objects[0].VaultName | Should -Be 'ck-internals'
        }
    }

    It 'an answer that is not JSON is InvalidEngineAnswer (InvalidResult), anything else NativeCallFailed' {
        InModuleScope CustomerKey {
            $json = try { [System.Text.Json.JsonDocument]::Parse('not json') } catch { $_ }
            $record = New-CallFailureRecord -Operation 'Get-KeyVault' -ErrorRecord $json
            $record.FullyQualifiedErrorId | Should -Be 'InvalidEngineAnswer'
            $record.CategoryInfo.Category | Should -Be 'InvalidResult'
            $record.TargetObject | Should -Be 'Get-KeyVault'
            $record.Exception.Message | Should -BeLike "The native call for Get-KeyVault failed: '*"
            $record.Exception.InnerException | Should -Be $json.Exception

            $other = try { throw [System.InvalidCastException]::new('no cast') } catch { $_ }
            $record = New-CallFailureRecord -Operation 'Get-KeyVault' -ErrorRecord $other
            $record.FullyQualifiedErrorId | Should -Be 'NativeCallFailed'
            $record.CategoryInfo.Category | Should -Be 'NotSpecified'
            $record.Exception.Message | Should -Be 'The native call for Get-KeyVault failed: no cast'
        }
    }
}

Describe 'Error records (New-NativeErrorRecord, New-ErrorRecordFromEnvelope)' {
    It 'category <Category> gives <Expected> with a <ExceptionType>' -ForEach $categoryCases {
        InModuleScope CustomerKey -Parameters @{ Category = $Category; Expected = $Expected; ExceptionType = $ExceptionType } {
            param($Category, $Expected, $ExceptionType)
            $record = New-NativeErrorRecord -Code 'SomeCode' -Category $Category -Message 'what happened' -Target 'k1'
            $record.CategoryInfo.Category | Should -Be $Expected
            $record.Exception.GetType().FullName | Should -Be $ExceptionType
            $record.Exception.Message | Should -Be 'what happened'
            $record.FullyQualifiedErrorId | Should -Be 'SomeCode'
            $record.TargetObject | Should -Be 'k1'
        }
    }

    It 'fills in a missing code and message, keeps an inner exception and drops an empty target' {
        InModuleScope CustomerKey {
            $record = New-NativeErrorRecord -Code '' -Category 'ObjectNotFound' -Message '' -Target ''
            $record.FullyQualifiedErrorId | Should -Be 'NativeError'
            $record.Exception.Message | Should -Be 'The CustomerKey engine reported an error without a message.'
            $record.TargetObject | Should -BeNullOrEmpty
            $record.CategoryInfo.TargetName | Should -Be ''

            $inner = [System.IO.FileNotFoundException]::new('gone')
            $record = New-NativeErrorRecord -Code 'Wrapped' -Category 'ObjectNotFound' -Message 'outer' -Target $null -InnerException $inner
            # With an inner exception the record keeps it, whatever the category.
            $record.Exception | Should -BeOfType ([System.InvalidOperationException])
            $record.Exception.InnerException | Should -Be $inner
            $record.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        }
    }

    It 'names the call and its status when the engine sent no error envelope' {
        InModuleScope CustomerKey {
            $record = New-ErrorRecordFromEnvelope -Envelope $null -Status 7 -What 'Get-KeyVault'
            $record.FullyQualifiedErrorId | Should -Be 'NativeError'
            $record.Exception.Message | Should -Be 'Get-KeyVault failed with status 7 and no error description.'
            $record.CategoryInfo.Category | Should -Be 'NotSpecified'
        }
    }

}

Describe 'Reading switches (Test-SwitchParameter)' {
    It 'Test-SwitchParameter reads a bool as given and a missing name as off' {
        InModuleScope CustomerKey {
            Test-SwitchParameter -BoundParameters @{ PassThru = $true } -Name 'PassThru' | Should -BeTrue
            Test-SwitchParameter -BoundParameters @{ PassThru = $false } -Name 'PassThru' | Should -BeFalse
            Test-SwitchParameter -BoundParameters @{ PassThru = [switch] $true } -Name 'PassThru' | Should -BeTrue
            Test-SwitchParameter -BoundParameters @{} -Name 'PassThru' | Should -BeFalse
        }
    }
}

Describe 'Previewing what a change takes away (Get-NativeChangeImpact)' {
    It 'under -WhatIf with no session open says there is no preview and opens nothing' {
        InModuleScope CustomerKey {
            Mock Invoke-NativeCall { throw 'no call may be made under -WhatIf' }
            $saved = $script:CkSession
            $script:CkSession = $null
            try {
                $output = @(Invoke-AsCmdlet -WhatIf -Verbose { Get-NativeChangeImpact -Cmdlet $PSCmdlet -Operation 'Get-KeyVaultChangeImpact' -BoundParameters @{ VaultName = 'ck-internals' } -Parameters @('VaultName') } 4>&1)
                $script:CkSession | Should -BeNullOrEmpty
            }
            finally {
                $script:CkSession = $saved
            }
            Should -Invoke Invoke-NativeCall -Times 0 -Exactly
            $text = @($output | Where-Object { $_ -is [string] })
            $text | Should -Be @('what the store records (not previewed: no session is open; run Connect-CkService first)')
            @($output | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message | Should -Contain 'CustomerKey: no impact preview: no session is open, and -WhatIf opens none (run Connect-CkService first)'
        }
    }

    It 'returns no impact and says why under -Verbose when the preview itself fails' {
        InModuleScope CustomerKey {
            $output = @(Invoke-AsCmdlet -Verbose { Get-NativeChangeImpact -Cmdlet $PSCmdlet -Operation 'Get-KeyVaultChangeImpact' -BoundParameters @{ VaultName = 'ck-no-such-vault' } -Parameters @('VaultName') } 4>&1)
            @($output | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }) | Should -BeNullOrEmpty
            $reason = @($output | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like 'CustomerKey: no impact preview (Get-KeyVaultChangeImpact): *' })
            $reason.Count | Should -Be 1
            $reason[0].Message | Should -BeLike '*ck-no-such-vault*'
        }
    }
}

Describe 'Waiting for background work (Wait-NativeOperation)' {
    BeforeAll {
        $waitArguments = @{
            Operation            = 'Get-SPODataEncryptionPolicy'
            Activity             = 'Rolling the key'
            StateProperty        = 'State'
            DoneState            = @('Registered')
            PercentProperty      = 'PercentComplete'
            StatusFormat         = '{0} of {1} sites'
            StatusProperty       = @('SitesDone', 'SitesTotal')
            IntervalMilliseconds = 1
        }
    }

    It 'ends with OperationFailed, the status and the last error when the background job fails' {
        InModuleScope CustomerKey -Parameters @{ Arguments = $waitArguments } {
            param($Arguments)
            Mock Invoke-NativeOperation {
                [pscustomobject]@{ State = 'Rolling'; PercentComplete = 40; SitesDone = 4; SitesTotal = 10; JobState = 'Failed'; LastError = 'vault unreachable' }
            }
            Mock Write-Progress { }
            $failures = $null
            $output = @(Invoke-AsCmdlet -ErrorVariable failures -ErrorAction SilentlyContinue {
                    Wait-NativeOperation -Cmdlet $PSCmdlet @Arguments -FailedProperty 'JobState' -FailedState @('Failed', 'Stopped') -ErrorProperty 'LastError'
                })
            $output | Should -BeNullOrEmpty
            @($failures).Count | Should -Be 1
            $failures[0].FullyQualifiedErrorId | Should -Be 'OperationFailed,Invoke-AsCmdlet'
            $failures[0].CategoryInfo.Category | Should -Be 'OperationStopped'
            $failures[0].Exception.Message | Should -Be 'Rolling the key stopped: its background job is Failed at 4 of 10 sites. Last error: vault unreachable'
            $failures[0].TargetObject.SitesDone | Should -Be 4
            Should -Invoke Invoke-NativeOperation -Times 1 -Exactly
            # The progress bar is taken down however the wait ends.
            Should -Invoke Write-Progress -Times 1 -Exactly -ParameterFilter { $Completed }
        }
    }

    It 'ends with OperationStalled when nothing changes for StallSeconds' {
        InModuleScope CustomerKey -Parameters @{ Arguments = $waitArguments } {
            param($Arguments)
            Mock Invoke-NativeOperation {
                [pscustomobject]@{ State = 'Rolling'; PercentComplete = 40; SitesDone = 4; SitesTotal = 10; JobState = 'Running' }
            }
            Mock Write-Progress { }
            $failures = $null
            $output = @(Invoke-AsCmdlet -ErrorVariable failures -ErrorAction SilentlyContinue {
                    Wait-NativeOperation -Cmdlet $PSCmdlet @Arguments -FailedProperty 'JobState' -FailedState @('Failed') -ErrorProperty 'LastError' -StallSeconds 0
                })
            $output | Should -BeNullOrEmpty
            @($failures).Count | Should -Be 1
            $failures[0].FullyQualifiedErrorId | Should -Be 'OperationStalled,Invoke-AsCmdlet'
            $failures[0].CategoryInfo.Category | Should -Be 'OperationStopped'
            # No LastError property: no 'Last error' in the message.
            $failures[0].Exception.Message | Should -Be 'Rolling the key made no progress for 0 s at 4 of 10 sites; it goes on in the background.'
        }
    }

    It 'keeps the progress percentage between 0 and 100 and emits the result that ends the wait' {
        InModuleScope CustomerKey -Parameters @{ Arguments = $waitArguments } {
            param($Arguments)
            $script:ckInternalsPolls = [System.Collections.Generic.Queue[object]]::new()
            $script:ckInternalsPolls.Enqueue([pscustomobject]@{ State = 'Rolling'; PercentComplete = -5; SitesDone = 0; SitesTotal = 10 })
            $script:ckInternalsPolls.Enqueue([pscustomobject]@{ State = 'Rolling'; PercentComplete = 250.7; SitesDone = 11; SitesTotal = 10 })
            $script:ckInternalsPolls.Enqueue([pscustomobject]@{ State = 'Rolling'; PercentComplete = $null; SitesDone = 11; SitesTotal = 10 })
            $script:ckInternalsPolls.Enqueue([pscustomobject]@{ State = 'Registered'; PercentComplete = 100; SitesDone = 10; SitesTotal = 10 })
            try {
                Mock Invoke-NativeOperation { $script:ckInternalsPolls.Dequeue() }
                Mock Write-Progress { }
                $output = @(Invoke-AsCmdlet { Wait-NativeOperation -Cmdlet $PSCmdlet @Arguments })
                $output.Count | Should -Be 1
                $output[0].State | Should -Be 'Registered'
                Should -Invoke Invoke-NativeOperation -Times 4 -Exactly
                Should -Invoke Write-Progress -Times 1 -Exactly -ParameterFilter { -not $Completed -and $PercentComplete -eq 0 -and $Status -eq '0 of 10 sites' }
                Should -Invoke Write-Progress -Times 1 -Exactly -ParameterFilter { -not $Completed -and $PercentComplete -eq 100 -and $Status -eq '11 of 10 sites' }
                # A poll without a percentage shows 0, not the last one.
                Should -Invoke Write-Progress -Times 2 -Exactly -ParameterFilter { -not $Completed -and $PercentComplete -eq 0 }
                Should -Invoke Write-Progress -Times 1 -Exactly -ParameterFilter { $Completed }
            }
            finally {
                Remove-Variable -Name ckInternalsPolls -Scope Script
            }
        }
    }
}
