#Requires -Version 7.2
# Pester 5: which CustomerKey objects bind into Microsoft's Customer Key cmdlets by pipeline, and
# which Microsoft objects bind into ours. Microsoft's modules cannot be installed here, so
# Support/MicrosoftCmdlets.ps1 declares stand-ins with the real parameter blocks that only record
# what they were given. Each pipeline runs under a ParameterBinding trace, which names every
# parameter PowerShell bound from the pipeline and whether by value or by property name.
# Cases tagged KnownGap assert what ours should do where Microsoft's own cmdlet accepts the input
# and ours does not yet; the test command runs them apart and lists them (they fail until fixed).
# The results are summed up in Support/pipeline-table.md. Run from the repository root:
#   CK_NO_BUILD=1 bash tests/powershell/run.sh tests/powershell/MicrosoftPipelines.Tests.ps1

BeforeDiscovery {
    Set-StrictMode -Version Latest
    # Prompting for a missing mandatory parameter cannot be answered in an interactive run.
    $nonInteractive = [Environment]::GetCommandLineArgs() -contains '-NonInteractive'

    # How each binding reads in a test name.
    function Format-Expectation {
        param([hashtable] $Binds, [string] $ParameterSet, [string] $Refusal)
        if ($Refusal) { return "does not bind ($Refusal)" }
        $parts = foreach ($name in $Binds.Keys | Sort-Object) { '{0} {1}' -f $name, $Binds[$name] }
        $text = 'binds ' + ($parts -join ', ')
        if ($ParameterSet) { $text += " (set $ParameterSet)" }
        $text
    }

    $spn = '00000002-0000-0ff1-ce00-000000000000'
    $oursIntoTheirs = @(
        # Az.KeyVault's key cmdlets take a key only as -InputObject by value, typed
        # PSKeyVaultKeyIdentityItem: PowerShell cannot build one from our key, whose RecoverableDays,
        # Key, KeyType, KeySize and Attributes do not exist on that class.
        @{ Source = 'Get-CkKeyVaultKey'; Command = 'Remove-AzKeyVaultKey'; Arguments = @{}; Refusal = 'InputObjectNotBound' }
        @{ Source = 'Get-CkKeyVaultKey'; Command = 'Backup-AzKeyVaultKey'; Arguments = @{}; Refusal = 'InputObjectNotBound' }
        # Reduced to VaultName and Name, both with public setters there, the key converts and binds.
        @{ Source = 'Get-CkKeyVaultKey | Select-Object VaultName, Name'; Command = 'Remove-AzKeyVaultKey'; Arguments = @{}; Binds = @{ InputObject = 'ByValue' }; ParameterSet = 'ByInputObject'; Arrives = 'MicrosoftStandIn.PSKeyVaultKeyIdentityItem' }
        @{ Source = 'Get-CkKeyVaultKey | Select-Object VaultName, Name'; Command = 'Backup-AzKeyVaultKey'; Arguments = @{}; Binds = @{ InputObject = 'ByValue' }; ParameterSet = 'ByKey'; Arrives = 'MicrosoftStandIn.PSKeyVaultKeyIdentityItem' }
        # Get-AzKeyVaultKey takes a vault (PSKeyVault) by value; with nothing bound its sets stay ambiguous.
        @{ Source = 'Get-CkKeyVaultKey'; Command = 'Get-AzKeyVaultKey'; Arguments = @{}; Refusal = 'AmbiguousParameterSet' }
        # Our vault cannot become a PSKeyVault either (VaultUri, TenantId, Sku... have private
        # setters there), but it has ResourceId, which the ResourceId sets take by property name.
        @{ Source = 'Get-CkKeyVault'; Command = 'Get-AzKeyVaultKey'; Arguments = @{}; Binds = @{ ResourceId = 'ByPropertyName' }; ParameterSet = 'ByResourceIdVaultName' }
        @{ Source = 'Get-CkKeyVault'; Command = 'Add-AzKeyVaultKey'; Arguments = @{ Name = 'new-key'; Destination = 'Software' }; Binds = @{ ResourceId = 'ByPropertyName' }; ParameterSet = 'ResourceIdCreate' }
        @{ Source = 'Get-CkKeyVault'; Command = 'Restore-AzKeyVaultKey'; Arguments = @{ InputFile = 'pipe-key.keybackup' }; Binds = @{ ResourceId = 'ByPropertyName' }; ParameterSet = 'ByResourceId' }
        @{ Source = 'Get-CkKeyVault'; Command = 'Set-AzKeyVaultAccessPolicy'; Arguments = @{ ServicePrincipalName = $spn; PermissionsToKeys = 'get', 'wrapKey', 'unwrapKey' }; Binds = @{ ResourceId = 'ByPropertyName' }; ParameterSet = 'ResourceIdByServicePrincipalName' }
        @{ Source = 'Get-CkKeyVault'; Command = 'Remove-AzKeyVaultAccessPolicy'; Arguments = @{ ServicePrincipalName = $spn }; Binds = @{ ResourceId = 'ByPropertyName' }; ParameterSet = 'ResourceIdByServicePrincipalName' }
        # Get-AzKeyVault's ByDeletedVault set has mandatory VaultName and Location that take pipeline
        # input, so with pipeline input PowerShell prefers it and then misses -InRemovedState; naming a
        # GetVaultByName-only parameter pins the set. Microsoft's own PSKeyVault meets the same.
        @{ Source = 'Get-CkKeyVault'; Command = 'Get-AzKeyVault'; Arguments = @{}; Refusal = 'MissingMandatoryParameter'; Prompts = $true }
        @{ Source = 'Get-CkKeyVault'; Command = 'Get-AzKeyVault'; Arguments = @{ ResourceGroupName = 'customer-key' }; Binds = @{ VaultName = 'ByPropertyName' }; ParameterSet = 'GetVaultByName' }
        @{ Source = 'Get-CkKeyVaultKey'; Command = 'Get-AzKeyVault'; Arguments = @{ ResourceGroupName = 'customer-key' }; Binds = @{ VaultName = 'ByPropertyName' }; ParameterSet = 'GetVaultByName' }
        # The backup path is a plain string; -InputFile takes no pipeline input, so the set misses it.
        @{ Source = 'Backup-CkKeyVaultKey'; Command = 'Restore-AzKeyVaultKey'; Arguments = @{ VaultName = 'ck-pipe-weu2' }; Refusal = 'MissingMandatoryParameter'; Prompts = $true }
        # Exchange Online's proxies type Identity [object] and take it by value first: the whole object.
        @{ Source = 'Get-CkMailbox'; Command = 'Get-Mailbox'; Arguments = @{}; Binds = @{ Identity = 'ByValue' }; ParameterSet = 'Identity' }
        @{ Source = 'Get-CkMailbox'; Command = 'Get-MailboxStatistics'; Arguments = @{}; Binds = @{ Identity = 'ByValue' }; ParameterSet = 'Identity' }
        @{ Source = 'Get-CkMailboxStatistics'; Command = 'Get-MailboxStatistics'; Arguments = @{}; Binds = @{ Identity = 'ByValue' }; ParameterSet = 'Identity' }
        @{ Source = 'Get-CkDataEncryptionPolicy'; Command = 'Get-DataEncryptionPolicy'; Arguments = @{}; Binds = @{ Identity = 'ByValue' }; ParameterSet = '__AllParameterSets' }
        @{ Source = 'Get-CkDataEncryptionPolicy'; Command = 'Set-DataEncryptionPolicy'; Arguments = @{ Refresh = $true }; Binds = @{ Identity = 'ByValue' }; ParameterSet = 'RefreshKey' }
        # SharePoint Online's policy cmdlets take no pipeline input at all.
        @{ Source = 'Get-CkSPODataEncryptionPolicy'; Command = 'Get-SPODataEncryptionPolicy'; Arguments = @{}; Refusal = 'InputObjectNotBound' }
        @{ Source = 'Get-CkSPODataEncryptionPolicy'; Command = 'Update-SPODataEncryptionPolicy'; Arguments = @{ KeyType = 'Primary'; KeyVaultUri = 'https://ck-pipe-weu.vault.azure.net/keys/pipe-key/0' }; Refusal = 'InputObjectNotBound' }
    ) | ForEach-Object {
        $case = $_
        if (-not $case.ContainsKey('Binds')) { $case.Binds = @{} }
        if (-not $case.ContainsKey('ParameterSet')) { $case.ParameterSet = '' }
        if (-not $case.ContainsKey('Refusal')) { $case.Refusal = '' }
        if (-not $case.ContainsKey('Arrives')) { $case.Arrives = 'CustomerKey.*' }
        $case.Skip = [bool] $case['Prompts'] -and -not $nonInteractive
        $case.Pipeline = '{0} | {1}' -f $case.Source, $case.Command
        $case.Expectation = Format-Expectation -Binds $case.Binds -ParameterSet $case.ParameterSet -Refusal $case.Refusal
        $case
    }

    # Microsoft objects (Source names a maker in BeforeAll) into our cmdlets; Check names what proves
    # the cmdlet worked on the right object.
    $theirsIntoOurs = @(
        # PowerShell binds within the default set (ByVaultName) when it can, so Version is left out
        # and the newest version comes back, not the one piped. Get-AzKeyVaultKey takes no key at all.
        @{ Source = 'PSKeyVaultKey'; Command = 'Get-CkKeyVaultKey'; Arguments = @{}; Binds = @{ VaultName = 'ByPropertyName'; Name = 'ByPropertyName' }; Check = 'NewestVersion' }
        @{ Source = 'PSKeyVaultKeyIdentityItem'; Command = 'Remove-CkKeyVaultKey'; Arguments = @{ WhatIf = $true }; Binds = @{ VaultName = 'ByPropertyName'; Name = 'ByPropertyName' }; Check = 'KeyStillThere' }
        @{ Source = 'PSKeyVaultKeyIdentityItem'; Command = 'Backup-CkKeyVaultKey'; Arguments = @{ OutputFile = 'from-identity-item.keybackup' }; Binds = @{ VaultName = 'ByPropertyName'; Name = 'ByPropertyName' }; Check = 'BackupWritten' }
        @{ Source = 'PSKeyVault'; Command = 'Get-CkKeyVaultKey'; Arguments = @{}; Binds = @{ VaultName = 'ByPropertyName' }; Check = 'KeysOfVault' }
        @{ Source = 'PSKeyVault'; Command = 'Get-CkKeyVault'; Arguments = @{}; Binds = @{ VaultName = 'ByPropertyName' }; Check = 'SameVault' }
        @{ Source = 'PSKeyVault'; Command = 'Add-CkKeyVaultKey'; Arguments = @{ Name = 'added-by-pipeline'; Destination = 'Software' }; Binds = @{ VaultName = 'ByPropertyName' }; Check = 'KeyAdded' }
        @{ Source = 'PSKeyVault'; Command = 'Set-CkKeyVaultAccessPolicy'; Arguments = @{ ServicePrincipalName = $spn; PermissionsToKeys = 'get', 'wrapKey', 'unwrapKey'; PassThru = $true }; Binds = @{ VaultName = 'ByPropertyName'; ResourceId = 'ByPropertyName' }; Check = 'PolicySet' }
        @{ Source = 'PSKeyVault'; Command = 'Remove-CkKeyVaultAccessPolicy'; Arguments = @{ ServicePrincipalName = $spn; WhatIf = $true }; Binds = @{ VaultName = 'ByPropertyName'; ResourceId = 'ByPropertyName' }; Check = 'PolicyKept' }
        @{ Source = 'PSKeyVaultSecondWeu'; Command = 'Restore-CkKeyVaultKey'; Arguments = @{ InputFile = 'pipe-key.keybackup' }; Binds = @{ VaultName = 'ByPropertyName' }; Check = 'KeyRestored' }
        @{ Source = 'Mailbox'; Command = 'Get-CkMailbox'; Arguments = @{}; Binds = @{ Identity = 'ByPropertyName' }; Check = 'SameMailbox' }
        @{ Source = 'Mailbox'; Command = 'Get-CkMailboxStatistics'; Arguments = @{}; Binds = @{ Identity = 'ByPropertyName' }; Check = 'StatisticsOfMailbox' }
        @{ Source = 'Mailbox'; Command = 'Set-CkMailbox'; Arguments = @{ DataEncryptionPolicy = 'PIPE-DEP' }; Binds = @{ Identity = 'ByPropertyName' }; Check = 'PolicyAssigned' }
        @{ Source = 'MailboxStatistics'; Command = 'Get-CkMailboxStatistics'; Arguments = @{}; Binds = @{ Identity = 'ByPropertyName' }; Check = 'StatisticsOfMailbox' }
        @{ Source = 'DataEncryptionPolicy'; Command = 'Get-CkDataEncryptionPolicy'; Arguments = @{}; Binds = @{ Identity = 'ByPropertyName' }; Check = 'SamePolicy' }
        @{ Source = 'DataEncryptionPolicy'; Command = 'Set-CkDataEncryptionPolicy'; Arguments = @{ Description = 'set through the pipeline' }; Binds = @{ Identity = 'ByPropertyName' }; Check = 'PolicyDescribed' }
        # Neither Microsoft's SharePoint cmdlets nor ours take pipeline input.
        @{ Source = 'SPODataEncryptionPolicy'; Command = 'Get-CkSPODataEncryptionPolicy'; Arguments = @{}; Refusal = 'InputObjectNotBound'; Check = 'SharePointUnchanged' }
        @{ Source = 'SPODataEncryptionPolicy'; Command = 'Update-CkSPODataEncryptionPolicy'; Arguments = @{ KeyType = 'Primary'; KeyVaultUri = 'https://ck-pipe-weu.vault.azure.net/keys/pipe-key/0'; WhatIf = $true }; Refusal = 'InputObjectNotBound'; Check = 'SharePointUnchanged' }
    ) | ForEach-Object {
        $case = $_
        if (-not $case.ContainsKey('Binds')) { $case.Binds = @{} }
        if (-not $case.ContainsKey('Refusal')) { $case.Refusal = '' }
        $case.Pipeline = '{0} | {1}' -f $case.Source, $case.Command
        $case.Expectation = Format-Expectation -Binds $case.Binds -Refusal $case.Refusal
        $case
    }

    # Where Microsoft's cmdlet accepts the input and ours should too. Mirror names the Microsoft
    # cmdlet (stand-in) that shows the binding a Microsoft script relies on.
    $mirroredBindings = @(
        # Exchange's Identity takes identities by value: Get-Content users.txt | Get-MailboxStatistics.
        @{ Source = 'IdentityString'; Mirror = 'Get-Mailbox'; MirrorArguments = @{}; Command = 'Get-CkMailbox'; Arguments = @{}; Binds = @{ Identity = 'ByValue' }; Check = 'SameMailbox' }
        @{ Source = 'IdentityString'; Mirror = 'Get-MailboxStatistics'; MirrorArguments = @{}; Command = 'Get-CkMailboxStatistics'; Arguments = @{}; Binds = @{ Identity = 'ByValue' }; Check = 'StatisticsOfMailbox' }
        @{ Source = 'PolicyName'; Mirror = 'Get-DataEncryptionPolicy'; MirrorArguments = @{}; Command = 'Get-CkDataEncryptionPolicy'; Arguments = @{}; Binds = @{ Identity = 'ByValue' }; Check = 'SamePolicy' }
        @{ Source = 'PolicyName'; Mirror = 'Set-DataEncryptionPolicy'; MirrorArguments = @{ Description = 'set from a name' }; Command = 'Set-CkDataEncryptionPolicy'; Arguments = @{ Description = 'set from a name' }; Binds = @{ Identity = 'ByValue' }; Check = 'PolicyDescribedByName' }
        # Az.KeyVault's ResourceId sets take a vault's resource ID by property name, as Get-AzResource gives it.
        # Open: Get-AzResource's Name (the vault's) binds to our -Name, which takes a key's name by
        # property name in the default set since 0.1.0, so the ResourceId set never gets the
        # object. Get-AzKeyVaultKey's -Name does not bind from the pipeline. Work-around, in the
        # README: Get-AzResource ... | ForEach-Object { Get-CkKeyVaultKey -ResourceId $_.ResourceId }.
        @{ Open = $true; Source = 'AzResource'; Mirror = 'Get-AzKeyVaultKey'; MirrorArguments = @{}; Command = 'Get-CkKeyVaultKey'; Arguments = @{}; Binds = @{ ResourceId = 'ByPropertyName' }; Check = 'KeysOfVault' }
        @{ Source = 'AzResource'; Mirror = 'Add-AzKeyVaultKey'; MirrorArguments = @{ Name = 'gap-key'; Destination = 'Software' }; Command = 'Add-CkKeyVaultKey'; Arguments = @{ Name = 'gap-key'; Destination = 'Software' }; Binds = @{ ResourceId = 'ByPropertyName' }; Check = 'GapKeyAdded' }
        @{ Source = 'AzResource'; Mirror = 'Set-AzKeyVaultAccessPolicy'; MirrorArguments = @{ ServicePrincipalName = $spn; PermissionsToKeys = 'get' }; Command = 'Set-CkKeyVaultAccessPolicy'; Arguments = @{ ServicePrincipalName = $spn; PermissionsToKeys = 'get', 'wrapKey', 'unwrapKey'; PassThru = $true }; Binds = @{ ResourceId = 'ByPropertyName' }; Check = 'PolicySet' }
        @{ Source = 'AzResource'; Mirror = 'Remove-AzKeyVaultAccessPolicy'; MirrorArguments = @{ ServicePrincipalName = $spn }; Command = 'Remove-CkKeyVaultAccessPolicy'; Arguments = @{ ServicePrincipalName = $spn; WhatIf = $true }; Binds = @{ ResourceId = 'ByPropertyName' }; Check = 'PolicyKept' }
        @{ Source = 'AzResourceSecondWeu'; Mirror = 'Restore-AzKeyVaultKey'; MirrorArguments = @{ InputFile = 'gap.keybackup' }; Command = 'Restore-CkKeyVaultKey'; Arguments = @{ InputFile = 'gap.keybackup' }; Binds = @{ ResourceId = 'ByPropertyName' }; Check = 'GapKeyRestored' }
    ) | ForEach-Object {
        $case = $_
        if (-not $case.ContainsKey('Open')) { $case.Open = $false }
        $case.Pipeline = '{0} | {1}' -f $case.Source, $case.Command
        $case
    }
}

