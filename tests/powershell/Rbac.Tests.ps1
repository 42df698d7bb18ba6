#Requires -Version 7.2
# Pester 5 tests of Azure RBAC vaults in pwsh: New-CkKeyVault -EnableRbacAuthorization and
# Update-CkKeyVault -EnableRbacAuthorization (shown in the vault's list view as Get-AzKeyVault
# shows it), New-, Get- and Remove-CkRoleAssignment with PSRoleAssignment's properties, key
# access decided by roles, and Test-CkCustomerKeySetup's failing RBAC check fixed by running its
# RemediationCk. Run from the repository root:
#   CK_NO_BUILD=1 CK_PESTER_COVERAGE=0 bash tests/powershell/run.sh tests/powershell/Rbac.Tests.ps1
# The tests share one fresh store under $TestDrive and run in order.

BeforeAll {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    Import-Module -Name (Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey/CustomerKey.psd1') -Force -ErrorAction Stop

    $storePath = (New-Item -ItemType Directory -Path (Join-Path -Path $TestDrive -ChildPath 'rbac-store') -Force).FullName
    $null = Connect-CkService -Path $storePath -UserPrincipalName 'admin@contoso.com'
    $exchange = '00000002-0000-0ff1-ce00-000000000000'
}

AfterAll {
    Disconnect-CkService
    Remove-Module -Name CustomerKey -Force -ErrorAction SilentlyContinue
}

Describe 'Azure RBAC vaults' {
    It 'creates an RBAC vault whose creator holds no access policy and must assign itself a role' {
        $vault = New-CkKeyVault -VaultName 'ck-rbac-weu' -Location 'westeurope' -Sku Premium -EnablePurgeProtection -EnableRbacAuthorization
        $vault.EnableRbacAuthorization | Should -BeTrue
        @($vault.AccessPolicies).Count | Should -Be 0
        ($vault | Out-String) | Should -BeLike '*Enabled For RBAC Authorization?*True*'
        { Add-CkKeyVaultKey -VaultName 'ck-rbac-weu' -Name 'exo-key' -Destination HSM -ErrorAction Stop } |
            Should -Throw -ExpectedMessage '*Microsoft.KeyVault/vaults/keys/create/action*'

        $officer = New-CkRoleAssignment -SignInName 'admin@contoso.com' -RoleDefinitionName 'Key Vault Crypto Officer' -Scope $vault.ResourceId
        $officer.PSTypeNames[0] | Should -Be 'CustomerKey.RoleAssignment'
        $officer.RoleDefinitionId | Should -Be '14b46e9e-c2b7-41b4-b07b-48a6ebf60603'
        $officer.Scope | Should -Be $vault.ResourceId
        $officer.ObjectType | Should -Be 'User'
        $officer.RoleAssignmentId | Should -Be "$($vault.ResourceId)/providers/Microsoft.Authorization/roleAssignments/$($officer.RoleAssignmentName)"
        $key = Add-CkKeyVaultKey -VaultName 'ck-rbac-weu' -Name 'exo-key' -Destination HSM -KeyOps 'wrapKey', 'unwrapKey'
        $key.Name | Should -Be 'exo-key'
    }

    It 'refuses an unknown role naming -RoleDefinitionName' {
        $vault = Get-CkKeyVault -VaultName 'ck-rbac-weu'
        $record = $null
        try {
            New-CkRoleAssignment -ApplicationId $exchange -RoleDefinitionName 'Contributor' -Scope $vault.ResourceId -ErrorAction Stop
        }
        catch {
            $record = $_
        }
        $record | Should -Not -BeNullOrEmpty
        $record.Exception.Message | Should -BeLike "*Parameter 'RoleDefinitionName'*Key Vault Crypto Service Encryption User*"
    }

    It 'fixes the failing RBAC check with the command its RemediationCk gives' {
        $keyIds = foreach ($vault in @(@('ck-rbac-weu', 'westeurope'), @('ck-rbac-frc', 'francecentral'))) {
            if (-not (Get-CkKeyVault | Where-Object VaultName -EQ $vault[0])) {
                $created = New-CkKeyVault -VaultName $vault[0] -Location $vault[1] -Sku Premium -EnablePurgeProtection -EnableRbacAuthorization
                $null = New-CkRoleAssignment -SignInName 'admin@contoso.com' -RoleDefinitionName 'Key Vault Administrator' -Scope $created.ResourceId
                $null = Add-CkKeyVaultKey -VaultName $vault[0] -Name 'exo-key' -Destination HSM -KeyOps 'wrapKey', 'unwrapKey'
            }
            "https://$($vault[0]).vault.azure.net/keys/exo-key"
        }
        $failed = @(Test-CkCustomerKeySetup -Workload Exchange -AzureKeyIDs $keyIds |
                Where-Object { $_.Check -eq 'ServicePrincipalAccess' -and $_.Status -eq 'Fail' })
        $failed.Count | Should -Be 2
        foreach ($check in $failed) {
            $check.Remediation | Should -BeLike "New-AzRoleAssignment -ApplicationId '$exchange' -RoleDefinitionName 'Key Vault Crypto Service Encryption User' -Scope '/subscriptions/*'"
            $check.RemediationCk | Should -BeLike 'New-CkRoleAssignment *'
            Invoke-Expression -Command $check.RemediationCk
        }
        $access = @(Test-CkCustomerKeySetup -Workload Exchange -AzureKeyIDs $keyIds |
                Where-Object { $_.Check -in 'ServicePrincipalAccess', 'PermissionModel' })
        @($access.Status | Select-Object -Unique) | Should -Be @('Pass')
        $assigned = @(Get-CkRoleAssignment -ApplicationId $exchange)
        $assigned.Count | Should -Be 2
        $assigned[0].DisplayName | Should -Be 'Office 365 Exchange Online'
        $assigned[0].RoleDefinitionName | Should -Be 'Key Vault Crypto Service Encryption User'
    }

    It 'switches a vault back to access policies with Update-CkKeyVault, and removes a role' {
        $vault = Update-CkKeyVault -VaultName 'ck-rbac-frc' -EnableRbacAuthorization $false
        $vault.EnableRbacAuthorization | Should -BeFalse
        $removed = Remove-CkRoleAssignment -ApplicationId $exchange -RoleDefinitionName 'Key Vault Crypto Service Encryption User' -Scope $vault.ResourceId -Confirm:$false
        $removed.ObjectType | Should -Be 'ServicePrincipal'
        @(Get-CkRoleAssignment -Scope $vault.ResourceId -ApplicationId $exchange).Count | Should -Be 0
    }
}
