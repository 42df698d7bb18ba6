#!/usr/bin/env bash
# The README's first workflow, through the CLI on a fresh embedded store: two vaults, a key in
# each, roll one key, back it up and restore it into the other vault, then prove the restored
# copy opens what the original wrapped; then the Exchange setup checked (Test-CustomerKeySetup
# fails until Exchange Online is granted its permissions, the fix it names) and an Exchange data
# encryption policy assigned to a mailbox, a key rolled and the policy refreshed (-Refresh: a new DataEncryptionPolicyID, the
# mailbox moved to it and still readable); then a SharePoint data encryption policy registered over
# the two keys and rolled to the new version (files readable after), and AIP content protected
# with the tenant key and opened. Prints every JSON answer. Exits non-zero on any failure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cli="$root/target/release/customer-key"
[ -x "$cli" ] || { echo "build first: cargo build --release" >&2; exit 1; }
store="${CK_DEMO_STORE:-$(mktemp -d "${TMPDIR:-/tmp}/customer-key-demo.XXXXXX")/store}"
ck() {
    echo "\$ customer-key $*" >&2
    "$cli" --store "$store" --upn admin@contoso.com "$@"
}
field() { python3 -c 'import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; print(d[sys.argv[1]])' "$1"; }

echo "store: $store" >&2
ck New-KeyVault -VaultName Contoso-O365EX-VaultA1 -Location westeurope -Sku Premium -EnablePurgeProtection
ck New-KeyVault -VaultName Contoso-O365EX-VaultA2 -Location northeurope -Sku Premium -EnablePurgeProtection
ck Add-KeyVaultKey -VaultName Contoso-O365EX-VaultA1 -Name Contoso-O365EX-Key001 -Destination HSM -KeyOps wrapKey,unwrapKey
ck Add-KeyVaultKey -VaultName Contoso-O365EX-VaultA2 -Name Contoso-O365EX-Key002 -Destination HSM -KeyOps wrapKey,unwrapKey

# Something wrapped before the roll: a 32-byte data key.
head -c 32 /dev/urandom > "$store/../data.key"
wrapped=$(ck Invoke-KeyVaultKeyOperation -VaultName Contoso-O365EX-VaultA1 -Name Contoso-O365EX-Key001 -Operation Wrap -Algorithm RSA-OAEP-256 -ByteArrayValue "@$store/../data.key")
echo "$wrapped"
old_version=$(echo "$wrapped" | field KeyId | sed 's#.*/##')

# Roll: the same command again adds a new version; the old one stays.
ck Add-KeyVaultKey -VaultName Contoso-O365EX-VaultA1 -Name Contoso-O365EX-Key001 -Destination HSM -KeyOps wrapKey,unwrapKey
ck Get-KeyVaultKey -VaultName Contoso-O365EX-VaultA1 -Name Contoso-O365EX-Key001 -IncludeVersions | python3 -c 'import json,sys; [print(k["Id"], "Enabled=%s" % k["Enabled"]) for k in json.load(sys.stdin)]'

ck Backup-KeyVaultKey -VaultName Contoso-O365EX-VaultA1 -Name Contoso-O365EX-Key001 -OutputFile "$store/../Key001.keybackup"
ck Restore-KeyVaultKey -VaultName Contoso-O365EX-VaultA2 -InputFile "$store/../Key001.keybackup"

# The restored copy, in the other vault, unwraps what the original wrapped before the roll.
raw=$(echo "$wrapped" | field RawResult)
unwrapped=$(ck Invoke-KeyVaultKeyOperation -VaultName Contoso-O365EX-VaultA2 -Name Contoso-O365EX-Key001 -Version "$old_version" -Operation Unwrap -Algorithm RSA-OAEP-256 -ByteArrayValue "$raw" | field RawResult)
if [ "$unwrapped" = "$(base64 -w0 < "$store/../data.key")" ]; then
    echo "OK: the restored key (version $old_version) in Contoso-O365EX-VaultA2 unwraps the data key wrapped before the roll"
