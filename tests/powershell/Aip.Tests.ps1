#Requires -Version 7.2
# Pester 5 tests of the Azure Information Protection cmdlets: the seed's lifecycle table for a
# Microsoft-managed and then a customer-managed (BYOK) tenant key. Run from the repository root:
#   pwsh -NoProfile -Command "Invoke-Pester -Path tests/powershell/Aip.Tests.ps1 -Output Detailed"
# The tests share one fresh store under $TestDrive and run in order: each Describe builds on the
# tenant the previous one left.

BeforeAll {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $manifestPath = Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey/CustomerKey.psd1'
    Import-Module -Name $manifestPath -Force -ErrorAction Stop

    $storePath = Join-Path -Path $TestDrive -ChildPath 'aip-store'
    $null = New-Item -ItemType Directory -Path $storePath -Force
    $null = Connect-CkService -Path $storePath

    $aipServicePrincipal = '00000012-0000-0000-c000-000000000000'
    $vaultName = 'ck-aip-vault'
    $null = New-CkKeyVault -VaultName $vaultName -Location 'westeurope' -EnablePurgeProtection
    $null = Set-CkKeyVaultAccessPolicy -VaultName $vaultName -ServicePrincipalName $aipServicePrincipal -PermissionsToKeys 'get', 'decrypt', 'sign'
    # Documents outlive the Describe that protects them, and Pester empties a Describe's
    # TestDrive additions when it ends: they go in a folder of their own, removed in AfterAll.
    $documentFolder = Join-Path -Path ([System.IO.Path]::GetTempPath()) -ChildPath ('ck-aip-' + [guid]::NewGuid().ToString('N'))
    $null = New-Item -ItemType Directory -Path $documentFolder
    $password = ConvertTo-SecureString -String 'correct horse battery staple' -AsPlainText -Force
    $wrongPassword = ConvertTo-SecureString -String 'correct horse battery stapl' -AsPlainText -Force

    function Get-OperationRow {
        param([object] $Lifecycle, [string] $Name)
        $Lifecycle.Operations | Where-Object { $_.Operation -eq $Name } | Select-Object -First 1
    }
}

AfterAll {
    Remove-Item -LiteralPath $documentFolder -Recurse -Force -ErrorAction SilentlyContinue
    Disconnect-CkService
    Remove-Module -Name CustomerKey -Force -ErrorAction SilentlyContinue
}

Describe 'A new tenant (Microsoft-managed)' {
    BeforeAll {
        $keys = @(Get-CkAipServiceKeys)
        $firstKey = $keys[0]
        $lifecycle = Get-CkAipServiceTenantKeyLifecycle
        $mmDocument = Join-Path -Path $documentFolder -ChildPath 'mm.ckaip'
        $protected = Protect-CkAipContent -Value 'Microsoft-managed era' -OutputFile $mmDocument
    }

    It 'starts with one Active Microsoft-managed key and no key material' {
        $keys.Count | Should -Be 1
        $firstKey.PSTypeNames[0] | Should -Be 'CustomerKey.AipServiceKey'
        $firstKey.KeyType | Should -Be 'Microsoft-managed'
        $firstKey.Status | Should -Be 'Active'
        $firstKey.Publickey | Should -BeNullOrEmpty
        $firstKey.KeyVaultKeyUrl | Should -BeNullOrEmpty
    }

    It 'reports the Microsoft-managed column of the lifecycle table' {
        $lifecycle.Topology | Should -Be 'Microsoft-managed'
        (Get-OperationRow -Lifecycle $lifecycle -Name 'Revoke').Available | Should -BeFalse
        (Get-OperationRow -Lifecycle $lifecycle -Name 'BackupAndRecover').Available | Should -BeFalse
        (Get-OperationRow -Lifecycle $lifecycle -Name 'ReKey').Available | Should -BeTrue
        (Get-OperationRow -Lifecycle $lifecycle -Name 'Export').Available | Should -BeTrue
        (Get-OperationRow -Lifecycle $lifecycle -Name 'RespondToBreach').Available | Should -BeTrue
        (Get-OperationRow -Lifecycle $lifecycle -Name 'Revoke').WhyNot | Should -BeLike '*subscription ends*'
    }

    It 'protects with the Active key and opens the content again' {
        $protected.KeyIdentifier | Should -Be $firstKey.KeyIdentifier
        Test-Path -LiteralPath $mmDocument | Should -BeTrue
        (Unprotect-CkAipContent -InputFile $mmDocument).Value | Should -Be 'Microsoft-managed era'
    }

    It 'refuses to archive the Active key directly' {
        Set-CkAipServiceKeyProperties -KeyIdentifier $firstKey.KeyIdentifier -Active $false -Force -ErrorAction SilentlyContinue -ErrorVariable archiveErrors
        $archiveErrors.Count | Should -Be 1
        $archiveErrors[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::InvalidArgument)
        $archiveErrors[0].Exception.Message | Should -BeLike '*cannot be archived directly*'
    }

    It 'exports a TPD, refuses a wrong password and imports nothing twice' {
        $tpdPath = Join-Path -Path $TestDrive -ChildPath 'tenant.tpd'
        $export = Export-CkAipServiceTpd -OutputFile $tpdPath -ProtectionPassword $password
        @($export.KeyIdentifiers) | Should -Contain $firstKey.KeyIdentifier
        Import-CkAipServiceTpd -TpdFile $tpdPath -ProtectionPassword $wrongPassword -ErrorAction SilentlyContinue -ErrorVariable importErrors
        $importErrors[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::InvalidArgument)
        Import-CkAipServiceTpd -TpdFile $tpdPath -ProtectionPassword $password -ErrorAction SilentlyContinue -ErrorVariable duplicateErrors
        $duplicateErrors[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::ResourceExists)
        @(Get-CkAipServiceKeys).Count | Should -Be 1
    }
}

