#Requires -Version 7.6
<#
.SYNOPSIS
The README's first workflow with the CustomerKey module's cmdlets, as an admin would script it.
.DESCRIPTION
What tests/first-workflow.sh does with the CLI, on a fresh store: two vaults, a key in each; a data
key wrapped, the key rolled, backed up and restored into the other vault, and the restored copy
unwrapping what was wrapped before the roll. Then the Exchange setup checked with
Test-CkCustomerKeySetup, whose failing checks are fixed by running the command each names, and an
Exchange Online data encryption policy over the two keys, assigned to a mailbox with mail in it;
a key rolled and the policy refreshed (Set-CkDataEncryptionPolicy -Refresh -Wait): the mailbox's
DataEncryptionPolicyID changes and its mail still reads. Then a SharePoint data encryption policy registered over the two keys and its
primary key rolled (the file still reads), and AIP content protected with the tenant key and
opened. Prints one line per step; stops at the first failure (a terminating error).

Uses the CustomerKey module already imported, else imports the installed one by name (in a
checkout: Import-Module ./powershell/CustomerKey first).
.PARAMETER StorePath
The store folder to use (created if missing). It should be new: the vaults have fixed names. By
default a new folder under the temporary folder, so the workflow never touches your default store
(CUSTOMER_KEY_HOME, else ~/.local/share/customer-key).
.EXAMPLE
./examples/first-workflow.ps1

Runs the workflow on a new store in the temporary folder.
.EXAMPLE
./examples/first-workflow.ps1 -StorePath ~/ck-demo