BeforeAll {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    Import-Module -Name (Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey/CustomerKey.psd1') -Force -ErrorAction Stop
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Support/MicrosoftCmdlets.ps1')

    $storePath = Join-Path -Path $TestDrive -ChildPath 'pipelines-store'
    $null = New-Item -ItemType Directory -Path $storePath -Force
    $null = Connect-CkService -Path $storePath -UserPrincipalName 'admin@contoso.com'

    $exchange = '00000002-0000-0ff1-ce00-000000000000'
    $sharePoint = '00000003-0000-0ff1-ce00-000000000000'
    $keyName = 'pipe-key'
    $vaults = [ordered]@{}
    $keys = @{}
    foreach ($vault in @(@('ck-pipe-weu', 'westeurope'), @('ck-pipe-neu', 'northeurope'), @('ck-pipe-weu2', 'westeurope'), @('ck-pipe-weu3', 'westeurope'))) {
        $vaults[$vault[0]] = New-CkKeyVault -VaultName $vault[0] -Location $vault[1] -EnablePurgeProtection
        foreach ($principal in $exchange, $sharePoint) {
            $null = Set-CkKeyVaultAccessPolicy -VaultName $vault[0] -ServicePrincipalName $principal -PermissionsToKeys 'get', 'wrapKey', 'unwrapKey'
        }
    }
    foreach ($vaultName in 'ck-pipe-weu', 'ck-pipe-neu') {
        $keys[$vaultName] = Add-CkKeyVaultKey -VaultName $vaultName -Name $keyName -Destination Software -KeyOps 'wrapKey', 'unwrapKey'
    }
    $keyWeu = $keys['ck-pipe-weu']
    $rolledOld = Add-CkKeyVaultKey -VaultName 'ck-pipe-weu' -Name 'rolled-key' -Destination Software
    $rolledNew = Add-CkKeyVaultKey -VaultName 'ck-pipe-weu' -Name 'rolled-key' -Destination Software
    $backupFile = Backup-CkKeyVaultKey -VaultName 'ck-pipe-weu' -Name $keyName -OutputFile (Join-Path -Path $TestDrive -ChildPath 'pipe-key.keybackup')
    $null = Copy-Item -Path $backupFile -Destination (Join-Path -Path $TestDrive -ChildPath 'gap.keybackup')

    $policy = New-CkDataEncryptionPolicy -Name 'PIPE-DEP' -AzureKeyIDs $keyWeu.Id, $keys['ck-pipe-neu'].Id -Description 'Pipelines'
    $mailbox = New-CkMailbox -Name 'Ada Lovelace' -Alias 'ada' -PrimarySmtpAddress 'ada@contoso.com'
    $siteUrl = 'https://contoso.sharepoint.com/sites/pipelines'
    $null = New-CkSPOSite -Url $siteUrl -Title 'Pipelines'
    $null = Register-CkSPODataEncryptionPolicy -PrimaryKeyVaultUri $keyWeu.Id -SecondaryKeyVaultUri $keys['ck-pipe-neu'].Id -Wait

    # Our objects, fetched anew for each case.
    $ourSources = @{
        'Get-CkKeyVaultKey'             = { Get-CkKeyVaultKey -VaultName 'ck-pipe-weu' -Name $keyName }
        'Get-CkKeyVault'                = { Get-CkKeyVault -VaultName 'ck-pipe-weu' }
        'Get-CkKeyVaultKey | Select-Object VaultName, Name' = { Get-CkKeyVaultKey -VaultName 'ck-pipe-weu' -Name $keyName | Select-Object -Property VaultName, Name }
        'Backup-CkKeyVaultKey'          = { Backup-CkKeyVaultKey -VaultName 'ck-pipe-weu' -Name $keyName -OutputFile (Join-Path -Path $TestDrive -ChildPath 'again.keybackup') -Force }
        'Get-CkMailbox'                 = { Get-CkMailbox -Identity 'ada' }
        'Get-CkMailboxStatistics'       = { Get-CkMailboxStatistics -Identity 'ada' }
        'Get-CkDataEncryptionPolicy'    = { Get-CkDataEncryptionPolicy -Identity 'PIPE-DEP' }
        'Get-CkSPODataEncryptionPolicy' = { Get-CkSPODataEncryptionPolicy }
    }

    # Objects with the properties Microsoft's cmdlets return, describing what the store holds.
    function New-AzKeyProperties {
        param([string] $TypeName, [object] $Key)
        [ordered]@{
            PSTypeName = "Microsoft.Azure.Commands.KeyVault.Models.$TypeName"
            VaultName = $Key.VaultName; Name = $Key.Name; Version = $Key.Version; Id = $Key.Id; Enabled = $true
            Expires = $null; NotBefore = $null; Created = $Key.Created; Updated = $Key.Updated
            RecoveryLevel = 'Recoverable+Purgeable'; Tags = @{}; TagsTable = $null; IsHsm = $false; HsmPlatform = $null
        }
    }
    function New-AzVaultObject {
        param([string] $VaultName, [string] $Location)
        [pscustomobject]@{
            PSTypeName = 'Microsoft.Azure.Commands.KeyVault.Models.PSKeyVault'
            VaultName = $VaultName; ResourceGroupName = 'rg-customer-key'; Location = $Location
            ResourceId = "/subscriptions/2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d/resourceGroups/rg-customer-key/providers/Microsoft.KeyVault/vaults/$VaultName"
            Tags = @{}; TagsTable = $null; VaultUri = "https://$VaultName.vault.azure.net/"; TenantId = [guid]::NewGuid(); TenantName = 'Contoso'
            Sku = 'Standard'; EnabledForDeployment = $false; EnabledForTemplateDeployment = $false; EnabledForDiskEncryption = $false
            EnableSoftDelete = $true; EnablePurgeProtection = $true; EnableRbacAuthorization = $false; SoftDeleteRetentionInDays = 90
            AccessPolicies = @(); AccessPoliciesText = ''; NetworkAcls = $null; NetworkAclsText = ''; OriginalVault = $null; PublicNetworkAccess = 'Enabled'
        }
    }
    # Get-AzResource output: no VaultName, only the resource's Name and ResourceId.
    function New-AzResourceObject {
        param([string] $VaultName)
        [pscustomobject]@{
            PSTypeName = 'Microsoft.Azure.Commands.ResourceManager.Cmdlets.SdkModels.PSResource'
            Name = $VaultName; ResourceGroupName = 'customer-key'; ResourceType = 'Microsoft.KeyVault/vaults'; Location = 'westeurope'
            ResourceId = (Get-CkKeyVault -VaultName $VaultName).ResourceId; Tags = @{}
        }
    }
    $theirSources = @{
        PSKeyVaultKey             = {
            $key = New-AzKeyProperties -TypeName 'PSKeyVaultKey' -Key $rolledOld
            $key.Key = [pscustomobject]@{ Kid = $rolledOld.Id; Kty = 'RSA' }
            $key.KeyType = 'RSA'; $key.KeySize = 2048; $key.CurveName = $null; $key.Attributes = $null; $key.ReleasePolicy = $null
            [pscustomobject]$key
        }
        # Get-AzKeyVaultKey -VaultName lists identity items of the newest versions, without Version.
        PSKeyVaultKeyIdentityItem = {
            $item = New-AzKeyProperties -TypeName 'PSKeyVaultKeyIdentityItem' -Key $keyWeu
            $item.Version = $null
            $item.Id = "https://ck-pipe-weu.vault.azure.net/keys/$keyName"
            [pscustomobject]$item
        }
        PSKeyVault                = { New-AzVaultObject -VaultName 'ck-pipe-weu' -Location 'westeurope' }
        PSKeyVaultSecondWeu       = { New-AzVaultObject -VaultName 'ck-pipe-weu2' -Location 'westeurope' }
        AzResource                = { New-AzResourceObject -VaultName 'ck-pipe-weu' }
        AzResourceSecondWeu       = { New-AzResourceObject -VaultName 'ck-pipe-weu3' }
        # In Exchange Online a mailbox's Identity reads as its Name.
        Mailbox                   = {
            [pscustomobject]@{
                PSTypeName = 'Deserialized.Microsoft.Exchange.Data.Directory.Management.Mailbox'
                Identity = 'Ada Lovelace'; Name = 'Ada Lovelace'; DisplayName = 'Ada Lovelace'; Alias = 'ada'
                PrimarySmtpAddress = 'ada@contoso.com'; UserPrincipalName = 'ada@contoso.onmicrosoft.com'
                Guid = $mailbox.Guid; ExchangeGuid = [guid]::NewGuid(); ExternalDirectoryObjectId = [guid]::NewGuid().ToString()
                RecipientTypeDetails = 'UserMailbox'; DataEncryptionPolicy = $null; DistinguishedName = 'CN=Ada Lovelace,OU=contoso.onmicrosoft.com'
            }
        }
        # Exchange's MailboxStatistics.Identity is a MailboxId, taken here to read as the mailbox GUID.
        MailboxStatistics         = {
            [pscustomobject]@{
                PSTypeName = 'Deserialized.Microsoft.Exchange.Management.MapiTasks.Presentation.MailboxStatistics'
                Identity = $mailbox.Guid.ToString(); DisplayName = 'Ada Lovelace'; MailboxGuid = $mailbox.Guid; ItemCount = 0
                TotalItemSize = '0 B (0 bytes)'; LastLogonTime = $null; IsEncrypted = $false; DataEncryptionPolicyID = $null
            }
        }
        DataEncryptionPolicy      = {
            [pscustomobject]@{
                PSTypeName = 'Deserialized.Microsoft.Exchange.Data.Directory.SystemConfiguration.DataEncryptionPolicy'
                Identity = 'PIPE-DEP'; Name = 'PIPE-DEP'; Description = 'Pipelines'; Enabled = $true; AzureKeyIDs = @($keyWeu.Id, $keys['ck-pipe-neu'].Id)
                Guid = $policy.Guid; PermanentDataPurgeRequested = $false; PermanentDataPurgeReason = $null; PermanentDataPurgeContact = $null
                WhenCreated = (Get-Date); WhenChanged = (Get-Date)
            }
        }
        # Microsoft documents the primary and secondary key URIs and the geo's state.
        SPODataEncryptionPolicy   = {
            [pscustomobject]@{
                PSTypeName = 'Microsoft.Online.SharePoint.TenantAdministration.SPODataEncryptionPolicy'
                PrimaryKeyVaultUri = $keyWeu.Id; SecondaryKeyVaultUri = $keys['ck-pipe-neu'].Id; State = 'Registered'
            }
        }
        IdentityString            = { 'ada@contoso.com' }
        PolicyName                = { 'PIPE-DEP' }
    }

    # What proves our cmdlet acted on the object the Microsoft one described.
    $checks = @{
        NewestVersion         = { param($Output) @($Output).Count | Should -Be 1; $Output.Version | Should -Be $rolledNew.Version; $Output.Version | Should -Not -Be $rolledOld.Version }
        KeyStillThere         = { param($Output) (Get-CkKeyVaultKey -VaultName 'ck-pipe-weu' -Name $keyName).Enabled | Should -BeTrue }
        BackupWritten         = { param($Output) $Output | Should -Be (Join-Path -Path $TestDrive -ChildPath 'from-identity-item.keybackup'); Test-Path -Path $Output | Should -BeTrue }
        KeysOfVault           = { param($Output) @($Output).Count | Should -BeGreaterThan 0; @($Output | Where-Object VaultName -NE 'ck-pipe-weu').Count | Should -Be 0; @($Output).Name | Should -Contain $keyName }
        SameVault             = { param($Output) @($Output).Count | Should -Be 1; $Output.VaultName | Should -Be 'ck-pipe-weu' }
        KeyAdded              = { param($Output) $Output.VaultName | Should -Be 'ck-pipe-weu'; (Get-CkKeyVaultKey -VaultName 'ck-pipe-weu' -Name 'added-by-pipeline').Name | Should -Be 'added-by-pipeline' }
        GapKeyAdded           = { param($Output) (Get-CkKeyVaultKey -VaultName 'ck-pipe-weu' -Name 'gap-key').Name | Should -Be 'gap-key' }
        PolicySet             = { param($Output) $Output.VaultName | Should -Be 'ck-pipe-weu'; @($Output.AccessPolicies).Count | Should -BeGreaterThan 1 }
        PolicyKept            = { param($Output) (Get-CkDataEncryptionPolicy -Identity 'PIPE-DEP').KeyHealth.Usable | Should -Not -Contain $false }
        KeyRestored           = { param($Output) $Output.VaultName | Should -Be 'ck-pipe-weu2'; (Get-CkKeyVaultKey -VaultName 'ck-pipe-weu2' -Name $keyName).Version | Should -Be $keyWeu.Version }
        GapKeyRestored        = { param($Output) (Get-CkKeyVaultKey -VaultName 'ck-pipe-weu3' -Name $keyName).Version | Should -Be $keyWeu.Version }
        SameMailbox           = { param($Output) @($Output).Count | Should -Be 1; $Output.Guid | Should -Be $mailbox.Guid }
        StatisticsOfMailbox   = { param($Output) @($Output).Count | Should -Be 1; $Output.MailboxGuid | Should -Be $mailbox.Guid; $Output.DisplayName | Should -Be 'Ada Lovelace' }
        PolicyAssigned        = { param($Output) (Get-CkMailbox -Identity 'ada').DataEncryptionPolicy | Should -Be 'PIPE-DEP' }
        SamePolicy            = { param($Output) @($Output).Count | Should -Be 1; $Output.Guid | Should -Be $policy.Guid }
        PolicyDescribed       = { param($Output) (Get-CkDataEncryptionPolicy -Identity 'PIPE-DEP').Description | Should -Be 'set through the pipeline' }
        PolicyDescribedByName = { param($Output) (Get-CkDataEncryptionPolicy -Identity 'PIPE-DEP').Description | Should -Be 'set from a name' }
        SharePointUnchanged   = { param($Output) $Output | Should -BeNullOrEmpty; (Get-CkSPODataEncryptionPolicy).PrimaryKeyVaultUri | Should -Be $keyWeu.Id }
    }

    # Relative file names in arguments are files under $TestDrive.
    function Resolve-Arguments {
        param([hashtable] $Arguments)
        $resolved = @{}
        foreach ($name in $Arguments.Keys) {
            $value = $Arguments[$name]
            if ($name -in 'InputFile', 'OutputFile') { $value = Join-Path -Path $TestDrive -ChildPath $value }
            $resolved[$name] = $value
        }
        $resolved
    }

    # Runs Source | Command under a ParameterBinding trace. Returns what came out, the errors, the
    # stand-ins' records and, per parameter bound from the pipeline, ByValue or ByPropertyName.
    function Invoke-TracedPipeline {
        param([scriptblock] $Source, [string] $Command, [hashtable] $Arguments)
        [MicrosoftStandIn.CallLog]::Calls.Clear()
        $traceFile = Join-Path -Path $TestDrive -ChildPath ('binding-{0}.log' -f [guid]::NewGuid().ToString('N'))
        $records = [System.Collections.Generic.List[object]]::new()
        $splat = Resolve-Arguments -Arguments $Arguments
        try {
            Trace-Command -Name ParameterBinding -FilePath $traceFile -Expression {
                & { & $Source | & $Command @splat } 2>&1 | ForEach-Object { $records.Add($_) }
            }
        }
        catch {
            $records.Add($_)
        }
        # The trace indents by call depth (the upstream command is still running when the
        # downstream one binds), so a pipeline-binding block ends at its header's indentation.
        $binding = [ordered]@{}
        $blockIndent = -1
        $mode = ''
        foreach ($line in Get-Content -Path $traceFile) {
            $text = $line -replace '^ParameterBinding Information: \d+ : ', ''
            $indent = $text.Length - $text.TrimStart().Length
            if ($blockIndent -ge 0 -and $indent -le $blockIndent) { $blockIndent = -1 }
            if ($text.Trim() -eq "BIND PIPELINE object to parameters: [$Command]") {
                $blockIndent = $indent
            }
            elseif ($blockIndent -ge 0 -and $text -match 'Parameter \[(\w+)\] PIPELINE INPUT (ValueFromPipeline\w*)') {
                $mode = if ($Matches[2] -eq 'ValueFromPipeline') { 'ByValue' } else { 'ByPropertyName' }
            }
            elseif ($blockIndent -ge 0 -and $text -match 'to param \[(\w+)\] SUCCESSFUL$') {
                $binding[$Matches[1]] = $mode
            }
        }
        [pscustomobject]@{
            Output  = @($records | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] })
            Errors  = @($records | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
            Binding = $binding
            Calls   = @([MicrosoftStandIn.CallLog]::Calls)
        }
    }

    function Assert-Binding {
        param([System.Collections.IDictionary] $Actual, [hashtable] $Expected)
        $actualText = ($Actual.Keys | Sort-Object | ForEach-Object { '{0}={1}' -f $_, $Actual[$_] }) -join ', '
        $expectedText = ($Expected.Keys | Sort-Object | ForEach-Object { '{0}={1}' -f $_, $Expected[$_] }) -join ', '
        $actualText | Should -Be $expectedText
    }

    function Assert-Refusal {
        param([object] $Result, [string] $ErrorId)
        $Result.Binding.Count | Should -Be 0
        $Result.Calls.Count | Should -Be 0
        @($Result.Errors).Count | Should -BeGreaterThan 0
        $Result.Errors[0].FullyQualifiedErrorId | Should -BeLike "$ErrorId,*"
    }

    # Microsoft's cmdlet binds the input as Binds says, and ours takes the same input and acts on
    # the right object (Check).
    function Assert-MirroredBinding {
        param([string] $Source, [string] $Mirror, [hashtable] $MirrorArguments, [string] $Command, [hashtable] $Arguments, [hashtable] $Binds, [string] $Check)
        # PowerShell's names are case-insensitive: $Mirror (the cmdlet) is not the run's result.
        $microsoftRun = Invoke-TracedPipeline -Source $theirSources[$Source] -Command $Mirror -Arguments $MirrorArguments
        $microsoftRun.Errors | Should -BeNullOrEmpty
        Assert-Binding -Actual $microsoftRun.Binding -Expected $Binds
        $ourRun = Invoke-TracedPipeline -Source $theirSources[$Source] -Command $Command -Arguments $Arguments
        $ourRun.Errors | Should -BeNullOrEmpty
        & $checks[$Check] $ourRun.Output
    }
}