Describe 'Moving to BYOK' {
    BeforeAll {
        $vaultKey = Add-CkKeyVaultKey -VaultName $vaultName -Name 'aip-tenant-key' -Destination Software
        $versionless = $vaultKey.Id.Substring(0, $vaultKey.Id.LastIndexOf('/'))
        $byokKey = Use-CkAipServiceKeyVaultKey -KeyVaultKeyUrl $vaultKey.Id -FriendlyName 'Contoso BYOK'
        $activated = Set-CkAipServiceKeyProperties -KeyIdentifier $byokKey.KeyIdentifier -Active $true -Force
        $byokDocument = Join-Path -Path $TestDrive -ChildPath 'byok.ckaip'
        $null = Protect-CkAipContent -Value 'BYOK era' -OutputFile $byokDocument
        $lifecycle = Get-CkAipServiceTenantKeyLifecycle
        $mmDocument = Join-Path -Path $documentFolder -ChildPath 'mm.ckaip'
    }

    It 'refuses a key URL without a version, saying why' {
        Use-CkAipServiceKeyVaultKey -KeyVaultKeyUrl $versionless -ErrorAction SilentlyContinue -ErrorVariable urlErrors
        $urlErrors[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::InvalidArgument)
        $urlErrors[0].Exception.Message | Should -BeLike '*next version*'
    }

    It 'adds the key Archived, then makes it the one Active key' {
        $byokKey.Status | Should -Be 'Archived'
        $byokKey.KeyType | Should -Be 'Customer-managed (BYOK)'
        $byokKey.KeyVaultKeyUrl | Should -Be $vaultKey.Id
        $byokKey.Publickey | Should -Not -BeNullOrEmpty
        $activated.Status | Should -Be 'Active'
        @(Get-CkAipServiceKeys | Where-Object { $_.Status -eq 'Active' }).Count | Should -Be 1
    }

    It 'reports the BYOK column of the lifecycle table' {
        $lifecycle.Topology | Should -Be 'Customer-managed (BYOK)'
        (Get-OperationRow -Lifecycle $lifecycle -Name 'Revoke').Available | Should -BeTrue
        (Get-OperationRow -Lifecycle $lifecycle -Name 'BackupAndRecover').Available | Should -BeTrue
        (Get-OperationRow -Lifecycle $lifecycle -Name 'Export').Available | Should -BeFalse
    }

    It 'refuses to export a BYOK key' {
        $refusedPath = Join-Path -Path $TestDrive -ChildPath 'refused.tpd'
        Export-CkAipServiceTpd -OutputFile $refusedPath -ProtectionPassword $password -ErrorAction SilentlyContinue -ErrorVariable exportErrors
        $exportErrors[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::InvalidOperation)
        $exportErrors[0].Exception.Message | Should -BeLike '*never leaves Key Vault*'
        Test-Path -LiteralPath $refusedPath | Should -BeFalse
    }

    It 'revokes by removing the service principal''s access, and restores it' {
        Remove-CkKeyVaultAccessPolicy -VaultName $vaultName -ServicePrincipalName $aipServicePrincipal -Confirm:$false
        Unprotect-CkAipContent -InputFile $byokDocument -ErrorAction SilentlyContinue -ErrorVariable revokedErrors
        $revokedErrors[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::PermissionDenied)
        (Unprotect-CkAipContent -InputFile $mmDocument).Value | Should -Be 'Microsoft-managed era'
        $null = Set-CkKeyVaultAccessPolicy -VaultName $vaultName -ServicePrincipalName $aipServicePrincipal -PermissionsToKeys 'get', 'decrypt', 'sign'
        (Unprotect-CkAipContent -InputFile $byokDocument).Value | Should -Be 'BYOK era'
    }

    It 're-keys with a new version and keeps older content open' {
        $nextVersion = Add-CkKeyVaultKey -VaultName $vaultName -Name 'aip-tenant-key' -Destination Software
        $nextKey = Use-CkAipServiceKeyVaultKey -KeyVaultKeyUrl $nextVersion.Id
        $null = Set-CkAipServiceKeyProperties -KeyIdentifier $nextKey.KeyIdentifier -Active $true -Force
        $newDocument = Join-Path -Path $TestDrive -ChildPath 'next.ckaip'
        (Protect-CkAipContent -Value 'after the re-key' -OutputFile $newDocument).KeyIdentifier | Should -Be $nextKey.KeyIdentifier
        (Unprotect-CkAipContent -InputFile $byokDocument).Value | Should -Be 'BYOK era'
        (Unprotect-CkAipContent -InputFile $newDocument).Value | Should -Be 'after the re-key'
    }

    It 'refuses to remove a vault key that is a tenant key without -Force' {
        Remove-CkKeyVaultKey -VaultName $vaultName -Name 'aip-tenant-key' -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable removeErrors
        $removeErrors[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::InvalidOperation)
        $removeErrors[0].Exception.Message | Should -BeLike '*tenant key*'
        Get-CkKeyVaultKey -VaultName $vaultName -Name 'aip-tenant-key' | Should -Not -BeNullOrEmpty
    }
}
