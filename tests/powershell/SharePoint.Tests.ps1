#Requires -Version 7.2
# Pester 5 tests of the SharePoint cmdlets (the seed scenario: register the tenant's two keys,
# roll the primary with Update-CkSPODataEncryptionPolicy while Get-CkSPODataEncryptionPolicy
# shows the progress, one roll at a time) against the native library built by
# `cargo build --release`. Run from the repository root:
#   CUSTOMER_KEY_SPO_BATCH_SIZE=10 CUSTOMER_KEY_SPO_BATCH_PAUSE_MS=20 \
#     pwsh -NoProfile -Command "Invoke-Pester -Path tests/powershell/SharePoint.Tests.ps1 -Output Detailed"
# The two variables pace the background rewrap so a roll of 300 sites lasts long enough to be
# refused as busy; they must be in pwsh's environment when it starts (.NET does not pass $env:
# changes on to the native library). Without them the busy test is skipped.

BeforeDiscovery {
    $pacedBatches = $env:CUSTOMER_KEY_SPO_BATCH_SIZE -eq '10' -and $env:CUSTOMER_KEY_SPO_BATCH_PAUSE_MS -eq '20'
}

BeforeAll {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $manifestPath = Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey/CustomerKey.psd1'
    Import-Module -Name $manifestPath -Force -ErrorAction Stop

    $storePath = Join-Path -Path $TestDrive -ChildPath 'store'
    $null = New-Item -ItemType Directory -Path $storePath -Force
    $null = Connect-CkService -Path $storePath

    $sharePoint = '00000003-0000-0ff1-ce00-000000000000'
    $vaultA = 'contoso-spo-weu'
    $vaultB = 'contoso-spo-neu'
    $keyName = 'spo-key'
    $null = New-CkKeyVault -VaultName $vaultA -Location 'westeurope' -EnablePurgeProtection
    $null = New-CkKeyVault -VaultName $vaultB -Location 'northeurope' -EnablePurgeProtection
    $keyA = Add-CkKeyVaultKey -VaultName $vaultA -Name $keyName -Destination Software -KeyOps 'wrapKey', 'unwrapKey'
    $keyB = Add-CkKeyVaultKey -VaultName $vaultB -Name $keyName -Destination Software -KeyOps 'wrapKey', 'unwrapKey'
    foreach ($vault in $vaultA, $vaultB) {
        Set-CkKeyVaultAccessPolicy -VaultName $vault -ServicePrincipalName $sharePoint -PermissionsToKeys 'get', 'wrapKey', 'unwrapKey'
    }

    $siteCount = 300
    $siteUrls = foreach ($i in 0..($siteCount - 1)) { 'https://contoso.sharepoint.com/sites/site{0:d4}' -f $i }
    foreach ($url in $siteUrls) {
        $null = New-CkSPOSite -Url $url -Title "Site $url"
        $null = Add-CkSPOFile -Site $url -Name 'figures.txt' -Value "Figures of $url"
    }

    function Wait-CkPolicyRegistered {
        $seen = [System.Collections.Generic.List[object]]::new()
        $deadline = (Get-Date).AddMinutes(2)
        do {
            $policy = Get-CkSPODataEncryptionPolicy
            $seen.Add($policy)
            if ($policy.State -eq 'Registered') { return , $seen }
            Start-Sleep -Milliseconds 20
        } while ((Get-Date) -lt $deadline)
        throw "The policy did not reach Registered: $($policy | ConvertTo-Json -Depth 4)"
    }
}

AfterAll {
    Disconnect-CkService
    Remove-Module -Name CustomerKey -Force -ErrorAction SilentlyContinue
}

