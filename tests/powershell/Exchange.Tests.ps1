#Requires -Version 7.2
# Pester 5 tests of the Exchange Online cmdlets: the seed scenario (two vaults and keys, a data
# encryption policy, mailboxes with items, assignment, a key roll with -Refresh, one and then
# both keys revoked, restored), a mail user migrated under its pre-assigned policy, and the
# purge. Run from the repository root:
#   pwsh -NoProfile -Command "Invoke-Pester -Path tests/powershell/Exchange.Tests.ps1 -Output Detailed"
# The tests share one fresh store under $TestDrive and run in order.

BeforeAll {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $manifestPath = Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey/CustomerKey.psd1'
    Import-Module -Name $manifestPath -Force -ErrorAction Stop

    $storePath = Join-Path -Path $TestDrive -ChildPath 'exchange-store'
    $null = New-Item -ItemType Directory -Path $storePath -Force
    $null = Connect-CkService -Path $storePath -UserPrincipalName 'admin@contoso.com'

    $exchangeServicePrincipal = '00000002-0000-0ff1-ce00-000000000000'
    $vaultA = 'ck-exo-vault-a'
    $vaultB = 'ck-exo-vault-b'
    $keyIds = @()
    foreach ($vault in @(@($vaultA, 'westeurope'), @($vaultB, 'northeurope'))) {
        $null = New-CkKeyVault -VaultName $vault[0] -Location $vault[1] -EnablePurgeProtection
        $null = Add-CkKeyVaultKey -VaultName $vault[0] -Name 'exo-key' -Destination 'Software' -KeyOps 'wrapKey', 'unwrapKey'
        $keyIds += "https://$($vault[0]).vault.azure.net/keys/exo-key"
        $null = Set-CkKeyVaultAccessPolicy -VaultName $vault[0] -ServicePrincipalName $exchangeServicePrincipal -PermissionsToKeys 'get', 'wrapKey', 'unwrapKey'
    }

    function Wait-Encrypted {
        param([string] $Identity, [string] $PolicyId)
        $deadline = (Get-Date).AddSeconds(60)
        do {
            $statistics = Get-CkMailboxStatistics -Identity $Identity
            if ($statistics.IsEncrypted -and $statistics.DataEncryptionPolicyID -eq $PolicyId) {
                return $statistics
            }
            Start-Sleep -Milliseconds 50
        } while ((Get-Date) -lt $deadline)
        throw "Mailbox $Identity did not reach $PolicyId within a minute"
    }

    function Revoke-Exchange {
        param([string] $VaultName)
        Remove-CkKeyVaultAccessPolicy -VaultName $VaultName -ServicePrincipalName $exchangeServicePrincipal -Confirm:$false
    }

    function Grant-Exchange {
        param([string] $VaultName)
        $null = Set-CkKeyVaultAccessPolicy -VaultName $VaultName -ServicePrincipalName $exchangeServicePrincipal -PermissionsToKeys 'get', 'wrapKey', 'unwrapKey'
    }
}

AfterAll {
    Disconnect-CkService
    Remove-Module -Name CustomerKey -Force -ErrorAction SilentlyContinue
}

Describe 'A data encryption policy over two customer keys' {
    BeforeAll {
        $policy = New-CkDataEncryptionPolicy -Name 'EXO-DEP-1' -AzureKeyIDs $keyIds -Description 'Seed policy'
        $null = New-CkMailbox -Name 'Ada Lovelace' -Alias 'ada' -PrimarySmtpAddress 'ada@contoso.com'
        $null = New-CkMailbox -Name 'Bob Bobson' -Alias 'bob' -PrimarySmtpAddress 'bob@contoso.com'
        $null = Add-CkMailboxItem -Identity 'ada' -Subject 'Q3' -Body 'figures'
        $null = Add-CkMailboxItem -Identity 'bob' -Subject 'Hello' -Body 'world'
    }

    It 'is created with both keys healthy' {
        $policy.PSTypeNames[0] | Should -Be 'CustomerKey.DataEncryptionPolicy'
        $policy.Name | Should -Be 'EXO-DEP-1'
        $policy.KeyHealth.Count | Should -Be 2
        @($policy.KeyHealth | Where-Object { -not $_.Usable }).Count | Should -Be 0
    }

    It 'refuses a second policy of the same name' {
        { New-CkDataEncryptionPolicy -Name 'EXO-DEP-1' -AzureKeyIDs $keyIds -ErrorAction Stop } |
            Should -Throw '*already exists*'
        $Error[0].CategoryInfo.Category | Should -Be 'ResourceExists'
    }

    It 'refuses a single key, naming AzureKeyIDs' {
        { New-CkDataEncryptionPolicy -Name 'One' -AzureKeyIDs $keyIds[0] -ErrorAction Stop } |
            Should -Throw '*AzureKeyIDs*at least two*'
    }

    It 'encrypts assigned mailboxes in the background' {
        Get-CkMailbox | ForEach-Object { Set-CkMailbox -Identity $_.Identity -DataEncryptionPolicy 'EXO-DEP-1' }
        $ada = Wait-Encrypted -Identity 'ada' -PolicyId $policy.DataEncryptionPolicyID
        $ada.PSTypeNames[0] | Should -Be 'CustomerKey.MailboxStatistics'
        $ada.EncryptionState | Should -Be 'Encrypted'
        $null = Wait-Encrypted -Identity 'bob@contoso.com' -PolicyId $policy.DataEncryptionPolicyID
        (Get-CkMailbox -Identity 'ada').DataEncryptionPolicy | Should -Be 'EXO-DEP-1'
        (Get-CkMailboxItem -Identity 'ada').Subject | Should -Be 'Q3'
    }

    It 'takes mailboxes from the pipeline by property name' {
        $statistics = @(Get-CkMailbox | Get-CkMailboxStatistics)
        $statistics.Count | Should -Be 2
        @($statistics | Where-Object { -not $_.IsEncrypted }).Count | Should -Be 0
    }
}

