#Requires -Version 7.2
# Pester 5 tests of the module over REMOTE keys: `customer-key serve` is started here as a child
# process (its own store under $TestDrive, 127.0.0.1, a port the system picks) and stands in for
# Azure Key Vault, Resource Manager and Graph; the admin's session (a second store) reaches it
# with Connect-CkService -Environment AzureCloud -VaultDomain localhost:PORT -CaFile -AccessToken
# (+ the management and Graph endpoints and tokens). Covered: the key lifecycle (add, roll,
# versions, wrap/unwrap, backup, soft delete, recovery, purge and restore), the vault and its
# access policies through ARM, and one Exchange data encryption policy over two remote keys.
# Run from the repository root:
#   CK_NO_BUILD=1 bash tests/powershell/run.sh tests/powershell/Remote.Tests.ps1
# The tests share one endpoint and one admin store, and run in order.

BeforeAll {
    Set-StrictMode -Version Latest
    $ErrorActionPreference = 'Stop'
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $manifestPath = Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey/CustomerKey.psd1'
    $executable = Join-Path -Path $repositoryRoot -ChildPath 'target/release/customer-key'
    if (-not (Test-Path -LiteralPath $executable -PathType Leaf)) {
        throw "The CLI is missing at $executable (cargo build --release)"
    }
    Import-Module -Name $manifestPath -Force -ErrorAction Stop

    $servedStore = Join-Path -Path $TestDrive -ChildPath 'served-store'
    $adminStore = Join-Path -Path $TestDrive -ChildPath 'admin-store'
    $exchange = '00000002-0000-0ff1-ce00-000000000000'
    $lifeVault = 'ck-remote-life'
    $exoVaults = @('ck-remote-exo-a', 'ck-remote-exo-b')

    # Runs an operation of the CLI on the served store as $As; its JSON output, parsed.
    function Invoke-ServedCli {
        param([string] $As = 'admin@contoso.com', [string[]] $Arguments)
        $errorFile = Join-Path -Path $TestDrive -ChildPath 'served-cli.err'
        $lines = & $executable --store $servedStore --upn $As @Arguments 2> $errorFile
        if ($LASTEXITCODE -ne 0) {
            throw ('customer-key {0} failed ({1}): {2}' -f ($Arguments -join ' '), $LASTEXITCODE, (Get-Content -LiteralPath $errorFile -Raw))
        }
        ($lines -join "`n") | ConvertFrom-Json
    }

    # The served store, made before serving: a service principal for the automation, and the
    # vaults it owns. The CLI signs in as a user only, so the vaults are created under the
    # application id as the signed-in name (the owner check is by name): the principal then owns
    # them, as the identity that created a vault through ARM does in Azure, and may change their
    # access policies through the endpoint's ARM routes. Its key permissions are a service
    # principal's policy; the creator's policy the CLI made (a user's, named by the application
    # id) is removed, as it names no user ARM could write back.
    $principal = Invoke-ServedCli -As 'admin@contoso.com' -Arguments @('New-ServicePrincipal', '-DisplayName', 'ck-remote-tests')
    $appId = $principal.ApplicationId
    foreach ($vault in @(@($lifeVault, 'westeurope', $false), @($exoVaults[0], 'westeurope', $true), @($exoVaults[1], 'northeurope', $true))) {
        $arguments = @('New-KeyVault', '-VaultName', $vault[0], '-Location', $vault[1])
        if ($vault[2]) {
            $arguments += '-EnablePurgeProtection'
        }
        $made = Invoke-ServedCli -As $appId -Arguments $arguments
        $null = Invoke-ServedCli -As $appId -Arguments @('Set-KeyVaultAccessPolicy', '-VaultName', $vault[0], '-ServicePrincipalName', $appId, '-PermissionsToKeys', 'all')
        $null = Invoke-ServedCli -As $appId -Arguments @('Remove-KeyVaultAccessPolicy', '-VaultName', $vault[0], '-ObjectId', @($made.AccessPolicies)[0].ObjectId)
        # The served store's admin reads the keys, to see what the remote calls did there.
        $null = Invoke-ServedCli -As $appId -Arguments @('Set-KeyVaultAccessPolicy', '-VaultName', $vault[0], '-UserPrincipalName', 'admin@contoso.com', '-PermissionsToKeys', 'get,list')
    }
    $resourceId = @(Invoke-ServedCli -As $appId -Arguments @('Get-KeyVault', '-VaultName', $lifeVault))[0].ResourceId
    $subscriptionId = ($resourceId -split '/')[2]

    # serve runs until SIGTERM. bash only redirects its output to files and execs it, so the
    # process is serve itself; a watchdog ends it should this pwsh die before AfterAll.
    $serveOut = Join-Path -Path $TestDrive -ChildPath 'serve.out'
    $serveErr = Join-Path -Path $TestDrive -ChildPath 'serve.err'
    $start = [System.Diagnostics.ProcessStartInfo]::new('bash')
    foreach ($argument in @('-c', 'out=$1; err=$2; shift 2; exec "$@" >"$out" 2>"$err"', 'ck-serve', $serveOut, $serveErr, $executable, '--store', $servedStore, 'serve', '--listen', '127.0.0.1:0')) {
        $start.ArgumentList.Add($argument)
    }
    $start.UseShellExecute = $false
    $start.RedirectStandardInput = $true
    $serveProcess = [System.Diagnostics.Process]::Start($start)
    $watch = [System.Diagnostics.ProcessStartInfo]::new('bash')
    foreach ($argument in @('-c', 'while kill -0 "$1" 2>/dev/null; do kill -0 "$2" 2>/dev/null || exit 0; sleep 0.5; done; kill -TERM "$2" 2>/dev/null', 'ck-serve-watchdog', [string] $PID, [string] $serveProcess.Id)) {
        $watch.ArgumentList.Add($argument)
    }
    $watch.UseShellExecute = $false
    $watch.RedirectStandardInput = $true
    $watchdogProcess = [System.Diagnostics.Process]::Start($watch)

    # Ready once it has printed its one JSON line (it prints it once connections are accepted).
    $deadline = (Get-Date).AddSeconds(60)
    $announced = $null
    while ($null -eq $announced) {
        $text = if (Test-Path -LiteralPath $serveOut) { Get-Content -LiteralPath $serveOut -Raw } else { $null }
        if ($text -and $text.EndsWith("`n")) {
            $announced = $text.Trim() | ConvertFrom-Json
        }
        elseif ($serveProcess.HasExited -or (Get-Date) -gt $deadline) {
            throw ('customer-key serve did not start: {0}' -f (Get-Content -LiteralPath $serveErr -Raw -ErrorAction SilentlyContinue))
        }
        else {
            Start-Sleep -Milliseconds 50
        }
    }
    $port = [int] $announced.Port
    $caFile = [string] $announced.CaFile
    $vaultDomain = 'localhost:{0}' -f $port

    # Client credentials for each audience, over HTTPS that trusts only the endpoint's CA.
    $chainPolicy = [System.Security.Cryptography.X509Certificates.X509ChainPolicy]::new()
    $chainPolicy.TrustMode = [System.Security.Cryptography.X509Certificates.X509ChainTrustMode]::CustomRootTrust
    $chainPolicy.RevocationMode = [System.Security.Cryptography.X509Certificates.X509RevocationMode]::NoCheck
    $chainPolicy.CustomTrustStore.ImportFromPemFile($caFile)
    $handler = [System.Net.Http.SocketsHttpHandler]::new()
    $handler.SslOptions.CertificateChainPolicy = $chainPolicy
    $httpClient = [System.Net.Http.HttpClient]::new($handler)
    $issuedTokens = [System.Collections.Generic.List[string]]::new()
    function Get-EndpointToken {
        param([string] $Scope)
        $form = 'grant_type=client_credentials&client_id={0}&client_secret={1}&scope={2}' -f $appId, [uri]::EscapeDataString($principal.ClientSecret), [uri]::EscapeDataString($Scope)
        $content = [System.Net.Http.StringContent]::new($form, [System.Text.Encoding]::UTF8, 'application/x-www-form-urlencoded')
        $response = $httpClient.PostAsync($announced.TokenUrl, $content).GetAwaiter().GetResult()
        $body = $response.Content.ReadAsStringAsync().GetAwaiter().GetResult()
        if (-not $response.IsSuccessStatusCode) {
            throw ('token for {0}: {1} {2}' -f $Scope, [int] $response.StatusCode, $body)
        }
        $token = ($body | ConvertFrom-Json).access_token
        $issuedTokens.Add($token)
        ConvertTo-SecureString -String $token -AsPlainText -Force
    }
    # The admin's connection; -SubscriptionId (or AZURE_SUBSCRIPTION_ID) also makes the
    # workloads' key use checked against their access policies in Azure Resource Manager.
    function Connect-Admin {
        param([hashtable] $Extra = @{})
        Connect-CkService -Path $adminStore -UserPrincipalName 'remote-admin@contoso.com' `
            -Environment AzureCloud -VaultDomain $vaultDomain -CaFile $caFile `
            -AccessToken (Get-EndpointToken -Scope 'https://vault.azure.net/.default') `
            -ManagementEndpoint $vaultDomain -GraphEndpoint ('https://{0}' -f $vaultDomain) `
            -ManagementAccessToken (Get-EndpointToken -Scope 'https://management.azure.com/.default') `
            -GraphAccessToken (Get-EndpointToken -Scope 'https://graph.microsoft.com/.default') @Extra
    }
    $connection = Connect-Admin

    function Get-KeyPrefix {
        param([string] $VaultName, [string] $Name)
        'https://{0}.{1}/keys/{2}/' -f $VaultName, $vaultDomain, $Name
    }

    # The served store's own view of a vault's access policies (read as its admin: reads are anyone's).
    function Get-ServedPolicy {
        param([string] $VaultName)
        @(@(Invoke-ServedCli -Arguments @('Get-KeyVault', '-VaultName', $VaultName))[0].AccessPolicies)
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
}

AfterAll {
    Disconnect-CkService -ErrorAction SilentlyContinue
    Remove-Module -Name CustomerKey -Force -ErrorAction SilentlyContinue
    if ($null -ne (Get-Variable -Name httpClient -ValueOnly -ErrorAction SilentlyContinue)) {
        $httpClient.Dispose()
    }
    $serve = Get-Variable -Name serveProcess -ValueOnly -ErrorAction SilentlyContinue
    if ($null -ne $serve -and -not $serve.HasExited) {
        # SIGTERM: serve finishes the requests in flight and exits 0.
        & kill -TERM $serve.Id
        if (-not $serve.WaitForExit(15000)) {
            $serve.Kill()
            $null = $serve.WaitForExit(5000)
            throw 'customer-key serve did not stop within 15 s of SIGTERM'
        }
        if ($serve.ExitCode -ne 0) {
            throw ('customer-key serve exited {0} on SIGTERM: {1}' -f $serve.ExitCode, (Get-Content -LiteralPath $serveErr -Raw -ErrorAction SilentlyContinue))
        }
    }
    $watchdog = Get-Variable -Name watchdogProcess -ValueOnly -ErrorAction SilentlyContinue
    if ($null -ne $watchdog -and -not $watchdog.WaitForExit(5000)) {
        $watchdog.Kill()
    }
}

Describe 'The endpoint and the remote session' {
    It 'serve listens on loopback and announces its port, CA and token URL' {
        $port | Should -BeGreaterThan 0
        $announced.Url | Should -Be ('https://{{vault}}.localhost:{0}' -f $port)
        $announced.TokenUrl | Should -Be ('https://localhost:{0}/customerkey/oauth2/v2.0/token' -f $port)
        $caFile | Should -Be (Join-Path -Path $servedStore -ChildPath 'serve/ca.pem')
        Test-Path -LiteralPath $caFile | Should -BeTrue
    }

    It 'Connect-CkService opens the admin store on the Azure environment and the vault domain' {
        $connection.Store | Should -Be $adminStore
        $connection.Environment | Should -Be 'AzureCloud'
        $connection.VaultDomain | Should -Be $vaultDomain
        (Get-CkConnection).VaultDomain | Should -Be $vaultDomain
    }

    It 'refuses what the store would do on its own vaults, which Azure does through ARM' {
        { New-CkKeyVault -VaultName 'ck-remote-new' -Location 'westeurope' -ErrorAction Stop } |
            Should -Throw -ErrorId 'NotSupportedRemotely,New-CkKeyVault'
        { Get-CkKeyVault -VaultName $lifeVault -SubscriptionId $subscriptionId -InRemovedState -ErrorAction Stop } |
            Should -Throw -ErrorId 'NotSupportedRemotely,Get-CkKeyVault'
    }
}

Describe 'The key lifecycle on a remote vault' {
    BeforeAll {
        $keyName = 'life-key'
        $prefix = Get-KeyPrefix -VaultName $lifeVault -Name $keyName
        $backupFile = Join-Path -Path $TestDrive -ChildPath 'life-key.keybackup'
        $created = Add-CkKeyVaultKey -VaultName $lifeVault -Name $keyName -Destination Software -Size 3072 -Tag @{ owner = 'alice' }
        $rolled = Add-CkKeyVaultKey -VaultName $lifeVault -Name $keyName -Destination Software
    }

    It 'creates the key in the served vault, its id on the vault domain' {
        $created.PSTypeNames | Should -Contain 'CustomerKey.KeyVaultKey'
        $created.Id | Should -Be ($prefix + $created.Version)
        $created.Version | Should -Match '^[0-9a-f]{32}$'
        $created.KeySize | Should -Be 3072
        $created.Tags['owner'] | Should -Be 'alice'
        $served = @(Invoke-ServedCli -Arguments @('Get-KeyVaultKey', '-VaultName', $lifeVault, '-Name', $keyName, '-Version', $created.Version))
        $served[0].Key.N | Should -Be $created.Key.N
    }

    It 'rolls the key: -IncludeVersions lists both versions, the newest is the roll' {
        $rolled.Version | Should -Not -Be $created.Version
        $rolled.Id | Should -Be ($prefix + $rolled.Version)
        $versions = @(Get-CkKeyVaultKey -VaultName $lifeVault -Name $keyName -IncludeVersions)
        $versions.Count | Should -Be 2
        @($versions.Version | Sort-Object) | Should -Be @(@($created.Version, $rolled.Version) | Sort-Object)
        @($versions | Where-Object { $_.Id -notlike "$prefix*" }).Count | Should -Be 0
        (Get-CkKeyVaultKey -VaultName $lifeVault -Name $keyName).Version | Should -Be $rolled.Version
        (Get-CkKeyVaultKey -VaultName $lifeVault -Name $keyName -Version $created.Version).KeySize | Should -Be 3072
    }

    It 'wraps with the newest version and unwraps to the same bytes' {
        $value = [byte[]]::new(32)
        [System.Security.Cryptography.RandomNumberGenerator]::Fill($value)
        $wrapped = Invoke-CkKeyVaultKeyOperation -VaultName $lifeVault -Name $keyName -Operation Wrap -Algorithm 'RSA-OAEP-256' -ByteArrayValue $value
        $wrapped.KeyId | Should -Be $rolled.Id
        $wrapped.RawResult.Length | Should -Be ($rolled.KeySize / 8)
        $unwrapped = Invoke-CkKeyVaultKeyOperation -VaultName $lifeVault -Name $keyName -Version $rolled.Version -Operation Unwrap -Algorithm 'RSA-OAEP-256' -ByteArrayValue $wrapped.RawResult
        [Convert]::ToBase64String($unwrapped.RawResult) | Should -Be ([Convert]::ToBase64String($value))
    }

    It 'backs the key up to the file given' {
        $written = Backup-CkKeyVaultKey -VaultName $lifeVault -Name $keyName -OutputFile $backupFile
        $written | Should -Be $backupFile
        (Get-Item -LiteralPath $backupFile).Length | Should -BeGreaterThan 0
        # Without -OutputFile: the admin's store's backups folder, named as the vault's blob.
        $default = Backup-CkKeyVaultKey -VaultName $lifeVault -Name $keyName
        $default | Should -BeLike (Join-Path -Path $adminStore -ChildPath 'backups/*.azure.keybackup')
        (Get-Item -LiteralPath $default).Length | Should -BeGreaterThan 0
    }

    It 'soft-deletes the key: gone from Get, listed in the removed state with a purge date' {
        $deleted = Remove-CkKeyVaultKey -VaultName $lifeVault -Name $keyName -Force -PassThru
        $deleted.Name | Should -Be $keyName
        $deleted.ScheduledPurgeDate | Should -Not -BeNullOrEmpty
        { Get-CkKeyVaultKey -VaultName $lifeVault -Name $keyName -ErrorAction Stop } |
            Should -Throw -ErrorId 'KeyNotFound,Get-CkKeyVaultKey'
        @(Get-CkKeyVaultKey -VaultName $lifeVault -InRemovedState).Name | Should -Contain $keyName
    }

    It 'recovers the deleted key with both its versions' {
        $recovered = Undo-CkKeyVaultKeyRemoval -VaultName $lifeVault -Name $keyName
        $recovered.Name | Should -Be $keyName
        @(Get-CkKeyVaultKey -VaultName $lifeVault -Name $keyName -IncludeVersions).Count | Should -Be 2
        @(Get-CkKeyVaultKey -VaultName $lifeVault -InRemovedState).Count | Should -Be 0
    }

    It 'restores the backup once the key is deleted and purged' {
        Remove-CkKeyVaultKey -VaultName $lifeVault -Name $keyName -Force
        Remove-CkKeyVaultKey -VaultName $lifeVault -Name $keyName -InRemovedState -Force
        { Get-CkKeyVaultKey -VaultName $lifeVault -Name $keyName -InRemovedState -ErrorAction Stop } |
            Should -Throw -ErrorId 'KeyNotFound,Get-CkKeyVaultKey'
        $restored = Restore-CkKeyVaultKey -VaultName $lifeVault -InputFile $backupFile
        $restored.Name | Should -Be $keyName
        $restored.Version | Should -Be $rolled.Version
        $restored.Key.N | Should -Be $rolled.Key.N
        @(Get-CkKeyVaultKey -VaultName $lifeVault -Name $keyName -IncludeVersions).Count | Should -Be 2
    }

    It 'refuses to restore over the live key, with the vault''s conflict' {
        { Restore-CkKeyVaultKey -VaultName $lifeVault -InputFile $backupFile -ErrorAction Stop } |
            Should -Throw -ErrorId 'Conflict,Restore-CkKeyVaultKey'
        $Error[0].CategoryInfo.Category | Should -Be 'ResourceExists'
    }
}

Describe 'The vault and its access policies through Resource Manager and Graph' {
    It 'Get-CkKeyVault reads the vault from ARM, by resource group and by listing' {
        $vault = Get-CkKeyVault -VaultName $lifeVault -SubscriptionId $subscriptionId -ResourceGroupName 'customer-key'
        $vault.PSTypeNames | Should -Contain 'CustomerKey.KeyVault'
        $vault.VaultName | Should -Be $lifeVault
        $vault.ResourceId | Should -Be $resourceId
        $vault.Location | Should -Be 'westeurope'
        $vault.VaultUri | Should -Be ('https://{0}.{1}/' -f $lifeVault, $vaultDomain)
        $vault.EnableSoftDelete | Should -BeTrue
        # ARM names policies by object id; Graph gives the name, as Az shows it.
        $mine = @($vault.AccessPolicies | Where-Object { $_.DisplayName -eq ('ck-remote-tests ({0})' -f $appId) })
        $mine.Count | Should -Be 1
        $mine[0].PermissionsToKeys | Should -Contain 'purge'
        (Get-CkKeyVault -VaultName $exoVaults[1] -SubscriptionId $subscriptionId).Location | Should -Be 'northeurope'
        @(Get-CkKeyVault -SubscriptionId $subscriptionId).VaultName | Sort-Object | Should -Be @(@($lifeVault) + $exoVaults | Sort-Object)
    }

    It 'Get-CkKeyVault without a subscription names -SubscriptionId' -Skip:($null -ne $env:AZURE_SUBSCRIPTION_ID) {
        { Get-CkKeyVault -VaultName $lifeVault -ErrorAction Stop } | Should -Throw '*-SubscriptionId*AZURE_SUBSCRIPTION_ID*'
        $Error[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'Set-CkKeyVaultAccessPolicy grants a user looked up in Graph, in the served vault' {
        $shown = Set-CkKeyVaultAccessPolicy -VaultName $lifeVault -SubscriptionId $subscriptionId -UserPrincipalName 'carol@contoso.com' -PermissionsToKeys 'get', 'list' -PassThru
        $carol = @($shown.AccessPolicies | Where-Object { $_.DisplayName -eq 'carol@contoso.com' })
        $carol.Count | Should -Be 1
        @($carol[0].PermissionsToKeys | Sort-Object) | Should -Be @('get', 'list')
        $served = @(Get-ServedPolicy -VaultName $lifeVault | Where-Object { $_.DisplayName -eq 'carol@contoso.com' })
        $served.Count | Should -Be 1
        @($served[0].PermissionsToKeys | Sort-Object) | Should -Be @('get', 'list')
    }

    It 'Set-CkKeyVaultAccessPolicy replaces the principal''s permissions' {
        $null = Set-CkKeyVaultAccessPolicy -VaultName $lifeVault -SubscriptionId $subscriptionId -UserPrincipalName 'carol@contoso.com' -PermissionsToKeys 'wrapKey'
        $served = @(Get-ServedPolicy -VaultName $lifeVault | Where-Object { $_.DisplayName -eq 'carol@contoso.com' })
        @($served[0].PermissionsToKeys) | Should -Be @('wrapKey')
    }

    It 'Remove-CkKeyVaultAccessPolicy removes it, and a second removal finds none' {
        $after = Remove-CkKeyVaultAccessPolicy -VaultName $lifeVault -SubscriptionId $subscriptionId -UserPrincipalName 'carol@contoso.com' -PassThru -Confirm:$false
        @($after.AccessPolicies | Where-Object { $_.DisplayName -eq 'carol@contoso.com' }).Count | Should -Be 0
        @(Get-ServedPolicy -VaultName $lifeVault | Where-Object { $_.DisplayName -eq 'carol@contoso.com' }).Count | Should -Be 0
        { Remove-CkKeyVaultAccessPolicy -VaultName $lifeVault -SubscriptionId $subscriptionId -UserPrincipalName 'carol@contoso.com' -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'AccessPolicyNotFound,Remove-CkKeyVaultAccessPolicy'
        $Error[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }
}

Describe 'An Exchange data encryption policy over two remote keys' {
    BeforeAll {
        $keyIds = foreach ($vault in $exoVaults) {
            $null = Add-CkKeyVaultKey -VaultName $vault -Name 'exo-key' -Destination Software -KeyOps 'wrapKey', 'unwrapKey'
            $null = Set-CkKeyVaultAccessPolicy -VaultName $vault -SubscriptionId $subscriptionId -ServicePrincipalName $exchange -PermissionsToKeys 'get', 'wrapKey', 'unwrapKey'
            'https://{0}.{1}/keys/exo-key' -f $vault, $vaultDomain
        }
    }

    It 'grants Exchange get, wrapKey and unwrapKey on both served vaults' {
        foreach ($vault in $exoVaults) {
            $granted = @(Get-ServedPolicy -VaultName $vault | Where-Object { $_.ApplicationId -eq $exchange })
            $granted.Count | Should -Be 1
            @($granted[0].PermissionsToKeys | Sort-Object) | Should -Be @('get', 'unwrapKey', 'wrapKey')
            $remote = Get-CkKeyVault -VaultName $vault -SubscriptionId $subscriptionId -ResourceGroupName 'customer-key'
            @($remote.AccessPolicies | Where-Object { $_.DisplayName -eq ('Office 365 Exchange Online ({0})' -f $exchange) }).Count | Should -Be 1
        }
    }

    It 'creates the policy over the two remote keys, both usable' {
        $policy = New-CkDataEncryptionPolicy -Name 'EXO-REMOTE' -AzureKeyIDs $keyIds -Description 'Remote keys'
        $policy.PSTypeNames | Should -Contain 'CustomerKey.DataEncryptionPolicy'
        $policy.Name | Should -Be 'EXO-REMOTE'
        @($policy.AzureKeyIDs) | Should -Be $keyIds
        @($policy.KeyHealth).Count | Should -Be 2
        @($policy.KeyHealth | Where-Object { -not $_.Usable }).Count | Should -Be 0
    }

    It 'encrypts a mailbox assigned to it, whose item reads back' {
        $policyId = (Get-CkDataEncryptionPolicy -Identity 'EXO-REMOTE').DataEncryptionPolicyID
        $null = New-CkMailbox -Name 'Ada Lovelace' -Alias 'ada' -PrimarySmtpAddress 'ada@contoso.com' -DataEncryptionPolicy 'EXO-REMOTE'
        $null = Add-CkMailboxItem -Identity 'ada' -Subject 'Q3' -Body 'figures'
        $statistics = Wait-Encrypted -Identity 'ada' -PolicyId $policyId
        $statistics.EncryptionState | Should -Be 'Encrypted'
        $item = @(Get-CkMailboxItem -Identity 'ada')
        $item.Count | Should -Be 1
        $item[0].Subject | Should -Be 'Q3'
        $item[0].Body | Should -Be 'figures'
    }

    It 'rolls a key in the remote vault, and -Refresh -Wait moves the mailbox to the new policy key' {
        $oldId = (Get-CkDataEncryptionPolicy -Identity 'EXO-REMOTE').DataEncryptionPolicyID
        $roll = Add-CkKeyVaultKey -VaultName $exoVaults[0] -Name 'exo-key' -Destination Software -KeyOps 'wrapKey', 'unwrapKey'
        @(Invoke-ServedCli -Arguments @('Get-KeyVaultKey', '-VaultName', $exoVaults[0], '-Name', 'exo-key', '-IncludeVersions')).Count | Should -Be 2
        $refreshed = @(Set-CkDataEncryptionPolicy -Identity 'EXO-REMOTE' -Refresh -Wait)
        $refreshed.Count | Should -Be 1
        $refreshed[0].DataEncryptionPolicyID | Should -Not -Be $oldId
        $refreshed[0].RewrapState | Should -Be 'Done'
        (Get-CkMailboxStatistics -Identity 'ada').DataEncryptionPolicyID | Should -Be $refreshed[0].DataEncryptionPolicyID
        (Get-CkMailboxItem -Identity 'ada').Body | Should -Be 'figures'
        $usage = @((Get-CkDataEncryptionPolicy -Identity 'EXO-REMOTE').KeyHealth | Where-Object { $_.Id -like "*$($exoVaults[0])*" })
        $usage.Count | Should -Be 1
        $usage[0].Id | Should -BeLike ('*{0}*' -f $roll.Version)
    }

    It 'says what removing Exchange''s access would take away, from the admin''s store' {
        $impact = Get-CkKeyVaultChangeImpact -VaultName $exoVaults[0] -ServicePrincipalName $exchange
        $impact.InUse | Should -BeTrue
        $impact.Workload | Should -Be 'Exchange'
        $impact.Impact | Should -Be '1 policy, 1 mailbox'
        (Get-CkKeyVaultChangeImpact -VaultName $exoVaults[1] -Name 'exo-key').InUse | Should -BeTrue
        (Get-CkKeyVaultChangeImpact -VaultName $lifeVault -Name 'life-key').InUse | Should -BeFalse
    }

    It 'refuses -Force alone on a key the policy uses (KeyInUse), and keeps the key' {
        { Remove-CkKeyVaultKey -VaultName $exoVaults[1] -Name 'exo-key' -Force -ErrorAction Stop } |
            Should -Throw -ErrorId 'KeyInUse,Remove-CkKeyVaultKey'
        $Error[0].Exception.Message | Should -BeLike '*EXO-REMOTE*-AcceptDataLoss*'
        (Get-CkKeyVaultKey -VaultName $exoVaults[1] -Name 'exo-key').Name | Should -Be 'exo-key'
        { Update-CkKeyVaultKey -VaultName $exoVaults[0] -Name 'exo-key' -Enable $false -ErrorAction Stop } |
            Should -Throw -ErrorId 'KeyInUse,Update-CkKeyVaultKey'
        (Get-CkKeyVaultKey -VaultName $exoVaults[0] -Name 'exo-key').Enabled | Should -BeTrue
    }

    It 'removes it with -AcceptDataLoss; the mailbox still reads with the other key' {
        Remove-CkKeyVaultKey -VaultName $exoVaults[1] -Name 'exo-key' -AcceptDataLoss -Confirm:$false
        { Get-CkKeyVaultKey -VaultName $exoVaults[1] -Name 'exo-key' -ErrorAction Stop } |
            Should -Throw -ErrorId 'KeyNotFound,Get-CkKeyVaultKey'
        @(Invoke-ServedCli -Arguments @('Get-KeyVaultKey', '-VaultName', $exoVaults[1], '-InRemovedState')).Name | Should -Contain 'exo-key'
        (Get-CkMailboxItem -Identity 'ada').Subject | Should -Be 'Q3'
        $statistics = Get-CkMailboxStatistics -Identity 'ada'
        $statistics.EncryptionState | Should -Be 'OneKeyAvailable'
        @($statistics.KeyHealth | Where-Object { -not $_.Usable }).Id | Should -BeLike "*$($exoVaults[1])*"
    }

    It 'recovering the key makes both keys usable again' {
        $null = Undo-CkKeyVaultKeyRemoval -VaultName $exoVaults[1] -Name 'exo-key'
        (Get-CkMailboxStatistics -Identity 'ada').EncryptionState | Should -Be 'Encrypted'
        @((Get-CkDataEncryptionPolicy -Identity 'EXO-REMOTE').KeyHealth | Where-Object { -not $_.Usable }).Count | Should -Be 0
    }

    # Exchange Online's New-DataEncryptionPolicy, and this engine over its own vaults, refuse a key
    # whose vault gives the Exchange service principal no get, wrapKey and unwrapKey. A remote
    # session that knows its subscription reads that access policy in Azure Resource Manager (a
    # probe with the session's own token would pass where Exchange Online refuses). Last here,
    # so that its reconnection cannot change what the cases above count.
    It 'refuses a policy over a vault where Exchange has no access, as Exchange Online does' {
        $null = Connect-Admin -Extra @{ SubscriptionId = $subscriptionId }
        Remove-CkKeyVaultAccessPolicy -VaultName $exoVaults[1] -SubscriptionId $subscriptionId -ServicePrincipalName $exchange -Confirm:$false
        try {
            @(Get-ServedPolicy -VaultName $exoVaults[1] | Where-Object { $_.ApplicationId -eq $exchange }).Count | Should -Be 0
            { New-CkDataEncryptionPolicy -Name 'EXO-NO-ACCESS' -AzureKeyIDs $keyIds -ErrorAction Stop } |
                Should -Throw -ErrorId 'Forbidden,New-CkDataEncryptionPolicy'
            $Error[0].Exception.Message | Should -BeLike "*$($exoVaults[1])*$exchange*get, wrapKey and unwrapKey*"
            { Get-CkDataEncryptionPolicy -Identity 'EXO-NO-ACCESS' -ErrorAction Stop } | Should -Throw
        }
        finally {
            $null = Set-CkKeyVaultAccessPolicy -VaultName $exoVaults[1] -SubscriptionId $subscriptionId -ServicePrincipalName $exchange -PermissionsToKeys 'get', 'wrapKey', 'unwrapKey'
        }
        # With the access back, the same policy is made: the refusal was the policy's doing.
        (New-CkDataEncryptionPolicy -Name 'EXO-ACCESS-BACK' -AzureKeyIDs $keyIds).Name | Should -Be 'EXO-ACCESS-BACK'
    }
}

Describe 'What the admin''s side keeps' {
    It 'shows no token in the connection, the errors met, or any file of the admin''s store' {
        # Three scopes for each of the two connections (the second with -SubscriptionId).
        $issuedTokens.Count | Should -Be 6
        $seen = @(
            (Get-CkConnection | Format-List -Property * | Out-String)
            ($Error | ForEach-Object { $_ | Format-List -Property * -Force | Out-String })
            (Get-ChildItem -LiteralPath $adminStore -Recurse -File | ForEach-Object { [System.Text.Encoding]::Latin1.GetString([System.IO.File]::ReadAllBytes($_.FullName)) })
        ) -join "`n"
        $seen | Should -Match 'created version [0-9a-f]{32} in Azure' -Because 'the audit rows of the remote calls are read too'
        foreach ($token in $issuedTokens) {
            $seen.Contains($token) | Should -BeFalse
        }
    }
}