Describe 'Sites and files before registration' {
    It 'shows sites under the Microsoft-managed key and the policy Unregistered' {
        $site = Get-CkSPOSite -Identity $siteUrls[0]
        $site.PSTypeNames[0] | Should -Be 'CustomerKey.SPOSite'
        $site.Encryption | Should -Be 'MicrosoftManagedKey'
        $policy = Get-CkSPODataEncryptionPolicy
        $policy.PSTypeNames[0] | Should -Be 'CustomerKey.SPODataEncryptionPolicy'
        $policy.State | Should -Be 'Unregistered'
        $policy.SitesTotal | Should -Be $siteCount
    }

    It 'reads a file back decrypted' {
        $file = Get-CkSPOFile -Site $siteUrls[1] -Name 'figures.txt'
        $file.PSTypeNames[0] | Should -Be 'CustomerKey.SPOFile'
        $file.Value | Should -Be "Figures of $($siteUrls[1])"
    }
}

Describe 'Register-CkSPODataEncryptionPolicy' {
    It 'refuses a key given without its version, saying why' {
        $params = @{
            PrimaryKeyVaultName = $vaultA; PrimaryKeyName = $keyName
            SecondaryKeyVaultName = $vaultB; SecondaryKeyName = $keyName; SecondaryKeyVersion = $keyB.Version
        }
        Register-CkSPODataEncryptionPolicy @params -ErrorAction SilentlyContinue -ErrorVariable registerErrors
        $registerErrors.Count | Should -Be 1
        $registerErrors[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::InvalidArgument)
        "$($registerErrors[0])" | Should -BeLike '*PrimaryKeyVersion*version*'
        (Get-CkSPODataEncryptionPolicy).State | Should -Be 'Unregistered'
    }

    It 'returns at once as Registering, then reaches Registered with PercentComplete rising' {
        $params = @{
            PrimaryKeyVaultName = $vaultA; PrimaryKeyName = $keyName; PrimaryKeyVersion = $keyA.Version
            SecondaryKeyVaultName = $vaultB; SecondaryKeyName = $keyName; SecondaryKeyVersion = $keyB.Version
        }
        $started = Register-CkSPODataEncryptionPolicy @params
        $started.State | Should -BeIn 'Registering', 'Registered'
        $seen = Wait-CkPolicyRegistered
        $percents = @($seen | Where-Object { $null -ne $_.PercentComplete } | ForEach-Object { $_.PercentComplete })
        for ($i = 1; $i -lt $percents.Count; $i++) { $percents[$i] | Should -BeGreaterOrEqual $percents[$i - 1] }
        $final = $seen[-1]
        $final.SitesDone | Should -Be $siteCount
        $final.PrimaryKeyVaultUri | Should -BeLike "*/keys/$keyName/$($keyA.Version)"
        @($final.KeyHealth | Where-Object { -not $_.Healthy }).Count | Should -Be 0
        (Get-CkSPOSite -Identity $siteUrls[0]).Encryption | Should -Be 'CustomerKey'
    }

    It 'refuses to register twice' {
        Register-CkSPODataEncryptionPolicy -PrimaryKeyVaultUri $keyA.Id -SecondaryKeyVaultUri $keyB.Id -ErrorAction SilentlyContinue -ErrorVariable twiceErrors
        $twiceErrors[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::ResourceExists)
    }
}

