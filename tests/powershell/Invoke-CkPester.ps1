#Requires -Version 7.2
<#
.SYNOPSIS
Runs the CustomerKey Pester suites and prints one closing line: "pester: N passed, N failed, N skipped".
.DESCRIPTION
Called by tests/powershell/run.sh, which installs pwsh and Pester first. Cases tagged KnownGap
are listed and counted as skipped, not run. Before the closing line it prints the code coverage
of powershell/CustomerKey/Public and Private: "coverage: NN.N% of N commands in Public/ and
Private/ (goal: 90%)" (CK_PESTER_COVERAGE=0 skips measuring it). Exits 1 when any case
fails, when a container fails to load (a BeforeAll or discovery error), or when no case ran.
.PARAMETER Path
Test files or folders; default: this folder.
#>
param(
    [Parameter(Position = 0, ValueFromRemainingArguments)]
    [string[]] $Path = @($PSScriptRoot)
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

Import-Module -Name Pester -RequiredVersion 5.7.1

# Code coverage costs the whole suite about 5-13% more time, so it is on unless CK_PESTER_COVERAGE=0.
$coverageWanted = $env:CK_PESTER_COVERAGE -ne '0'
$coverageGoal = 90

$configuration = New-PesterConfiguration
$configuration.Run.Path = $Path
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
$configuration.Output.RenderMode = 'Plaintext'
# Cases tagged KnownGap assert behaviour the module does not have yet; they are listed below
# (and counted as skipped) rather than run, so that one open gap does not hide new failures.
$configuration.Filter.ExcludeTag = @('KnownGap')
# Code coverage of the module's Public/ and Private/ files, measured by Pester's profiler-based
# tracer (not breakpoints). Reported in one line below; the percentage never fails the run.
$coverageFile = $null
if ($coverageWanted) {
    $moduleRoot = Join-Path -Path (Split-Path -Parent (Split-Path -Parent $PSScriptRoot)) -ChildPath 'powershell/CustomerKey'
    # CK_PESTER_COVERAGE_FILE keeps the JaCoCo report there (to see which commands no case runs).
    $coverageKept = -not [string]::IsNullOrEmpty($env:CK_PESTER_COVERAGE_FILE)
    $coverageFile = if ($coverageKept) { $env:CK_PESTER_COVERAGE_FILE } else { Join-Path -Path ([System.IO.Path]::GetTempPath()) -ChildPath ('ck-coverage-{0}.xml' -f [guid]::NewGuid().ToString('N')) }
    $configuration.CodeCoverage.Enabled = $true
    $configuration.CodeCoverage.Path = @((Join-Path -Path $moduleRoot -ChildPath 'Public'), (Join-Path -Path $moduleRoot -ChildPath 'Private'))
    $configuration.CodeCoverage.UseBreakpoints = $false
    $configuration.CodeCoverage.CoveragePercentTarget = $coverageGoal
    # Pester always writes a report file; it goes to a temporary file, removed below.
    $configuration.CodeCoverage.OutputPath = $coverageFile
}
$result = Invoke-Pester -Configuration $configuration

$knownGaps = @($result.Tests | Where-Object { $_.Result -eq 'NotRun' -and $_.Tag -contains 'KnownGap' })
foreach ($gap in $knownGaps) {
    # A test that did not run keeps its name's <Key> templates: fill them from its data.
    $name = $gap.ExpandedPath
    if ($gap.Data -is [System.Collections.IDictionary]) {
        foreach ($key in $gap.Data.Keys) {
            $name = $name.Replace(('<{0}>' -f $key), [string] $gap.Data[$key])
        }
    }
    Write-Output ('known gap (not run): {0}' -f $name)
}

# A failed BeforeAll/AfterAll or a file that does not load fails its tests without counting them
# as failed tests: count those blocks and containers too, so nothing fails silently.
$blockFailures = $result.FailedBlocksCount + $result.FailedContainersCount
foreach ($block in @($result.FailedBlocks) + @($result.FailedContainers)) {
    if ($null -ne $block) {
        Write-Output ('block or file failed: {0}' -f $(if ($block.PSObject.Properties['Path']) { $block.Path -join ' > ' } else { $block.Item }))
    }
}
# CI shows only the end of a run's output: name each failed case and its first error line here,
# where run-all.sh can repeat them next to its closing line.
foreach ($failedTest in @($result.Failed)) {
    if ($null -eq $failedTest) { continue }
    $firstError = @($failedTest.ErrorRecord)[0]
    $message = if ($null -ne $firstError) { ([string] $firstError.Exception.Message -split "`r?`n")[0] } else { '' }
    $where = if ($null -ne $failedTest.ScriptBlock) { '{0}:{1}' -f (Split-Path -Leaf $failedTest.ScriptBlock.File), $failedTest.ScriptBlock.StartPosition.StartLine } else { '' }
    Write-Output ('failed case: {0} ({1}): {2}' -f $failedTest.ExpandedPath, $where, $message)
}
if ($coverageWanted) {
    if (-not $coverageKept) {
        Remove-Item -LiteralPath $coverageFile -Force -ErrorAction SilentlyContinue
    }
    if ($null -ne $result.CodeCoverage) {
        Write-Output ([string]::Format([System.Globalization.CultureInfo]::InvariantCulture,
                'coverage: {0:0.0}% of {1} commands in Public/ and Private/ (goal: {2}%)',
                [double] $result.CodeCoverage.CoveragePercent, $result.CodeCoverage.CommandsAnalyzedCount, $coverageGoal))
    }
    else {
        Write-Output ('coverage: not measured (goal: {0}%)' -f $coverageGoal)
    }
}
Write-Output ('pester: {0} passed, {1} failed, {2} skipped' -f $result.PassedCount, ($result.FailedCount + $blockFailures), ($result.SkippedCount + $knownGaps.Count))
if ($result.FailedCount -gt 0 -or $blockFailures -gt 0 -or $result.PassedCount -eq 0) {
    exit 1
}
