#!/usr/bin/env bash
# Writes fuzz/dicts/operations.dict from `customer-key --list`: one libFuzzer dictionary entry
# per operation name. tests/it/fuzz_files.rs checks the committed file is in sync.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
(cd "$root" && cargo build --quiet --bin customer-key)
{
    echo "# Operation names, from \`customer-key --list\`: written by fuzz/make-dicts.sh,"
    echo "# checked by tests/it/fuzz_files.rs."
    "$CARGO_TARGET_DIR/debug/customer-key" --list | awk '{print "\"" $1 "\""}'
} >"$here/dicts/operations.dict"
