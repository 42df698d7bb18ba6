#!/usr/bin/env bash
# fuzz/run.sh [SECONDS]: builds the fuzz targets and runs each for SECONDS (default
# $CK_FUZZ_SECONDS, else 20: the test command's setting; `fuzz/run.sh 600` is the long run).
# Fails on any crash, panic, leak (AddressSanitizer's leak check), out-of-memory or timeout
# (an input taking longer than $CK_FUZZ_TIMEOUT seconds, 10 by default). Prints executions per
# second and in total for every target.
#
# Works with only the stable toolchain: cargo-fuzz is installed when missing, and when no
# nightly toolchain exists the -Z flags cargo fuzz needs are allowed on stable with
# RUSTC_BOOTSTRAP=1 (CK_FUZZ_TOOLCHAIN=stable forces that path where nightly exists).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
seconds="${1:-${CK_FUZZ_SECONDS:-20}}"
timeout="${CK_FUZZ_TIMEOUT:-10}"
targets=(ck_call backup_reader key_import tpd_reader protected_file cli_parser)
# The dictionaries of each target.
declare -A dicts=(
    [ck_call]="json operations"
    [backup_reader]="json"
    [key_import]="der"
    [tpd_reader]=""
    [protected_file]=""
    [cli_parser]="cli operations"
)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked || exit 1
fi
toolchain=()
if [ "${CK_FUZZ_TOOLCHAIN:-}" != stable ] && rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    toolchain=(+nightly)
    echo "toolchain: nightly"
else
    export RUSTC_BOOTSTRAP=1
    echo "toolchain: $(rustc --version) with RUSTC_BOOTSTRAP=1"
fi
# Its own target folder per toolchain (switching never rebuilds the other's), never the main
# crate's: the fuzz build's flags differ.
export CARGO_TARGET_DIR="$here/target"
[ ${#toolchain[@]} -eq 0 ] && CARGO_TARGET_DIR="$here/target-stable"

# 16 codegen units instead of cargo fuzz's 1: the build (the whole engine, instrumented) takes
# a fraction of the time, at a small cost in executions per second.
cgu=(--codegen-units "${CK_FUZZ_CODEGEN_UNITS:-16}")
# CK_FUZZ_PROFILE=dev (the test command's setting) builds without optimisation: about half the
# build time, for a few times fewer executions a second; the long run keeps the optimised build.
if [ "${CK_FUZZ_PROFILE:-release}" = dev ]; then
    cgu+=(--dev)
    echo "profile: dev (unoptimised build)"
fi
start=$SECONDS
cargo "${toolchain[@]}" fuzz build "${cgu[@]}" || exit 1
echo "build: $((SECONDS - start)) s"

# Scratch stores on a RAM disk when there is one: the targets write a store per input.
scratch_base=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && scratch_base=/dev/shm
export CK_FUZZ_DIR="$(mktemp -d "$scratch_base/ck-fuzz.XXXXXX")"
trap 'rm -rf "$CK_FUZZ_DIR"' EXIT

failed=()
summary=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    dict="$CK_FUZZ_DIR/$t.dict"
    : >"$dict"
    for d in ${dicts[$t]}; do cat "dicts/$d.dict" >>"$dict"; done
    dict_flag=()
    [ -s "$dict" ] && dict_flag=("-dict=$dict")
    log="$CK_FUZZ_DIR/$t.log"
    echo
    echo "--- $t: ${seconds} s"
    # corpus/$t collects what the fuzzer finds (not committed); seeds/$t is read only.
    cargo "${toolchain[@]}" fuzz run "${cgu[@]}" "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048 \
        -artifact_prefix="artifacts/$t/" -print_final_stats=1 "${dict_flag[@]}" >"$log" 2>&1
    status=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    line="$(printf '%-15s %10s execs %7s/s  %s' "$t" "${execs:-?}" "${rate:-?}" "${cov:-}")"
    if [ $status -ne 0 ]; then
        failed+=("$t")
        line="$line  FAILED (exit $status)"
        grep -E 'ERROR|SUMMARY|panicked|Test unit written|leak' "$log" | head -20
        echo "(log tail)"
        tail -30 "$log"
    fi
    echo "$line"
    summary+=("$line")
done

echo
echo "fuzzed ${#targets[@]} targets, ${seconds} s each, in $((SECONDS - start)) s with the build:"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]} (crashing inputs under fuzz/artifacts/; add each to tests/it/fuzz_regressions.rs)"
    exit 1
fi
