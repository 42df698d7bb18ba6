#Requires -Version 7.2
# Pester 5 tests of long pipelines: Get-CkMailbox reads the listing a page at a time, and
# Get-CkMailboxStatistics sends its pipeline inputs to the engine in batches (ck_describe's Pages
# and Batch; src/operations/paging.rs, Batch.cs). An admin sees what a per-input cmdlet gives:
# every object once and in order, a bad input as a non-terminating error at its place, -ErrorAction
# Stop ending the run there, Select-Object -First stopping it cleanly, results while a slow
# producer is still going. 2,300 mailboxes cross both the page size and the batch size (1,000).

BeforeAll {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $manifestPath = Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey/CustomerKey.psd1'
    Import-Module -Name $manifestPath -Force -ErrorAction Stop

    $storePath = Join-Path -Path $TestDrive -ChildPath 'batching-store'
    $null = New-Item -ItemType Directory -Path $storePath -Force
    $null = Connect-CkService -Path $storePath -UserPrincipalName 'admin@contoso.com'

    $mailboxCount = 2300
    for ($index = 0; $index -lt $mailboxCount; $index++) {
        $alias = 'mbx{0}' -f $index
        $null = New-CkMailbox -Name $alias -Alias $alias -PrimarySmtpAddress "$alias@contoso.com" -Confirm:$false
    }
    $expectedNames = @(0..($mailboxCount - 1) | ForEach-Object { 'mbx{0}' -f $_ })
}

AfterAll {
    Disconnect-CkService
    Remove-Module -Name CustomerKey -Force -ErrorAction SilentlyContinue
}

Describe 'Get-CkMailbox reads the listing a page at a time' {
    It 'gives every mailbox once, in creation order, across pages' {
        $names = @(Get-CkMailbox | ForEach-Object { $_.Name })
        $names.Count | Should -Be $mailboxCount
        ($names -join ',') | Should -BeExactly ($expectedNames -join ',')
    }

    It 'asks the engine for one page at a time' {
        $verbose = @(Get-CkMailbox -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })
        @($verbose | Where-Object { $_.Message -like 'CustomerKey: calling Get-Mailbox for a page of 1000' }).Count | Should -Be 3
    }

    It 'gives one mailbox by -Identity' {
        @(Get-CkMailbox -Identity 'mbx1500').Name | Should -Be 'mbx1500'
    }
}

Describe 'Get-CkMailboxStatistics sends its pipeline inputs in batches' {
    It 'gives one statistics object per mailbox, in input order' {
        $statistics = @(Get-CkMailbox | Get-CkMailboxStatistics)
        $statistics.Count | Should -Be $mailboxCount
        ($statistics.DisplayName -join ',') | Should -BeExactly ($expectedNames -join ',')
        $statistics[0].PSObject.TypeNames[0] | Should -Be 'CustomerKey.MailboxStatistics'
    }

    It 'makes one native call per 1,000 inputs' {
        $verbose = @(Get-CkMailbox | Get-CkMailboxStatistics -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })
        $calls = @($verbose | Where-Object { $_.Message -like 'CustomerKey: calling Get-MailboxStatistics for *' })
        ($calls.Message -join '|') | Should -Be 'CustomerKey: calling Get-MailboxStatistics for 1000 inputs|CustomerKey: calling Get-MailboxStatistics for 1000 inputs|CustomerKey: calling Get-MailboxStatistics for 300 inputs'
    }

    It 'writes a bad input as a non-terminating error at its place, and goes on' {
        $all = @('mbx0', 'nobody@contoso.com', 'mbx1' | Get-CkMailboxStatistics -ErrorAction Continue 2>&1)
        $all.Count | Should -Be 3
        $all[0].DisplayName | Should -Be 'mbx0'
        $all[1] | Should -BeOfType ([System.Management.Automation.ErrorRecord])
        $all[1].FullyQualifiedErrorId | Should -Be 'MailboxNotFound,Get-CkMailboxStatistics'
        $all[1].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $all[2].DisplayName | Should -Be 'mbx1'
    }

    It 'collects the errors with -ErrorAction SilentlyContinue -ErrorVariable' {
        $found = @('nobody-1', 'mbx2', 'nobody-2' | Get-CkMailboxStatistics -ErrorAction SilentlyContinue -ErrorVariable failures)
        $found.DisplayName | Should -Be 'mbx2'
        $failures.Count | Should -Be 2
        $failures[0].TargetObject | Should -Be 'nobody-1'
    }

    It 'ends at the first bad input with -ErrorAction Stop' {
        { 'mbx0', 'nobody', 'mbx1' | Get-CkMailboxStatistics -ErrorAction Stop } | Should -Throw -ErrorId 'MailboxNotFound,Get-CkMailboxStatistics'
    }

    It 'stops cleanly when Select-Object -First has what it needs' {
        $Error.Clear()
        $first = @(Get-CkMailbox | Get-CkMailboxStatistics | Select-Object -First 3)
        $first.DisplayName | Should -Be @('mbx0', 'mbx1', 'mbx2')
        $Error.Count | Should -Be 0
    }

    It 'gives results while a slow producer is still going' {
        $events = [System.Collections.Generic.List[string]]::new()
        & {
            foreach ($alias in 'mbx0', 'mbx1', 'mbx2') {
                $events.Add("in $alias")
                $alias
                Start-Sleep -Milliseconds 300
            }
        } | Get-CkMailboxStatistics | ForEach-Object { $events.Add("out $($_.DisplayName)") }
        $events.IndexOf('out mbx0') | Should -BeLessThan $events.IndexOf('in mbx2')
        @($events | Where-Object { $_ -like 'out *' }).Count | Should -Be 3
    }
}
