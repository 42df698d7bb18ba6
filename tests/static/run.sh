#!/usr/bin/env bash
# Static checks of the PowerShell module with the real PowerShell grammar (no pwsh needed).
#   tests/static/run.sh            unit tests of the checker, then the checker on the repo
# Env: CK_PS_VENV (default target/ps-venv), CK_NO_BUILD=1 to skip `cargo build --release`,
#      CK_REGISTRY=file.json to read the registry from a file instead of the library.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
here=tests/static
venv="${CK_PS_VENV:-target/ps-venv}"

# A venv with the pinned grammar; rebuilt when requirements.txt changes.
if ! cmp -s "$here/requirements.txt" "$venv/.requirements.txt" 2>/dev/null \
    || ! "$venv/bin/python" -c 'import tree_sitter, tree_sitter_powershell' 2>/dev/null; then
    echo "setting up $venv" >&2
    rm -rf "$venv"
    if ! python3 -m venv "$venv"; then
        echo "FAIL setup: python3 -m venv failed (install python3-venv)" >&2
        echo "0 passed, 1 failed"
        exit 1
    fi
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" || {
        echo "FAIL setup: pip install -r $here/requirements.txt failed" >&2
        echo "0 passed, 1 failed"
        exit 1
    }
    cp "$here/requirements.txt" "$venv/.requirements.txt"
fi
py="$venv/bin/python"

status=0
echo "== unit tests of the checker" >&2
"$py" -m unittest discover -s "$here" -p 'test_check_powershell.py' || status=1

args=()
if [ -n "${CK_REGISTRY:-}" ]; then
    args+=(--registry "$CK_REGISTRY")
elif [ "${CK_NO_BUILD:-0}" != 1 ]; then
    echo "== cargo build --release (for the registry)" >&2
    cargo build --release --quiet >&2 || echo "cargo build --release failed; checking with whatever library is there" >&2
fi
echo "== check_powershell.py" >&2
"$py" "$here/check_powershell.py" --root "$root" "${args[@]}" || status=1
exit $status
