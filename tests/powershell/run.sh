#!/usr/bin/env bash
# Runs the Pester suites in tests/powershell/ in real PowerShell, installing what they need where
# it is missing: PowerShell 7.6 as a .NET global tool, and Pester 5.7.1 restored from NuGet into
# ~/.cache/customer-key/Modules (put first on PSModulePath for this run only). Needs the release
# library (cargo build --release) unless CK_NO_BUILD is unset, in which case it builds it.
# Exits 77 (skipped) only where neither pwsh nor dotnet exists; any failed case fails the run.
# The last line is "pester: N passed, N failed, N skipped".
#   bash tests/powershell/run.sh [PESTER_PATH...]     # default: every *.Tests.ps1 here
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

pwsh_version="7.6.10"
pester_version="5.7.1"
export PATH="$PATH:$HOME/.dotnet/tools"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 POWERSHELL_TELEMETRY_OPTOUT=1
# Outside a terminal pwsh would otherwise colour its output with escape sequences.
export NO_COLOR=1

if ! command -v pwsh >/dev/null; then
    if ! command -v dotnet >/dev/null; then
        echo "SKIPPED: neither pwsh nor dotnet is on PATH, so the Pester suites did not run."
        exit 77
    fi
    echo "installing PowerShell $pwsh_version (dotnet global tool)"
    dotnet tool install --global PowerShell --version "$pwsh_version" || exit 1
fi
echo "pwsh: $(pwsh -NoProfile -Command '$PSVersionTable.PSVersion.ToString()')"

modules="${XDG_CACHE_HOME:-$HOME/.cache}/customer-key/Modules"
pester_dir="$modules/Pester/$pester_version"
if [ ! -f "$pester_dir/Pester.psd1" ]; then
    command -v dotnet >/dev/null || { echo "Pester $pester_version is missing and dotnet is not on PATH to restore it"; exit 1; }
    echo "restoring Pester $pester_version from NuGet"
    scratch="$(mktemp -d)"
    # A throwaway project whose only job is to download the package; its tools/ is the module.
    cat > "$scratch/pester.csproj" <<PROJECT
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="Pester" Version="[$pester_version]" /></ItemGroup>
</Project>
PROJECT
    if ! dotnet restore "$scratch/pester.csproj" --packages "$scratch/packages" >"$scratch/restore.log" 2>&1; then
        cat "$scratch/restore.log"
        rm -rf "$scratch"
        exit 1
    fi
    mkdir -p "$(dirname "$pester_dir")"
    rm -rf "$pester_dir"
    cp -r "$scratch/packages/pester/$pester_version/tools" "$pester_dir"
    rm -rf "$scratch"
fi
export PSModulePath="$modules${PSModulePath:+:$PSModulePath}"

if [ "${CK_NO_BUILD:-}" != 1 ]; then
    cargo build --release --quiet || exit 1
fi

paths=("$@")
[ ${#paths[@]} -gt 0 ] || paths=(tests/powershell)
# The SharePoint roll is paced so that a second roll meets the first one still running (SharePoint.Tests.ps1).
export CUSTOMER_KEY_SPO_BATCH_SIZE=10 CUSTOMER_KEY_SPO_BATCH_PAUSE_MS=20
pwsh -NoProfile -NonInteractive -File tests/powershell/Invoke-CkPester.ps1 "${paths[@]}"