Runs it on the store ~/ck-demo (created if it does not exist).
#>
[CmdletBinding()]
param(
    [string] $StorePath
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

if (-not (Get-Module -Name CustomerKey)) {
    Import-Module -Name CustomerKey
}
# The files the workflow writes (a key backup, protected content) go to a new temporary folder.
$work = Join-Path -Path ([System.IO.Path]::GetTempPath()) -ChildPath ('customer-key-demo-{0}' -f [System.Guid]::NewGuid().ToString('N').Substring(0, 12))
$null = New-Item -ItemType Directory -Path $work
if ([string]::IsNullOrEmpty($StorePath)) {
    $StorePath = Join-Path -Path $work -ChildPath 'store'
}
$null = New-Item -ItemType Directory -Path $StorePath -Force
$StorePath = (Resolve-Path -LiteralPath $StorePath).ProviderPath
$null = Connect-CkService -Path $StorePath -UserPrincipalName 'admin@contoso.com'
"store: $StorePath"

$vaultA = 'Contoso-O365EX-VaultA1'
$vaultB = 'Contoso-O365EX-VaultA2'
$keyA = 'Contoso-O365EX-Key001'
$keyB = 'Contoso-O365EX-Key002'
$null = New-CkKeyVault -VaultName $vaultA -Location westeurope -Sku Premium -EnablePurgeProtection
$null = New-CkKeyVault -VaultName $vaultB -Location northeurope -Sku Premium -EnablePurgeProtection
$null = Add-CkKeyVaultKey -VaultName $vaultA -Name $keyA -Destination HSM -KeyOps wrapKey, unwrapKey
$null = Add-CkKeyVaultKey -VaultName $vaultB -Name $keyB -Destination HSM -KeyOps wrapKey, unwrapKey

# Something wrapped before the roll: a 32-byte data key.
$dataKey = [System.Security.Cryptography.RandomNumberGenerator]::GetBytes(32)
$wrapped = Invoke-CkKeyVaultKeyOperation -VaultName $vaultA -Name $keyA -Operation Wrap -Algorithm RSA-OAEP-256 -ByteArrayValue $dataKey
$oldVersion = ($wrapped.KeyId -split '/')[-1]

# Roll: the same command again adds a new version; the old one stays.
$null = Add-CkKeyVaultKey -VaultName $vaultA -Name $keyA -Destination HSM -KeyOps wrapKey, unwrapKey
$versions = @(Get-CkKeyVaultKey -VaultName $vaultA -Name $keyA -IncludeVersions)
'{0} has {1} versions after the roll: {2}' -f $keyA, $versions.Count, (($versions | ForEach-Object { $_.Version }) -join ', ')

$backup = Join-Path -Path $work -ChildPath 'Key001.keybackup'
$null = Get-CkKeyVaultKey -VaultName $vaultA -Name $keyA | Backup-CkKeyVaultKey -OutputFile $backup
$null = Restore-CkKeyVaultKey -VaultName $vaultB -InputFile $backup
# The restored copy, in the other vault, unwraps what the original wrapped before the roll.
$unwrapped = Invoke-CkKeyVaultKeyOperation -VaultName $vaultB -Name $keyA -Version $oldVersion -Operation Unwrap -Algorithm RSA-OAEP-256 -ByteArrayValue $wrapped.RawResult
if (-not [System.Linq.Enumerable]::SequenceEqual([byte[]] $unwrapped.RawResult, $dataKey)) {
    throw 'FAILED: the restored key did not unwrap the data key'
}
"OK: the restored key (version $oldVersion) in $vaultB unwraps the data key wrapped before the roll"

# --- Exchange Online: a data encryption policy over the two keys, a mailbox assigned to it, then
# a key roll and Set-CkDataEncryptionPolicy -Refresh -Wait: the mailbox's DataEncryptionPolicyID
# changes once the background job rewrapped its content key, and its mail still reads.
$exchange = '00000002-0000-0ff1-ce00-000000000000'
# A key's identifier without its version: the policy follows the key's newest version.
$keyIds = @(
    (Get-CkKeyVaultKey -VaultName $vaultA -Name $keyA).Id -replace '/[0-9a-f]*$', ''
    (Get-CkKeyVaultKey -VaultName $vaultB -Name $keyB).Id -replace '/[0-9a-f]*$', ''
)
# Validate the setup before onboarding: Exchange Online has no access to the vaults yet, so
# ServicePrincipalAccess fails on both; run the fix each check names, then check again.
$failed = @(Test-CkCustomerKeySetup -Workload Exchange -AzureKeyIDs $keyIds | Where-Object { $_.Status -eq 'Fail' -and $_.Check -ne 'Summary' })
foreach ($check in $failed) {
    "Setup check $($check.Check) failed on $($check.Target): $($check.RemediationCk)"
    Invoke-Expression -Command $check.RemediationCk
}
if (-not (Test-CkCustomerKeySetup -Workload Exchange -AzureKeyIDs $keyIds -Quiet)) {
    throw 'A setup check still fails after its fix'
}
"OK: the setup check passes once Exchange Online has get, wrapKey and unwrapKey on both vaults"
$policy = New-CkDataEncryptionPolicy -Name 'Contoso-EXO-DEP1' -Description 'Customer Key for Exchange Online' -AzureKeyIDs $keyIds
$null = New-CkMailbox -Name 'Ada Lovelace' -Alias ada -PrimarySmtpAddress 'ada@contoso.com' -DataEncryptionPolicy $policy.Name
$null = Add-CkMailboxItem -Identity 'ada@contoso.com' -Subject 'Q3 numbers' -Body 'Revenue up 12%'

# The mailbox is encrypted by a background job, as in Exchange Online: wait until it is under $Id.
function Wait-DemoMailbox {
    param([string] $Identity, [string] $Id)
    for ($try = 0; $try -lt 200; $try++) {
        $statistics = Get-CkMailboxStatistics -Identity $Identity
        if ($statistics.IsEncrypted -and [string] $statistics.DataEncryptionPolicyID -eq $Id) {
            return $statistics
        }
        Start-Sleep -Milliseconds 100
    }
    throw "FAILED: the mailbox $Identity did not reach DataEncryptionPolicyID $Id"
}
$firstId = [string] (Get-CkDataEncryptionPolicy -Identity $policy.Name).DataEncryptionPolicyID
$null = Wait-DemoMailbox -Identity 'ada@contoso.com' -Id $firstId
"mailbox ada@contoso.com is encrypted under DataEncryptionPolicyID $firstId"

# Roll the second key, then refresh the policy onto the keys' newest versions and wait for it.
$null = Add-CkKeyVaultKey -VaultName $vaultB -Name $keyB -Destination HSM -KeyOps wrapKey, unwrapKey
$refreshed = Set-CkDataEncryptionPolicy -Identity $policy.Name -Refresh -Wait -ProgressAction SilentlyContinue
$secondId = [string] $refreshed.DataEncryptionPolicyID
if ($secondId -eq $firstId) {
    throw "FAILED: -Refresh kept DataEncryptionPolicyID $firstId"
}
$statistics = Wait-DemoMailbox -Identity 'ada@contoso.com' -Id $secondId
$subject = @(Get-CkMailboxItem -Identity 'ada@contoso.com')[0].Subject
if ($subject -ne 'Q3 numbers') {
    throw 'FAILED: the mailbox item did not read back after the refresh'
}
$null = Get-CkDataEncryptionPolicy -Identity $firstId
"OK: Exchange policy assigned; after the roll and -Refresh the mailbox moved from DataEncryptionPolicyID $firstId to $($statistics.DataEncryptionPolicyID) and reads; the old ID still resolves to the policy"

# --- SharePoint Online: register a data encryption policy over two customer keys, roll one.
$sharePoint = '00000003-0000-0ff1-ce00-000000000000'
foreach ($vault in $vaultA, $vaultB) {
    Set-CkKeyVaultAccessPolicy -VaultName $vault -ServicePrincipalName $sharePoint -PermissionsToKeys get, wrapKey, unwrapKey
}
$site = 'https://contoso.sharepoint.com/sites/finance'
$null = New-CkSPOSite -Url $site -Title Finance
$null = Add-CkSPOFile -Site $site -Name budget.txt -Value 'FY27 budget: confidential'
$registerParameters = @{
    PrimaryKeyVaultName   = $vaultA
    PrimaryKeyName        = $keyA
    PrimaryKeyVersion     = (Get-CkKeyVaultKey -VaultName $vaultA -Name $keyA).Version
    SecondaryKeyVaultName = $vaultB
    SecondaryKeyName      = $keyB
    SecondaryKeyVersion   = (Get-CkKeyVaultKey -VaultName $vaultB -Name $keyB).Version
}
$null = Register-CkSPODataEncryptionPolicy @registerParameters -Wait -ProgressAction SilentlyContinue
# Roll the primary key: a new version, then Update-CkSPODataEncryptionPolicy to it.
$rolled = Add-CkKeyVaultKey -VaultName $vaultA -Name $keyA -Destination HSM -KeyOps wrapKey, unwrapKey
$null = Update-CkSPODataEncryptionPolicy -KeyType Primary -KeyVaultName $vaultA -KeyName $keyA -KeyVersion $rolled.Version -Wait -ProgressAction SilentlyContinue
$spoPolicy = Get-CkSPODataEncryptionPolicy
if ($spoPolicy.State -ne 'Registered') {
    throw "FAILED: the SharePoint policy is $($spoPolicy.State), not Registered"
}
$content = (Get-CkSPOFile -Site $site -Name budget.txt).Value
if ($content -ne 'FY27 budget: confidential') {
    throw 'FAILED: the file did not read back after the roll'
}
"OK: SharePoint policy $($spoPolicy.State) and rolled to $($rolled.Version); the file reads back"

# --- Azure Information Protection: protect with the tenant key, open again.
$tenantKeys = @(Get-CkAipServiceKeys)
$protectedFile = Join-Path -Path $work -ChildPath 'minutes.protected'
$null = Protect-CkAipContent -Value 'Board minutes' -OutputFile $protectedFile
$opened = (Unprotect-CkAipContent -InputFile $protectedFile).Value
if ($opened -ne 'Board minutes') {
    throw 'FAILED: protected content did not open'
}
"OK: AIP content protected with the Active tenant key and opened again ($($tenantKeys.Count) tenant key(s))"
Disconnect-CkService
