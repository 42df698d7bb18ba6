#Requires -Version 7.2
# Pester 5 tests of Test-CkCustomerKeySetup in pwsh: the objects and their default view, the
# summary last, -Quiet as Test-Path answers, a failing check fixed by running its RemediationCk,
# an existing policy piped in (set ByPolicy), -BackupPath resolved against PowerShell's location,
# and bad input as an ErrorRecord naming the parameter. Run from the repository root:
#   CK_NO_BUILD=1 CK_PESTER_COVERAGE=0 bash tests/powershell/run.sh tests/powershell/SetupCheck.Tests.ps1
# The tests share one fresh store under $TestDrive and run in order.

BeforeAll {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    Import-Module -Name (Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey/CustomerKey.psd1') -Force -ErrorAction Stop

    $storePath = (New-Item -ItemType Directory -Path (Join-Path -Path $TestDrive -ChildPath 'setup-store') -Force).FullName
    $null = Connect-CkService -Path $storePath -UserPrincipalName 'admin@contoso.com'

    $exchange = '00000002-0000-0ff1-ce00-000000000000'
    $keyIds = foreach ($vault in @(@('ck-setup-weu', 'westeurope'), @('ck-setup-frc', 'francecentral'))) {
        $null = New-CkKeyVault -VaultName $vault[0] -Location $vault[1] -Sku Premium -EnablePurgeProtection
        $key = Add-CkKeyVaultKey -VaultName $vault[0] -Name 'exo-key' -Destination HSM -KeyOps 'wrapKey', 'unwrapKey'
        $null = Set-CkKeyVaultAccessPolicy -VaultName $vault[0] -ServicePrincipalName $exchange -PermissionsToKeys 'get', 'wrapKey', 'unwrapKey'
        $key.Id.Substring(0, $key.Id.LastIndexOf('/'))
    }
}

AfterAll {
    Disconnect-CkService
    Remove-Module -Name CustomerKey -Force -ErrorAction SilentlyContinue
}

Describe 'Test-CkCustomerKeySetup' {
    It 'emits one CustomerKey.SetupCheck per check, the summary last, in its default table' {
        $checks = @(Test-CkCustomerKeySetup -Workload Exchange -AzureKeyIDs $keyIds -DataLocation EUR)
        $checks.Count | Should -Be 36
        foreach ($check in $checks) {
            $check.PSTypeNames[0] | Should -Be 'CustomerKey.SetupCheck'
            $check.Status | Should -BeIn @('Pass', 'Warning', 'Fail', 'NotChecked')
        }
        $checks[-1].Check | Should -Be 'Summary'
        $checks[-1].Detail | Should -BeLike '33 passed, 0 warnings, 0 failed, 2 not checked*'
        $view = @(Get-FormatData -TypeName 'CustomerKey.SetupCheck').FormatViewDefinition[0].Control
        @($view.Headers.Label) | Should -Be @('Check', 'Status', 'Target', 'Detail')
        ($checks | Format-Table | Out-String) | Should -BeLike '*ServicePrincipalAccess*Pass*'
    }

    It 'answers -Quiet with $true or $false only, as Test-Path does' {
        Test-CkCustomerKeySetup -Workload Exchange -AzureKeyIDs $keyIds -Quiet | Should -BeOfType ([bool])
        Test-CkCustomerKeySetup -Workload Exchange -AzureKeyIDs $keyIds -Quiet | Should -BeTrue
    }

    It 'fixes a failing check with the command its RemediationCk gives' {
        $null = Set-CkKeyVaultAccessPolicy -VaultName 'ck-setup-frc' -ServicePrincipalName $exchange -PermissionsToKeys 'get', 'unwrapKey'
        Test-CkCustomerKeySetup -Workload Exchange -AzureKeyIDs $keyIds -Quiet | Should -BeFalse
        $checks = @(Test-CkCustomerKeySetup -Workload Exchange -AzureKeyIDs $keyIds)
        # The summary says the run failed; it is the last object, Check 'Summary'.
        $checks[-1].Status | Should -Be 'Fail'
        $failed = @($checks | Where-Object { $_.Status -eq 'Fail' -and $_.Check -ne 'Summary' })
        $failed.Count | Should -Be 1
        $failed[0].Check | Should -Be 'ServicePrincipalAccess'
        $failed[0].Target | Should -Be 'ck-setup-frc'
        $failed[0].Remediation | Should -BeLike "Set-AzKeyVaultAccessPolicy -VaultName 'ck-setup-frc' *"
        Invoke-Expression -Command $failed[0].RemediationCk
        Test-CkCustomerKeySetup -Workload Exchange -AzureKeyIDs $keyIds -Quiet | Should -BeTrue
    }

    It 'takes an existing policy from the pipeline and warns of a roll without -Refresh' {
        $null = New-CkDataEncryptionPolicy -Name 'SETUP-DEP' -AzureKeyIDs $keyIds
        $null = Add-CkKeyVaultKey -VaultName 'ck-setup-weu' -Name 'exo-key' -Destination HSM -KeyOps 'wrapKey', 'unwrapKey'
        $latest = @(Get-CkDataEncryptionPolicy -Identity 'SETUP-DEP' | Test-CkCustomerKeySetup | Where-Object Check -EQ 'LatestVersion')
        $latest[0].Status | Should -Be 'Warning'
        $latest[0].RemediationCk | Should -Be "Set-CkDataEncryptionPolicy -Identity 'SETUP-DEP' -Refresh"
        Invoke-Expression -Command $latest[0].RemediationCk
        @(Test-CkCustomerKeySetup -DataEncryptionPolicy 'SETUP-DEP' | Where-Object Check -EQ 'LatestVersion').Status | Should -Be @('Pass', 'Pass')
    }

    It 'reads -BackupPath relative to the current location' {
        $folder = New-Item -ItemType Directory -Path (Join-Path -Path $TestDrive -ChildPath 'key-backups') -Force
        Push-Location -Path $folder.FullName
        try {
            $backup = @(Test-CkCustomerKeySetup -Workload Exchange -AzureKeyIDs $keyIds -BackupPath . | Where-Object Check -EQ 'KeyBackup')
            $backup[0].Status | Should -Be 'Fail'
            foreach ($check in $backup) {
                Invoke-Expression -Command $check.RemediationCk
            }
            @(Test-CkCustomerKeySetup -Workload Exchange -AzureKeyIDs $keyIds -BackupPath . | Where-Object Check -EQ 'KeyBackup').Status | Should -Be @('Pass', 'Pass')
        }
        finally {
            Pop-Location
        }
    }

    It 'refuses bad input with an ErrorRecord naming the parameter and the rule' {
        { Test-CkCustomerKeySetup -Workload Exchange -AzureKeyIDs $keyIds[0] -ErrorAction Stop } | Should -Throw "*Parameter 'AzureKeyIDs'*at least two*"
        $Error[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        { Test-CkCustomerKeySetup -Workload Exchange -AzureKeyIDs $keyIds -DataLocation 'Atlantis' -ErrorAction Stop } | Should -Throw "*Parameter 'DataLocation'*"
        { Test-CkCustomerKeySetup -DataEncryptionPolicy 'NO-SUCH-DEP' -ErrorAction Stop } | Should -Throw '*no Exchange or multi-workload data encryption policy*'
        $Error[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }
}