AfterAll {
    Disconnect-CkService
    Remove-Module -Name CustomerKey -Force -ErrorAction SilentlyContinue
}

Describe 'CustomerKey objects piped into Microsoft cmdlets' {
    It '<Pipeline> <Expectation>' -ForEach $oursIntoTheirs {
        if ($Skip) {
            Set-ItResult -Skipped -Because 'an interactive host would prompt for the missing parameter'
            return
        }
        $result = Invoke-TracedPipeline -Source $ourSources[$Source] -Command $Command -Arguments $Arguments
        if ($Refusal) {
            Assert-Refusal -Result $result -ErrorId $Refusal
            return
        }
        $result.Errors | Should -BeNullOrEmpty
        Assert-Binding -Actual $result.Binding -Expected $Binds
        $result.Calls.Count | Should -Be 1
        $call = $result.Calls[0]
        $call.ParameterSet | Should -Be $ParameterSet
        foreach ($name in $Binds.Keys) {
            $value = $call.Bound[$name]
            if ($Binds[$name] -eq 'ByValue') {
                # Exchange's [object] Identity receives the whole CustomerKey object; a typed
                # InputObject receives what PowerShell converted it into.
                $value.PSObject.TypeNames[0] | Should -BeLike $Arrives
                if ($Arrives -like 'MicrosoftStandIn.*') { $value.VaultName | Should -Be 'ck-pipe-weu' }
            }
            else {
                $value | Should -BeOfType [string]
                $value | Should -Not -BeNullOrEmpty
            }
        }
    }
}

