#!/usr/bin/env bash
# Software nobody here wrote against `customer-key serve`: Microsoft's Python SDK
# (azure-keyvault-keys, azure-core; tests/serve/sdk_test.py), then schemathesis checking every
# response against Key Vault's 7.6 OpenAPI file (tests/serve/schema_test.py). Makes the venv,
# builds the CLI, uses a fresh store for each.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bash "$here/setup-venv.sh"
(cd "$root" && cargo build --quiet --bin customer-key)
binary="${CARGO_TARGET_DIR:-$root/target}/debug/customer-key"
spec="${CK_KEYVAULT_SPEC:-$root/../shared/reference/keyvault-keys-7.6.openapi.json}"
store="$(mktemp -d)"
trap 'rm -rf "$store"' EXIT
"$here/venv/bin/python" "$here/sdk_test.py" "$binary" "$store/sdk"
if [[ -f "$spec" ]]; then
    timeout 300 "$here/venv/bin/python" "$here/schema_test.py" "$binary" "$store/schema" "$spec"
else
    echo "schemathesis skipped: no OpenAPI file at $spec (set CK_KEYVAULT_SPEC)"
fi
