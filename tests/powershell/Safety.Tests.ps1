#Requires -Version 7.2
# The safety rails as an admin porting a Microsoft script meets them: -Force only skips the
# prompt (as in Az); overriding the guard against removing what a data encryption policy still
# needs takes -AcceptDataLoss, which never skips the prompt and says what becomes unreadable;
# -WhatIf with no session open creates and writes nothing; and -Wait ends with an error when
# the background job it waits for fails.

BeforeAll {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $manifestPath = Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey/CustomerKey.psd1'
    Import-Module -Name $manifestPath -Force -ErrorAction Stop
    $pwshPath = @(Get-Command -Name pwsh -CommandType Application)[0].Source

    $storePath = Join-Path -Path $TestDrive -ChildPath 'safety-store'
    $null = Connect-CkService -Path $storePath -UserPrincipalName 'admin@contoso.com'

    $exchange = '00000002-0000-0ff1-ce00-000000000000'
    $vaults = @('ck-safety-weu', 'ck-safety-neu')
    $keyIds = foreach ($vault in $vaults) {
        $null = New-CkKeyVault -VaultName $vault -Location 'westeurope'
        $null = Add-CkKeyVaultKey -VaultName $vault -Name 'dep-key' -Destination Software -KeyOps 'wrapKey', 'unwrapKey'
        $null = Set-CkKeyVaultAccessPolicy -VaultName $vault -ServicePrincipalName $exchange -PermissionsToKeys 'get', 'wrapKey', 'unwrapKey'
        'https://{0}.vault.azure.net/keys/dep-key' -f $vault
    }
    $null = New-CkDataEncryptionPolicy -Name 'Safety-DEP' -AzureKeyIDs $keyIds
    $null = New-CkMailbox -Name 'Grace Hopper' -Alias 'grace' -PrimarySmtpAddress 'grace@contoso.com'
    $null = Set-CkMailbox -Identity 'grace' -DataEncryptionPolicy 'Safety-DEP'

    # Runs $Script in a child pwsh -NonInteractive on the same store (a prompt there is an
    # error, not a wait), and returns its output lines.
    function Invoke-ChildPwsh {
        param([string] $Script)
        $prelude = "`$ErrorActionPreference = 'Continue'; Import-Module -Name '{0}'; `$null = Connect-CkService -Path '{1}' -UserPrincipalName 'admin@contoso.com'`n" -f $manifestPath, $storePath
        @(& $pwshPath -NoProfile -NonInteractive -Command ($prelude + $Script) 2>&1 | ForEach-Object { [string] $_ })
    }
}

AfterAll {
    Disconnect-CkService
    Remove-Module -Name CustomerKey -Force -ErrorAction SilentlyContinue
}

Describe '-Force means what it means in Az' {
    It 'skips the prompt but does not remove a key a policy still uses' {
        { Remove-CkKeyVaultKey -VaultName $vaults[0] -Name 'dep-key' -Force -ErrorAction Stop } |
            Should -Throw -ErrorId 'KeyInUse,Remove-CkKeyVaultKey'
        $Error[0].Exception.Message | Should -BeLike '*Safety-DEP*-AcceptDataLoss*'
        (Get-CkKeyVaultKey -VaultName $vaults[0] -Name 'dep-key').Name | Should -Be 'dep-key'
    }

    It 'does not remove a vault whose key a policy still uses' {
        { Remove-CkKeyVault -VaultName $vaults[0] -Force -ErrorAction Stop } |
            Should -Throw -ErrorId 'KeyInUse,Remove-CkKeyVault'
        (Get-CkKeyVault -VaultName $vaults[0]).VaultName | Should -Be $vaults[0]
    }

    It 'has no meaning on Update-CkKeyVaultKey, which Az gives no -Force either' {
        (Get-Command -Name Update-CkKeyVaultKey).Parameters.ContainsKey('Force') | Should -BeFalse
        { Update-CkKeyVaultKey -VaultName $vaults[0] -Name 'dep-key' -Enable $false -ErrorAction Stop } |
            Should -Throw -ErrorId 'KeyInUse,Update-CkKeyVaultKey'
    }
}

Describe '-AcceptDataLoss' {
    It 'names in -WhatIf what becomes unreadable, and changes nothing' {
        $lines = Invoke-ChildPwsh -Script ("Remove-CkKeyVaultKey -VaultName '{0}' -Name 'dep-key' -AcceptDataLoss -WhatIf" -f $vaults[1])
        ($lines -join "`n") | Should -BeLike '*What if*accepting that the data of 1 policy, 1 mailbox becomes unreadable*'
        (Get-CkKeyVaultKey -VaultName $vaults[1] -Name 'dep-key').Name | Should -Be 'dep-key'
    }

    It 'never skips the prompt: where no one can answer it, nothing is removed' {
        $lines = Invoke-ChildPwsh -Script ("Remove-CkKeyVaultKey -VaultName '{0}' -Name 'dep-key' -AcceptDataLoss; 'exit'" -f $vaults[1])
        ($lines -join "`n") | Should -BeLike '*prompt*'
        (Get-CkKeyVaultKey -VaultName $vaults[1] -Name 'dep-key').Name | Should -Be 'dep-key'
    }

    It 'removes the key when the admin confirms, and says the mailbox lost a key' {
        Remove-CkKeyVaultKey -VaultName $vaults[1] -Name 'dep-key' -AcceptDataLoss -Confirm:$false
        Get-CkKeyVaultKey -VaultName $vaults[1] -Name 'dep-key' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        (Get-CkKeyVaultKey -VaultName $vaults[1] -Name 'dep-key' -InRemovedState).Name | Should -Be 'dep-key'
        $null = Undo-CkKeyVaultKeyRemoval -VaultName $vaults[1] -Name 'dep-key'
    }
}

