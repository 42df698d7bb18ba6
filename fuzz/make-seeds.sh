#!/usr/bin/env bash
# Writes the committed seed corpora (fuzz/seeds/<target>/): small valid inputs for each fuzz
# target, made by the product itself (the customer-key CLI on a scratch store) and by openssl
# for key files, so every target starts from inputs that reach deep. Rerun after a format
# changes; the seeds are committed, this script is how they were made.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
seeds="$here/seeds"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
(cd "$root" && cargo build --quiet --bin customer-key)
ck="$CARGO_TARGET_DIR/debug/customer-key"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
store="$work/store"
run() { "$ck" --store "$store" --upn admin@contoso.com "$@"; }

rm -rf "$seeds"
mkdir -p "$seeds"/{ck_call,backup_reader,key_import,tpd_reader,protected_file,cli_parser}

# --- a store with a key, a backup, a protected file and a TPD
run New-KeyVault -VaultName contoso-ck -Location westeurope -EnablePurgeProtection >/dev/null
run Add-KeyVaultKey -VaultName contoso-ck -Name tenant-key >/dev/null
run Set-KeyVaultAccessPolicy -VaultName contoso-ck -ServicePrincipalName 00000012-0000-0000-c000-000000000000 -PermissionsToKeys get,decrypt,sign >/dev/null
run Backup-KeyVaultKey -VaultName contoso-ck -Name tenant-key -OutputFile "$work/key.keybackup" >/dev/null
run Protect-AipContent -Value "seed content" -OutputFile "$work/doc.ckaip" >/dev/null
printf 'seed password' >"$work/pw.txt"
run Export-AipServiceTpd -OutputFile "$work/tenant.tpd" -ProtectionPassword @"$work/pw.txt" >/dev/null

# --- backup_reader: mode byte 0 = a file as is, 1 = header and payload to seal
{ printf '\x00'; cat "$work/key.keybackup"; } >"$seeds/backup_reader/real-backup"
python3 - "$seeds/backup_reader" <<'PY'
import base64, json, os, sys
out = sys.argv[1]
b64 = lambda n: base64.b64encode(os.urandom(n)).decode()
header = {"StoreId": "STORE_ID", "Geography": "EU", "KeyName": "restored", "Created": "2026-01-01T00:00:00Z"}
version = {"Version": "0123456789abcdef0123456789abcdef", "Seq": 1, "Kty": "RSA", "Size": 2048,
           "KeyOps": ["wrapKey", "unwrapKey"], "Enabled": True, "NotBefore": None, "Expires": None,
           "Created": 1767225600, "Updated": 1767225600, "Tags": {"env": "fuzz"},
           "Modulus": b64(256), "Exponent": "AQAB", "WrappedDataKey": b64(60), "SealedPrivateKey": b64(1232)}
payload = {"SourceVault": "contoso-ck", "Name": "restored", "Versions": [version]}
with open(os.path.join(out, "sealed-one-version"), "wb") as f:
    f.write(b"\x01" + json.dumps(header).encode() + b"\n" + json.dumps(payload).encode())
payload["Versions"] = [dict(version, Seq=1), dict(version, Version="fedcba9876543210fedcba9876543210", Seq=2, Kty="RSA-HSM")]
with open(os.path.join(out, "sealed-two-versions"), "wb") as f:
    f.write(b"\x01" + json.dumps(header).encode() + b"\n" + json.dumps(payload).encode())
PY

# --- protected_file and tpd_reader (mode byte 0 = the file, 1 = a key list as decoded)
cp "$work/doc.ckaip" "$seeds/protected_file/protected-text"
{ printf '\x00'; cat "$work/tenant.tpd"; } >"$seeds/tpd_reader/exported-tpd"
python3 - "$seeds/tpd_reader" <<'PY'
import os, struct, sys
def key(ident, name, pkcs8):
    i, n = ident.encode(), name.encode()
    return struct.pack(">H", len(i)) + i + struct.pack(">H", len(n)) + n + struct.pack(">q", 1767225600) + struct.pack(">I", len(pkcs8)) + pkcs8
pkcs8 = bytes.fromhex("30820122") + os.urandom(64)
body = struct.pack(">H", 2) + key("{11111111-2222-3333-4444-555555555555}", "Contoso", pkcs8) + key("{aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee}", "Old key", pkcs8)
open(os.path.join(sys.argv[1], "key-list"), "wb").write(b"\x01" + body)
PY

# --- key_import: password length byte, password, file
ossl() { openssl "$@" 2>/dev/null; }
ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/key.pem"
ossl pkcs8 -topk8 -nocrypt -in "$work/key.pem" -outform DER -out "$work/key.der"
ossl pkcs8 -topk8 -in "$work/key.pem" -passout pass:fuzz -v2 aes-256-cbc -iter 1000 -out "$work/key-enc.pem"
ossl req -x509 -new -key "$work/key.pem" -subj "/CN=Contoso BYOK" -days 30 -out "$work/cert.pem"
ossl pkcs12 -export -inkey "$work/key.pem" -in "$work/cert.pem" -passout pass:fuzz -iter 1000 -out "$work/key.pfx"
{ printf '\x00'; cat "$work/key.pem"; } >"$seeds/key_import/pkcs8.pem"
{ printf '\x00'; cat "$work/key.der"; } >"$seeds/key_import/pkcs8.der"
{ printf '\x04fuzz'; cat "$work/key-enc.pem"; } >"$seeds/key_import/pkcs8-encrypted.pem"
{ printf '\x04fuzz'; cat "$work/key.pfx"; } >"$seeds/key_import/key.pfx"