Describe 'Microsoft objects piped into CustomerKey cmdlets' {
    It '<Pipeline> <Expectation>' -ForEach $theirsIntoOurs {
        $result = Invoke-TracedPipeline -Source $theirSources[$Source] -Command $Command -Arguments $Arguments
        if ($Refusal) {
            Assert-Refusal -Result $result -ErrorId $Refusal
        }
        else {
            $result.Errors | Should -BeNullOrEmpty
            Assert-Binding -Actual $result.Binding -Expected $Binds
        }
        & $checks[$Check] $result.Output
    }
}

Describe 'Microsoft input that Microsoft cmdlets accept and ours should' {
    It '<Pipeline> binds as <Mirror> does' -ForEach @($mirroredBindings | Where-Object { -not $_.Open }) {
        Assert-MirroredBinding -Source $Source -Mirror $Mirror -MirrorArguments $MirrorArguments -Command $Command -Arguments $Arguments -Binds $Binds -Check $Check
    }

    It '<Pipeline> binds as <Mirror> does' -ForEach @($mirroredBindings | Where-Object { $_.Open }) -Tag 'KnownGap' {
        Assert-MirroredBinding -Source $Source -Mirror $Mirror -MirrorArguments $MirrorArguments -Command $Command -Arguments $Arguments -Binds $Binds -Check $Check
    }
}
