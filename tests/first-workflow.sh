#!/usr/bin/env bash
# The README's first workflow, through the CLI on a fresh embedded store: two vaults, a key in
# each, roll one key, back it up and restore it into the other vault, then prove the restored
# copy opens what the original wrapped. Prints every JSON answer. Exits non-zero on any failure.
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
