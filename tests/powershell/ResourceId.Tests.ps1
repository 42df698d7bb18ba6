#Requires -Version 7.2
# Az.KeyVault's ResourceId parameter sets, as an admin uses them: a vault named by its Azure
# resource ID (Get-AzResource's and Get-CkKeyVault's ResourceId), by name or from the pipeline;
# the errors for an ID that is not a vault's, that is in another subscription or resource group,
# or that contradicts -VaultName; the ShouldProcess text naming the ID. Run from the repository
# root:
#   CK_NO_BUILD=1 bash tests/powershell/run.sh tests/powershell/ResourceId.Tests.ps1

BeforeAll {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    Import-Module -Name (Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey/CustomerKey.psd1') -Force -ErrorAction Stop

    $null = Connect-CkService -Path (Join-Path -Path $TestDrive -ChildPath 'resource-id-store') -UserPrincipalName 'admin@contoso.com'
    $exchange = '00000002-0000-0ff1-ce00-000000000000'
    $vault = New-CkKeyVault -VaultName 'ck-rid-weu' -Location 'westeurope' -EnablePurgeProtection
    $null = Add-CkKeyVaultKey -VaultName $vault.VaultName -Name 'rid-key' -Destination Software
    $otherSubscription = '2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d'
}

AfterAll {
    Disconnect-CkService
    Remove-Module -Name CustomerKey -Force -ErrorAction SilentlyContinue
}

Describe 'A vault named by its Azure resource ID' {
    It 'is the resource ID Get-CkKeyVault shows, in the store''s subscription and resource group' {
        $vault.ResourceId | Should -BeLike ('/subscriptions/*/resourceGroups/{0}/providers/Microsoft.KeyVault/vaults/ck-rid-weu' -f $vault.ResourceGroupName)
    }

    It 'gets the vault''s keys with -ResourceId, whatever the case of its segments' {
        (Get-CkKeyVaultKey -ResourceId $vault.ResourceId).Name | Should -Be 'rid-key'
        (Get-CkKeyVaultKey -ResourceId $vault.ResourceId.ToUpperInvariant().Replace('CK-RID-WEU', 'ck-rid-weu') -Name 'rid-key').VaultName | Should -Be 'ck-rid-weu'
    }

    It 'takes the ID of a Get-AzResource object through ForEach-Object, as the README advises' {
        $azResource = [pscustomobject]@{ Name = 'ck-rid-weu'; ResourceId = $vault.ResourceId; ResourceType = 'Microsoft.KeyVault/vaults' }
        ($azResource | ForEach-Object { Get-CkKeyVaultKey -ResourceId $_.ResourceId }).Name | Should -Be 'rid-key'
    }

    It 'binds Get-CkKeyVault''s VaultName and ResourceId together in a set that is not the default' {
        $policy = Get-CkKeyVault -VaultName 'ck-rid-weu' |
            Set-CkKeyVaultAccessPolicy -ServicePrincipalName $exchange -PermissionsToKeys 'get', 'wrapKey', 'unwrapKey' -PassThru
        @($policy.AccessPolicies | Where-Object { $_.ApplicationId -eq $exchange }).Count | Should -Be 1
    }

    It 'refuses an ID that is not a key vault''s, naming ResourceId and the form' {
        { Get-CkKeyVaultKey -ResourceId '/subscriptions/x/resourceGroups/y/providers/Microsoft.Storage/storageAccounts/z' -ErrorAction Stop } |
            Should -Throw -ErrorId 'BadParameter,Get-CkKeyVaultKey' -ExpectedMessage '*ResourceId*Microsoft.KeyVault/vaults*'
    }

    It 'finds nothing in another subscription, as Azure would' {
        $elsewhere = $vault.ResourceId -replace '^/subscriptions/[^/]+', "/subscriptions/$otherSubscription"
        { Get-CkKeyVaultKey -ResourceId $elsewhere -ErrorAction Stop } | Should -Throw -ErrorId 'SubscriptionNotFound,Get-CkKeyVaultKey'
    }

    It 'finds nothing in another resource group' {
        $elsewhere = $vault.ResourceId -replace '/resourceGroups/[^/]+/', '/resourceGroups/rg-elsewhere/'
        { Add-CkKeyVaultKey -ResourceId $elsewhere -Name 'never' -Destination Software -ErrorAction Stop } |
            Should -Throw -ErrorId 'ResourceGroupNotFound,Add-CkKeyVaultKey'
        (Get-CkKeyVaultKey -VaultName 'ck-rid-weu').Name | Should -Not -Contain 'never'
    }

    It 'refuses a -ResourceId that names another vault than -VaultName' {
        $other = $vault.ResourceId -replace 'ck-rid-weu$', 'ck-rid-other'
        { Set-CkKeyVaultAccessPolicy -VaultName 'ck-rid-weu' -ResourceId $other -ObjectId ([guid]::NewGuid()) -PermissionsToKeys get -ErrorAction Stop } |
            Should -Throw -ErrorId 'BadParameter,Set-CkKeyVaultAccessPolicy' -ExpectedMessage "*ck-rid-other*ck-rid-weu*"
    }

    It 'names the resource ID in the -WhatIf text and changes nothing' {
        $backup = Backup-CkKeyVaultKey -VaultName 'ck-rid-weu' -Name 'rid-key' -OutputFile (Join-Path -Path $TestDrive -ChildPath 'rid.keybackup')
        $null = New-CkKeyVault -VaultName 'ck-rid-neu' -Location 'northeurope'
        $target = (Get-CkKeyVault -VaultName 'ck-rid-neu').ResourceId
        # In a child pwsh, where What if: lines reach the output.
        $pwshPath = @(Get-Command -Name pwsh -CommandType Application)[0].Source
        $manifest = Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey/CustomerKey.psd1'
        $script = "Import-Module -Name '{0}'; `$null = Connect-CkService -Path '{1}' -UserPrincipalName 'admin@contoso.com'; Restore-CkKeyVaultKey -ResourceId '{2}' -InputFile '{3}' -WhatIf" -f $manifest, (Get-CkConnection).Store, $target, $backup
        $whatIf = @(& $pwshPath -NoProfile -NonInteractive -Command $script 2>&1 | ForEach-Object { [string] $_ }) -join "`n"
        $whatIf | Should -BeLike "*What if: Performing the operation `"Restore key from '$backup'`" on target `"Vault '$target'`"*"
        @(Get-CkKeyVaultKey -VaultName 'ck-rid-neu').Count | Should -Be 0
        (Restore-CkKeyVaultKey -ResourceId $target -InputFile $backup).VaultName | Should -Be 'ck-rid-neu'
    }
}
