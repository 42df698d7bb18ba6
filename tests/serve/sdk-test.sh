#!/usr/bin/env bash
# Microsoft's Python SDK (azure-keyvault-keys, azure-core) against `customer-key serve`: makes
# the venv, builds the CLI, runs tests/serve/sdk_test.py on a fresh store.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bash "$here/setup-venv.sh"
(cd "$root" && cargo build --quiet --bin customer-key)
binary="${CARGO_TARGET_DIR:-$root/target}/debug/customer-key"
store="$(mktemp -d)"
trap 'rm -rf "$store"' EXIT
"$here/venv/bin/python" "$here/sdk_test.py" "$binary" "$store/store"
