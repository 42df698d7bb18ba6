#!/usr/bin/env bash
# Mono interop test: compiles tests/mono/InteropDriver.cs with powershell/CustomerKey/Native.cs
# (unchanged: the same P/Invoke declarations the module loads with Add-Type) and runs it
# against target/release/libcustomer_key.so. Exits non-zero on any failure.
# Env: CK_NO_BUILD=1 skips `cargo build --release`.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

fail() { echo "FAIL $1"; echo "0 passed, 1 failed"; exit 1; }

for tool in mcs mono; do
    command -v "$tool" >/dev/null || fail "setup: $tool not found (apt-get install mono-mcs mono-runtime)"
done
if [ "${CK_NO_BUILD:-0}" != 1 ]; then
    cargo build --release >&2 || fail "setup: cargo build --release failed"
fi
[ -f target/release/libcustomer_key.so ] || fail "setup: target/release/libcustomer_key.so missing"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/ck-mono.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mcs -nologo -warnaserror+ -out:"$tmp/driver.exe" tests/mono/InteropDriver.cs powershell/CustomerKey/Native.cs \
    || fail "setup: mcs could not compile the driver with Native.cs"
LD_LIBRARY_PATH="$root/target/release${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    timeout 600 mono --debug "$tmp/driver.exe" "$tmp/scratch"
status=$?
[ $status -eq 0 ] || echo "driver exited with status $status" >&2
exit $status