else
    echo "FAILED: the restored key did not unwrap the data key" >&2
    exit 1
fi

# --- Exchange Online: a data encryption policy over the two keys, a mailbox assigned to it,
# then a key roll and Set-DataEncryptionPolicy -Refresh: the mailbox's DataEncryptionPolicyID
# changes once the background job rewrapped its content key, and its mail still reads.
exo=00000002-0000-0ff1-ce00-000000000000
key_a=$(ck Get-KeyVaultKey -VaultName Contoso-O365EX-VaultA1 -Name Contoso-O365EX-Key001 | field Id | sed 's#/[0-9a-f]*$##')
key_b=$(ck Get-KeyVaultKey -VaultName Contoso-O365EX-VaultA2 -Name Contoso-O365EX-Key002 | field Id | sed 's#/[0-9a-f]*$##')
# Validate the setup before onboarding: Exchange Online has no access to the vaults yet, so
# ServicePrincipalAccess fails on both, each with the command that fixes it.
[ "$(ck Test-CustomerKeySetup -Workload Exchange -AzureKeyIDs "$key_a,$key_b" -Quiet)" = false ] ||
    { echo "FAILED: the setup check passed before Exchange Online had access" >&2; exit 1; }
ck Test-CustomerKeySetup -Workload Exchange -AzureKeyIDs "$key_a,$key_b" |
    python3 -c 'import json,sys; [print(r["Check"], r["Target"], r["Status"], "fix:", r["RemediationCk"]) for r in json.load(sys.stdin) if r["Status"] == "Fail" and r["Check"] != "Summary"]'
for v in Contoso-O365EX-VaultA1 Contoso-O365EX-VaultA2; do
    ck Set-KeyVaultAccessPolicy -VaultName "$v" -ServicePrincipalName "$exo" -PermissionsToKeys get,wrapKey,unwrapKey
done
[ "$(ck Test-CustomerKeySetup -Workload Exchange -AzureKeyIDs "$key_a,$key_b" -Quiet)" = true ] ||
    { echo "FAILED: a setup check still fails after the fix" >&2; exit 1; }
echo "OK: the setup check failed ServicePrincipalAccess until Exchange Online was granted get, wrapKey and unwrapKey, then passed"
ck New-DataEncryptionPolicy -Name Contoso-EXO-DEP1 -Description "Customer Key for Exchange Online" -AzureKeyIDs "$key_a,$key_b"
ck New-Mailbox -Name "Ada Lovelace" -Alias ada -PrimarySmtpAddress ada@contoso.com -DataEncryptionPolicy Contoso-EXO-DEP1
ck Add-MailboxItem -Identity ada@contoso.com -Subject "Q3 numbers" -Body "Revenue up 12%"
wait_mailbox_under() {
    for _ in $(seq 1 200); do
        stats=$(ck Get-MailboxStatistics -Identity ada@contoso.com 2>/dev/null)
        if [ "$(echo "$stats" | field IsEncrypted)" = True ] && [ "$(echo "$stats" | field DataEncryptionPolicyID)" = "$1" ]; then
            echo "$stats"
            return 0
        fi
        sleep 0.1
    done
    echo "FAILED: the mailbox did not reach policy revision $1: $stats" >&2
    exit 1
}
first_id=$(ck Get-DataEncryptionPolicy -Identity Contoso-EXO-DEP1 | field DataEncryptionPolicyID)
wait_mailbox_under "$first_id"
# Roll the second key (a new version), then refresh the policy onto the newest versions.
ck Add-KeyVaultKey -VaultName Contoso-O365EX-VaultA2 -Name Contoso-O365EX-Key002 -Destination HSM -KeyOps wrapKey,unwrapKey
second_id=$(ck Set-DataEncryptionPolicy -Identity Contoso-EXO-DEP1 -Refresh | field DataEncryptionPolicyID)
[ "$second_id" != "$first_id" ] || { echo "FAILED: -Refresh kept DataEncryptionPolicyID $first_id" >&2; exit 1; }
wait_mailbox_under "$second_id"
subject=$(ck Get-MailboxItem -Identity ada@contoso.com | field Subject)
[ "$subject" = "Q3 numbers" ] || { echo "FAILED: the mailbox item did not read back after the refresh" >&2; exit 1; }
ck Get-DataEncryptionPolicy -Identity "$first_id" >/dev/null
echo "OK: Exchange policy assigned; after the roll and -Refresh the mailbox moved from DataEncryptionPolicyID $first_id to $second_id and reads; the old ID still resolves to the policy"

