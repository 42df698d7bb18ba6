#!/usr/bin/env bash
# The README's first workflow, through the CLI on a fresh embedded store: two vaults, a key in
# each, roll one key, back it up and restore it into the other vault, then prove the restored
# copy opens what the original wrapped; then a SharePoint data encryption policy registered over
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