Describe 'Rolling a key and refreshing the policy' {
    BeforeAll {
        $oldId = (Get-CkDataEncryptionPolicy -Identity 'EXO-DEP-1').DataEncryptionPolicyID
        $null = Add-CkKeyVaultKey -VaultName $vaultA -Name 'exo-key' -Destination 'Software' -KeyOps 'wrapKey', 'unwrapKey'
        # No -Confirm:$false: -Refresh must not stop a script at a prompt (ConfirmImpact Medium).
        $refreshed = Set-CkDataEncryptionPolicy -Identity 'EXO-DEP-1' -Refresh
    }

    It 'gives the policy a new DataEncryptionPolicyID that the mailboxes take up' {
        $refreshed.DataEncryptionPolicyID | Should -Not -Be $oldId
        $null = Wait-Encrypted -Identity 'ada' -PolicyId $refreshed.DataEncryptionPolicyID
        $null = Wait-Encrypted -Identity 'bob' -PolicyId $refreshed.DataEncryptionPolicyID
        (Get-CkMailboxItem -Identity 'bob').Body | Should -Be 'world'
    }

    It 'still resolves the old ID to the policy' {
        (Get-CkDataEncryptionPolicy -Identity $oldId).Name | Should -Be 'EXO-DEP-1'
    }

    It 'reports the old key version unused once every mailbox moved' {
        $usage = @(Get-CkKeyVaultKeyUsage -VaultName $vaultA -Name 'exo-key')
        $usage.Count | Should -Be 2
        $usage[0].PSTypeNames[0] | Should -Be 'CustomerKey.KeyVaultKeyUsage'
        @($usage | Where-Object { $_.SafeToDisable }).Count | Should -Be 1
        ($usage | Where-Object { $_.InUse }).MailboxesNeedingIt | Should -Be 2
    }
}

Describe 'What a removal would take away' {
    It 'is said by Get-CkKeyVaultChangeImpact, the call -WhatIf makes first' {
        $impact = Get-CkKeyVaultChangeImpact -VaultName $vaultB -Name 'exo-key'
        $impact.PSTypeNames[0] | Should -Be 'CustomerKey.KeyVaultChangeImpact'
        $impact.InUse | Should -BeTrue
        $impact.Impact | Should -Be '1 policy, 2 mailboxes'
        $access = Get-CkKeyVaultChangeImpact -VaultName $vaultB -ServicePrincipalName $exchangeServicePrincipal
        $access.Workload | Should -Be 'Exchange'
        $access.Impact | Should -Be '1 policy, 2 mailboxes'
    }

    It 'changes nothing under -WhatIf' {
        Remove-CkKeyVaultKey -VaultName $vaultB -Name 'exo-key' -WhatIf
        Update-CkKeyVaultKey -VaultName $vaultB -Name 'exo-key' -Enable $false -WhatIf
        Remove-CkKeyVaultAccessPolicy -VaultName $vaultB -ServicePrincipalName $exchangeServicePrincipal -WhatIf
        (Get-CkKeyVaultKey -VaultName $vaultB -Name 'exo-key').Enabled | Should -BeTrue
        (Get-CkMailboxStatistics -Identity 'ada').EncryptionState | Should -Be 'Encrypted'
    }
}

