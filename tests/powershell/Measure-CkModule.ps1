#Requires -Version 7.2
<#
.SYNOPSIS
Prints the CustomerKey module's performance figures beside their goals. Not a Pester test: the
figures depend on the machine, so nothing here passes or fails on time.
.DESCRIPTION
Measures, in one run and on a fresh store under the temp folder (removed at the end):

  get-key-rate, pwsh-floor-rate, get-key-ratio
      Get-CkKeyVaultKey calls per second in a loop (same vault and key each time), and the same
      loop over the "pwsh floor": an advanced function with Get-CkKeyVaultKey's own parameter
      block (read from Public/KeyVault/Get-CkKeyVaultKey.ps1, so it follows the generator) that
      returns a [pscustomobject] literal with the real result's properties and values. The floor
      is what any script cmdlet costs in this pwsh on this machine; the ratio is the goal
      (>= 0.25), because raw rates move with the machine and its load (both are measured in
      alternating rounds, so load beside the run slows them alike).
  mailbox-setup
      The time to create the mailboxes. No bulk creation is reachable from PowerShell
      (src/exchange/bulk.rs create_mailboxes is Rust API only, and the registry has no bulk
      operation), so they are made with New-CkMailbox one call at a time, outside the measure.
  mailbox-statistics-rate, peak-memory
      Get-CkMailbox | Get-CkMailboxStatistics over -MailboxCount mailboxes: statistics objects
      per second, and the process's peak memory (VmHWM on Linux, PeakWorkingSet64 elsewhere),
      which includes everything this run did before.
  import-module, import-child-wall
      Import-Module CustomerKey in a fresh pwsh (-NoProfile), the median of -ImportRuns: the
      time Measure-Command gives inside the child (pwsh's own start-up left out), and the
      child's whole wall time for reference.

Each figure is one line: "figure: <name>: <value> <unit> (goal: ...; met|missed)". Progress and
-Breakdown go to the information stream and "breakdown:" lines.
.PARAMETER Seconds
How long each of Get-CkKeyVaultKey and the floor is measured. They take turns in 8 rounds,
after 2 s of unmeasured warm-up each (a function's first second runs far below its steady rate).
.PARAMETER MailboxCount
How many mailboxes the pipeline reads. The goals are stated at 100000.
.PARAMETER ImportRuns
How many fresh pwsh processes import the module; the median is printed.
.PARAMETER Breakdown
Also prints microseconds per call for each stage of one Get-CkKeyVaultKey and one
Get-CkMailboxStatistics call (native call, JSON out, JSON in, shaping), timed on the module's
private functions. Those are internal: a stage whose function changed is reported as skipped.
.EXAMPLE
pwsh -NoProfile -File tests/powershell/Measure-CkModule.ps1 -Seconds 2 -MailboxCount 10000

The short run, for CI (under a minute of setup on two cores).
.EXAMPLE
pwsh -NoProfile -File tests/powershell/Measure-CkModule.ps1 -Seconds 10 -MailboxCount 100000 -Breakdown

The long run, at the scale the goals name: about 5 minutes on two cores, of which creating 100000
mailboxes one New-CkMailbox call at a time takes 2. The setup time is printed on its own line
and is not part of any rate.
.NOTES
Needs the release library (cargo build --release). Run it on a quiet machine: a build running
beside it can halve every rate; the ratio moves less than the rates do.
#>
[CmdletBinding()]
param(
    [ValidateRange(0.1, 3600)]
    [double] $Seconds = 5,

    [ValidateRange(1, 10000000)]
    [int] $MailboxCount = 10000,

    [ValidateRange(1, 99)]
    [int] $ImportRuns = 5,

    [switch] $Breakdown
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$InformationPreference = 'Continue'

$repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
$moduleRoot = Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey'
$manifestPath = Join-Path -Path $moduleRoot -ChildPath 'CustomerKey.psd1'
$invariant = [System.Globalization.CultureInfo]::InvariantCulture

function Write-Figure {
    param([string] $Name, [double] $Value, [string] $Format, [string] $Unit, [string] $Goal, [object] $Met)
    $verdict = ''
    if ($null -ne $Met) {
        $verdict = $(if ($Met) { '; met' } else { '; missed' })
    }
    Write-Output ('figure: {0}: {1} {2} (goal: {3}{4})' -f $Name, $Value.ToString($Format, $invariant), $Unit, $Goal, $verdict)
}

# The pwsh to start children with. A dotnet global tool runs as 'dotnet pwsh.dll', where
# ProcessPath is dotnet itself and pwsh.dll sits in $PSHOME.
function Get-PwshCommand {
    $processPath = [System.Environment]::ProcessPath
    if ([System.IO.Path]::GetFileNameWithoutExtension($processPath) -eq 'pwsh') {
        return , @($processPath)
    }
    $dll = Join-Path -Path $PSHOME -ChildPath 'pwsh.dll'
    if (Test-Path -LiteralPath $dll) {
        return , @($processPath, $dll)
    }
    return , @((Get-Command -Name 'pwsh' -CommandType Application | Select-Object -First 1).Source)
}

function Get-PeakMemoryBytes {
    if ($IsLinux) {
        foreach ($line in [System.IO.File]::ReadAllLines('/proc/self/status')) {
            if ($line.StartsWith('VmHWM:')) {
                return [long] ($line -replace '[^0-9]', '') * 1KB
            }
        }
    }
    $process = [System.Diagnostics.Process]::GetCurrentProcess()
    $process.Refresh()
    return $process.PeakWorkingSet64
}

# PowerShell source that rebuilds $Value: the floor returns a literal, so it pays for building
# an object as big as ours and nothing else.
function ConvertTo-Literal {
    param([object] $Value)
    if ($null -eq $Value) { return '$null' }
    if ($Value -is [bool]) { return $(if ($Value) { '$true' } else { '$false' }) }
    if ($Value -is [string]) { return "'" + $Value.Replace("'", "''") + "'" }
    if ($Value -is [datetime]) { return '[datetime]::new({0}L, [System.DateTimeKind]::{1})' -f $Value.Ticks, $Value.Kind }
    if ($Value -is [int] -or $Value -is [long] -or $Value -is [double] -or $Value -is [decimal]) {
        return '([{0}] {1})' -f $Value.GetType().FullName, $Value.ToString($invariant)
    }
    if ($Value -is [System.Collections.IDictionary]) {
        $pairs = foreach ($key in $Value.Keys) { "'{0}' = {1}" -f ([string] $key).Replace("'", "''"), (ConvertTo-Literal $Value[$key]) }
        return '@{' + ($pairs -join '; ') + '}'
    }
    if ($Value -is [System.Management.Automation.PSCustomObject]) {
        $pairs = foreach ($property in $Value.PSObject.Properties) { "'{0}' = {1}" -f $property.Name, (ConvertTo-Literal $property.Value) }
        return '[pscustomobject]@{' + ($pairs -join '; ') + '}'
    }
    if ($Value -is [System.Collections.IEnumerable]) {
        return '@(' + (@(foreach ($item in $Value) { ConvertTo-Literal $item }) -join ', ') + ')'
    }
    throw "ConvertTo-Literal: no literal for a $($Value.GetType().FullName)"
}

# Defines Get-FloorKeyVaultKey: Get-CkKeyVaultKey's attributes and param block, copied from its
# file by the parser, and a process block returning $Sample's properties as a literal (VaultName
# and Name from the parameters, as ours echo them).
function New-FloorFunction {
    param([object] $Sample)
    $path = Join-Path -Path $moduleRoot -ChildPath 'Public/KeyVault/Get-CkKeyVaultKey.ps1'
    $tokens = $null
    $errors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseFile($path, [ref] $tokens, [ref] $errors)
    $function = $ast.Find({ param($node) $node -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true)
    $paramBlock = $function.Body.ParamBlock
    $header = @($paramBlock.Attributes | ForEach-Object { $_.Extent.Text }) + $paramBlock.Extent.Text
    $pairs = [System.Collections.Generic.List[string]]::new()
    $pairs.Add("PSTypeName = '{0}'" -f $Sample.PSTypeNames[0])
    foreach ($property in $Sample.PSObject.Properties) {
        $literal = switch ($property.Name) {
            'VaultName' { '$VaultName' }
            'Name' { '$Name' }
            default { ConvertTo-Literal $property.Value }
        }
        $pairs.Add(("'{0}' = {1}" -f $property.Name, $literal))
    }
    $text = "function script:Get-FloorKeyVaultKey {`n" + ($header -join "`n") +
        "`n    process {`n        [pscustomobject]@{ " + ($pairs -join '; ') + " }`n    }`n}"
    . ([scriptblock]::Create($text))
}

# Calls per second of each command in $Commands, in a loop of the same shape for all: 16 calls
# between clock reads, so reading the clock costs the floor and ours alike. The commands take
# turns in 8 rounds, so a build or a burst of load next to this run slows them alike and
# leaves the ratio alone. Before that, each runs for $WarmupSeconds unmeasured: pwsh compiles a
# script block only after some calls and .NET re-JITs hot methods later still, and a
# function's first second can run at a fifth of its steady rate.
function Measure-CallRate {
    param([string[]] $Commands, [hashtable] $Arguments, [double] $Duration, [double] $WarmupSeconds = 2)
    $calls = @{}
    $elapsed = @{}
    $rounds = 8
    for ($round = -2; $round -lt $rounds; $round++) {
        foreach ($command in $Commands) {
            $invoke = Get-Command -Name $command
            $slice = $(if ($round -lt 0) { $WarmupSeconds / 2 } else { $Duration / $rounds })
            $count = 0
            $clock = [System.Diagnostics.Stopwatch]::StartNew()
            while ($clock.Elapsed.TotalSeconds -lt $slice) {
                for ($i = 0; $i -lt 16; $i++) { $null = & $invoke @Arguments }
                $count += 16
            }
            if ($round -ge 0) {
                $elapsed[$command] += $clock.Elapsed.TotalSeconds
                $calls[$command] += $count
            }
        }
    }
    $rates = @{}
    foreach ($command in $Commands) { $rates[$command] = $calls[$command] / $elapsed[$command] }
    return $rates
}

# Microseconds per call of $Body: the best of three batches, since load beside the run only
# ever adds time.
function Measure-Microseconds {
    param([int] $Count, [scriptblock] $Body, [int] $Warmup = 20)
    for ($warm = 0; $warm -lt $Warmup; $warm++) { $null = & $Body }
    $batch = [System.Math]::Max(1, [int] [System.Math]::Ceiling($Count / 3))
    $best = [double]::MaxValue
    for ($round = 0; $round -lt [System.Math]::Min(3, $Count); $round++) {
        $clock = [System.Diagnostics.Stopwatch]::StartNew()
        for ($i = 0; $i -lt $batch; $i++) { $null = & $Body }
        $best = [System.Math]::Min($best, $clock.Elapsed.TotalMilliseconds * 1000 / $batch)
    }
    return $best
}

# Microseconds per stage of one call, timed in the module's scope on its private functions.
function Write-Breakdown {
    param([string] $Operation, [string] $Cmdlet, [System.Collections.Specialized.OrderedDictionary] $Arguments, [string] $TypeName)
    $module = Get-Module -Name CustomerKey
    $stages = & $module {
        param($Operation, $Arguments, $TypeName, $Measure)
        $json = [CustomerKey.Native.EngineJson]::Write($Arguments)
        $pointer = [System.IntPtr]::Zero
        $null = [CustomerKey.Native.NativeMethods]::ck_call($script:CkSession, $Operation, $json, [ref] $pointer)
        $text = [CustomerKey.Native.NativeMethods]::TakeString($pointer)
        $shape = $script:CkPlans[$Operation].Shape
        $stages = [ordered]@{}
        $stages['native ck_call + TakeString'] = {
            $p = [System.IntPtr]::Zero
            $null = [CustomerKey.Native.NativeMethods]::ck_call($script:CkSession, $Operation, $json, [ref] $p)
            [CustomerKey.Native.NativeMethods]::TakeString($p)
        }
        $stages['EngineJson.Write of the arguments'] = { [CustomerKey.Native.EngineJson]::Write($Arguments) }
        $stages['EngineJson.Read of the answer (typed objects)'] = { [CustomerKey.Native.EngineJson]::Read($text, $shape) }
        $stages['Test-NativeSession'] = { Test-NativeSession }
        $stages['Invoke-NativeCall'] = { Invoke-NativeCall -Cmdlet $null -Operation $Operation -Arguments $Arguments -Secrets ([ordered]@{}) }
        $stages['Invoke-NativeOperation'] = { Invoke-NativeOperation -Cmdlet $null -Operation $Operation -BoundParameters $Arguments }
        # What a generated cmdlet's begin block adds to every call, against an empty advanced function.
        function Test-EmptyCmdlet { [CmdletBinding()] param() process { } }
        function Test-CallerPreferenceCmdlet {
            [CmdletBinding()] param()
            begin { [CustomerKey.Native.CallerPreference]::Apply($PSCmdlet, $ExecutionContext.SessionState) }
            process { }
        }
        $stages['empty advanced function'] = { Test-EmptyCmdlet }
        $stages['advanced function with the caller-preference begin block'] = { Test-CallerPreferenceCmdlet }
        foreach ($name in $stages.Keys) {
            $microseconds = $null
            try {
                $microseconds = & $Measure -Count 1000 -Body $stages[$name]
            }
            catch {
                Write-Information ('breakdown: {0}: {1}: skipped ({2})' -f $Operation, $name, $_.Exception.Message)
            }
            if ($null -ne $microseconds) { [pscustomobject]@{ Stage = $name; Microseconds = $microseconds } }
        }
    } $Operation $Arguments $TypeName ${function:Measure-Microseconds}
    $whole = Measure-Microseconds -Count 1000 -Body { & $Cmdlet @Arguments }
    foreach ($stage in @($stages) + [pscustomobject]@{ Stage = "$Cmdlet (the whole cmdlet)"; Microseconds = $whole }) {
        Write-Output ('breakdown: {0}: {1}: {2} us/call' -f $Operation, $stage.Stage, $stage.Microseconds.ToString('F1', $invariant))
    }
}

$storePath = Join-Path -Path ([System.IO.Path]::GetTempPath()) -ChildPath ('ck-measure-' + [guid]::NewGuid().ToString('N'))
Import-Module -Name $manifestPath -Force
try {
    $null = Connect-CkService -Path $storePath -UserPrincipalName 'admin@contoso.com'
    Write-Information ('info: pwsh {0}, {1} processors, store {2}' -f $PSVersionTable.PSVersion, [System.Environment]::ProcessorCount, $storePath)

    # Get-CkKeyVaultKey against its floor.
    $vaultName = 'ck-measure-kv'
    $keyName = 'measure-key'
    $null = New-CkKeyVault -VaultName $vaultName -Location 'westeurope'
    $null = Add-CkKeyVaultKey -VaultName $vaultName -Name $keyName -Destination 'Software'
    $sample = Get-CkKeyVaultKey -VaultName $vaultName -Name $keyName
    New-FloorFunction -Sample $sample
    $floorSample = Get-FloorKeyVaultKey -VaultName $vaultName -Name $keyName
    $ourNames = @($sample.PSObject.Properties.Name) -join ','
    if ((@($floorSample.PSObject.Properties.Name) -join ',') -ne $ourNames) {
        throw "The floor's properties differ from Get-CkKeyVaultKey's ($ourNames)"
    }
    $keyArguments = @{ VaultName = $vaultName; Name = $keyName }
    # Each gets $Seconds in all.
    $rates = Measure-CallRate -Commands 'Get-CkKeyVaultKey', 'Get-FloorKeyVaultKey' -Arguments $keyArguments -Duration $Seconds
    $ourRate = $rates['Get-CkKeyVaultKey']
    $floorRate = $rates['Get-FloorKeyVaultKey']
    Write-Figure -Name 'get-key-rate' -Value $ourRate -Format 'F0' -Unit 'calls/s' -Goal 'reference for the ratio'
    Write-Figure -Name 'pwsh-floor-rate' -Value $floorRate -Format 'F0' -Unit 'calls/s' -Goal 'reference for the ratio'
    Write-Figure -Name 'get-key-ratio' -Value ($ourRate / $floorRate) -Format 'F3' -Unit 'x floor' -Goal '>= 0.25' -Met (($ourRate / $floorRate) -ge 0.25)

    # Mailboxes, one New-CkMailbox call each; the time is printed and kept out of the rate.
    $setupClock = [System.Diagnostics.Stopwatch]::StartNew()
    $step = [System.Math]::Max(1, [int] [System.Math]::Ceiling($MailboxCount / 10))
    for ($index = 0; $index -lt $MailboxCount; $index++) {
        $alias = 'mbx{0}' -f $index
        $null = New-CkMailbox -Name $alias -Alias $alias -PrimarySmtpAddress "$alias@contoso.com" -Confirm:$false
        if (($index + 1) % $step -eq 0) {
            Write-Information ('info: created {0} of {1} mailboxes in {2:F0} s' -f ($index + 1), $MailboxCount, $setupClock.Elapsed.TotalSeconds)
        }
    }
    Write-Figure -Name 'mailbox-setup' -Value $setupClock.Elapsed.TotalSeconds -Format 'F1' -Unit 's' -Goal "none; $MailboxCount New-CkMailbox calls, not part of any rate"

    # Warm the pipeline's code paths on one mailbox first, as the call loops above are warmed.
    $warmClock = [System.Diagnostics.Stopwatch]::StartNew()
    while ($warmClock.Elapsed.TotalSeconds -lt 2) {
        $null = Get-CkMailbox -Identity 'mbx0' | Get-CkMailboxStatistics
    }
    [System.GC]::Collect()
    Write-Information ('info: resident memory before the pipeline: {0:F0} MB' -f ([System.Diagnostics.Process]::GetCurrentProcess().WorkingSet64 / 1MB))
    $errorsBefore = $Error.Count
    $pipelineClock = [System.Diagnostics.Stopwatch]::StartNew()
    $read = (Get-CkMailbox | Get-CkMailboxStatistics | Measure-Object).Count
    $pipelineSeconds = $pipelineClock.Elapsed.TotalSeconds
    if ($read -ne $MailboxCount -or $Error.Count -ne $errorsBefore) {
        throw "The pipeline gave $read statistics for $MailboxCount mailboxes, with $($Error.Count - $errorsBefore) errors"
    }
    $rate = $read / $pipelineSeconds
    $peakMegabytes = (Get-PeakMemoryBytes) / 1MB
    $scale = $(if ($MailboxCount -eq 100000) { '' } else { "; this run: $MailboxCount" })
    Write-Figure -Name 'mailbox-statistics-rate' -Value $rate -Format 'F0' -Unit 'objects/s' -Goal ">= 20000 at 100000 mailboxes$scale" -Met ($rate -ge 20000)
    Write-Figure -Name 'peak-memory' -Value $peakMegabytes -Format 'F0' -Unit 'MB' -Goal "< 300 at 100000 mailboxes$scale" -Met ($peakMegabytes -lt 300)

    if ($Breakdown) {
        Write-Breakdown -Operation 'Get-KeyVaultKey' -Cmdlet 'Get-CkKeyVaultKey' -Arguments ([ordered]@{ VaultName = $vaultName; Name = $keyName }) -TypeName 'CustomerKey.KeyVaultKey'
        Write-Breakdown -Operation 'Get-MailboxStatistics' -Cmdlet 'Get-CkMailboxStatistics' -Arguments ([ordered]@{ Identity = 'mbx0' }) -TypeName 'CustomerKey.MailboxStatistics'
        $perMailbox = Measure-Microseconds -Count 3 -Warmup 0 -Body { Get-CkMailbox }
        Write-Output ('breakdown: Get-Mailbox: the whole list, per mailbox: {0} us' -f ($perMailbox / $MailboxCount).ToString('F1', $invariant))
    }
}
finally {
    if (Get-Module -Name CustomerKey) {
        Disconnect-CkService
        Remove-Module -Name CustomerKey -Force
    }
    Remove-Item -LiteralPath $storePath -Recurse -Force -ErrorAction SilentlyContinue
}

# Import-Module in fresh processes, timed inside the child so pwsh's start-up is left out.
$pwsh = Get-PwshCommand
# The child prints the import time, then its peak memory: what the module costs before any call.
$childScript = "`$ErrorActionPreference = 'Stop'; `$t = Measure-Command { Import-Module -Name '" + $manifestPath.Replace("'", "''") + "' }; " +
    '$peak = [System.Diagnostics.Process]::GetCurrentProcess().PeakWorkingSet64; ' +
    'if ($IsLinux) { $peak = [long] ((Select-String -Path /proc/self/status -Pattern "^VmHWM:").Line -replace "[^0-9]", "") * 1KB }; ' +
    '[System.Console]::Out.WriteLine($t.TotalSeconds.ToString([System.Globalization.CultureInfo]::InvariantCulture) + " " + $peak)'
$importSeconds = [System.Collections.Generic.List[double]]::new()
$wallSeconds = [System.Collections.Generic.List[double]]::new()
$childPeaks = [System.Collections.Generic.List[double]]::new()
for ($run = 0; $run -lt $ImportRuns; $run++) {
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    $output = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $childScript
    $wallSeconds.Add($clock.Elapsed.TotalSeconds)
    if ($LASTEXITCODE -ne 0) {
        throw "The child pwsh failed to import the module (exit $LASTEXITCODE): $output"
    }
    $fields = @($output)[-1].Split(' ')
    $importSeconds.Add([double]::Parse($fields[0], $invariant))
    $childPeaks.Add([double]::Parse($fields[1], $invariant) / 1MB)
}
$importMedian = @($importSeconds | Sort-Object)[[int] [System.Math]::Floor($ImportRuns / 2)]
$wallMedian = @($wallSeconds | Sort-Object)[[int] [System.Math]::Floor($ImportRuns / 2)]
Write-Figure -Name 'import-module' -Value $importMedian -Format 'F3' -Unit 's' -Goal "< 0.5, median of $ImportRuns fresh processes" -Met ($importMedian -lt 0.5)
Write-Information ('info: peak memory of a fresh pwsh after Import-Module: {0:F0} MB' -f @($childPeaks | Sort-Object)[[int] [System.Math]::Floor($ImportRuns / 2)])
Write-Figure -Name 'import-child-wall' -Value $wallMedian -Format 'F3' -Unit 's' -Goal 'none; the whole child, pwsh start-up included'