Describe '-WhatIf with no session open' {
    It 'creates no default store and writes nothing' {
        $untouched = Join-Path -Path $TestDrive -ChildPath 'untouched-home'
        $null = New-Item -ItemType Directory -Path $untouched
        $saved = $env:CUSTOMER_KEY_HOME
        try {
            $env:CUSTOMER_KEY_HOME = Join-Path -Path $untouched -ChildPath 'store'
            $script = "Import-Module -Name '{0}'; Remove-CkKeyVaultKey -VaultName 'any-vault' -Name 'any-key' -WhatIf; Remove-CkKeyVault -VaultName 'any-vault' -WhatIf; Update-CkKeyVaultKey -VaultName 'any-vault' -Name 'any-key' -Enable `$false -WhatIf" -f $manifestPath
            $lines = @(& $pwshPath -NoProfile -NonInteractive -Command $script 2>&1 | ForEach-Object { [string] $_ })
        }
        finally {
            $env:CUSTOMER_KEY_HOME = $saved
        }
        ($lines -join "`n") | Should -BeLike '*What if*not previewed: no session is open*'
        @(Get-ChildItem -LiteralPath $untouched -Force) | Should -BeNullOrEmpty
    }
}

Describe '-Wait on background work that fails' {
    BeforeAll {
        $sharePoint = '00000003-0000-0ff1-ce00-000000000000'
        $spoKeys = foreach ($vault in $vaults) {
            $key = Add-CkKeyVaultKey -VaultName $vault -Name 'spo-key' -Destination Software -KeyOps 'wrapKey', 'unwrapKey'
            $null = Set-CkKeyVaultAccessPolicy -VaultName $vault -ServicePrincipalName $sharePoint -PermissionsToKeys 'get', 'wrapKey', 'unwrapKey'
            $key
        }
        # 600 sites in paced batches of 10 (tests/powershell/run.sh): the roll lasts over a
        # second, time enough for this runspace to cut access once it sees the roll under way.
        foreach ($index in 0..599) {
            $null = New-CkSPOSite -Url ('https://contoso.sharepoint.com/sites/wait{0:d3}' -f $index) -Title "Wait $index"
        }
        $null = Register-CkSPODataEncryptionPolicy -PrimaryKeyVaultUri $spoKeys[0].Id -SecondaryKeyVaultUri $spoKeys[1].Id -Wait
    }

    It 'ends with an error carrying the job''s last error instead of waiting forever' {
        $rolled = Add-CkKeyVaultKey -VaultName $vaults[0] -Name 'spo-key' -Destination Software -KeyOps 'wrapKey', 'unwrapKey'
        # The roll waits in a second runspace of its own session; this one cuts SharePoint off
        # both vaults once the roll is under way, so every batch after that fails.
        $waiter = [powershell]::Create()
        $null = $waiter.AddScript({
                param($Manifest, $Store, $Vault, $Version)
                Import-Module -Name $Manifest
                $null = Connect-CkService -Path $Store -UserPrincipalName 'admin@contoso.com'
                Update-CkSPODataEncryptionPolicy -KeyType Primary -KeyVaultName $Vault -KeyName 'spo-key' -KeyVersion $Version -Wait -ErrorAction Continue
            }).AddArgument($manifestPath).AddArgument($storePath).AddArgument($vaults[0]).AddArgument($rolled.Version)
        $running = $waiter.BeginInvoke()
        try {
            $deadline = [datetime]::UtcNow.AddSeconds(30)
            while ((Get-CkSPODataEncryptionPolicy).State -ne 'Rolling' -and [datetime]::UtcNow -lt $deadline) {
                Start-Sleep -Milliseconds 10
            }
            foreach ($vault in $vaults) {
                Remove-CkKeyVaultAccessPolicy -VaultName $vault -ServicePrincipalName $sharePoint -Confirm:$false
            }
            $running.AsyncWaitHandle.WaitOne([timespan]::FromSeconds(120)) | Should -BeTrue -Because 'the wait must end once the job gave up'
            $output = @($waiter.EndInvoke($running))
            $output | Should -BeNullOrEmpty
            $failures = @($waiter.Streams.Error)
            $failures.Count | Should -Be 1
            $failures[0].FullyQualifiedErrorId | Should -Be 'OperationFailed,Update-CkSPODataEncryptionPolicy'
            $failures[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::OperationStopped)
            $failures[0].Exception.Message | Should -BeLike '*Failed*Last error:*'
            @($waiter.Streams.Progress | Where-Object { $_.RecordType -eq 'Completed' }).Count | Should -BeGreaterThan 0
        }
        finally {
            $waiter.Dispose()
            foreach ($vault in $vaults) {
                $null = Set-CkKeyVaultAccessPolicy -VaultName $vault -ServicePrincipalName $sharePoint -PermissionsToKeys 'get', 'wrapKey', 'unwrapKey'
            }
        }
        # With access back, the same Update resumes the stopped roll and -Wait sees it through.
        $resumed = Update-CkSPODataEncryptionPolicy -KeyType Primary -KeyVaultName $vaults[0] -KeyName 'spo-key' -KeyVersion $rolled.Version -Wait
        $resumed.State | Should -Be 'Registered'
        $resumed.PrimaryKeyVaultUri | Should -Be $rolled.Id
    }
}
