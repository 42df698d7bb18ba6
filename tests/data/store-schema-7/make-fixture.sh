#!/usr/bin/env bash
# Makes this fixture: a store written by the customer-key CLI given as $1, in the folder $2
# (store/ and the wrap-v1.json, wrap-v2.json it writes). See README.md beside this script.
set -euo pipefail
CK="$1"
OUT="$(cd "$2" && pwd)"
ck() { "$CK" --store "$OUT/store" --upn admin@contoso.com "$@"; }
version_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["Version"])'; }
EXO=00000002-0000-0ff1-ce00-000000000000

# Two vaults in two regions, one key each; the key in vault a has two versions.
ck New-KeyVault -VaultName contoso-fixture-a -Location westeurope -EnablePurgeProtection >/dev/null
ck New-KeyVault -VaultName contoso-fixture-b -Location northeurope -EnablePurgeProtection >/dev/null
v1=$(ck Add-KeyVaultKey -VaultName contoso-fixture-a -Name fixture-key -KeyOps wrapKey,unwrapKey | version_of)
v2=$(ck Add-KeyVaultKey -VaultName contoso-fixture-a -Name fixture-key -KeyOps wrapKey,unwrapKey | version_of)
ck Add-KeyVaultKey -VaultName contoso-fixture-b -Name fixture-key -KeyOps wrapKey,unwrapKey >/dev/null

# Access policies: Exchange Online's service principal on both vaults, and a user on vault a.
ck Set-KeyVaultAccessPolicy -VaultName contoso-fixture-a -ServicePrincipalName $EXO -PermissionsToKeys get,wrapKey,unwrapKey >/dev/null
ck Set-KeyVaultAccessPolicy -VaultName contoso-fixture-b -ServicePrincipalName $EXO -PermissionsToKeys get,wrapKey,unwrapKey >/dev/null
ck Set-KeyVaultAccessPolicy -VaultName contoso-fixture-a -UserPrincipalName reader@contoso.com -PermissionsToKeys get,list,wrapKey,unwrapKey >/dev/null

# An Exchange Online data encryption policy over the two keys, a mailbox assigned it, one item.
ck New-DataEncryptionPolicy -Name "Fixture DEP" -AzureKeyIDs https://contoso-fixture-a.vault.azure.net/keys/fixture-key,https://contoso-fixture-b.vault.azure.net/keys/fixture-key >/dev/null
ck New-Mailbox -Name "Fixture User" -Alias fixture -PrimarySmtpAddress fixture@contoso.com -DataEncryptionPolicy "Fixture DEP" >/dev/null
ck Add-MailboxItem -Identity fixture -Subject "Fixture subject" -Body "Fixture body, not a secret" >/dev/null
# The mailbox is encrypted under the policy by a background job: each CLI call's session runs it.
for _ in $(seq 1 30); do
    if ck Get-MailboxStatistics -Identity fixture | grep -q '"IsEncrypted": true'; then
        break
    fi
    sleep 1
done
ck Get-MailboxStatistics -Identity fixture | grep -q '"IsEncrypted": true'

# A known value wrapped under each version of the key in vault a, for the test to unwrap.
printf 'fixture plaintext, not a secret' > "$OUT/plain.bin"
ck Invoke-KeyVaultKeyOperation -VaultName contoso-fixture-a -Name fixture-key -Version "$v1" -Operation Wrap -Algorithm RSA-OAEP-256 -ByteArrayValue @"$OUT/plain.bin" > "$OUT/wrap-v1.json"
ck Invoke-KeyVaultKeyOperation -VaultName contoso-fixture-a -Name fixture-key -Version "$v2" -Operation Wrap -Algorithm RSA-OAEP-256 -ByteArrayValue @"$OUT/plain.bin" > "$OUT/wrap-v2.json"
rm "$OUT/plain.bin"
