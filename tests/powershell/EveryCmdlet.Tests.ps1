#Requires -Version 7.2
# Pester 5 tests: every exported cmdlet runs for real once in each of its parameter sets, against a
# fresh store under $TestDrive. Run from the repository root:
#   CK_NO_BUILD=1 bash tests/powershell/run.sh tests/powershell/EveryCmdlet.Tests.ps1
# The cases are built at discovery from Get-Command -Module CustomerKey and each command's
# ParameterSets, and looked up in $cmdletTable by 'Verb-Noun/SetName'. A pair with no entry fails
# its case, and an entry that names no pair fails too: a new cmdlet or set cannot go untested.
# An entry:
#   Arrange   makes what the run needs (destructive cmdlets get objects made for them) and returns
#             the splat; -ErrorAction Stop (and -Confirm:$false where the cmdlet has it) is added.
#   Type      the PSTypeName (or .NET type) of every output object; 'None' when nothing is emitted.
#   Assert    optional, param($Result, $Arguments): what the run changed or returned.
#   Store     optional: run in a fresh store of this name (once-per-tenant operations).
#   KnownGap  optional: why the module cannot run this set yet (tagged KnownGap, not run).
# Each case also checks the set PowerShell bound: a command breakpoint's action reads
# $PSCmdlet.ParameterSetName from the cmdlet's own call stack frame while it runs.

