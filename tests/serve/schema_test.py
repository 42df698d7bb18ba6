"""schemathesis against `customer-key serve`, driven by Key Vault's own 7.6 OpenAPI file: every
response must be no server error and match the spec's schema (KeyBundle, KeyListResult, ...,
KeyVaultError for errors). Bounded in examples per operation and in time.

Usage: schema_test.py CUSTOMER_KEY_BINARY STORE_DIR SPEC_FILE
"""

import json
import os
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
import ssl

BINARY, STORE, SPEC = (os.path.abspath(a) for a in sys.argv[1:4])
VAULT = "schema-vault"
ADMIN = "admin@contoso.com"

_real_getaddrinfo = socket.getaddrinfo


def _loopback_getaddrinfo(host, *args, **kwargs):
    # *.localhost is loopback (RFC 6761); this machine's resolver does not know it.
    if isinstance(host, str) and host.endswith(".localhost"):
        host = "127.0.0.1"
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _loopback_getaddrinfo


def ck(*args):
    out = subprocess.run([BINARY, "--store", STORE, "--upn", ADMIN, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout) if out.stdout.strip() else None


def main():
    ck("New-KeyVault", "-VaultName", VAULT, "-Location", "westeurope")
    app = ck("New-ServicePrincipal", "-DisplayName", "schemathesis")
    ck("Set-KeyVaultAccessPolicy", "-VaultName", VAULT, "-ServicePrincipalName", app["ApplicationId"], "-PermissionsToKeys", "all")
    ck("Add-KeyVaultKey", "-VaultName", VAULT, "-Name", "key1")
    server = subprocess.Popen([BINARY, "--store", STORE, "serve"], stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(server.stdout.readline())
        context = ssl.create_default_context(cafile=info["CaFile"])
        form = urllib.parse.urlencode({
            "grant_type": "client_credentials", "client_id": app["ApplicationId"],
            "client_secret": app["ClientSecret"], "scope": "https://vault.azure.net/.default",
        }).encode()
        with urllib.request.urlopen(info["TokenUrl"], data=form, context=context, timeout=30) as r:
            token = json.load(r)["access_token"]
        from schemathesis.cli import schemathesis as cli
        # Fixed: a supported api-version and an existing key, so most requests reach the
        # operations and their success bodies are checked too; the rest is generated.
        config = f"{STORE}/schemathesis.toml"
        with open(config, "w") as f:
            f.write('[parameters]\n"query.api-version" = "7.6"\n"path.key-name" = "key1"\n')
        args = [
            "--config-file", config,
            "run", SPEC,
            "--url", info["Url"].replace("{vault}", VAULT),
            "--tls-verify", info["CaFile"],
            "-H", f"Authorization: Bearer {token}",
            "--checks", "not_a_server_error,response_schema_conformance,content_type_conformance",
            "--phases", "examples,fuzzing",
            "--max-examples", "10",
            "--seed", "11",
            "--request-timeout", "20",
            "--suppress-health-check", "all",
            "--generation-deterministic",
        ]
        # schemathesis keeps its state in the working directory: the store's, not the repo's.
        os.chdir(STORE)
        try:
            cli.main(args, standalone_mode=False)
            code = 0
        except SystemExit as e:
            code = e.code or 0
    finally:
        server.terminate()
        server.wait(timeout=60)
    print(f"{1 if code == 0 else 0} passed, {0 if code == 0 else 1} failed")
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