# --- ck_call: lines of "Operation arguments-JSON" on the template store (fuzz/src/lib.rs)
i=0
call() { i=$((i + 1)); printf '%s' "$1" >"$seeds/ck_call/$(printf '%02d' $i)"; }
K='"VaultName":"contoso-ck","Name":"tenant-key"'
call 'Get-KeyVault {}'
call "Get-KeyVaultKey {$K,\"IncludeVersions\":true}"
call "Invoke-KeyVaultKeyOperation {$K,\"Operation\":\"Wrap\",\"Algorithm\":\"RSA-OAEP-256\",\"ByteArrayValue\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"}"
call "Invoke-KeyVaultKeySignature {$K,\"Operation\":\"Sign\",\"Algorithm\":\"RS256\",\"Digest\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"}"
call "Update-KeyVaultKey {$K,\"Tag\":{\"env\":\"prod\"},\"KeyOps\":[\"wrapKey\",\"unwrapKey\"]}"
call "Backup-KeyVaultKey {$K,\"OutputFile\":\"k.keybackup\"}
Remove-KeyVaultKey {$K,\"Force\":true}
Restore-KeyVaultKey {\"VaultName\":\"contoso-ck\",\"InputFile\":\"k.keybackup\"}"
call "Remove-KeyVaultKey {$K,\"Force\":true}
Undo-KeyVaultKeyRemoval {$K}"
call 'Set-KeyVaultAccessPolicy {"VaultName":"contoso-ck","UserPrincipalName":"bob@contoso.com","PermissionsToKeys":["get","wrapKey"]}'
call 'Add-KeyVaultKey {"VaultName":"contoso-ck","Name":"second","Destination":"HSM","Expires":"2030-01-01T00:00:00Z"}'
call 'Protect-AipContent {"Value":"hello","OutputFile":"d.ckaip"}
Unprotect-AipContent {"InputFile":"d.ckaip"}'
call 'Get-AipServiceKeys {}
Get-AipServiceTenantKeyLifecycle {}'
call 'Use-AipServiceKeyVaultKey {"KeyVaultKeyUrl":"https://contoso-ck.vault.azure.net/keys/tenant-key"}'
call 'New-SPOSite {"Url":"https://contoso.sharepoint.com/sites/a","Title":"A"}
Add-SPOFile {"Site":"https://contoso.sharepoint.com/sites/a","Name":"f.txt","Value":"text"}
Get-SPOFile {"Site":"https://contoso.sharepoint.com/sites/a","Name":"f.txt"}'
call 'Register-SPODataEncryptionPolicy {"PrimaryKeyVaultName":"contoso-ck","PrimaryKeyName":"tenant-key","SecondaryKeyVaultName":"contoso-ck","SecondaryKeyName":"tenant-key"}'
call 'New-Mailbox {"Name":"Alice","Alias":"alice","PrimarySmtpAddress":"alice@contoso.com"}
Add-MailboxItem {"Identity":"alice","Subject":"s","Body":"b"}
Get-MailboxItem {"Identity":"alice"}'
call 'New-DataEncryptionPolicy {"Name":"dep","AzureKeyIDs":["https://contoso-ck.vault.azure.net/keys/tenant-key"]}
Get-DataEncryptionPolicy {}'
call 'New-ServicePrincipal {"DisplayName":"app"}
Get-ServicePrincipal {}'
call 'Get-KeyVaultKeyUsage {"VaultName":"contoso-ck"}
Get-KeyVaultChangeImpact {"VaultName":"contoso-ck","Name":"tenant-key"}'
call 'Set-KeyVault {"VaultName":"contoso-ck","Unreachable":true}
Get-KeyVault {"VaultName":"contoso-ck"}'
call 'Remove-KeyVault {"VaultName":"contoso-ck","Force":true}
Undo-KeyVaultRemoval {"VaultName":"contoso-ck"}'

# --- cli_parser: arguments separated by NUL bytes
j=0
cli() { j=$((j + 1)); printf '%s\0' "$@" | head -c -1 >"$seeds/cli_parser/$(printf '%02d' $j)"; }
cli --store store --upn admin@contoso.com New-KeyVault -VaultName v -Location westeurope -EnablePurgeProtection
cli Add-KeyVaultKey -VaultName v -Name k -KeyOps wrapKey,unwrapKey -Tag owner=alice,env=prod -Disable false
cli Invoke-KeyVaultKeyOperation -VaultName v -Name k -Operation Wrap -Algorithm RSA-OAEP-256 -ByteArrayValue @data.bin
cli Add-KeyVaultKey -VaultName v -Name k -KeyFilePath key.pfx -KeyFilePassword @pw.txt
cli --time-shift 86400 Get-KeyVault -InRemovedState
cli --store /tmp/s serve --listen 127.0.0.1:0 --tenant contoso --throttle 100
cli --list
cli New-KeyVault -VaultName v -SoftDeleteRetentionInDays 7

echo "seeds written:"
for d in "$seeds"/*/; do echo "  $(basename "$d"): $(ls "$d" | wc -l) files, $(cat "$d"* | wc -c) bytes"; done