BeforeDiscovery {
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    Import-Module -Name (Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey/CustomerKey.psd1') -Force -ErrorAction Stop

    $cmdletTable = @{
        # Session
        'Connect-CkService/__AllParameterSets'                  = @{
            Type = 'CustomerKey.Connection'
            Arrange = { @{ Path = $storePath; UserPrincipalName = 'admin@contoso.com' } }
            Assert = { param($Result) (Get-CkKeyVault -VaultName $vault).VaultName | Should -Be $vault }
        }
        'Disconnect-CkService/__AllParameterSets'               = @{
            Type = 'None'; Arrange = { @{} }
            Assert = { Get-CkConnection | Should -BeNullOrEmpty }
        }
        'Get-CkConnection/__AllParameterSets'                   = @{
            Type = 'CustomerKey.Connection'; Arrange = { @{} }
            Assert = { param($Result) $Result[0].Store | Should -Not -BeNullOrEmpty }
        }

        # Key vaults
        'New-CkKeyVault/__AllParameterSets'                     = @{
            Type = 'CustomerKey.KeyVault'
            Arrange = { @{ VaultName = 'ck-every-new'; Location = 'westeurope'; Sku = 'Premium'; SoftDeleteRetentionInDays = 30; EnablePurgeProtection = $true; Tag = @{ team = 'pester' } } }
            Assert = { param($Result) $Result[0].SoftDeleteRetentionInDays | Should -Be 30 }
        }
        'Get-CkKeyVault/__AllParameterSets'                     = @{
            Type = 'CustomerKey.KeyVault'; Arrange = { @{ VaultName = $vault } }
            Assert = { param($Result) $Result[0].VaultName | Should -Be $vault }
        }
        'Remove-CkKeyVault/__AllParameterSets'                  = @{
            Type = 'None'
            Arrange = { $null = New-CkKeyVault -VaultName 'ck-every-remove' -Location 'westeurope'; @{ VaultName = 'ck-every-remove'; Force = $true } }
            Assert = { (Get-CkKeyVault -VaultName 'ck-every-remove' -InRemovedState).PSTypeNames[0] | Should -Be 'CustomerKey.DeletedKeyVault' }
        }
        'Undo-CkKeyVaultRemoval/__AllParameterSets'             = @{
            Type = 'CustomerKey.KeyVault'; Arrange = {
                $null = New-CkKeyVault -VaultName 'ck-every-undo' -Location 'westeurope'
                Remove-CkKeyVault -VaultName 'ck-every-undo' -Force
                @{ VaultName = 'ck-every-undo' }
            }
            Assert = { (Get-CkKeyVault -VaultName 'ck-every-undo').VaultName | Should -Be 'ck-every-undo' }
        }
        'Set-CkKeyVault/__AllParameterSets'                     = @{
            Type = 'None'
            Arrange = { $null = New-CkKeyVault -VaultName 'ck-every-reach' -Location 'westeurope'; @{ VaultName = 'ck-every-reach'; Unreachable = $false } }
        }
        'Update-CkKeyVault/__AllParameterSets'                  = @{
            Type = 'CustomerKey.KeyVault'
            Arrange = { $null = New-CkKeyVault -VaultName 'ck-every-update' -Location 'westeurope'; @{ VaultName = 'ck-every-update'; EnableRbacAuthorization = $true } }
            Assert = { param($Result) $Result[0].EnableRbacAuthorization | Should -BeTrue }
        }
        'New-CkRoleAssignment/__AllParameterSets'               = @{
            Type = 'CustomerKey.RoleAssignment'
            Arrange = { @{ ApplicationId = '00000002-0000-0ff1-ce00-000000000000'; RoleDefinitionName = 'Key Vault Crypto Service Encryption User'; Scope = (Get-CkKeyVault -VaultName $vault).ResourceId } }
            Assert = { param($Result) $Result[0].DisplayName | Should -Be 'Office 365 Exchange Online' }
        }
        'Get-CkRoleAssignment/__AllParameterSets'               = @{
            Type = 'CustomerKey.RoleAssignment'
            Arrange = {
                $scope = (Get-CkKeyVault -VaultName $vault).ResourceId
                if (-not (Get-CkRoleAssignment -Scope $scope -SignInName 'reader@contoso.com')) {
                    $null = New-CkRoleAssignment -SignInName 'reader@contoso.com' -RoleDefinitionName 'Key Vault Reader' -Scope $scope
                }
                @{ Scope = $scope; SignInName = 'reader@contoso.com' }
            }
            Assert = { param($Result) $Result[0].RoleDefinitionName | Should -Be 'Key Vault Reader' }
        }
        'Remove-CkRoleAssignment/__AllParameterSets'            = @{
            Type = 'CustomerKey.RoleAssignment'
            Arrange = {
                $scope = (Get-CkKeyVault -VaultName $vault).ResourceId
                $null = New-CkRoleAssignment -SignInName 'gone@contoso.com' -RoleDefinitionName 'Key Vault Crypto User' -Scope $scope
                @{ Scope = $scope; SignInName = 'gone@contoso.com'; RoleDefinitionName = 'Key Vault Crypto User' }
            }
            Assert = { param($Result) @(Get-CkRoleAssignment -SignInName 'gone@contoso.com').Count | Should -Be 0 }
        }
        'Set-CkKeyVaultAccessPolicy/ByUserPrincipalName'        = @{
            Type = 'CustomerKey.KeyVault'
            Arrange = { @{ VaultName = $vault; UserPrincipalName = 'ops@contoso.com'; PermissionsToKeys = @('get', 'list'); PassThru = $true } }
            Assert = { param($Result) Get-KeyPermission -Vault $Result[0] -Principal 'ops@contoso.com' | Should -Be 'get,list' }
        }
        'Set-CkKeyVaultAccessPolicy/ByObjectId'                 = @{
            Type = 'CustomerKey.KeyVault'
            Arrange = { @{ VaultName = $vault; ObjectId = $objectId; PermissionsToKeys = @('get'); PassThru = $true } }
            Assert = { param($Result) Get-KeyPermission -Vault $Result[0] -Principal $objectId | Should -Be 'get' }
        }
        'Set-CkKeyVaultAccessPolicy/ByServicePrincipalName'     = @{
            Type = 'CustomerKey.KeyVault'
            Arrange = { @{ VaultName = $vault; ServicePrincipalName = $exchange; PermissionsToKeys = @('get', 'wrapKey', 'unwrapKey'); PassThru = $true } }
            Assert = { param($Result) Get-KeyPermission -Vault $Result[0] -Principal $exchange | Should -Be 'get,unwrapKey,wrapKey' }
        }
        'Remove-CkKeyVaultAccessPolicy/ByUserPrincipalName'     = @{
            Type = 'CustomerKey.KeyVault'; Arrange = {
                $null = Set-CkKeyVaultAccessPolicy -VaultName $vault -UserPrincipalName 'leaver@contoso.com' -PermissionsToKeys get
                @{ VaultName = $vault; UserPrincipalName = 'leaver@contoso.com'; PassThru = $true }
            }
            Assert = { param($Result) Get-KeyPermission -Vault $Result[0] -Principal 'leaver@contoso.com' | Should -BeNullOrEmpty }
        }
        'Remove-CkKeyVaultAccessPolicy/ByObjectId'              = @{
            Type = 'CustomerKey.KeyVault'; Arrange = {
                $null = Set-CkKeyVaultAccessPolicy -VaultName $vault -ObjectId $removedObjectId -PermissionsToKeys get
                @{ VaultName = $vault; ObjectId = $removedObjectId; PassThru = $true }
            }
            Assert = { param($Result) Get-KeyPermission -Vault $Result[0] -Principal $removedObjectId | Should -BeNullOrEmpty }
        }
        'Remove-CkKeyVaultAccessPolicy/ByServicePrincipalName'  = @{
            Type = 'CustomerKey.KeyVault'; Arrange = {
                $null = Set-CkKeyVaultAccessPolicy -VaultName $vault -ServicePrincipalName $sharePoint -PermissionsToKeys get
                @{ VaultName = $vault; ServicePrincipalName = $sharePoint; PassThru = $true }
            }
            Assert = { param($Result) Get-KeyPermission -Vault $Result[0] -Principal $sharePoint | Should -BeNullOrEmpty }
        }

        # Keys
        'Add-CkKeyVaultKey/InteractiveCreate'                   = @{
            Type = 'CustomerKey.KeyVaultKey'
            Arrange = { @{ VaultName = $vault; Name = 'created-key'; Destination = 'Software'; Size = 3072; KeyType = 'RSA'; KeyOps = @('sign', 'verify'); Expires = (Get-Date).AddYears(1); Tag = @{ team = 'pester' } } }
            Assert = { param($Result) $Result[0].Tags['team'] | Should -Be 'pester' }
        }
        'Add-CkKeyVaultKey/InteractiveImport'                   = @{
            Type = 'CustomerKey.KeyVaultKey'; Arrange = {
                $rsa = [System.Security.Cryptography.RSA]::Create(2048)
                $pbe = [System.Security.Cryptography.PbeParameters]::new('Aes256Cbc', 'SHA256', 100000)
                $keyFile = Join-Path -Path $TestDrive -ChildPath 'imported.p8.pem'
                Set-Content -LiteralPath $keyFile -Value $rsa.ExportEncryptedPkcs8PrivateKeyPem('key file password', $pbe)
                $script:importedModulus = [System.Convert]::ToBase64String($rsa.ExportParameters($false).Modulus)
                @{ VaultName = $vault; Name = 'imported-key'; KeyFilePath = $keyFile; KeyFilePassword = (ConvertTo-SecureString -String 'key file password' -AsPlainText -Force) }
            }
            Assert = { param($Result) $Result[0].Name | Should -Be 'imported-key' }
        }
        'Get-CkKeyVaultKey/ByVaultName'                         = @{
            Type = 'CustomerKey.KeyVaultKey'; Arrange = { @{ VaultName = $vault; Name = 'general-key' } }
            Assert = { param($Result) $Result[0].Version | Should -Be $generalKey.Version }
        }
        'Get-CkKeyVaultKey/ByKeyVersions'                       = @{
            Type = 'CustomerKey.KeyVaultKey'; Arrange = { @{ VaultName = $vault; Name = 'general-key'; IncludeVersions = $true } }
            Assert = { param($Result) $Result.Count | Should -Be 1 }
        }
        'Get-CkKeyVaultKey/ByKeyVersion'                        = @{
            Type = 'CustomerKey.KeyVaultKey'; Arrange = { @{ VaultName = $vault; Name = 'general-key'; Version = $generalKey.Version } }
            Assert = { param($Result) $Result[0].Id | Should -Be $generalKey.Id }
        }
        'Update-CkKeyVaultKey/__AllParameterSets'               = @{
            Type = 'CustomerKey.KeyVaultKey'
            Arrange = { $null = Add-CkKeyVaultKey -VaultName $vault -Name 'update-key' -Destination Software; @{ VaultName = $vault; Name = 'update-key'; Enable = $false; Tag = @{ state = 'retired' }; PassThru = $true } }
            Assert = { param($Result) $Result[0].Enabled | Should -BeFalse }
        }
        'Remove-CkKeyVaultKey/__AllParameterSets'               = @{
            Type = 'CustomerKey.DeletedKeyVaultKey'
            Arrange = { $null = Add-CkKeyVaultKey -VaultName $vault -Name 'remove-key' -Destination Software; @{ VaultName = $vault; Name = 'remove-key'; Force = $true; PassThru = $true } }
            Assert = { (Get-CkKeyVaultKey -VaultName $vault -Name 'remove-key' -InRemovedState).Name | Should -Be 'remove-key' }
        }
        'Undo-CkKeyVaultKeyRemoval/__AllParameterSets'          = @{
            Type = 'CustomerKey.KeyVaultKey'; Arrange = {
                $null = Add-CkKeyVaultKey -VaultName $vault -Name 'undo-key' -Destination Software
                Remove-CkKeyVaultKey -VaultName $vault -Name 'undo-key' -Force
                @{ VaultName = $vault; Name = 'undo-key' }
            }
            Assert = { (Get-CkKeyVaultKey -VaultName $vault -Name 'undo-key').Name | Should -Be 'undo-key' }
        }
        'Backup-CkKeyVaultKey/__AllParameterSets'               = @{
            Type = 'System.String'
            Arrange = { @{ VaultName = $vault; Name = 'general-key'; OutputFile = (Join-Path -Path $TestDrive -ChildPath 'general.keybackup') } }
            Assert = { param($Result) Test-Path -LiteralPath $Result[0] -PathType Leaf | Should -BeTrue }
        }
        'Restore-CkKeyVaultKey/ByVaultName'                     = @{
            Type = 'CustomerKey.KeyVaultKey'; Arrange = {
                $null = Add-CkKeyVaultKey -VaultName $vault -Name 'restore-key' -Destination Software
                $backup = Backup-CkKeyVaultKey -VaultName $vault -Name 'restore-key' -OutputFile (Join-Path -Path $TestDrive -ChildPath 'restore.keybackup')
                $null = New-CkKeyVault -VaultName 'ck-every-restore' -Location 'northeurope'
                @{ VaultName = 'ck-every-restore'; InputFile = $backup }
            }
            Assert = { param($Result) $Result[0].VaultName | Should -Be 'ck-every-restore' }
        }
        'Invoke-CkKeyVaultKeyOperation/__AllParameterSets'      = @{
            Type = 'CustomerKey.KeyOperationResult'
            Arrange = { @{ VaultName = $vault; Name = 'general-key'; Operation = 'Wrap'; Algorithm = 'RSA-OAEP-256'; ByteArrayValue = [byte[]](1..32); Version = $generalKey.Version } }
            Assert = { param($Result) $Result[0].RawResult.Length | Should -BeGreaterThan 32 }
        }
        'Invoke-CkKeyVaultKeySignature/__AllParameterSets'      = @{
            Type = 'CustomerKey.KeySignatureResult'
            Arrange = { @{ VaultName = $vault; Name = 'general-key'; Operation = 'Sign'; Algorithm = 'RS256'; Digest = [System.Security.Cryptography.SHA256]::HashData([byte[]](1..8)) } }
            Assert = { param($Result) $Result[0].Signature | Should -Not -BeNullOrEmpty }
        }
        'Get-CkKeyVaultKeyUsage/__AllParameterSets'             = @{
            Type = 'CustomerKey.KeyVaultKeyUsage'; Arrange = { @{ VaultName = $exoVaults[0]; Name = 'key' } }
            Assert = { param($Result) @($Result | Where-Object { $_.InUse }).Count | Should -BeGreaterThan 0 }
        }
        'Get-CkKeyVaultChangeImpact/ByVaultName'                = @{
            Type = 'CustomerKey.KeyVaultChangeImpact'; Arrange = { @{ VaultName = $exoVaults[0]; Name = 'key' } }
            Assert = { param($Result) $Result[0].InUse | Should -BeTrue }
        }
        'Test-CkCustomerKeySetup/ByWorkload'                    = @{
            Type = 'CustomerKey.SetupCheck'; Arrange = { @{ Workload = 'Exchange'; AzureKeyIDs = $exoKeyIds; DataLocation = 'EUR' } }
            Assert = { param($Result) $Result[-1].Check | Should -Be 'Summary'; @($Result | Where-Object Check -EQ 'ServicePrincipalAccess').Status | Should -Be @('Pass', 'Pass') }
        }
        'Test-CkCustomerKeySetup/ByPolicy'                      = @{
            Type = 'CustomerKey.SetupCheck'; Arrange = { @{ DataEncryptionPolicy = 'EVERY-DEP' } }
            Assert = { param($Result) $Result[-1].Target | Should -Be "Exchange policy 'EVERY-DEP'" }
        }

        # Az.KeyVault's ResourceId sets: the vault named by its Azure resource ID.
        'Set-CkKeyVaultAccessPolicy/ResourceIdByUserPrincipalName' = @{
            Type = 'CustomerKey.KeyVault'
            Arrange = { @{ ResourceId = (Get-VaultResourceId -Name $vault); UserPrincipalName = 'rid-ops@contoso.com'; PermissionsToKeys = @('get'); PassThru = $true } }
            Assert = { param($Result) Get-KeyPermission -Vault $Result[0] -Principal 'rid-ops@contoso.com' | Should -Be 'get' }
        }
        'Set-CkKeyVaultAccessPolicy/ResourceIdByObjectId'       = @{
            Type = 'CustomerKey.KeyVault'
            Arrange = { @{ ResourceId = (Get-VaultResourceId -Name $vault); ObjectId = $objectId; PermissionsToKeys = @('get', 'list'); PassThru = $true } }
            Assert = { param($Result) Get-KeyPermission -Vault $Result[0] -Principal $objectId | Should -Be 'get,list' }
        }
        'Set-CkKeyVaultAccessPolicy/ResourceIdByServicePrincipalName' = @{
            Type = 'CustomerKey.KeyVault'
            Arrange = { @{ ResourceId = (Get-VaultResourceId -Name $vault); ServicePrincipalName = $exchange; PermissionsToKeys = @('get', 'wrapKey', 'unwrapKey'); PassThru = $true } }
            Assert = { param($Result) Get-KeyPermission -Vault $Result[0] -Principal $exchange | Should -Be 'get,unwrapKey,wrapKey' }
        }
        'Remove-CkKeyVaultAccessPolicy/ResourceIdByUserPrincipalName' = @{
            Type = 'CustomerKey.KeyVault'; Arrange = {
                $null = Set-CkKeyVaultAccessPolicy -VaultName $vault -UserPrincipalName 'rid-leaver@contoso.com' -PermissionsToKeys get
                @{ ResourceId = (Get-VaultResourceId -Name $vault); UserPrincipalName = 'rid-leaver@contoso.com'; PassThru = $true }
            }
            Assert = { param($Result) Get-KeyPermission -Vault $Result[0] -Principal 'rid-leaver@contoso.com' | Should -BeNullOrEmpty }
        }
        'Remove-CkKeyVaultAccessPolicy/ResourceIdByObjectId'    = @{
            Type = 'CustomerKey.KeyVault'; Arrange = {
                $null = Set-CkKeyVaultAccessPolicy -VaultName $vault -ObjectId $removedObjectId -PermissionsToKeys get
                @{ ResourceId = (Get-VaultResourceId -Name $vault); ObjectId = $removedObjectId; PassThru = $true }
            }
            Assert = { param($Result) Get-KeyPermission -Vault $Result[0] -Principal $removedObjectId | Should -BeNullOrEmpty }
        }
        'Remove-CkKeyVaultAccessPolicy/ResourceIdByServicePrincipalName' = @{
            Type = 'CustomerKey.KeyVault'; Arrange = {
                $null = Set-CkKeyVaultAccessPolicy -VaultName $vault -ServicePrincipalName $sharePoint -PermissionsToKeys get
                @{ ResourceId = (Get-VaultResourceId -Name $vault); ServicePrincipalName = $sharePoint; PassThru = $true }
            }
            Assert = { param($Result) Get-KeyPermission -Vault $Result[0] -Principal $sharePoint | Should -BeNullOrEmpty }
        }
        'Add-CkKeyVaultKey/ResourceIdCreate'                    = @{
            Type = 'CustomerKey.KeyVaultKey'
            Arrange = { @{ ResourceId = (Get-VaultResourceId -Name $vault); Name = 'rid-created-key'; Destination = 'Software'; Size = 2048 } }
            Assert = { param($Result) $Result[0].VaultName | Should -Be $vault }
        }
        'Add-CkKeyVaultKey/ResourceIdImport'                    = @{
            Type = 'CustomerKey.KeyVaultKey'; Arrange = {
                $rsa = [System.Security.Cryptography.RSA]::Create(2048)
                $keyFile = Join-Path -Path $TestDrive -ChildPath 'rid-imported.p8.pem'
                Set-Content -LiteralPath $keyFile -Value $rsa.ExportPkcs8PrivateKeyPem()
                @{ ResourceId = (Get-VaultResourceId -Name $vault); Name = 'rid-imported-key'; KeyFilePath = $keyFile }
            }
            Assert = { param($Result) $Result[0].Name | Should -Be 'rid-imported-key' }
        }
        'Get-CkKeyVaultKey/ByResourceIdVaultName'               = @{
            Type = 'CustomerKey.KeyVaultKey'; Arrange = { @{ ResourceId = (Get-VaultResourceId -Name $vault); Name = 'general-key' } }
            Assert = { param($Result) $Result[0].Version | Should -Be $generalKey.Version }
        }
        'Get-CkKeyVaultKey/ByResourceIdKeyVersions'             = @{
            Type = 'CustomerKey.KeyVaultKey'; Arrange = { @{ ResourceId = (Get-VaultResourceId -Name $vault); Name = 'general-key'; IncludeVersions = $true } }
            Assert = { param($Result) $Result.Count | Should -Be 1 }
        }
        'Get-CkKeyVaultKey/ByResourceIdKeyVersion'              = @{
            Type = 'CustomerKey.KeyVaultKey'; Arrange = { @{ ResourceId = (Get-VaultResourceId -Name $vault); Name = 'general-key'; Version = $generalKey.Version } }
            Assert = { param($Result) $Result[0].Id | Should -Be $generalKey.Id }
        }
        'Restore-CkKeyVaultKey/ByResourceId'                    = @{
            Type = 'CustomerKey.KeyVaultKey'; Arrange = {
                $null = Add-CkKeyVaultKey -VaultName $vault -Name 'rid-restore-key' -Destination Software
                $backup = Backup-CkKeyVaultKey -VaultName $vault -Name 'rid-restore-key' -OutputFile (Join-Path -Path $TestDrive -ChildPath 'rid-restore.keybackup')
                $null = New-CkKeyVault -VaultName 'ck-every-rid-restore' -Location 'northeurope'
                @{ ResourceId = (Get-VaultResourceId -Name 'ck-every-rid-restore'); InputFile = $backup }
            }
            Assert = { param($Result) $Result[0].VaultName | Should -Be 'ck-every-rid-restore' }
        }
        'Get-CkKeyVaultChangeImpact/ByResourceId'               = @{
            Type = 'CustomerKey.KeyVaultChangeImpact'; Arrange = { @{ ResourceId = (Get-VaultResourceId -Name $exoVaults[0]); Name = 'key' } }
            Assert = { param($Result) $Result[0].InUse | Should -BeTrue }
        }

        # Directory
        'New-CkServicePrincipal/__AllParameterSets'             = @{
            Type = 'CustomerKey.ServicePrincipal'; Arrange = { @{ DisplayName = 'every-new'; EndDate = (Get-Date).AddDays(30) } }
            Assert = { param($Result) $Result[0].ApplicationId | Should -Not -BeNullOrEmpty }
        }
        'Get-CkServicePrincipal/__AllParameterSets'             = @{
            Type = 'CustomerKey.ServicePrincipal'; Arrange = { @{ DisplayName = 'every-automation' } }
            Assert = { param($Result) $Result[0].ApplicationId | Should -Be $automation.ApplicationId }
        }
        'Remove-CkServicePrincipal/__AllParameterSets'          = @{
            Type = 'None'
            Arrange = { @{ ApplicationId = (New-CkServicePrincipal -DisplayName 'every-remove').ApplicationId } }
            Assert = { param($Result, $Arguments) Get-CkServicePrincipal -DisplayName 'every-remove' | Should -BeNullOrEmpty }
        }

        # Azure Information Protection
        'Get-CkAipServiceKeys/__AllParameterSets'               = @{
            Type = 'CustomerKey.AipServiceKey'; Arrange = { @{} }
            Assert = { param($Result) @($Result | Where-Object { $_.Status -eq 'Active' }).Count | Should -Be 1 }
        }
        'Get-CkAipServiceTenantKeyLifecycle/__AllParameterSets' = @{
            Type = 'CustomerKey.AipServiceTenantKeyLifecycle'; Arrange = { @{} }
            Assert = { param($Result) $Result[0].Operations | Should -Not -BeNullOrEmpty }
        }
        'Use-CkAipServiceKeyVaultKey/__AllParameterSets'        = @{
            Type = 'CustomerKey.AipServiceKey'
            Arrange = { @{ KeyVaultKeyUrl = (Add-CkKeyVaultKey -VaultName $aipVault -Name 'aip-use' -Destination Software).Id; FriendlyName = 'every BYOK' } }
            Assert = { param($Result) $Result[0].Status | Should -Be 'Archived' }
        }
        'Set-CkAipServiceKeyProperties/__AllParameterSets'      = @{
            Type = 'CustomerKey.AipServiceKey'; Arrange = {
                $url = (Add-CkKeyVaultKey -VaultName $aipVault -Name 'aip-active' -Destination Software).Id
                @{ KeyIdentifier = (Use-CkAipServiceKeyVaultKey -KeyVaultKeyUrl $url).KeyIdentifier; Active = $true; Force = $true }
            }
            Assert = { param($Result) $Result[0].Status | Should -Be 'Active' }
        }
        'Export-CkAipServiceTpd/__AllParameterSets'             = @{
            Type = 'CustomerKey.AipServiceTpdExport'
            Arrange = { @{ OutputFile = (Join-Path -Path $TestDrive -ChildPath 'every.tpd'); ProtectionPassword = $password; KeyIdentifier = $microsoftManagedKey.KeyIdentifier; Force = $true } }
            Assert = { param($Result) @($Result[0].KeyIdentifiers) | Should -Be @($microsoftManagedKey.KeyIdentifier) }
        }
        'Import-CkAipServiceTpd/__AllParameterSets'             = @{
            Type = 'CustomerKey.AipServiceKey'; Arrange = {
                # A TPD exported from another tenant (store), imported into the main one.
                $null = Connect-CkService -Path (New-Item -ItemType Directory -Path (Join-Path -Path $TestDrive -ChildPath 'aip-source')).FullName
                $tpd = Join-Path -Path $TestDrive -ChildPath 'source.tpd'
                $null = Export-CkAipServiceTpd -OutputFile $tpd -ProtectionPassword $password
                Connect-MainStore
                @{ TpdFile = $tpd; ProtectionPassword = $password; FriendlyName = 'from the old tenant' }
            }
            Assert = { param($Result) $Result[0].FriendlyName | Should -Be 'from the old tenant' }
        }
        'Protect-CkAipContent/ByValue'                          = @{
            Type = 'CustomerKey.AipProtectedContent'
            Arrange = { @{ Value = 'by value'; OutputFile = (Join-Path -Path $TestDrive -ChildPath 'value.ckaip') } }
            Assert = { param($Result, $Arguments) (Unprotect-CkAipContent -InputFile $Arguments.OutputFile).Value | Should -Be 'by value' }
        }
        'Protect-CkAipContent/ByPath'                           = @{
            Type = 'CustomerKey.AipProtectedContent'; Arrange = {
                $plain = Join-Path -Path $TestDrive -ChildPath 'plain.txt'
                Set-Content -LiteralPath $plain -Value 'by path' -NoNewline
                @{ Path = $plain; OutputFile = (Join-Path -Path $TestDrive -ChildPath 'path.ckaip'); Force = $true }
            }
            Assert = { param($Result, $Arguments) Test-Path -LiteralPath $Arguments.OutputFile | Should -BeTrue }
        }
        'Unprotect-CkAipContent/__AllParameterSets'             = @{
            Type = 'CustomerKey.AipUnprotectedContent'; Arrange = {
                $protected = Join-Path -Path $TestDrive -ChildPath 'unprotect.ckaip'
                $null = Protect-CkAipContent -Value 'opened again' -OutputFile $protected
                @{ InputFile = $protected }
            }
            Assert = { param($Result) $Result[0].Value | Should -Be 'opened again' }
        }

        # SharePoint
        'New-CkSPOSite/__AllParameterSets'                      = @{
            Type = 'CustomerKey.SPOSite'; Arrange = { @{ Url = 'https://contoso.sharepoint.com/sites/every-new'; Title = 'New'; Owner = 'admin@contoso.com' } }
            Assert = { param($Result) $Result[0].Url | Should -Be 'https://contoso.sharepoint.com/sites/every-new' }
        }
        'Get-CkSPOSite/__AllParameterSets'                      = @{
            Type = 'CustomerKey.SPOSite'; Arrange = { @{ Identity = $siteUrl } }
            Assert = { param($Result) $Result[0].Url | Should -Be $siteUrl }
        }
        'Add-CkSPOFile/ByValue'                                 = @{
            Type = 'CustomerKey.SPOFile'; Arrange = { @{ Site = $siteUrl; Name = 'value.txt'; Value = 'by value' } }
            Assert = { (Get-CkSPOFile -Site $siteUrl -Name 'value.txt').Value | Should -Be 'by value' }
        }
        'Add-CkSPOFile/ByPath'                                  = @{
            Type = 'CustomerKey.SPOFile'; Arrange = {
                $local = Join-Path -Path $TestDrive -ChildPath 'upload.txt'
                Set-Content -LiteralPath $local -Value 'by path' -NoNewline
                @{ Site = $siteUrl; Name = 'path.txt'; Path = $local }
            }
            Assert = { (Get-CkSPOFile -Site $siteUrl -Name 'path.txt').Value | Should -Be 'by path' }
        }
        'Get-CkSPOFile/__AllParameterSets'                      = @{
            Type = 'CustomerKey.SPOFile'; Arrange = { @{ Site = $siteUrl; Name = 'figures.txt' } }
            Assert = { param($Result) $Result[0].Value | Should -Be 'figures' }
        }
        'Get-CkSPODataEncryptionPolicy/__AllParameterSets'      = @{
            Type = 'CustomerKey.SPODataEncryptionPolicy'; Arrange = { @{ Identity = 'https://contoso-admin.sharepoint.com' } }
            Assert = { param($Result) $Result[0].SitesTotal | Should -BeGreaterThan 0 }
        }
        'Register-CkSPODataEncryptionPolicy/ByKeyVaultName'     = @{
            Type = 'CustomerKey.SPODataEncryptionPolicy'; Store = 'spo-register-name'
            Arrange = {
                $keys = New-GrantedKeyPair -Prefix 'ck-every-rn' -Principal $sharePoint
                @{ PrimaryKeyVaultName = $keys[0].VaultName; PrimaryKeyName = $keys[0].Name; PrimaryKeyVersion = $keys[0].Version
                    SecondaryKeyVaultName = $keys[1].VaultName; SecondaryKeyName = $keys[1].Name; SecondaryKeyVersion = $keys[1].Version; Wait = $true }
            }
            Assert = { param($Result) $Result[-1].State | Should -Be 'Registered' }
        }
        'Register-CkSPODataEncryptionPolicy/ByKeyVaultUri'      = @{
            Type = 'CustomerKey.SPODataEncryptionPolicy'; Store = 'spo-register-uri'
            Arrange = {
                $keys = New-GrantedKeyPair -Prefix 'ck-every-ru' -Principal $sharePoint
                @{ PrimaryKeyVaultUri = $keys[0].Id; SecondaryKeyVaultUri = $keys[1].Id }
            }
            Assert = { param($Result) $Result[0].State | Should -BeIn 'Registering', 'Registered' }
        }
        'Update-CkSPODataEncryptionPolicy/ByKeyVaultName'       = @{
            Type = 'CustomerKey.SPODataEncryptionPolicy'; Arrange = {
                $current = Split-KeyId -Id (Initialize-SpoPolicy).PrimaryKeyVaultUri
                $next = Add-CkKeyVaultKey -VaultName $current.VaultName -Name $current.Name -Destination Software -KeyOps wrapKey, unwrapKey
                @{ KeyType = 'Primary'; KeyVaultName = $next.VaultName; KeyName = $next.Name; KeyVersion = $next.Version; Wait = $true }
            }
            Assert = { param($Result, $Arguments) $Result[-1].PrimaryKeyVaultUri | Should -BeLike "*/$($Arguments.KeyVersion)" }
        }
        'Update-CkSPODataEncryptionPolicy/ByKeyVaultUri'        = @{
            Type = 'CustomerKey.SPODataEncryptionPolicy'; Arrange = {
                $current = Split-KeyId -Id (Initialize-SpoPolicy).SecondaryKeyVaultUri
                $next = Add-CkKeyVaultKey -VaultName $current.VaultName -Name $current.Name -Destination Software -KeyOps wrapKey, unwrapKey
                @{ KeyType = 'Secondary'; KeyVaultUri = $next.Id; Wait = $true }
            }
            Assert = { param($Result, $Arguments) $Result[-1].SecondaryKeyVaultUri | Should -Be $Arguments.KeyVaultUri }
        }
        'Restore-CkSPODataEncryptionPolicy/ByKeyVaultName'      = @{
            Type = 'CustomerKey.SPODataEncryptionPolicy'; Arrange = {
                Revoke-SpoPolicyKeys
                $keys = New-GrantedKeyPair -Prefix 'ck-every-sn' -Principal $sharePoint
                @{ PrimaryKeyVaultName = $keys[0].VaultName; PrimaryKeyName = $keys[0].Name; PrimaryKeyVersion = $keys[0].Version
                    SecondaryKeyVaultName = $keys[1].VaultName; SecondaryKeyName = $keys[1].Name; SecondaryKeyVersion = $keys[1].Version; Wait = $true }
            }
            Assert = { param($Result) $Result[-1].State | Should -Be 'Registered'; (Get-CkSPOFile -Site $siteUrl -Name 'figures.txt').Value | Should -Be 'figures' }
        }
        'Restore-CkSPODataEncryptionPolicy/ByKeyVaultUri'       = @{
            Type = 'CustomerKey.SPODataEncryptionPolicy'; Arrange = {
                Revoke-SpoPolicyKeys
                $keys = New-GrantedKeyPair -Prefix 'ck-every-su' -Principal $sharePoint
                @{ PrimaryKeyVaultUri = $keys[0].Id; SecondaryKeyVaultUri = $keys[1].Id; Wait = $true }
            }
            Assert = { param($Result) $Result[-1].State | Should -Be 'Registered'; (Get-CkSPOFile -Site $siteUrl -Name 'figures.txt').Value | Should -Be 'figures' }
        }

        # Exchange Online
        'New-CkDataEncryptionPolicy/__AllParameterSets'         = @{
            Type = 'CustomerKey.DataEncryptionPolicy'; Arrange = { @{ Name = 'EVERY-DEP-NEW'; AzureKeyIDs = $exoKeyIds; Description = 'new'; Enabled = $true } }
            Assert = { param($Result) $Result[0].Name | Should -Be 'EVERY-DEP-NEW' }
        }
        'Get-CkDataEncryptionPolicy/__AllParameterSets'         = @{
            Type = 'CustomerKey.DataEncryptionPolicy'; Arrange = { @{ Identity = 'EVERY-DEP' } }
            Assert = { param($Result) $Result[0].KeyHealth.Count | Should -Be 2 }
        }
        'Set-CkDataEncryptionPolicy/Settings'                   = @{
            Type = 'CustomerKey.DataEncryptionPolicy'; Arrange = { @{ Identity = 'EVERY-DEP'; Description = 'changed' } }
            Assert = { (Get-CkDataEncryptionPolicy -Identity 'EVERY-DEP').Description | Should -Be 'changed' }
        }
        'Set-CkDataEncryptionPolicy/Refresh'                    = @{
            Type = 'CustomerKey.DataEncryptionPolicy'; Arrange = { @{ Identity = 'EVERY-DEP'; Refresh = $true; Wait = $true } }
            Assert = { @((Get-CkMailboxItem -Identity 'ada').Subject) | Should -Contain 'Q3' }
        }
        'Set-CkDataEncryptionPolicy/AzureKeyIDs'                = @{
            Type = 'CustomerKey.DataEncryptionPolicy'; Arrange = {
                $null = New-CkDataEncryptionPolicy -Name 'EVERY-DEP-REPLACE' -AzureKeyIDs $exoKeyIds
                $replacements = foreach ($exoVault in $exoVaults) { (Add-CkKeyVaultKey -VaultName $exoVault -Name 'replacement-key' -Destination Software -KeyOps wrapKey, unwrapKey).Id }
                @{ Identity = 'EVERY-DEP-REPLACE'; AzureKeyIDs = @($replacements); Replace = $true; Wait = $true }
            }
            Assert = { param($Result) @($Result[-1].AzureKeyIDs) -join ',' | Should -BeLike '*replacement-key*replacement-key*' }
        }
        'Set-CkDataEncryptionPolicy/PermanentDataPurge'         = @{
            Type = 'CustomerKey.DataEncryptionPolicy'; Arrange = {
                # A policy of its own, over two vaults of its own whose access is then revoked.
                $keys = New-GrantedKeyPair -Prefix 'ck-every-purge' -Principal $exchange
                $null = New-CkDataEncryptionPolicy -Name 'EVERY-DEP-PURGE' -AzureKeyIDs $keys.Id
                foreach ($key in $keys) { Remove-CkKeyVaultAccessPolicy -VaultName $key.VaultName -ServicePrincipalName $exchange -Confirm:$false }
                @{ Identity = 'EVERY-DEP-PURGE'; PermanentDataPurgeRequested = $true; PermanentDataPurgeReason = 'Leaving'; PermanentDataPurgeContact = 'ciso@contoso.com'; Force = $true }
            }
            Assert = { param($Result) $Result[-1].PermanentDataPurgeRequested | Should -BeTrue }
        }
        # Microsoft 365 multi-workload data encryption policies: each in a store of its own, as
        # an assignment covers every mailbox without a mailbox policy.
        'New-CkM365DataAtRestEncryptionPolicy/__AllParameterSets' = @{
            Type = 'CustomerKey.M365DataAtRestEncryptionPolicy'; Store = 'm365-new'
            Arrange = { $keys = New-GrantedKeyPair -Prefix 'ck-every-mn' -Principal $m365; @{ Name = 'EVERY-M365-NEW'; AzureKeyIDs = @($keys.Id); Description = 'new'; Enabled = $true } }
            Assert = { param($Result) $Result[0].Name | Should -Be 'EVERY-M365-NEW' }
        }
        'Get-CkM365DataAtRestEncryptionPolicy/__AllParameterSets' = @{
            Type = 'CustomerKey.M365DataAtRestEncryptionPolicy'; Store = 'm365-get'
            Arrange = { New-M365Policy; @{ Identity = 'EVERY-M365' } }
            Assert = { param($Result) $Result[0].KeyHealth.Count | Should -Be 2 }
        }
        'Set-CkM365DataAtRestEncryptionPolicy/Settings' = @{
            Type = 'CustomerKey.M365DataAtRestEncryptionPolicy'; Store = 'm365-settings'
            Arrange = { New-M365Policy; @{ Identity = 'EVERY-M365'; Description = 'changed'; Force = $true } }
            Assert = { (Get-CkM365DataAtRestEncryptionPolicy -Identity 'EVERY-M365').Description | Should -Be 'changed' }
        }
        'Set-CkM365DataAtRestEncryptionPolicy/Refresh' = @{
            Type = 'CustomerKey.M365DataAtRestEncryptionPolicy'; Store = 'm365-refresh'
            Arrange = { New-M365Policy -Assign; $null = Add-CkM365DataItem -Workload TeamsChat -Subject 'chat' -Body 'before the refresh'; @{ Identity = 'EVERY-M365'; Refresh = $true; Wait = $true } }
            Assert = { param($Result) (Get-CkM365DataItem).DataEncryptionPolicyID | Should -Be $Result[-1].DataEncryptionPolicyID }
        }
        'Set-CkM365DataAtRestEncryptionPolicy/AzureKeyIDs' = @{
            Type = 'CustomerKey.M365DataAtRestEncryptionPolicy'; Store = 'm365-replace'
            Arrange = { New-M365Policy; $other = New-GrantedKeyPair -Prefix 'ck-every-mr' -Principal $m365; @{ Identity = 'EVERY-M365'; AzureKeyIDs = @($other.Id); Replace = $true; Wait = $true } }
            Assert = { param($Result) @($Result[-1].AzureKeyIDs) -join ',' | Should -BeLike '*ck-every-mr-a*ck-every-mr-b*' }
        }
        'Set-CkM365DataAtRestEncryptionPolicyAssignment/__AllParameterSets' = @{
            Type = 'CustomerKey.M365DataAtRestEncryptionPolicyAssignment'; Store = 'm365-assign'
            Arrange = { New-M365Policy; @{ DataEncryptionPolicy = 'EVERY-M365'; Wait = $true } }
            Assert = { param($Result) $Result[-1].State | Should -Be 'Assigned' }
        }
        'Get-CkM365DataAtRestEncryptionPolicyAssignment/__AllParameterSets' = @{
            Type = 'CustomerKey.M365DataAtRestEncryptionPolicyAssignment'; Store = 'm365-get-assignment'
            Arrange = { New-M365Policy -Assign; @{} }
            Assert = { param($Result) $Result[0].DataEncryptionPolicy | Should -Be 'EVERY-M365' }
        }
        'Test-CkM365DataAtRestEncryptionPolicy/__AllParameterSets' = @{
            Type = 'CustomerKey.M365DataAtRestEncryptionPolicyTest'; Store = 'm365-test'
            Arrange = { New-M365Policy; @{ Identity = 'EVERY-M365' } }
            Assert = { param($Result) $Result[0].IsValid | Should -BeTrue }
        }
        'Add-CkM365DataItem/__AllParameterSets' = @{
            Type = 'CustomerKey.M365DataItem'; Store = 'm365-add-item'
            Arrange = { New-M365Policy -Assign; @{ Workload = 'TeamsChat'; Subject = 'Added'; Body = 'by every cmdlet' } }
            Assert = { param($Result) @((Get-CkM365DataItem -Workload TeamsChat).Subject) | Should -Contain 'Added'; $Result[0].DataEncryptionPolicyID | Should -Not -BeNullOrEmpty }
        }
        'Get-CkM365DataItem/__AllParameterSets' = @{
            Type = 'CustomerKey.M365DataItem'; Store = 'm365-get-items'
            Arrange = { $null = Add-CkM365DataItem -Workload TeamsMeetingRecording -Subject 'Standup' -Body 'recording'; @{ Workload = 'TeamsMeetingRecording' } }
            Assert = { param($Result) $Result[0].Body | Should -Be 'recording' }
        }
        'New-CkMailbox/__AllParameterSets'                      = @{
            Type = 'CustomerKey.Mailbox'; Arrange = { @{ Name = 'New Box'; Alias = 'newbox'; PrimarySmtpAddress = 'newbox@contoso.com'; DataEncryptionPolicy = 'EVERY-DEP' } }
            Assert = { param($Result) $Result[0].RecipientTypeDetails | Should -Be 'UserMailbox' }
        }
        'New-CkMailUser/__AllParameterSets'                     = @{
            Type = 'CustomerKey.Mailbox'; Arrange = { @{ Name = 'New User'; Alias = 'newuser'; PrimarySmtpAddress = 'newuser@contoso.com'; DataEncryptionPolicy = 'EVERY-DEP' } }
            Assert = { param($Result) $Result[0].RecipientTypeDetails | Should -Be 'MailUser' }
        }
        'Get-CkMailbox/__AllParameterSets'                      = @{
            Type = 'CustomerKey.Mailbox'; Arrange = { @{ Identity = 'ada' } }
            Assert = { param($Result) $Result[0].DataEncryptionPolicy | Should -Be 'EVERY-DEP' }
        }
        'Set-CkMailbox/__AllParameterSets'                      = @{
            Type = 'None'
            Arrange = { $null = New-CkMailbox -Name 'Set Box' -Alias 'setbox' -PrimarySmtpAddress 'setbox@contoso.com'; @{ Identity = 'setbox'; DataEncryptionPolicy = 'EVERY-DEP' } }
            Assert = { (Get-CkMailbox -Identity 'setbox').DataEncryptionPolicy | Should -Be 'EVERY-DEP' }
        }
        'Set-CkMailUser/__AllParameterSets'                     = @{
            Type = 'None'
            Arrange = { $null = New-CkMailUser -Name 'Set User' -Alias 'setuser' -PrimarySmtpAddress 'setuser@contoso.com'; @{ Identity = 'setuser'; DataEncryptionPolicy = 'EVERY-DEP' } }
            Assert = { (Get-CkMailbox -Identity 'setuser').DataEncryptionPolicy | Should -Be 'EVERY-DEP' }
        }
        'Get-CkMailboxStatistics/__AllParameterSets'            = @{
            Type = 'CustomerKey.MailboxStatistics'; Arrange = { @{ Identity = 'ada' } }
            Assert = { param($Result) $Result[0].DataEncryptionPolicyID | Should -Not -BeNullOrEmpty }
        }
        'Add-CkMailboxItem/__AllParameterSets'                  = @{
            Type = 'CustomerKey.MailboxItem'; Arrange = { @{ Identity = 'ada'; Subject = 'Added'; Body = 'by every cmdlet' } }
            Assert = { @((Get-CkMailboxItem -Identity 'ada').Subject) | Should -Contain 'Added' }
        }
        'Get-CkMailboxItem/__AllParameterSets'                  = @{
            Type = 'CustomerKey.MailboxItem'; Arrange = { @{ Identity = 'ada' } }
            Assert = { param($Result) @($Result.Subject) | Should -Contain 'Q3' }
        }
        'New-CkMoveRequest/__AllParameterSets'                  = @{
            Type = 'CustomerKey.MoveRequestStatistics'
            Arrange = { $null = New-CkMailUser -Name 'Move User' -Alias 'moveuser' -PrimarySmtpAddress 'moveuser@contoso.com' -DataEncryptionPolicy 'EVERY-DEP'; @{ Identity = 'moveuser'; Wait = $true } }
            Assert = { (Get-CkMailbox -Identity 'moveuser').RecipientTypeDetails | Should -Be 'UserMailbox' }
        }
        'Get-CkMoveRequest/__AllParameterSets'                  = @{
            Type = 'CustomerKey.MoveRequest'; Arrange = { @{ Identity = (New-MovedMailUser -Alias 'getmove') } }
            Assert = { param($Result) $Result[0].Status | Should -Not -BeNullOrEmpty }
        }
        'Get-CkMoveRequestStatistics/__AllParameterSets'        = @{
            Type = 'CustomerKey.MoveRequestStatistics'; Arrange = { @{ Identity = (New-MovedMailUser -Alias 'statsmove') } }
            Assert = { param($Result) $Result[0].PercentComplete | Should -Not -BeNullOrEmpty }
        }
    }

    $cases = @()
    $pairs = @()
    foreach ($command in Get-Command -Module CustomerKey | Sort-Object -Property Name) {
        foreach ($set in $command.ParameterSets) {
            $key = '{0}/{1}' -f $command.Name, $set.Name
            $pairs += $key
            $entry = $cmdletTable[$key]
            $cases += @{
                Key = $key; Command = $command.Name; SetName = $set.Name; Entry = $entry
                KnownGap = $null -ne $entry -and $entry.ContainsKey('KnownGap')
            }
        }
    }
    $staleEntries = @($cmdletTable.Keys | Where-Object { $pairs -notcontains $_ } | Sort-Object)
}

BeforeAll {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    Import-Module -Name (Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey/CustomerKey.psd1') -Force -ErrorAction Stop

    $storePath = (New-Item -ItemType Directory -Path (Join-Path -Path $TestDrive -ChildPath 'store') -Force).FullName
    # The store every case works in (a few connect to a store of their own, then back here).
    # The properties a type's views show: every column of its DefaultView in the registry, which
    # the module's views are generated from (script-block columns too: each names the property
    # it reads), and the properties the loaded views name (table columns, list items; the session
    # cmdlets' hand-written views have no registry entry). Each must be on the real object, or
    # the view prints an empty column where an admin expects a value.
    $describePointer = [System.IntPtr]::Zero
    $null = [CustomerKey.Native.NativeMethods]::ck_describe([ref] $describePointer)
    $describedTypes = (ConvertFrom-Json -InputObject ([CustomerKey.Native.NativeMethods]::TakeString($describePointer)) -Depth 20).OutputTypes
    $defaultViewColumns = @{}
    foreach ($outputType in $describedTypes) {
        $defaultViewColumns[[string] $outputType.Name] = @($outputType.DefaultView.Columns | ForEach-Object { [string] $_.Property })
    }
    function Get-ViewProperty {
        param([string] $TypeName)
        $shown = @(
            if ($defaultViewColumns.ContainsKey($TypeName)) {
                $defaultViewColumns[$TypeName]
            }
            foreach ($view in @(Get-FormatData -TypeName $TypeName).FormatViewDefinition) {
                $entries = switch ($view.Control) {
                    { $_ -is [System.Management.Automation.TableControl] } { $_.Rows.Columns.DisplayEntry }
                    { $_ -is [System.Management.Automation.ListControl] } { $_.Entries.Items.DisplayEntry }
                }
                $entries | Where-Object { $_.ValueType -eq 'Property' } | ForEach-Object { $_.Value }
            }
        )
        $shown | Sort-Object -Unique
    }

    function Connect-MainStore {
        $null = Connect-CkService -Path $storePath -UserPrincipalName 'admin@contoso.com'
    }
    Connect-MainStore

    $exchange = '00000002-0000-0ff1-ce00-000000000000'
    $m365 = 'c066d759-24ae-40e7-a56f-027002b5d3e4'
    $sharePoint = '00000003-0000-0ff1-ce00-000000000000'
    $aipPrincipal = '00000012-0000-0000-c000-000000000000'
    $objectId = '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'
    $removedObjectId = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4e'
    $password = ConvertTo-SecureString -String 'correct horse battery staple' -AsPlainText -Force

    # Two vaults (soft delete, purge protection), each with one key, granted to a service principal.
    # A multi-workload policy EVERY-M365 over a granted key pair of its own, assigned if asked.
    function New-M365Policy {
        param([switch] $Assign)
        $keys = New-GrantedKeyPair -Prefix 'ck-every-m365' -Principal $m365
        $null = New-CkM365DataAtRestEncryptionPolicy -Name 'EVERY-M365' -AzureKeyIDs @($keys.Id)
        if ($Assign) {
            $null = Set-CkM365DataAtRestEncryptionPolicyAssignment -DataEncryptionPolicy 'EVERY-M365' -Wait -Confirm:$false
        }
    }

    function New-GrantedKeyPair {
        param([string] $Prefix, [string] $Principal)
        foreach ($suffix in 'a', 'b') {
            $name = '{0}-{1}' -f $Prefix, $suffix
            $null = New-CkKeyVault -VaultName $name -Location 'westeurope' -EnablePurgeProtection
            Set-CkKeyVaultAccessPolicy -VaultName $name -ServicePrincipalName $Principal -PermissionsToKeys 'get', 'wrapKey', 'unwrapKey'
            Add-CkKeyVaultKey -VaultName $name -Name 'key' -Destination Software -KeyOps 'wrapKey', 'unwrapKey'
        }
    }

    # https://<vault>.vault.azure.net/keys/<name>/<version> as its parts.
    function Split-KeyId {
        param([string] $Id)
        $uri = [uri] $Id
        @{ VaultName = $uri.Host.Split('.')[0]; Name = $uri.Segments[2].TrimEnd('/'); Version = $uri.Segments[3] }
    }

    # A principal's permissions on a vault, sorted and joined; nothing when it has none.
    function Get-KeyPermission {
        param([object] $Vault, [string] $Principal)
        $policy = @($Vault.AccessPolicies | Where-Object { $_.ObjectId -eq $Principal -or $_.ApplicationId -eq $Principal -or $_.DisplayName -eq $Principal })
        if ($policy.Count -gt 0) { @($policy[0].PermissionsToKeys | Sort-Object) -join ',' }
    }

    # A vault's Azure resource ID, as Get-CkKeyVault (and Get-AzResource) give it.
    function Get-VaultResourceId {
        param([string] $Name)
        (Get-CkKeyVault -VaultName $Name).ResourceId
    }

    # The main store's SharePoint policy, registered (and the registration done) if it was not yet.
    function Initialize-SpoPolicy {
        $policy = Get-CkSPODataEncryptionPolicy
        if ($policy.State -eq 'Unregistered') {
            $policy = Register-CkSPODataEncryptionPolicy -PrimaryKeyVaultUri $spoKeys[0].Id -SecondaryKeyVaultUri $spoKeys[1].Id -Wait
        }
        $policy
    }

    # Takes SharePoint's access to both registered keys away, so that a recovery is allowed.
    function Revoke-SpoPolicyKeys {
        $policy = Initialize-SpoPolicy
        foreach ($id in $policy.PrimaryKeyVaultUri, $policy.SecondaryKeyVaultUri) {
            Remove-CkKeyVaultAccessPolicy -VaultName (Split-KeyId -Id $id).VaultName -ServicePrincipalName $sharePoint -Confirm:$false
        }
    }

    # A mail user migrated (the move done), for the move request getters.
    function New-MovedMailUser {
        param([string] $Alias)
        $null = New-CkMailUser -Name $Alias -Alias $Alias -PrimarySmtpAddress "$Alias@contoso.com" -DataEncryptionPolicy 'EVERY-DEP'
        $null = New-CkMoveRequest -Identity $Alias -Wait
        $Alias
    }

    # Key vaults and keys.
    $vault = 'ck-every-kv'
    $null = New-CkKeyVault -VaultName $vault -Location 'westeurope' -EnablePurgeProtection
    $generalKey = Add-CkKeyVaultKey -VaultName $vault -Name 'general-key' -Destination Software
    $automation = New-CkServicePrincipal -DisplayName 'every-automation'

    # Exchange Online: a policy over two keys, and a mailbox with an item under it.
    $exoKeys = @(New-GrantedKeyPair -Prefix 'ck-every-exo' -Principal $exchange)
    $exoVaults = @($exoKeys.VaultName)
    $exoKeyIds = @($exoKeys | ForEach-Object { '{0}/keys/{1}' -f $_.Id.Substring(0, $_.Id.IndexOf('/keys/')), $_.Name })
    $null = New-CkDataEncryptionPolicy -Name 'EVERY-DEP' -AzureKeyIDs $exoKeyIds
    $null = New-CkMailbox -Name 'Ada Lovelace' -Alias 'ada' -PrimarySmtpAddress 'ada@contoso.com' -DataEncryptionPolicy 'EVERY-DEP'
    $null = Add-CkMailboxItem -Identity 'ada' -Subject 'Q3' -Body 'figures'

    # SharePoint: a site with a file, and two keys for the policy.
    $siteUrl = 'https://contoso.sharepoint.com/sites/every'
    $null = New-CkSPOSite -Url $siteUrl -Title 'Every'
    $null = Add-CkSPOFile -Site $siteUrl -Name 'figures.txt' -Value 'figures'
    $spoKeys = @(New-GrantedKeyPair -Prefix 'ck-every-spo' -Principal $sharePoint)

    # Azure Information Protection: a vault the service may use, and the tenant's first key.
    $aipVault = 'ck-every-aip'
    $null = New-CkKeyVault -VaultName $aipVault -Location 'westeurope' -EnablePurgeProtection
    $null = Set-CkKeyVaultAccessPolicy -VaultName $aipVault -ServicePrincipalName $aipPrincipal -PermissionsToKeys 'get', 'decrypt', 'sign'
    $microsoftManagedKey = @(Get-CkAipServiceKeys | Where-Object { $_.KeyType -eq 'Microsoft-managed' })[0]
}

AfterAll {
    Disconnect-CkService
    Remove-Module -Name CustomerKey -Force -ErrorAction SilentlyContinue
}

Describe 'Every exported cmdlet in every parameter set' {
    It 'has a table entry for each (cmdlet, set) pair and no entry for a pair that does not exist' -ForEach @{
        PairCount = $pairs.Count; MissingPairs = @($cases | Where-Object { $null -eq $_.Entry } | ForEach-Object { $_.Key }); StaleEntries = $staleEntries
    } {
        $PairCount | Should -BeGreaterThan 0
        @(@($MissingPairs | ForEach-Object { "no entry for $_" }) + @($StaleEntries | ForEach-Object { "an entry for no pair: $_" })) | Should -BeNullOrEmpty
    }

    It '<Key> runs for real' -ForEach @($cases | Where-Object { -not $_.KnownGap }) {
        $Entry | Should -Not -BeNullOrEmpty -Because "the table in EveryCmdlet.Tests.ps1 needs an entry for $Key"
        try {
            if ($Entry.ContainsKey('Store')) {
                $null = Connect-CkService -Path (New-Item -ItemType Directory -Path (Join-Path -Path $TestDrive -ChildPath $Entry.Store) -Force).FullName
            }
            $arguments = & $Entry.Arrange
            $arguments['ErrorAction'] = 'Stop'
            if ((Get-Command -Name $Command).Parameters.ContainsKey('Confirm')) {
                $arguments['Confirm'] = $false
            }

            # The parameter set the cmdlet ran in: a command breakpoint's action reads $PSCmdlet
            # from the cmdlet's own frame (the action runs outside the module's scopes).
            $boundSets = [System.Collections.Generic.List[string]]::new()
            $commandName = $Command
            $readBoundSet = {
                $frame = Get-PSCallStack | Where-Object { $_.Command -eq $commandName } | Select-Object -First 1
                $boundSets.Add([string] $frame.GetFrameVariables()['PSCmdlet'].Value.ParameterSetName)
            }.GetNewClosure()
            $breakpoint = Set-PSBreakpoint -Command $Command -Action $readBoundSet
            try {
                $result = @(& $Command @arguments)
            }
            finally {
                Remove-PSBreakpoint -Breakpoint $breakpoint
                # Removing the last breakpoint also turns off the script tracing that Pester's
                # code coverage rests on (its tracer, not breakpoints): every case after this one
                # would go unmeasured. Turn it back on when Pester is measuring.
                $pesterTracer = 'Pester.Tracing.Tracer' -as [type]
                if ($null -ne $pesterTracer -and $pesterTracer::IsEnabled) {
                    Set-PSDebug -Trace 1
                }
            }
            @($boundSets | Select-Object -Unique) | Should -Be @($SetName) -Because "the arguments of $Key bind that set"

            if ($Entry.Type -eq 'None') {
                $result | Should -BeNullOrEmpty
            }
            else {
                $result.Count | Should -BeGreaterThan 0 -Because "$Command emits $($Entry.Type)"
                foreach ($item in $result) {
                    if ($Entry.Type -like 'System.*') {
                        $item | Should -BeOfType ([type] $Entry.Type)
                    }
                    else {
                        $item.PSTypeNames[0] | Should -Be $Entry.Type
                        $shownProperties = @(Get-ViewProperty -TypeName $Entry.Type)
                        $shownProperties.Count | Should -BeGreaterThan 0 -Because "$($Entry.Type) has a default view"
                        foreach ($shown in $shownProperties) {
                            $item.PSObject.Properties.Name | Should -Contain $shown -Because "the view of $($Entry.Type) shows $shown"
                        }
                    }
                }
            }
            if ($Entry.ContainsKey('Assert')) {
                & $Entry.Assert $result $arguments
            }
        }
        finally {
            $current = Get-CkConnection
            if ($null -eq $current -or ($null -ne $Entry -and $Entry.ContainsKey('Store'))) {
                Connect-MainStore
            }
        }
    }

    It '<Key> runs for real' -Tag 'KnownGap' -ForEach @($cases | Where-Object { $_.KnownGap }) {
        Set-ItResult -Skipped -Because $Entry.KnownGap
    }
}
