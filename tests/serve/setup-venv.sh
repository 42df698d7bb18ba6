#!/usr/bin/env bash
# Makes the Python venv of the SDK test (tests/serve/venv, not committed): Microsoft's
# azure-keyvault-keys and azure-core, and schemathesis, from PyPI.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/venv"
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import azure.keyvault.keys, azure.core, schemathesis" 2>/dev/null; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check "azure-keyvault-keys>=4.9" "azure-core>=1.30" "schemathesis>=4,<5"
fi
