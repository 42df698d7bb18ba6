#Requires -Version 7.2
# Pester 5 tests of the module used by many writers at once, and of its values across cultures:
#   - four runspaces (ForEach-Object -Parallel), each importing the module and connecting to one
#     store, adding keys, rolling one shared key and wrapping;
#   - two pwsh processes creating one new store at once, then two more writing to one vault
#     while this process writes too;
#   - the dates our objects carry ([datetime], Kind Utc) and Export-Csv / ConvertTo-Json round
#     trips of a key, a vault and mailbox statistics under en-US, de-DE and ja-JP.
# Every writer is the same worker script, so runspaces and processes do the same work; a file
# barrier starts their calls together, so the writes overlap however long each import takes.
# Run: CK_NO_BUILD=1 bash tests/powershell/run.sh tests/powershell/Concurrency.Tests.ps1

BeforeDiscovery {
    Set-StrictMode -Version Latest
    $cultures = @('en-US', 'de-DE', 'ja-JP')
}

BeforeAll {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $manifestPath = Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey/CustomerKey.psd1'
    Import-Module -Name $manifestPath -Force -ErrorAction Stop
    $upn = 'admin@contoso.com'
    $keysPerWorker = 4

    # One writer: adds keys of its own (tagged with its name), adds a version to the shared key
    # when asked, and wraps and unwraps 32 random bytes with each new key. Every failed call is
    # recorded and the next one tried, so a report lists all of them. Emits one report object,
    # or its JSON with -AsJson (for a child process).
    $workerPath = Join-Path -Path $TestDrive -ChildPath 'Invoke-CkWorker.ps1'
    Set-Content -LiteralPath $workerPath -Encoding utf8 -Value @'
param(
    [string] $ManifestPath, [string] $Store, [string] $UserPrincipalName, [string] $Vault,
    [string] $Prefix, [int] $Count, [string] $SharedKey, [string] $Barrier, [int] $Parties,
    [switch] $CreateVault, [switch] $AsJson
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$report = [ordered]@{
    Prefix     = $Prefix
    Created    = [System.Collections.Generic.List[string]]::new()
    Versions   = [System.Collections.Generic.List[string]]::new()
    RoundTrips = 0
    Errors     = [System.Collections.Generic.List[string]]::new()
}
function Add-Failure([string] $Step, [System.Management.Automation.ErrorRecord] $Record) {
    $report.Errors.Add(('{0}: {1} [{2}] {3}' -f $Step, $Record.CategoryInfo.Category, $Record.FullyQualifiedErrorId, $Record.Exception.Message))
}
try {
    Import-Module -Name $ManifestPath
    # Ready, then wait for every party: the calls below start together.
    $null = New-Item -ItemType File -Path ('{0}.{1}' -f $Barrier, $Prefix) -Force
    $deadline = [datetime]::UtcNow.AddMinutes(3)
    while (@(Get-ChildItem -Path ('{0}.*' -f $Barrier)).Count -lt $Parties) {
        if ([datetime]::UtcNow -gt $deadline) { throw 'the other writers never became ready' }
        Start-Sleep -Milliseconds 5
    }
    $null = Connect-CkService -Path $Store -UserPrincipalName $UserPrincipalName
    if ($CreateVault) {
        $null = New-CkKeyVault -VaultName $Vault -Location 'westeurope'
    }
    $random = [System.Random]::new($Prefix.GetHashCode())
    for ($index = 1; $index -le $Count; $index++) {
        $name = '{0}-k{1}' -f $Prefix, $index
        try {
            $key = Add-CkKeyVaultKey -VaultName $Vault -Name $name -Destination 'Software' -Tag @{ writer = $Prefix }
            $report.Created.Add($key.Id)
            if ($SharedKey) {
                $report.Versions.Add((Add-CkKeyVaultKey -VaultName $Vault -Name $SharedKey -Destination 'Software').Version)
            }
            $plain = [byte[]]::new(32)
            $random.NextBytes($plain)
            $wrapped = Invoke-CkKeyVaultKeyOperation -VaultName $Vault -Name $name -Operation 'Wrap' -Algorithm 'RSA-OAEP-256' -ByteArrayValue $plain
            $unwrapped = Invoke-CkKeyVaultKeyOperation -VaultName $Vault -Name $name -Operation 'Unwrap' -Algorithm 'RSA-OAEP-256' -ByteArrayValue $wrapped.RawResult
            if ([System.Convert]::ToBase64String($unwrapped.RawResult) -ceq [System.Convert]::ToBase64String($plain)) {
                $report.RoundTrips++
            }
            else {
                $report.Errors.Add("${name}: unwrapped other bytes than it wrapped")
            }
        }
        catch {
            Add-Failure -Step $name -Record $_
        }
    }
    Disconnect-CkService
}
catch {
    Add-Failure -Step 'setup' -Record $_
}
if ($AsJson) {
    [System.Console]::Out.WriteLine((ConvertTo-Json -InputObject $report -Depth 4 -Compress))
}
else {
    [pscustomobject] $report
}
'@

    # The pwsh to start children with: a dotnet global tool runs as 'dotnet pwsh.dll'.
    $pwshCommand = @([System.Environment]::ProcessPath)
    if ([System.IO.Path]::GetFileNameWithoutExtension($pwshCommand[0]) -ne 'pwsh') {
        $pwshCommand += Join-Path -Path $PSHOME -ChildPath 'pwsh.dll'
    }

    # Starts the worker in a child pwsh, its output redirected to files beside $Barrier.
    function Start-Worker {
        param([hashtable] $Arguments)
        $outFile = '{0}-{1}.out' -f $Arguments.Barrier, $Arguments.Prefix
        # Start-Process joins its arguments with spaces: quote each one.
        $argumentList = @($pwshCommand | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $workerPath, '-AsJson')
        foreach ($name in $Arguments.Keys) {
            $value = $Arguments[$name]
            if ($value -is [switch] -or $value -is [bool]) {
                if ($value) { $argumentList += "-$name" }
            }
            else {
                $argumentList += "-$name", $value
            }
        }
        $quoted = @($argumentList | ForEach-Object { '"{0}"' -f ([string] $_).Replace('"', '\"') })
        $process = Start-Process -FilePath $pwshCommand[0] -ArgumentList $quoted -PassThru -RedirectStandardOutput $outFile -RedirectStandardError "$outFile.err"
        [pscustomobject]@{ Process = $process; OutFile = $outFile; Prefix = $Arguments.Prefix }
    }

    # Waits for a started worker and returns its report; a crash or a timeout becomes an error.
    function Receive-Worker {
        param([object] $Worker)
        if (-not $Worker.Process.WaitForExit(240000)) {
            $Worker.Process.Kill()
            return [pscustomobject]@{ Prefix = $Worker.Prefix; Created = @(); Versions = @(); RoundTrips = 0; Errors = @('timed out after 4 minutes') }
        }
        $Worker.Process.WaitForExit()
        $lines = @(Get-Content -LiteralPath $Worker.OutFile | Where-Object { $_.StartsWith('{') })
        if ($lines.Count -eq 0 -or $Worker.Process.ExitCode -ne 0) {
            $errorText = Get-Content -LiteralPath "$($Worker.OutFile).err" -Raw
            return [pscustomobject]@{ Prefix = $Worker.Prefix; Created = @(); Versions = @(); RoundTrips = 0; Errors = @("exit $($Worker.Process.ExitCode): $errorText") }
        }
        ConvertFrom-Json -InputObject $lines[-1]
    }

    # Every error in the reports, one line each, so a failing Should shows them all.
    function Get-ReportError {
        param([object[]] $Reports)
        @(foreach ($report in $Reports) { foreach ($line in $report.Errors) { '{0}: {1}' -f $report.Prefix, $line } })
    }

    # Runs $Script with the current culture and UI culture set to $Name, restoring both after.
    function Invoke-InCulture {
        param([string] $Name, [scriptblock] $Script)
        $thread = [System.Threading.Thread]::CurrentThread
        $savedCulture = $thread.CurrentCulture
        $savedUICulture = $thread.CurrentUICulture
        try {
            $thread.CurrentCulture = [System.Globalization.CultureInfo]::GetCultureInfo($Name)
            $thread.CurrentUICulture = [System.Globalization.CultureInfo]::GetCultureInfo($Name)
            & $Script
        }
        finally {
            $thread.CurrentCulture = $savedCulture
            $thread.CurrentUICulture = $savedUICulture
        }
    }
}

AfterAll {
    Disconnect-CkService
    Remove-Module -Name CustomerKey -Force -ErrorAction SilentlyContinue
}

Describe 'Four runspaces on one store' {
    BeforeAll {
        $store = Join-Path -Path $TestDrive -ChildPath 'runspaces-store'
        $vault = 'ck-runspaces'
        $null = Connect-CkService -Path $store -UserPrincipalName $upn
        $null = New-CkKeyVault -VaultName $vault -Location 'westeurope'
        $firstShared = Add-CkKeyVaultKey -VaultName $vault -Name 'shared' -Destination 'Software'
        $barrier = Join-Path -Path $TestDrive -ChildPath 'runspaces-ready'
        $reports = @(1..4 | ForEach-Object -ThrottleLimit 4 -Parallel {
                & $using:workerPath -ManifestPath $using:manifestPath -Store $using:store -UserPrincipalName $using:upn -Vault $using:vault `
                    -Prefix "rs$_" -Count $using:keysPerWorker -SharedKey 'shared' -Barrier $using:barrier -Parties 4
            })
    }

    AfterAll {
        Disconnect-CkService
    }

    It 'runs all four to the end without an error, ResourceBusy or any other' {
        $reports.Count | Should -Be 4
        $errors = Get-ReportError -Reports $reports
        @($errors | Where-Object { $_ -match 'ResourceBusy|StoreBusy' }) | Should -BeNullOrEmpty
        $errors | Should -BeNullOrEmpty
    }

    It 'unwraps in every runspace the bytes it wrapped' {
        foreach ($report in $reports) {
            $report.RoundTrips | Should -Be $keysPerWorker -Because $report.Prefix
        }
    }

    It 'keeps every key each runspace created, with its tag' {
        $listed = @(Get-CkKeyVaultKey -VaultName $vault)
        foreach ($report in $reports) {
            $report.Created.Count | Should -Be $keysPerWorker -Because $report.Prefix
            foreach ($id in $report.Created) {
                $key = Get-CkKeyVaultKey -VaultName $vault -Name ($id -split '/')[-2]
                $key.Id | Should -Be $id
                $key.Tags['writer'] | Should -Be $report.Prefix
            }
        }
        $listed.Count | Should -Be (4 * $keysPerWorker + 1)
    }

    It 'keeps every version the runspaces added to the shared key' {
        $versions = @(Get-CkKeyVaultKey -VaultName $vault -Name 'shared' -IncludeVersions | ForEach-Object Version)
        $added = @($reports | ForEach-Object { $_.Versions })
        $added.Count | Should -Be (4 * $keysPerWorker)
        $versions.Count | Should -Be (4 * $keysPerWorker + 1)
        foreach ($version in @($added) + $firstShared.Version) {
            $versions | Should -Contain $version
        }
    }
}

Describe 'Four runspaces importing the module at once into a fresh process' {
    It 'compiles the native declarations once, not once per runspace' {
        $script = "`$m = '$($manifestPath.Replace("'", "''"))'; " + @'
$null = 1..4 | ForEach-Object -ThrottleLimit 4 -Parallel { Import-Module -Name $using:m -ErrorAction Stop }
@([System.AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $null -ne $_.GetType('CustomerKey.Native.NativeMethods') }).Count
'@
        $arguments = @($pwshCommand | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', $script)
        # An empty assembly cache (it lives under XDG_DATA_HOME), so the four really race to compile.
        $savedDataHome = $env:XDG_DATA_HOME
        try {
            $env:XDG_DATA_HOME = Join-Path -Path $TestDrive -ChildPath 'fresh-data-home'
            $output = & $pwshCommand[0] @arguments
        }
        finally {
            $env:XDG_DATA_HOME = $savedDataHome
        }
        $LASTEXITCODE | Should -Be 0
        @(Get-ChildItem -Path (Join-Path -Path $TestDrive -ChildPath 'fresh-data-home/customer-key/assemblies') -Filter '*.dll').Count | Should -Be 1
        # Each duplicate is a second Add-Type of Native.cs: its compile time, its memory, and a
        # CkSessionHandle type that the other copies' ck_call does not accept.
        @($output)[-1] | Should -Be '1'
    }
}

Describe 'Two pwsh processes creating one new store at once' {
    BeforeAll {
        $store = Join-Path -Path $TestDrive -ChildPath 'new-store'
        $barrier = Join-Path -Path $TestDrive -ChildPath 'new-store-ready'
        $workers = foreach ($prefix in 'pa', 'pb') {
            Start-Worker -Arguments @{
                ManifestPath = $manifestPath; Store = $store; UserPrincipalName = $upn; Vault = "ck-new-$prefix"
                Prefix = $prefix; Count = $keysPerWorker; Barrier = $barrier; Parties = 2; CreateVault = $true
            }
        }
        $reports = @($workers | ForEach-Object { Receive-Worker -Worker $_ })
    }

    It 'finishes both without an error, ResourceBusy or any other' {
        $reports.Count | Should -Be 2
        Get-ReportError -Reports $reports | Should -BeNullOrEmpty
        foreach ($report in $reports) {
            $report.RoundTrips | Should -Be $keysPerWorker -Because $report.Prefix
        }
    }

    It 'keeps both vaults and every key, as a new session reads them' {
        $null = Connect-CkService -Path $store -UserPrincipalName $upn
        try {
            foreach ($report in $reports) {
                $vault = "ck-new-$($report.Prefix)"
                (Get-CkKeyVault -VaultName $vault).VaultName | Should -Be $vault
                $ids = @(Get-CkKeyVaultKey -VaultName $vault | ForEach-Object Id)
                $ids.Count | Should -Be $keysPerWorker
                foreach ($id in $report.Created) {
                    (Get-CkKeyVaultKey -VaultName $vault -Name ($id -split '/')[-2]).Id | Should -Be $id
                }
            }
        }
        finally {
            Disconnect-CkService
        }
    }
}

Describe 'Two pwsh processes and this one writing to one vault' {
    BeforeAll {
        $store = Join-Path -Path $TestDrive -ChildPath 'shared-store'
        $vault = 'ck-shared'
        $barrier = Join-Path -Path $TestDrive -ChildPath 'shared-store-ready'
        $null = Connect-CkService -Path $store -UserPrincipalName $upn
        $null = New-CkKeyVault -VaultName $vault -Location 'westeurope'
        $firstShared = Add-CkKeyVaultKey -VaultName $vault -Name 'shared' -Destination 'Software'
        $workers = @(foreach ($prefix in 'pc', 'pd') {
                Start-Worker -Arguments @{
                    ManifestPath = $manifestPath; Store = $store; UserPrincipalName = $upn; Vault = $vault
                    Prefix = $prefix; Count = $keysPerWorker; SharedKey = 'shared'; Barrier = $barrier; Parties = 2
                }
            })
        # This process keeps its session open and writes while the children do.
        $ownKeys = [System.Collections.Generic.List[string]]::new()
        $ownErrors = [System.Collections.Generic.List[string]]::new()
        $deadline = [datetime]::UtcNow.AddMinutes(4)
        while (@($workers | Where-Object { -not $_.Process.HasExited }).Count -gt 0 -and [datetime]::UtcNow -lt $deadline) {
            if (@(Get-ChildItem -Path "$barrier.*").Count -lt 2) {
                Start-Sleep -Milliseconds 20
                continue
            }
            try {
                $ownKeys.Add((Add-CkKeyVaultKey -VaultName $vault -Name ('main-k{0}' -f ($ownKeys.Count + 1)) -Destination 'Software' -ErrorAction Stop).Id)
            }
            catch {
                $ownErrors.Add(('{0} [{1}] {2}' -f $_.CategoryInfo.Category, $_.FullyQualifiedErrorId, $_.Exception.Message))
            }
        }
        $reports = @($workers | ForEach-Object { Receive-Worker -Worker $_ })
    }

    AfterAll {
        Disconnect-CkService
    }

    It 'finishes every writer without an error, ResourceBusy or any other' {
        $reports.Count | Should -Be 2
        Get-ReportError -Reports $reports | Should -BeNullOrEmpty
        $ownErrors | Should -BeNullOrEmpty
        foreach ($report in $reports) {
            $report.RoundTrips | Should -Be $keysPerWorker -Because $report.Prefix
        }
    }

    It 'wrote from this process while the children ran' {
        $ownKeys.Count | Should -BeGreaterThan 0
    }

    It 'keeps every key of all three writers' {
        $ids = @(Get-CkKeyVaultKey -VaultName $vault | ForEach-Object Id)
        $expected = @($reports | ForEach-Object { $_.Created }) + @($ownKeys)
        $expected.Count | Should -Be (2 * $keysPerWorker + $ownKeys.Count)
        foreach ($id in $expected) {
            $ids | Should -Contain $id
        }
        $ids.Count | Should -Be ($expected.Count + 1)
    }

    It 'keeps every version both processes added to the shared key' {
        $versions = @(Get-CkKeyVaultKey -VaultName $vault -Name 'shared' -IncludeVersions | ForEach-Object Version)
        $added = @($reports | ForEach-Object { $_.Versions })
        $added.Count | Should -Be (2 * $keysPerWorker)
        $versions.Count | Should -Be ($added.Count + 1)
        foreach ($version in @($added) + $firstShared.Version) {
            $versions | Should -Contain $version
        }
    }
}

foreach ($culture in $cultures) {
    # The culture is in the name by interpolation, not as a template.
    Describe "Dates and round trips under the $culture culture" -ForEach @(@{ Culture = $culture }) {
        BeforeAll {
            $store = Join-Path -Path $TestDrive -ChildPath "culture-store-$Culture"
            $vault = 'ck-culture'
            # Whole seconds: the engine keeps Unix seconds.
            $expires = [datetime]::new(2031, 3, 4, 5, 6, 7, [System.DateTimeKind]::Local)
            $notBefore = [datetime]::new(2025, 1, 2, 3, 4, 5, [System.DateTimeKind]::Utc)
            $null = Connect-CkService -Path $store -UserPrincipalName $upn
            $made = Invoke-InCulture -Name $Culture -Script {
                $null = New-CkKeyVault -VaultName $vault -Location 'westeurope' -Tag @{ owner = 'Zoë' }
                $null = New-CkMailbox -Name 'Ada Lovelace' -Alias 'ada' -PrimarySmtpAddress 'ada@contoso.com'
                $null = Add-CkMailboxItem -Identity 'ada' -Subject 'Q3' -Body 'figures'
                [pscustomobject]@{
                    Key      = Add-CkKeyVaultKey -VaultName $vault -Name 'dated' -Destination 'Software' -Expires $expires -NotBefore $notBefore -Tag @{ team = 'ops' }
                    # A string binds to [datetime] the invariant way, whatever the culture.
                    FromText = Add-CkKeyVaultKey -VaultName $vault -Name 'from-text' -Destination 'Software' -Expires '2031-03-04T05:06:07Z'
                    Vault    = Get-CkKeyVault -VaultName $vault
                    Stats    = Get-CkMailboxStatistics -Identity 'ada'
                    Item     = @(Get-CkMailboxItem -Identity 'ada')[0]
                }
            }
            $null = Add-CkKeyVaultKey -VaultName $vault -Name 'doomed' -Destination 'Software'
            Remove-CkKeyVaultKey -VaultName $vault -Name 'doomed' -Force -Confirm:$false

            # Every [datetime] in an object and its nested objects, with its path.
            function Get-DateValue {
                param([object] $Object, [string] $Path)
                foreach ($property in $Object.PSObject.Properties) {
                    $value = $property.Value
                    if ($value -is [datetime]) {
                        [pscustomobject]@{ Path = "$Path.$($property.Name)"; Value = $value }
                    }
                    elseif ($value -is [System.Management.Automation.PSCustomObject]) {
                        Get-DateValue -Object $value -Path "$Path.$($property.Name)"
                    }
                }
            }

            # A value as text that does not depend on the culture or on the JSON shape: maps of
            # either kind by sorted name, lists item by item, times as UTC ISO 8601.
            function ConvertTo-Canonical {
                param([object] $Value)
                if ($null -eq $Value) { return 'null' }
                if ($Value -is [datetime]) { return $Value.ToUniversalTime().ToString('o', [System.Globalization.CultureInfo]::InvariantCulture) }
                if ($Value -is [string]) { return '"' + $Value + '"' }
                if ($Value -is [bool]) { return $Value.ToString() }
                if ($Value -is [System.Collections.IDictionary] -or $Value -is [System.Management.Automation.PSCustomObject]) {
                    $pairs = if ($Value -is [System.Collections.IDictionary]) {
                        foreach ($key in $Value.Keys) { '{0}={1}' -f $key, (ConvertTo-Canonical $Value[$key]) }
                    }
                    else {
                        foreach ($property in $Value.PSObject.Properties) { '{0}={1}' -f $property.Name, (ConvertTo-Canonical $property.Value) }
                    }
                    return '{' + (@($pairs | Sort-Object -Culture '') -join ',') + '}'
                }
                if ($Value -is [System.Collections.IEnumerable]) {
                    return '[' + (@(foreach ($item in $Value) { ConvertTo-Canonical $item }) -join ',') + ']'
                }
                # Numbers: a PSObject is IFormattable too, so this comes after maps and lists.
                return [string]::Format([System.Globalization.CultureInfo]::InvariantCulture, '{0}', $Value)
            }

            # Import-Csv gives text written in the current culture: read it back as the type the
            # original value had. Nested objects are not CSV values and are left out.
            function Assert-CsvRoundTrip {
                param([object] $Original)
                $file = Join-Path -Path $TestDrive -ChildPath ('roundtrip-{0}.csv' -f [guid]::NewGuid().ToString('N'))
                $Original | Export-Csv -LiteralPath $file -NoTypeInformation -Encoding utf8
                $imported = @(Import-Csv -LiteralPath $file -Encoding utf8)
                $imported.Count | Should -Be 1
                $culture = [System.Globalization.CultureInfo]::CurrentCulture
                $compared = 0
                foreach ($property in $Original.PSObject.Properties) {
                    $value = $property.Value
                    $text = $imported[0].($property.Name)
                    if ($null -eq $value) {
                        $text | Should -BeNullOrEmpty -Because $property.Name
                        continue
                    }
                    $back = switch ($value.GetType()) {
                        ([string]) { $text }
                        ([bool]) { [bool]::Parse($text) }
                        ([long]) { [long]::Parse($text, $culture) }
                        ([int]) { [int]::Parse($text, $culture) }
                        ([double]) { [double]::Parse($text, $culture) }
                        ([datetime]) { [datetime]::Parse($text, $culture) }
                        default { $null }
                    }
                    if ($null -eq $back) { continue }
                    $back | Should -Be $value -Because "$($property.Name) read back as '$text'"
                    $compared++
                }
                $compared | Should -BeGreaterThan 3
            }

            function Assert-JsonRoundTrip {
                param([object] $Original)
                $back = ConvertTo-Json -InputObject $Original -Depth 10 | ConvertFrom-Json
                foreach ($property in $Original.PSObject.Properties) {
                    ConvertTo-Canonical $back.($property.Name) | Should -Be (ConvertTo-Canonical $property.Value) -Because $property.Name
                }
                @($back.PSObject.Properties.Name) | Should -Be @($Original.PSObject.Properties.Name)
            }
        }

        AfterAll {
            Disconnect-CkService
        }

        It 'runs in that culture' {
            Invoke-InCulture -Name $Culture -Script {
                [System.Globalization.CultureInfo]::CurrentCulture.Name | Should -Be $Culture
                [System.Globalization.CultureInfo]::CurrentUICulture.Name | Should -Be $Culture
            }
        }

        It 'gives a key UTC [datetime] times, nested ones too, at the instants it was given' {
            Invoke-InCulture -Name $Culture -Script {
                $read = Get-CkKeyVaultKey -VaultName $vault -Name 'dated'
                foreach ($key in $made.Key, $read) {
                    $dates = @(Get-DateValue -Object $key -Path 'key')
                    @($dates.Path) | Should -Contain 'key.Created'
                    @($dates.Path) | Should -Contain 'key.Attributes.Expires'
                    foreach ($date in $dates) {
                        $date.Value.Kind | Should -Be ([System.DateTimeKind]::Utc) -Because $date.Path
                    }
                    $key.Expires | Should -Be $expires.ToUniversalTime()
                    $key.NotBefore | Should -Be $notBefore
                    $key.Attributes.Expires | Should -Be $expires.ToUniversalTime()
                    ([datetime]::UtcNow - $key.Created).TotalMinutes | Should -BeLessThan 10
                }
                $made.FromText.Expires | Should -Be ([datetime]::new(2031, 3, 4, 5, 6, 7, [System.DateTimeKind]::Utc))
                $made.FromText.Expires.Kind | Should -Be ([System.DateTimeKind]::Utc)
            }
        }

        It 'gives a deleted key, a mailbox item and mailbox statistics UTC [datetime] times' {
            Invoke-InCulture -Name $Culture -Script {
                $deleted = @(Get-CkKeyVaultKey -VaultName $vault -InRemovedState | Where-Object Name -EQ 'doomed')[0]
                foreach ($name in 'DeletedDate', 'ScheduledPurgeDate', 'Created') {
                    $deleted.$name | Should -BeOfType ([datetime])
                    $deleted.$name.Kind | Should -Be ([System.DateTimeKind]::Utc) -Because $name
                }
                $deleted.ScheduledPurgeDate | Should -BeGreaterThan $deleted.DeletedDate
                $made.Item.Received | Should -BeOfType ([datetime])
                $made.Item.Received.Kind | Should -Be ([System.DateTimeKind]::Utc)
                foreach ($date in @(Get-DateValue -Object (Get-CkMailboxStatistics -Identity 'ada') -Path 'stats')) {
                    $date.Value.Kind | Should -Be ([System.DateTimeKind]::Utc) -Because $date.Path
                }
                $made.Stats.ItemCount | Should -Be 1
            }
        }

        It 'round-trips a key, a vault and mailbox statistics through Export-Csv and Import-Csv' {
            Invoke-InCulture -Name $Culture -Script {
                Assert-CsvRoundTrip -Original $made.Key
                Assert-CsvRoundTrip -Original $made.Vault
                Assert-CsvRoundTrip -Original $made.Stats
            }
        }

        It 'round-trips a key, a vault and mailbox statistics through ConvertTo-Json and ConvertFrom-Json' {
            Invoke-InCulture -Name $Culture -Script {
                Assert-JsonRoundTrip -Original $made.Key
                Assert-JsonRoundTrip -Original $made.Vault
                Assert-JsonRoundTrip -Original $made.Stats
                $back = ConvertTo-Json -InputObject $made.Key -Depth 10 | ConvertFrom-Json
                $back.Expires.Kind | Should -Be ([System.DateTimeKind]::Utc)
                $back.Tags.team | Should -Be 'ops'
                (ConvertTo-Json -InputObject $made.Vault -Depth 10 | ConvertFrom-Json).Tags.owner | Should -Be 'Zoë'
            }
        }
    }
}
