#Requires -Version 7.2
# What an admin relies on from any Microsoft-style module, checked in real pwsh: Get-Help for every
# exported cmdlet, the common parameters (-ErrorAction, -ErrorVariable, pipelines that go on past
# one bad input, typed catch), and -Confirm / -WhatIf answered in a child pwsh that is not
# -NonInteractive, the only place a confirmation prompt can be answered. Progress is in
# Progress.Tests.ps1. Run from the repository root:
#   CK_NO_BUILD=1 bash tests/powershell/run.sh tests/powershell/AdminHabits.Tests.ps1

BeforeDiscovery {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    Import-Module -Name (Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey/CustomerKey.psd1') -Force -ErrorAction Stop
    $helpCases = @(Get-Command -Module CustomerKey | Sort-Object -Property Name | ForEach-Object { @{ Name = $_.Name } })
    # The hand-written session cmdlets' help runs each example's explanation into its code (no blank
    # line after the code), and one of Connect-CkService's examples does not parse because of it.

    $errorCases = @(
        @{ Label = 'a missing key'; Command = 'Get-CkKeyVaultKey'; Parameters = @{ VaultName = 'ck-habits-a'; Name = 'no-such-key' }; As = $null
            ErrorId = 'KeyNotFound,Get-CkKeyVaultKey'; Category = 'ObjectNotFound'; Target = 'no-such-key' }
        @{ Label = 'a missing vault'; Command = 'Get-CkKeyVault'; Parameters = @{ VaultName = 'ck-habits-none' }; As = $null
            ErrorId = 'VaultNotFound,Get-CkKeyVault'; Category = 'ObjectNotFound'; Target = 'ck-habits-none' }
        @{ Label = 'a missing mailbox'; Command = 'Get-CkMailbox'; Parameters = @{ Identity = 'nobody' }; As = $null
            ErrorId = 'MailboxNotFound,Get-CkMailbox'; Category = 'ObjectNotFound'; Target = 'nobody' }
        @{ Label = 'a missing access policy'; Command = 'Remove-CkKeyVaultAccessPolicy'; Parameters = @{ VaultName = 'ck-habits-a'; UserPrincipalName = 'nobody@contoso.com'; Confirm = $false }; As = $null
            ErrorId = 'AccessPolicyNotFound,Remove-CkKeyVaultAccessPolicy'; Category = 'ObjectNotFound'; Target = $null }
        @{ Label = 'a vault name taken'; Command = 'New-CkKeyVault'; Parameters = @{ VaultName = 'ck-habits-a'; Location = 'westeurope' }; As = $null
            ErrorId = 'Conflict,New-CkKeyVault'; Category = 'ResourceExists'; Target = $null }
        @{ Label = 'an invalid vault name'; Command = 'New-CkKeyVault'; Parameters = @{ VaultName = 'x'; Location = 'westeurope' }; As = $null
            ErrorId = 'BadParameter,New-CkKeyVault'; Category = 'InvalidArgument'; Target = 'VaultName' }
        @{ Label = 'a policy over one key'; Command = 'New-CkDataEncryptionPolicy'; Parameters = @{ Name = 'One'; AzureKeyIDs = @('https://ck-habits-a.vault.azure.net/keys/k-first') }; As = $null
            ErrorId = 'BadParameter,New-CkDataEncryptionPolicy'; Category = 'InvalidArgument'; Target = 'AzureKeyIDs' }
        @{ Label = 'a user without keys/get'; Command = 'Get-CkKeyVaultKey'; Parameters = @{ VaultName = 'ck-habits-a'; Name = 'k-first' }; As = 'eve@contoso.com'
            ErrorId = 'Forbidden,Get-CkKeyVaultKey'; Category = 'PermissionDenied'; Target = $null }
    )
}

BeforeAll {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $manifestPath = Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey/CustomerKey.psd1'
    Import-Module -Name $manifestPath -Force -ErrorAction Stop
    $commonParameterNames = @([System.Management.Automation.Cmdlet]::CommonParameters) + @([System.Management.Automation.Cmdlet]::OptionalCommonParameters)
    # pwsh from PATH: a .NET global tool's own process is 'dotnet', which cannot be started as pwsh.
    $pwshPath = @(Get-Command -Name pwsh -CommandType Application)[0].Source
    $exchange = '00000002-0000-0ff1-ce00-000000000000'

    # Get-Help objects lack properties the help does not have, which StrictMode turns into errors.
    function Get-HelpProperty {
        param([object] $InputObject, [string] $Name)
        if ($null -eq $InputObject -or $InputObject -is [string]) { return $null }
        $property = $InputObject.PSObject.Properties[$Name]
        if ($null -eq $property) { return $null }
        $property.Value
    }

    function Get-HelpText {
        param([object] $Paragraphs)
        (@($Paragraphs | Where-Object { $null -ne $_ } | ForEach-Object { if ($_ -is [string]) { $_ } else { Get-HelpProperty $_ 'Text' } }) -join "`n").Trim()
    }

    function Get-HelpExample {
        param([object] $Help)
        @(Get-HelpProperty (Get-HelpProperty $Help 'examples') 'example' | Where-Object { $null -ne $_ })
    }

    function Get-ExampleCommandName {
        param([string] $Code)
        $ast = [System.Management.Automation.Language.Parser]::ParseInput($Code, [ref] $null, [ref] $null)
        @($ast.FindAll({ param($node) $node -is [System.Management.Automation.Language.CommandAst] }, $true) |
                ForEach-Object { $_.GetCommandName() } | Where-Object { $null -ne $_ })
    }

    # Runs $Script in a child pwsh (not -NonInteractive, so it can prompt) on a fresh store,
    # writing $Answer to its stdin; prompts and What if: lines are in its Output.
    function Invoke-ChildPwsh {
        param([string[]] $Script, [string[]] $Answer = @())
        $storePath = Join-Path -Path $TestDrive -ChildPath ('child-store-{0}' -f [guid]::NewGuid().ToString('n'))
        $scriptPath = "$storePath.ps1"
        $header = @'
param([string] $ManifestPath, [string] $StorePath)
$PSStyle.OutputRendering = 'PlainText'
Import-Module -Name $ManifestPath -ErrorAction Stop
$null = Connect-CkService -Path $StorePath -UserPrincipalName 'admin@contoso.com'
'@
        Set-Content -LiteralPath $scriptPath -Value (@($header) + $Script) -Encoding utf8
        $start = [System.Diagnostics.ProcessStartInfo]::new($pwshPath)
        foreach ($argument in '-NoProfile', '-File', $scriptPath, '-ManifestPath', $manifestPath, '-StorePath', $storePath) {
            $start.ArgumentList.Add($argument)
        }
        $start.UseShellExecute = $false
        $start.RedirectStandardInput = $true
        $start.RedirectStandardOutput = $true
        $start.RedirectStandardError = $true
        $process = [System.Diagnostics.Process]::Start($start)
        try {
            $stdout = $process.StandardOutput.ReadToEndAsync()
            $stderr = $process.StandardError.ReadToEndAsync()
            foreach ($line in $Answer) { $process.StandardInput.WriteLine($line) }
            $process.StandardInput.Close()
            # A prompt left without an answer must fail the case, not hang the run.
            if (-not $process.WaitForExit(120000)) {
                $process.Kill($true)
                throw "The child pwsh did not finish within two minutes. Output so far: $($stdout.Result)"
            }
            $process.WaitForExit()
            $output = $stdout.Result
            [pscustomobject]@{
                ExitCode = $process.ExitCode
                Output   = $output
                Errors   = $stderr.Result.Trim()
                # The prompt wraps at the console width; rejoin what it split.
                Text     = ($output -replace '\s*\r?\n\s*', ' ')
                State    = @($output -split '\r?\n' | Where-Object { $_ -match '^STATE ?' } | ForEach-Object { ($_ -replace '^STATE ?', '').Trim() })
            }
        }
        finally {
            $process.Dispose()
        }
    }

    $storePath = Join-Path -Path $TestDrive -ChildPath 'habits-store'
    $null = Connect-CkService -Path $storePath -UserPrincipalName 'admin@contoso.com'
    $null = New-CkKeyVault -VaultName 'ck-habits-a' -Location 'westeurope'
    foreach ($key in 'k-first', 'k-third') {
        $null = Add-CkKeyVaultKey -VaultName 'ck-habits-a' -Name $key -Destination Software
    }
}

AfterAll {
    Disconnect-CkService
    Remove-Module -Name CustomerKey -Force -ErrorAction SilentlyContinue
}

Describe 'Get-Help' {
    It 'has a case for every exported cmdlet' -ForEach @(@{ Discovered = @($helpCases | ForEach-Object { $_.Name }) }) {
        ($Discovered -join ',') | Should -Be ((Get-Command -Module CustomerKey | Sort-Object -Property Name).Name -join ',')
    }

    It '<Name> has a synopsis and a description' -ForEach $helpCases {
        $help = Get-Help -Name $Name -Full
        # Without comment-based help, Get-Help makes the synopsis from the syntax.
        $help.Synopsis.Trim() | Should -Not -BeNullOrEmpty
        $help.Synopsis.Trim() | Should -Not -Match ('^{0}\b' -f [regex]::Escape($Name))
        Get-HelpText (Get-HelpProperty $help 'description') | Should -Not -BeNullOrEmpty
    }

    It '<Name> documents each of its own parameters' -ForEach $helpCases {
        $help = Get-Help -Name $Name -Full
        $documented = @(Get-HelpProperty (Get-HelpProperty $help 'parameters') 'parameter' | Where-Object { $null -ne $_ })
        $own = @((Get-Command -Name $Name).Parameters.Keys | Where-Object { $commonParameterNames -notcontains $_ })
        foreach ($parameter in $own) {
            $entry = @($documented | Where-Object { $_.name -eq $parameter })
            $entry.Count | Should -Be 1 -Because "Get-Help $Name -Parameter $parameter must find it"
            Get-HelpText (Get-HelpProperty $entry[0] 'description') | Should -Not -BeNullOrEmpty -Because "-$parameter needs a description"
        }
    }

    It '<Name> has examples whose code parses and calls it' -ForEach $helpCases {
        $examples = Get-HelpExample (Get-Help -Name $Name -Full)
        $examples.Count | Should -BeGreaterThan 0
        foreach ($example in $examples) {
            $parseErrors = $null
            $null = [System.Management.Automation.Language.Parser]::ParseInput([string] $example.code, [ref] $null, [ref] $parseErrors)
            @($parseErrors).Count | Should -Be 0 -Because "$($example.title) must parse: $(@($parseErrors) -join '; ')"
            Get-ExampleCommandName -Code $example.code | Should -Contain $Name -Because "$($example.title) is an example of $Name"
        }
    }

    # Pasting an example must run only commands: an explanation left in the code runs as one.
    # Az commands are allowed though Az is not installed here.
    It '<Name> keeps each example''s explanation out of its code' -ForEach $helpCases {
        foreach ($example in Get-HelpExample (Get-Help -Name $Name -Full)) {
            Get-HelpText (Get-HelpProperty $example 'remarks') | Should -Not -BeNullOrEmpty -Because "$($example.title) needs an explanation"
            $unknown = @(Get-ExampleCommandName -Code $example.code | Where-Object { $_ -notmatch '-Az[A-Z]' -and -not (Get-Command -Name $_ -ErrorAction Ignore) })
            $unknown | Should -BeNullOrEmpty -Because "$($example.title) must not run prose as commands"
        }
    }
}

Describe 'Errors' {
    It '-ErrorAction Stop on <Label> throws <ErrorId> in category <Category>' -ForEach $errorCases {
        if ($As) { $null = Connect-CkService -Path $storePath -UserPrincipalName $As }
        try {
            $thrown = { & $Command @Parameters -ErrorAction Stop } | Should -Throw -ErrorId $ErrorId -PassThru
        }
        finally {
            if ($As) { $null = Connect-CkService -Path $storePath -UserPrincipalName 'admin@contoso.com' }
        }
        $thrown.FullyQualifiedErrorId | Should -BeExactly $ErrorId
        $thrown.CategoryInfo.Category | Should -Be $Category
        if ($null -ne $Target) { $thrown.TargetObject | Should -Be $Target }
        $thrown.Exception.Message | Should -Not -BeNullOrEmpty
    }

    It '-ErrorAction SilentlyContinue -ErrorVariable on <Label> collects <ErrorId> and emits nothing' -ForEach $errorCases {
        if ($As) { $null = Connect-CkService -Path $storePath -UserPrincipalName $As }
        try {
            $output = @(& $Command @Parameters -ErrorAction SilentlyContinue -ErrorVariable collected)
        }
        finally {
            if ($As) { $null = Connect-CkService -Path $storePath -UserPrincipalName 'admin@contoso.com' }
        }
        $output.Count | Should -Be 0
        @($collected).Count | Should -Be 1
        $collected[0].FullyQualifiedErrorId | Should -BeExactly $ErrorId
        $collected[0].CategoryInfo.Category | Should -Be $Category
    }

    It '-ErrorAction Ignore leaves $Error as it was' {
        $before = $Error.Count
        $output = @(Get-CkKeyVaultKey -VaultName 'ck-habits-a' -Name 'no-such-key' -ErrorAction Ignore)
        $output.Count | Should -Be 0
        $Error.Count | Should -Be $before
    }

    It 'goes on past a missing key piped by property name: two keys out, one error' {
        $inputs = 'k-first', 'no-such-key', 'k-third' | ForEach-Object { [pscustomobject]@{ VaultName = 'ck-habits-a'; Name = $_ } }
        $keys = @($inputs | Get-CkKeyVaultKey -ErrorAction SilentlyContinue -ErrorVariable pipelineErrors)
        ($keys.Name -join ',') | Should -Be 'k-first,k-third'
        @($pipelineErrors).Count | Should -Be 1
        $pipelineErrors[0].FullyQualifiedErrorId | Should -BeExactly 'KeyNotFound,Get-CkKeyVaultKey'
        $pipelineErrors[0].TargetObject | Should -Be 'no-such-key'
    }

    It 'stops the pipeline at the missing key under -ErrorAction Stop' {
        $seen = [System.Collections.Generic.List[string]]::new()
        $inputs = 'k-first', 'no-such-key', 'k-third' | ForEach-Object { [pscustomobject]@{ VaultName = 'ck-habits-a'; Name = $_ } }
        { $inputs | Get-CkKeyVaultKey -ErrorAction Stop | ForEach-Object { $seen.Add($_.Name) } } |
            Should -Throw -ErrorId 'KeyNotFound,Get-CkKeyVaultKey'
        ($seen -join ',') | Should -Be 'k-first'
    }

    It 'is caught by the exception type of its category, with the record intact' {
        $caught = @()
        try { New-CkKeyVault -VaultName 'x' -Location 'westeurope' -ErrorAction Stop } catch [System.ArgumentException] { $caught += $_ }
        try { New-CkKeyVault -VaultName 'ck-habits-a' -Location 'westeurope' -ErrorAction Stop } catch [System.InvalidOperationException] { $caught += $_ }
        $null = Connect-CkService -Path $storePath -UserPrincipalName 'eve@contoso.com'
        try {
            try { Get-CkKeyVaultKey -VaultName 'ck-habits-a' -Name 'k-first' -ErrorAction Stop } catch [System.UnauthorizedAccessException] { $caught += $_ }
        }
        finally {
            $null = Connect-CkService -Path $storePath -UserPrincipalName 'admin@contoso.com'
        }
        ($caught.FullyQualifiedErrorId -join ' ') | Should -BeExactly 'BadParameter,New-CkKeyVault Conflict,New-CkKeyVault Forbidden,Get-CkKeyVaultKey'
    }

    # ItemNotFoundException carries its own ErrorRecord (SessionStateException, InvalidArgument, no
    # target), and a typed catch hands the admin that one instead of the engine's.
    It 'is caught as ItemNotFoundException with the record intact' {
        $caught = $null
        try { Get-CkKeyVaultKey -VaultName 'ck-habits-a' -Name 'no-such-key' -ErrorAction Stop } catch [System.Management.Automation.ItemNotFoundException] { $caught = $_ }
        $caught | Should -Not -BeNullOrEmpty
        $caught.FullyQualifiedErrorId | Should -BeExactly 'KeyNotFound,Get-CkKeyVaultKey'
        $caught.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $caught.TargetObject | Should -Be 'no-such-key'
    }

    # A script's own preference variables, as compiled (Az, Exchange) cmdlets honour them; a script
    # module's functions see only the global ones unless they take the caller's.
    It 'stops on a script''s $ErrorActionPreference = ''Stop''' {
        # In a runspace: this run's own global preference is already Stop (pwsh -File runs the
        # runner in the global scope), which would hide the gap.
        $shell = [powershell]::Create()
        try {
            $null = $shell.AddScript({
                    param([string] $ManifestPath, [string] $StorePath)
                    Import-Module -Name $ManifestPath
                    $null = Connect-CkService -Path $StorePath
                    try {
                        & { $ErrorActionPreference = 'Stop'; Get-CkKeyVault -VaultName 'ck-habits-none'; 'went on' }
                    }
                    catch {
                        'stopped by {0}' -f $_.FullyQualifiedErrorId
                    }
                    Disconnect-CkService
                }.ToString()).AddParameter('ManifestPath', $manifestPath).AddParameter('StorePath', (Join-Path -Path $TestDrive -ChildPath 'preference-store'))
            $output = @($shell.Invoke())
        }
        finally {
            $shell.Dispose()
        }
        $output | Should -Be 'stopped by VaultNotFound,Get-CkKeyVault'
    }

    It 'changes nothing under a script''s $WhatIfPreference = $true' {
        & { $WhatIfPreference = $true; $null = New-CkKeyVault -VaultName 'ck-habits-whatif' -Location 'westeurope' }
        Get-CkKeyVault -VaultName 'ck-habits-whatif' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It '-Verbose says which operation it calls' {
        $records = @(Get-CkKeyVaultKey -VaultName 'ck-habits-a' -Name 'k-first' -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })
        $records.Count | Should -BeGreaterThan 0
        "$($records[0])" | Should -BeLike '*Get-KeyVaultKey*'
    }
}

Describe 'Confirmation, answered in a child pwsh' {
    BeforeAll {
        $accessPolicySetup = @'
$null = New-CkKeyVault -VaultName 'ck-confirm-a' -Location 'westeurope'
$null = Set-CkKeyVaultAccessPolicy -VaultName 'ck-confirm-a' -UserPrincipalName 'old-admin@contoso.com' -PermissionsToKeys 'get', 'list'
'@
        $accessPolicyState = "'STATE ' + ((Get-CkKeyVault -VaultName 'ck-confirm-a').AccessPolicies.DisplayName -join ',')"
    }

    It '-Confirm on Remove-CkKeyVaultAccessPolicy answered <Answer> leaves <Left>' -ForEach @(
        @{ Answer = 'Y'; Left = 'admin@contoso.com' }
        @{ Answer = 'N'; Left = 'admin@contoso.com,old-admin@contoso.com' }
    ) {
        $child = Invoke-ChildPwsh -Answer $Answer -Script $accessPolicySetup, @"
Remove-CkKeyVaultAccessPolicy -VaultName 'ck-confirm-a' -UserPrincipalName 'old-admin@contoso.com' -Confirm
$accessPolicyState
"@
        $child.Errors | Should -BeNullOrEmpty
        $child.ExitCode | Should -Be 0
        $child.Text | Should -BeLike "*Are you sure*Remove the access policy of 'old-admin@contoso.com'*on target `"Vault 'ck-confirm-a'`"*"
        $child.State.Count | Should -Be 1
        $child.State[0] | Should -Be $Left
    }

    It 'asks for a High-impact removal even without -Confirm' {
        $child = Invoke-ChildPwsh -Answer 'N' -Script $accessPolicySetup, @"
Remove-CkKeyVaultAccessPolicy -VaultName 'ck-confirm-a' -UserPrincipalName 'old-admin@contoso.com'
$accessPolicyState
"@
        $child.Errors | Should -BeNullOrEmpty
        $child.Text | Should -BeLike '*Are you sure*Remove the access policy*'
        $child.State.Count | Should -Be 1
        $child.State[0] | Should -Be 'admin@contoso.com,old-admin@contoso.com'
    }

    It '-Confirm on Remove-CkKeyVaultKey of a key no policy uses, answered <Answer>, <Outcome>' -ForEach @(
        @{ Answer = 'Y'; Outcome = 'removes it'; Left = '' }
        @{ Answer = 'N'; Outcome = 'keeps it'; Left = 'spare-key' }
    ) {
        $child = Invoke-ChildPwsh -Answer $Answer -Script @'
$null = New-CkKeyVault -VaultName 'ck-confirm-k' -Location 'westeurope'
$null = Add-CkKeyVaultKey -VaultName 'ck-confirm-k' -Name 'spare-key' -Destination Software
Remove-CkKeyVaultKey -VaultName 'ck-confirm-k' -Name 'spare-key' -Confirm
'STATE ' + (@(Get-CkKeyVaultKey -VaultName 'ck-confirm-k').Name -join ',')
'STATE ' + (@(Get-CkKeyVaultKey -VaultName 'ck-confirm-k' -InRemovedState).Name -join ',')
'@
        $child.Errors | Should -BeNullOrEmpty
        $child.Text | Should -BeLike "*Are you sure*Remove key with all its versions*Key 'spare-key' in vault 'ck-confirm-k'*"
        $child.State.Count | Should -Be 2
        $child.State[0] | Should -Be $Left
        # Removed means soft-deleted, recoverable with Undo-CkKeyVaultKeyRemoval.
        $child.State[1] | Should -Be $(if ($Left) { '' } else { 'spare-key' })
    }

    It 'takes [A] Yes to All once for every key of a pipeline' {
        $child = Invoke-ChildPwsh -Answer 'A' -Script @'
$null = New-CkKeyVault -VaultName 'ck-confirm-p' -Location 'westeurope'
foreach ($name in 'old-1', 'old-2', 'old-3') { $null = Add-CkKeyVaultKey -VaultName 'ck-confirm-p' -Name $name -Destination Software }
Get-CkKeyVaultKey -VaultName 'ck-confirm-p' | Remove-CkKeyVaultKey -Confirm
'STATE ' + (@(Get-CkKeyVaultKey -VaultName 'ck-confirm-p').Name -join ',')
'@
        $child.Errors | Should -BeNullOrEmpty
        ([regex]::Matches($child.Output, 'Are you sure')).Count | Should -Be 1
        $child.State.Count | Should -Be 1
        $child.State[0] | Should -Be ''
    }

    It 'does not ask for a Medium-impact change unless -Confirm is given' {
        # An N waits on stdin: a prompt would take it and create nothing.
        $child = Invoke-ChildPwsh -Answer 'N' -Script @'
$null = New-CkKeyVault -VaultName 'ck-confirm-m' -Location 'westeurope'
'STATE ' + (Get-CkKeyVault -VaultName 'ck-confirm-m').VaultName
'@
        $child.Errors | Should -BeNullOrEmpty
        $child.Output | Should -Not -BeLike '*Are you sure*'
        $child.State.Count | Should -Be 1
        $child.State[0] | Should -Be 'ck-confirm-m'
    }

    It '-WhatIf says what would be done and what still needs it, and changes nothing' {
        $child = Invoke-ChildPwsh -Script @"
`$ids = foreach (`$vault in 'ck-whatif-a', 'ck-whatif-b') {
    `$null = New-CkKeyVault -VaultName `$vault -Location 'westeurope'
    `$null = Add-CkKeyVaultKey -VaultName `$vault -Name 'exo-key' -Destination Software -KeyOps 'wrapKey', 'unwrapKey'
    `$null = Set-CkKeyVaultAccessPolicy -VaultName `$vault -ServicePrincipalName '$exchange' -PermissionsToKeys 'get', 'wrapKey', 'unwrapKey'
    "https://`$vault.vault.azure.net/keys/exo-key"
}
`$null = New-CkDataEncryptionPolicy -Name 'DEP-WHATIF' -AzureKeyIDs `$ids
`$null = New-CkMailbox -Name 'Ada' -Alias 'ada' -PrimarySmtpAddress 'ada@contoso.com'
Set-CkMailbox -Identity 'ada' -DataEncryptionPolicy 'DEP-WHATIF'
`$null = Add-CkKeyVaultKey -VaultName 'ck-whatif-a' -Name 'exo-key' -Destination Software -KeyOps 'wrapKey', 'unwrapKey'
function Get-State {
    `$policy = Get-CkDataEncryptionPolicy -Identity 'DEP-WHATIF'
    `$access = (Get-CkKeyVault -VaultName 'ck-whatif-a').AccessPolicies.DisplayName -join ','
    'STATE {0} {1} {2}' -f `$policy.DataEncryptionPolicyID, (Get-CkKeyVaultKey -VaultName 'ck-whatif-b' -Name 'exo-key').Enabled, `$access
}
Get-State
Remove-CkKeyVaultAccessPolicy -VaultName 'ck-whatif-a' -ServicePrincipalName '$exchange' -WhatIf
Remove-CkKeyVaultKey -VaultName 'ck-whatif-b' -Name 'exo-key' -WhatIf
Set-CkDataEncryptionPolicy -Identity 'DEP-WHATIF' -Refresh -WhatIf
Get-State
"@
        $child.Errors | Should -BeNullOrEmpty
        $child.ExitCode | Should -Be 0
        $child.Output | Should -BeLike "*What if: Performing the operation `"Remove the access policy of '$exchange' (still needed by 1 policy, 1 mailbox)`" on target `"Vault 'ck-whatif-a'`"*"
        $child.Output | Should -BeLike "*What if: Performing the operation `"Remove key with all its versions (still needed by 1 policy, 1 mailbox)`" on target `"Key 'exo-key' in vault 'ck-whatif-b'`"*"
        $child.Output | Should -BeLike "*What if: Performing the operation `"Wrap a new policy key under the newest key versions`" on target `"Data encryption policy 'DEP-WHATIF'`"*"
        $child.State.Count | Should -Be 2
        $child.State[0] | Should -BeLike '*-*-* True *'
        $child.State[1] | Should -Be $child.State[0]
    }
}