Describe 'Revoking and restoring the service principal' {
    It 'keeps reading with one key and says which key fails' {
        Revoke-Exchange -VaultName $vaultA
        (Get-CkMailboxItem -Identity 'ada').Subject | Should -Be 'Q3'
        $statistics = Get-CkMailboxStatistics -Identity 'ada'
        $statistics.EncryptionState | Should -Be 'OneKeyAvailable'
        ($statistics.KeyHealth | Where-Object { -not $_.Usable }).Id | Should -BeLike "*$vaultA*"
    }

    It 'fails with PermissionDenied once both keys are revoked' {
        Revoke-Exchange -VaultName $vaultB
        { Get-CkMailboxItem -Identity 'ada' -ErrorAction Stop } | Should -Throw '*EXO-DEP-1*'
        $Error[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        (Get-CkMailboxStatistics -Identity 'ada').EncryptionState | Should -Be 'Unreadable'
    }

    It 'reads again as soon as either permission is restored' {
        Grant-Exchange -VaultName $vaultB
        (Get-CkMailboxItem -Identity 'ada').Subject | Should -Be 'Q3'
        Grant-Exchange -VaultName $vaultA
        (Get-CkMailboxStatistics -Identity 'ada').EncryptionState | Should -Be 'Encrypted'
    }
}

Describe 'The availability key' {
    It 'is used only while both vaults are unreachable' {
        Set-CkKeyVault -VaultName $vaultA -Unreachable $true
        (Get-CkMailboxItem -Identity 'bob').Subject | Should -Be 'Hello'
        (Get-CkMailboxStatistics -Identity 'bob').AvailabilityKeyUses | Should -Be 0
        Set-CkKeyVault -VaultName $vaultB -Unreachable $true
        (Get-CkMailboxItem -Identity 'bob').Subject | Should -Be 'Hello'
        (Get-CkMailboxStatistics -Identity 'bob').AvailabilityKeyUses | Should -Be 1
        Set-CkKeyVault -VaultName $vaultA -Unreachable $false
        Set-CkKeyVault -VaultName $vaultB -Unreachable $false
    }
}

Describe 'A mail user migrated with New-CkMoveRequest' {
    It 'is encrypted under its pre-assigned policy as it moves' {
        $null = New-CkMailUser -Name 'Cy Young' -Alias 'cy' -PrimarySmtpAddress 'cy@contoso.com'
        $null = Add-CkMailboxItem -Identity 'cy' -Subject 'on-premises' -Body 'held for migration'
        Set-CkMailUser -Identity 'cy' -DataEncryptionPolicy 'EXO-DEP-1'
        (Get-CkMailbox -Identity 'cy').RecipientTypeDetails | Should -Be 'MailUser'
        (Get-CkMailboxStatistics -Identity 'cy').EncryptionState | Should -Be 'Pending'
        $move = New-CkMoveRequest -Identity 'cy@contoso.com'
        $move.PSTypeNames[0] | Should -Be 'CustomerKey.MoveRequest'
        $current = (Get-CkDataEncryptionPolicy -Identity 'EXO-DEP-1').DataEncryptionPolicyID
        $null = Wait-Encrypted -Identity 'cy' -PolicyId $current
        (Get-CkMoveRequestStatistics -Identity 'cy').PercentComplete | Should -Be 100
        (Get-CkMailbox -Identity 'cy').RecipientTypeDetails | Should -Be 'UserMailbox'
        (Get-CkMailboxItem -Identity 'cy').Body | Should -Be 'held for migration'
    }
}

Describe 'The permanent data purge' {
    It 'is refused while the service principal can still use a key' {
        { Set-CkDataEncryptionPolicy -Identity 'EXO-DEP-1' -PermanentDataPurgeRequested -PermanentDataPurgeReason 'Leaving' -PermanentDataPurgeContact 'ciso@contoso.com' -Force -ErrorAction Stop } |
            Should -Throw '*wrapKey and unwrapKey*'
        (Get-CkMailboxItem -Identity 'ada').Subject | Should -Be 'Q3'
    }

    It 'asks its own question unless -Force, even with -Confirm:$false' -Skip:(-not ([Environment]::GetCommandLineArgs() -contains '-NonInteractive')) {
        # Non-interactive, the question cannot be asked, so the purge cannot happen.
        Revoke-Exchange -VaultName $vaultA
        Revoke-Exchange -VaultName $vaultB
        { Set-CkDataEncryptionPolicy -Identity 'EXO-DEP-1' -PermanentDataPurgeRequested -PermanentDataPurgeReason 'Leaving' -PermanentDataPurgeContact 'ciso@contoso.com' -Confirm:$false -ErrorAction Stop } |
            Should -Throw
        (Get-CkDataEncryptionPolicy -Identity 'EXO-DEP-1').PermanentDataPurgeRequested | Should -BeFalse
        Grant-Exchange -VaultName $vaultA
        Grant-Exchange -VaultName $vaultB
    }

    It 'destroys the data for good once both vaults are cut off' {
        Revoke-Exchange -VaultName $vaultA
        Revoke-Exchange -VaultName $vaultB
        $purged = Set-CkDataEncryptionPolicy -Identity 'EXO-DEP-1' -PermanentDataPurgeRequested -PermanentDataPurgeReason 'Leaving' -PermanentDataPurgeContact 'ciso@contoso.com' -Force
        $purged.PermanentDataPurgeRequested | Should -BeTrue
        Grant-Exchange -VaultName $vaultA
        { Get-CkMailboxItem -Identity 'ada' -ErrorAction Stop } | Should -Throw "*purged at the customer's request*"
        (Get-CkMailboxStatistics -Identity 'ada').EncryptionState | Should -Be 'Purged'
    }
}
