"""Microsoft's azure-keyvault-keys SDK against `customer-key serve`.

The SDK is configured only as its docs allow for a custom endpoint: the vault URL,
connection_verify with the endpoint's CA file, and a credential whose get_token fetches tokens
from the endpoint's token route. The default challenge-resource check stays on.

Usage: sdk_test.py CUSTOMER_KEY_BINARY STORE_DIR
"""

import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
import urllib.request

from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.keyvault.keys import KeyClient
from azure.keyvault.keys.crypto import CryptographyClient, KeyWrapAlgorithm, SignatureAlgorithm

BINARY, STORE = sys.argv[1], sys.argv[2]
VAULT = "sdk-vault"
ADMIN = "admin@contoso.com"

# *.localhost is loopback (RFC 6761), but this machine's resolver does not know it.
_real_getaddrinfo = socket.getaddrinfo


def _loopback_getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and host.endswith(".localhost"):
        host = "127.0.0.1"
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _loopback_getaddrinfo


def ck(*args, upn=ADMIN):
    out = subprocess.run([BINARY, "--store", STORE, "--upn", upn, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout) if out.stdout.strip() else None


class EndpointCredential:
    """A TokenCredential for the endpoint's client-credentials route."""

    def __init__(self, token_url, client_id, client_secret, ca_file):
        self.token_url, self.client_id, self.client_secret = token_url, client_id, client_secret
        self.context = ssl.create_default_context(cafile=ca_file)
        self.requests = []

    def get_token(self, *scopes, claims=None, tenant_id=None, enable_cae=False, **kwargs):
        self.requests.append((scopes, tenant_id))
        form = urllib.parse.urlencode({
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "scope": " ".join(scopes),
        }).encode()
        url = self.token_url
        if tenant_id:
            parts = urllib.parse.urlsplit(url)
            url = urllib.parse.urlunsplit(parts._replace(path=f"/{tenant_id}/oauth2/v2.0/token"))
        with urllib.request.urlopen(url, data=form, context=self.context, timeout=30) as r:
            body = json.load(r)
        return AccessToken(body["access_token"], int(time.time()) + int(body["expires_in"]))

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        pass


results = {"passed": 0, "failed": 0}


def check(name, condition, detail=""):
    if condition:
        results["passed"] += 1
        print(f"ok   {name}")
    else:
        results["failed"] += 1
        print(f"FAIL {name} {detail}")


def expect(name, error_type, fn, status=None):
    try:
        fn()
    except error_type as e:
        check(name, status is None or getattr(e, "status_code", None) == status, f"status {getattr(e, 'status_code', None)}")
        return
    except Exception as e:  # noqa: BLE001 - the wrong type is the failure being reported
        check(name, False, f"raised {type(e).__name__}: {e}")
        return
    check(name, False, "no error")


def main():
    ck("New-KeyVault", "-VaultName", VAULT, "-Location", "westeurope", "-Sku", "Premium")
    app = ck("New-ServicePrincipal", "-DisplayName", "sdk-test")
    ck("Set-KeyVaultAccessPolicy", "-VaultName", VAULT, "-ServicePrincipalName", app["ApplicationId"], "-PermissionsToKeys", "all")
    reader = ck("New-ServicePrincipal", "-DisplayName", "sdk-reader")
    ck("Set-KeyVaultAccessPolicy", "-VaultName", VAULT, "-ServicePrincipalName", reader["ApplicationId"], "-PermissionsToKeys", "get")

    server = subprocess.Popen([BINARY, "--store", STORE, "serve"], stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(server.stdout.readline())
        vault_url = info["Url"].replace("{vault}", VAULT)
        ca = info["CaFile"]
        credential = EndpointCredential(info["TokenUrl"], app["ApplicationId"], app["ClientSecret"], ca)
        client = KeyClient(vault_url=vault_url, credential=credential, connection_verify=ca)

        key = client.create_rsa_key("sdk-key", size=2048)
        check("create_rsa_key", key.name == "sdk-key" and key.key_type == "RSA" and key.id.startswith(vault_url))
        check("the challenge gave this endpoint's tenant", credential.requests and credential.requests[0][1] == "customerkey", str(credential.requests))
        second = client.create_rsa_key("sdk-key", size=2048)
        check("a second version", second.properties.version != key.properties.version)
        versions = sorted(p.version for p in client.list_properties_of_key_versions("sdk-key"))
        check("list_properties_of_key_versions", versions == sorted([key.properties.version, second.properties.version]), str(versions))
        got = client.get_key("sdk-key")
        check("get_key returns the newest version", got.properties.version == second.properties.version)
        check("list_properties_of_keys", [p.name for p in client.list_properties_of_keys()] == ["sdk-key"])

        backup = client.backup_key("sdk-key")
        check("backup_key", len(backup) > 1000)

        deleted = client.begin_delete_key("sdk-key").result()
        check("begin_delete_key", deleted.name == "sdk-key" and deleted.recovery_id is not None and deleted.scheduled_purge_date is not None)
        expect("get_key of a deleted key: ResourceNotFoundError", ResourceNotFoundError, lambda: client.get_key("sdk-key"))
        expect("create under a soft-deleted name: ResourceExistsError", ResourceExistsError, lambda: client.create_rsa_key("sdk-key"))
        check("get_deleted_key", client.get_deleted_key("sdk-key").name == "sdk-key")
        check("list_deleted_keys", [k.name for k in client.list_deleted_keys()] == ["sdk-key"])
        recovered = client.begin_recover_deleted_key("sdk-key").result()
        check("begin_recover_deleted_key", recovered.properties.version == second.properties.version)
        client.begin_delete_key("sdk-key").wait()
        client.purge_deleted_key("sdk-key")
        expect("get_deleted_key after purge: ResourceNotFoundError", ResourceNotFoundError, lambda: client.get_deleted_key("sdk-key"))
        restored = client.restore_key_backup(backup)
        check("restore_key_backup keeps the versions", restored.properties.version == second.properties.version)
        expect("restore over an existing key: ResourceExistsError", ResourceExistsError, lambda: client.restore_key_backup(backup))

        crypto = CryptographyClient(restored, credential=credential, connection_verify=ca)
        plain = os.urandom(32)
        wrapped = crypto.wrap_key(KeyWrapAlgorithm.rsa_oaep_256, plain)
        unwrapped = crypto.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, wrapped.encrypted_key)
        check("wrap_key and unwrap_key (RSA-OAEP-256)", unwrapped.key == plain)
        remote = CryptographyClient(restored.id, credential=credential, connection_verify=ca)
        wrapped_remote = remote.wrap_key(KeyWrapAlgorithm.rsa_oaep_256, plain)
        check("wrap_key by key id, on the endpoint", wrapped_remote.key_id == restored.id and remote.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, wrapped_remote.encrypted_key).key == plain)
        try:
            import hashlib
            digest = hashlib.sha256(b"customer key").digest()
            signed = remote.sign(SignatureAlgorithm.rs256, digest)
            verified = remote.verify(SignatureAlgorithm.rs256, digest, signed.signature)
            check("sign and verify (RS256)", verified.is_valid)
            bad = remote.verify(SignatureAlgorithm.rs256, hashlib.sha256(b"other").digest(), signed.signature)
            check("verify refuses another digest", not bad.is_valid)
        except HttpResponseError as e:
            check("sign and verify (RS256)", False, str(e.message)[:200])

        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding, rsa
        from azure.keyvault.keys import JsonWebKey

        local = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = local.private_numbers()

        def be(i):
            return i.to_bytes((i.bit_length() + 7) // 8, "big")

        jwk = JsonWebKey(kty="RSA", n=be(numbers.public_numbers.n), e=be(numbers.public_numbers.e), d=be(numbers.d),
                         p=be(numbers.p), q=be(numbers.q), dp=be(numbers.dmp1), dq=be(numbers.dmq1), qi=be(numbers.iqmp),
                         key_ops=["wrapKey", "unwrapKey"])
        imported = client.import_key("byok-key", jwk)
        check("import_key keeps the public key", imported.key.n == be(numbers.public_numbers.n))
        locally_wrapped = local.public_key().encrypt(plain, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
        byok = CryptographyClient(imported.id, credential=credential, connection_verify=ca)
        check("the imported key unwraps what its local copy wrapped", byok.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, locally_wrapped).key == plain)

        expect("get_key of a missing key: ResourceNotFoundError", ResourceNotFoundError, lambda: client.get_key("never-made"))
        reader_credential = EndpointCredential(info["TokenUrl"], reader["ApplicationId"], reader["ClientSecret"], ca)
        reader_client = KeyClient(vault_url=vault_url, credential=reader_credential, connection_verify=ca)
        check("a reader gets the key", reader_client.get_key(restored.name).id == restored.id)
        expect("a reader cannot create: HttpResponseError 403", HttpResponseError, lambda: reader_client.create_rsa_key("not-allowed"), status=403)
    finally:
        server.terminate()
        code = server.wait(timeout=60)
        check("SIGTERM stops the endpoint cleanly", code == 0, f"exit {code}")
    print(f"{results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