Describe 'Update-CkSPODataEncryptionPolicy' {
    It 'rolls the primary key while a second roll is refused as busy with the progress' -Skip:(-not $pacedBatches) {
        $newA = Add-CkKeyVaultKey -VaultName $vaultA -Name $keyName -Destination Software -KeyOps 'wrapKey', 'unwrapKey'
        # Both keys made first: generating one can take longer than the paced roll lasts.
        $newB = Add-CkKeyVaultKey -VaultName $vaultB -Name $keyName -Destination Software -KeyOps 'wrapKey', 'unwrapKey'
        $rolling = Update-CkSPODataEncryptionPolicy -KeyType Primary -KeyVaultName $vaultA -KeyName $keyName -KeyVersion $newA.Version
        $rolling.State | Should -Be 'Rolling'
        $rolling.RollingKeyType | Should -Be 'Primary'

        Update-CkSPODataEncryptionPolicy -KeyType Secondary -KeyVaultUri $newB.Id -ErrorAction SilentlyContinue -ErrorVariable busyErrors
        $busyErrors[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::ResourceBusy)
        "$($busyErrors[0])" | Should -BeLike '*Rolling Primary: * of 300 sites, *%*'

        (Get-CkSPOFile -Site $siteUrls[-1] -Name 'figures.txt').Value | Should -Be "Figures of $($siteUrls[-1])"
        $final = (Wait-CkPolicyRegistered)[-1]
        $final.PrimaryKeyVaultUri | Should -Be $newA.Id
        # The old primary version is no longer needed once the roll is done.
        @($final.KeyUsage | Where-Object { $_.KeyId -eq $keyA.Id }).Count | Should -Be 0
        ($final.KeyUsage | Where-Object { $_.KeyId -eq $newA.Id }).Sites | Should -Be $siteCount

        $secondary = Update-CkSPODataEncryptionPolicy -KeyType Secondary -KeyVaultUri $newB.Id
        $secondary.RollingKeyType | Should -Be 'Secondary'
        $final = (Wait-CkPolicyRegistered)[-1]
        $final.SecondaryKeyVaultUri | Should -Be $newB.Id
    }

    It 'waits with -Wait until the roll is done and returns the Registered policy' {
        $next = Add-CkKeyVaultKey -VaultName $vaultA -Name $keyName -Destination Software -KeyOps 'wrapKey', 'unwrapKey'
        $final = Update-CkSPODataEncryptionPolicy -KeyType Primary -KeyVaultName $vaultA -KeyName $keyName -KeyVersion $next.Version -Wait
        @($final).Count | Should -Be 1
        $final.State | Should -Be 'Registered'
        $final.PrimaryKeyVaultUri | Should -Be $next.Id
        $final.PSObject.TypeNames[0] | Should -Be 'CustomerKey.SPODataEncryptionPolicy'
    }

    It 'leaves every file readable after both rolls' {
        foreach ($url in $siteUrls) {
            (Get-CkSPOFile -Site $url -Name 'figures.txt').Value | Should -Be "Figures of $url"
        }
    }

    It 'accepts -Identity naming this tenant and refuses another tenant' {
        (Get-CkSPODataEncryptionPolicy -Identity 'https://contoso-admin.sharepoint.com').State | Should -Be 'Registered'
        Get-CkSPODataEncryptionPolicy -Identity 'https://fabrikam-admin.sharepoint.com' -ErrorAction SilentlyContinue -ErrorVariable identityErrors
        $identityErrors[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::InvalidArgument)
    }
}

Describe 'Key access' {
    It 'reads on with one key revoked and fails with PermissionDenied with both revoked' {
        Remove-CkKeyVaultAccessPolicy -VaultName $vaultA -ServicePrincipalName $sharePoint -Confirm:$false
        (Get-CkSPOFile -Site $siteUrls[0] -Name 'figures.txt').Value | Should -Be "Figures of $($siteUrls[0])"
        $health = (Get-CkSPODataEncryptionPolicy).KeyHealth
        ($health | Where-Object KeyType -EQ 'Primary').Healthy | Should -BeFalse

        Remove-CkKeyVaultAccessPolicy -VaultName $vaultB -ServicePrincipalName $sharePoint -Confirm:$false
        Get-CkSPOFile -Site $siteUrls[0] -Name 'figures.txt' -ErrorAction SilentlyContinue -ErrorVariable readErrors
        $readErrors[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::PermissionDenied)

        foreach ($vault in $vaultA, $vaultB) {
            Set-CkKeyVaultAccessPolicy -VaultName $vault -ServicePrincipalName $sharePoint -PermissionsToKeys 'get', 'wrapKey', 'unwrapKey'
        }
        (Get-CkSPOFile -Site $siteUrls[0] -Name 'figures.txt').Value | Should -Be "Figures of $($siteUrls[0])"
    }

    It 'refuses to remove a key SharePoint uses, naming SharePoint' {
        Remove-CkKeyVaultKey -VaultName $vaultA -Name $keyName -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable removeErrors
        "$($removeErrors[0])" | Should -BeLike '*SharePoint*'
        Get-CkKeyVaultKey -VaultName $vaultA -Name $keyName | Should -Not -BeNullOrEmpty
    }
}