# --- SharePoint Online: register a data encryption policy over two customer keys, roll one.
spo=00000003-0000-0ff1-ce00-000000000000
for v in Contoso-O365EX-VaultA1 Contoso-O365EX-VaultA2; do
    ck Set-KeyVaultAccessPolicy -VaultName "$v" -ServicePrincipalName "$spo" -PermissionsToKeys get,wrapKey,unwrapKey
done
ck New-SPOSite -Url https://contoso.sharepoint.com/sites/finance -Title Finance
ck Add-SPOFile -Site https://contoso.sharepoint.com/sites/finance -Name budget.txt -Value "FY27 budget: confidential"
v1=$(ck Get-KeyVaultKey -VaultName Contoso-O365EX-VaultA1 -Name Contoso-O365EX-Key001 | field Version)
v2=$(ck Get-KeyVaultKey -VaultName Contoso-O365EX-VaultA2 -Name Contoso-O365EX-Key002 | field Version)
ck Register-SPODataEncryptionPolicy -PrimaryKeyVaultName Contoso-O365EX-VaultA1 -PrimaryKeyName Contoso-O365EX-Key001 -PrimaryKeyVersion "$v1" \
    -SecondaryKeyVaultName Contoso-O365EX-VaultA2 -SecondaryKeyName Contoso-O365EX-Key002 -SecondaryKeyVersion "$v2"
wait_registered() {
    for _ in $(seq 1 100); do
        state=$(ck Get-SPODataEncryptionPolicy 2>/dev/null | field State)
        [ "$state" = Registered ] && return 0
        sleep 0.1
    done
    echo "FAILED: the SharePoint policy did not reach Registered (State $state)" >&2
    exit 1
}
wait_registered
# Roll the primary key: a new version, then Update-SPODataEncryptionPolicy to it.
ck Add-KeyVaultKey -VaultName Contoso-O365EX-VaultA1 -Name Contoso-O365EX-Key001 -Destination HSM -KeyOps wrapKey,unwrapKey
v1b=$(ck Get-KeyVaultKey -VaultName Contoso-O365EX-VaultA1 -Name Contoso-O365EX-Key001 | field Version)
ck Update-SPODataEncryptionPolicy -KeyType Primary -KeyVaultName Contoso-O365EX-VaultA1 -KeyName Contoso-O365EX-Key001 -KeyVersion "$v1b"
wait_registered
ck Get-SPODataEncryptionPolicy
content=$(ck Get-SPOFile -Site https://contoso.sharepoint.com/sites/finance -Name budget.txt | field Value)
[ "$content" = "FY27 budget: confidential" ] || { echo "FAILED: the file did not read back after the roll" >&2; exit 1; }
echo "OK: SharePoint policy registered and rolled to $v1b; the file reads back"

# --- Azure Information Protection: protect with the tenant key, open again.
ck Get-AipServiceKeys
ck Protect-AipContent -Value "Board minutes" -OutputFile "$store/../minutes.protected"
opened=$(ck Unprotect-AipContent -InputFile "$store/../minutes.protected" | field Value)
[ "$opened" = "Board minutes" ] || { echo "FAILED: protected content did not open" >&2; exit 1; }
echo "OK: AIP content protected with the Active tenant key and opened again"
