#Requires -Version 7.2
# Write-Progress as an admin sees it, read from a runspace's Streams.Progress: the SharePoint
# register and roll with -Wait, the Exchange refresh after a key roll, and a mailbox move. Each
# Describe runs the cmdlets in a runspace of its own with its own store, so the records are only
# the ones the cmdlets wrote.
# Run from the repository root (run.sh sets the pacing variables below):
#   CK_NO_BUILD=1 bash tests/powershell/run.sh tests/powershell/Progress.Tests.ps1
# CUSTOMER_KEY_SPO_BATCH_SIZE=10 and CUSTOMER_KEY_SPO_BATCH_PAUSE_MS=20 make a roll of 300 sites
# last long enough to be polled; without them the SharePoint cases that need a poll are skipped.

BeforeDiscovery {
    Set-StrictMode -Version Latest
    $pacedBatches = $env:CUSTOMER_KEY_SPO_BATCH_SIZE -eq '10' -and $env:CUSTOMER_KEY_SPO_BATCH_PAUSE_MS -eq '20'
}

BeforeAll {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $manifestPath = Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey/CustomerKey.psd1'

    function New-ObservedShell {
        param([string] $StorePath)
        $shell = [powershell]::Create()
        $null = Invoke-Observed -Shell $shell -Script {
            param([string] $ManifestPath, [string] $StorePath)
            Import-Module -Name $ManifestPath -ErrorAction Stop
            $null = Connect-CkService -Path $StorePath -UserPrincipalName 'admin@contoso.com'
        } -Parameters @{ ManifestPath = $manifestPath; StorePath = $StorePath }
        $shell
    }

    # Runs $Script (its text, so it runs in the runspace, not here) and returns what each stream
    # got from this call alone; an error in the runspace fails the case.
    function Invoke-Observed {
        param([powershell] $Shell, [scriptblock] $Script, [hashtable] $Parameters = @{}, [switch] $AllowError)
        $Shell.Commands.Clear()
        $Shell.Streams.ClearStreams()
        $null = $Shell.AddScript($Script.ToString()).AddParameters($Parameters)
        $output = @($Shell.Invoke())
        $errors = @($Shell.Streams.Error)
        if (-not $AllowError -and $errors.Count -gt 0) {
            throw "The runspace wrote errors: $($errors -join '; ')"
        }
        [pscustomobject]@{ Output = $output; Progress = @($Shell.Streams.Progress); Errors = $errors }
    }

    # What an admin relies on from a progress bar: one activity, its percentage within 0..100 and
    # never going back, and a Completed record that takes the bar away at the end.
    function Assert-Progress {
        param([object[]] $Records, [string] $ActivityLike, [string] $StatusLike, [int] $MinimumProcessing)
        $Records.Count | Should -BeGreaterThan 0 -Because 'the cmdlet must write progress'
        @($Records | Where-Object { $_.Activity -notlike $ActivityLike }).Count | Should -Be 0 -Because "every record is about '$ActivityLike'"
        @($Records.ActivityId | Select-Object -Unique).Count | Should -Be 1 -Because 'one bar, closed by its own Completed record'
        $Records[-1].RecordType | Should -Be ([System.Management.Automation.ProgressRecordType]::Completed)
        $processing = @($Records | Where-Object { $_.RecordType -eq [System.Management.Automation.ProgressRecordType]::Processing })
        $processing.Count | Should -BeGreaterOrEqual $MinimumProcessing
        $previous = 0
        foreach ($record in $processing) {
            $record.PercentComplete | Should -BeGreaterOrEqual 0
            $record.PercentComplete | Should -BeLessOrEqual 100
            $record.PercentComplete | Should -BeGreaterOrEqual $previous -Because 'a progress bar does not go back'
            $previous = $record.PercentComplete
            if ($StatusLike) { $record.StatusDescription | Should -BeLike $StatusLike }
        }
    }
}

Describe 'Progress of the SharePoint register and roll' {
    BeforeAll {
        $shell = New-ObservedShell -StorePath (Join-Path -Path $TestDrive -ChildPath 'spo-store')
        $siteCount = 300
        $keys = (Invoke-Observed -Shell $shell -Script {
                param([int] $SiteCount)
                $sharePoint = '00000003-0000-0ff1-ce00-000000000000'
                foreach ($vault in 'ck-progress-spo-a', 'ck-progress-spo-b') {
                    $null = New-CkKeyVault -VaultName $vault -Location 'westeurope' -EnablePurgeProtection
                    Add-CkKeyVaultKey -VaultName $vault -Name 'spo-key' -Destination Software -KeyOps 'wrapKey', 'unwrapKey'
                    $null = Set-CkKeyVaultAccessPolicy -VaultName $vault -ServicePrincipalName $sharePoint -PermissionsToKeys 'get', 'wrapKey', 'unwrapKey'
                }
                foreach ($i in 0..($SiteCount - 1)) {
                    $null = New-CkSPOSite -Url ('https://contoso.sharepoint.com/sites/progress{0:d4}' -f $i) -Title "Site $i"
                }
            } -Parameters @{ SiteCount = $siteCount }).Output
        $rollScript = {
            param([string] $Preference)
            $next = Add-CkKeyVaultKey -VaultName 'ck-progress-spo-a' -Name 'spo-key' -Destination Software -KeyOps 'wrapKey', 'unwrapKey'
            $roll = @{ KeyType = 'Primary'; KeyVaultName = 'ck-progress-spo-a'; KeyName = 'spo-key'; KeyVersion = $next.Version; Wait = $true }
            if ($Preference) { $roll['ProgressAction'] = $Preference }
            Update-CkSPODataEncryptionPolicy @roll
        }
    }

    AfterAll {
        $null = Invoke-Observed -Shell $shell -Script { Disconnect-CkService } -AllowError
        $shell.Dispose()
    }

    It 'Register-CkSPODataEncryptionPolicy -Wait shows the sites done until Registered' -Skip:(-not $pacedBatches) {
        $observed = Invoke-Observed -Shell $shell -Script {
            param([string] $Primary, [string] $Secondary)
            Register-CkSPODataEncryptionPolicy -PrimaryKeyVaultUri $Primary -SecondaryKeyVaultUri $Secondary -Wait
        } -Parameters @{ Primary = $keys[0].Id; Secondary = $keys[1].Id }
        @($observed.Output).Count | Should -Be 1
        $observed.Output[0].State | Should -Be 'Registered'
        Assert-Progress -Records $observed.Progress -ActivityLike '*Registering*SharePoint*' -StatusLike "* of $siteCount sites" -MinimumProcessing 1
    }

    It 'Update-CkSPODataEncryptionPolicy -Wait shows the roll until Registered' -Skip:(-not $pacedBatches) {
        $observed = Invoke-Observed -Shell $shell -Script $rollScript
        @($observed.Output).Count | Should -Be 1
        $observed.Output[0].State | Should -Be 'Registered'
        Assert-Progress -Records $observed.Progress -ActivityLike '*Rolling*SharePoint*' -StatusLike "Rolling: * of $siteCount sites" -MinimumProcessing 1
    }

    It 'Update-CkSPODataEncryptionPolicy -Wait -ProgressAction <Preference> writes no progress' -Skip:(-not $pacedBatches) -ForEach @(
        @{ Preference = 'Ignore' }
        @{ Preference = 'SilentlyContinue' }
    ) {
        $observed = Invoke-Observed -Shell $shell -Script $rollScript -Parameters @{ Preference = $Preference }
        $observed.Output[0].State | Should -Be 'Registered'
        $observed.Progress.Count | Should -Be 0
    }

    # A script's own preference, as compiled (Az, SharePoint Online) cmdlets honour it; a script
    # module's functions see only the global one unless they take the caller's.
    It 'writes no progress under a script''s $ProgressPreference = ''SilentlyContinue''' -Skip:(-not $pacedBatches) {
        $observed = Invoke-Observed -Shell $shell -Script ([scriptblock]::Create('& { $ProgressPreference = ''SilentlyContinue''; & { ' + $rollScript.ToString() + ' } }'))
        $observed.Output[0].State | Should -Be 'Registered'
        $observed.Progress.Count | Should -Be 0
    }
}

Describe 'Progress of the Exchange refresh and a mailbox move' {
    BeforeAll {
        $shell = New-ObservedShell -StorePath (Join-Path -Path $TestDrive -ChildPath 'exchange-store')
        $mailboxCount = 20
        $null = Invoke-Observed -Shell $shell -Script {
            param([int] $MailboxCount)
            $exchange = '00000002-0000-0ff1-ce00-000000000000'
            $keyIds = foreach ($vault in 'ck-progress-exo-a', 'ck-progress-exo-b') {
                $null = New-CkKeyVault -VaultName $vault -Location 'westeurope' -EnablePurgeProtection
                $null = Add-CkKeyVaultKey -VaultName $vault -Name 'exo-key' -Destination Software -KeyOps 'wrapKey', 'unwrapKey'
                $null = Set-CkKeyVaultAccessPolicy -VaultName $vault -ServicePrincipalName $exchange -PermissionsToKeys 'get', 'wrapKey', 'unwrapKey'
                "https://$vault.vault.azure.net/keys/exo-key"
            }
            $null = New-CkDataEncryptionPolicy -Name 'EXO-PROGRESS' -AzureKeyIDs $keyIds
            foreach ($i in 1..$MailboxCount) {
                $null = New-CkMailbox -Name "User $i" -Alias "user$i" -PrimarySmtpAddress "user$i@contoso.com"
                $null = Add-CkMailboxItem -Identity "user$i" -Subject "Item $i" -Body 'figures'
                Set-CkMailbox -Identity "user$i" -DataEncryptionPolicy 'EXO-PROGRESS'
            }
        } -Parameters @{ MailboxCount = $mailboxCount }
    }

    AfterAll {
        $null = Invoke-Observed -Shell $shell -Script { Disconnect-CkService } -AllowError
        $shell.Dispose()
    }

    # -Refresh starts a background rewrap of every mailbox; like the SharePoint roll, -Wait shows
    # it (RewrapState, MailboxesDone of MailboxesTotal) and returns once every mailbox is under the
    # new DataEncryptionPolicyID. Twenty mailboxes are one batch of the job, which may well be done
    # before the first poll: the bar then shows only its Completed record.
    It 'Set-CkDataEncryptionPolicy -Refresh -Wait shows the mailboxes rewrapped' {
        (Invoke-Observed -Shell $shell -Script { (Get-Command -Name Set-CkDataEncryptionPolicy).Parameters.ContainsKey('Wait') }).Output |
            Should -BeTrue -Because 'an admin waits for the rewrap as for the SharePoint roll'
        $observed = Invoke-Observed -Shell $shell -Script {
            $null = Add-CkKeyVaultKey -VaultName 'ck-progress-exo-a' -Name 'exo-key' -Destination Software -KeyOps 'wrapKey', 'unwrapKey'
            $refreshed = Set-CkDataEncryptionPolicy -Identity 'EXO-PROGRESS' -Refresh -Wait
            $refreshed
            @(Get-CkMailbox | Get-CkMailboxStatistics | Where-Object { $_.DataEncryptionPolicyID -ne $refreshed.DataEncryptionPolicyID }).Count
        }
        $observed.Output.Count | Should -Be 2
        $observed.Output[1] | Should -Be 0 -Because '-Wait returns once every mailbox is rewrapped'
        $refreshed = $observed.Output[0]
        $refreshed.PSObject.TypeNames | Should -Contain 'CustomerKey.DataEncryptionPolicy'
        $refreshed.Name | Should -Be 'EXO-PROGRESS'
        $refreshed.RewrapState | Should -Be 'Done'
        $refreshed.PercentComplete | Should -Be 100
        $refreshed.MailboxesDone | Should -Be $mailboxCount
        $refreshed.MailboxesTotal | Should -Be $mailboxCount
        $refreshed.JobState | Should -Be 'Completed'
        $refreshed.LastError | Should -BeNullOrEmpty
        Assert-Progress -Records $observed.Progress -ActivityLike '*Rewrapping*data encryption policy*' -StatusLike "Rewrapping: * of $mailboxCount mailboxes" -MinimumProcessing 0
    }

    It 'Set-CkDataEncryptionPolicy -Refresh without -Wait returns at once, Rewrapping, its progress in Get-CkDataEncryptionPolicy' {
        $observed = Invoke-Observed -Shell $shell -Script {
            $null = Add-CkKeyVaultKey -VaultName 'ck-progress-exo-b' -Name 'exo-key' -Destination Software -KeyOps 'wrapKey', 'unwrapKey'
            Set-CkDataEncryptionPolicy -Identity 'EXO-PROGRESS' -Refresh
            $deadline = (Get-Date).AddMinutes(1)
            do {
                $policy = Get-CkDataEncryptionPolicy -Identity 'EXO-PROGRESS'
                if ($policy.RewrapState -eq 'Done') { break }
                Start-Sleep -Milliseconds 50
            } while ((Get-Date) -lt $deadline)
            $policy
        }
        $observed.Output.Count | Should -Be 2
        $started = $observed.Output[0]
        $started.RewrapState | Should -Be 'Rewrapping' -Because 'the answer is the refresh as committed, whether or not the job has begun'
        $started.JobState | Should -Be 'Queued'
        $started.MailboxesDone | Should -Be 0
        $started.MailboxesTotal | Should -Be $mailboxCount
        $started.PercentComplete | Should -Be 0
        $observed.Output[1].RewrapState | Should -Be 'Done'
        $observed.Output[1].DataEncryptionPolicyID | Should -Be $started.DataEncryptionPolicyID
        $observed.Output[1].MailboxesDone | Should -Be $mailboxCount
        $observed.Progress.Count | Should -Be 0 -Because 'without -Wait nothing is shown, as in Exchange Online'
    }

    # The policy's old key versions are disabled once the new ones exist: the refresh wraps under
    # the new versions, but the job cannot open the mailboxes' key under the old revision, retries
    # (1 s, 2 s, 4 s) and fails. -Wait ends with an error rather than polling until it stalls.
    It 'Set-CkDataEncryptionPolicy -Refresh -Wait ends with an error when the rewrap job fails' {
        $observed = Invoke-Observed -Shell $shell -AllowError -Script {
            $exchange = '00000002-0000-0ff1-ce00-000000000000'
            $vaults = 'ck-progress-exo-c', 'ck-progress-exo-d'
            $keyIds = foreach ($vault in $vaults) {
                $null = New-CkKeyVault -VaultName $vault -Location 'westeurope' -EnablePurgeProtection
                $null = Add-CkKeyVaultKey -VaultName $vault -Name 'exo-key' -Destination Software -KeyOps 'wrapKey', 'unwrapKey'
                $null = Set-CkKeyVaultAccessPolicy -VaultName $vault -ServicePrincipalName $exchange -PermissionsToKeys 'get', 'wrapKey', 'unwrapKey'
                "https://$vault.vault.azure.net/keys/exo-key"
            }
            $null = New-CkDataEncryptionPolicy -Name 'EXO-STOPPED' -AzureKeyIDs $keyIds
            $null = New-CkMailbox -Name 'Eve Stopped' -Alias 'eve' -PrimarySmtpAddress 'eve@contoso.com'
            $null = Add-CkMailboxItem -Identity 'eve' -Subject 'kept' -Body 'under the old revision'
            Set-CkMailbox -Identity 'eve' -DataEncryptionPolicy 'EXO-STOPPED'
            $deadline = (Get-Date).AddMinutes(1)
            while ((Get-CkDataEncryptionPolicy -Identity 'EXO-STOPPED').RewrapState -ne 'Done' -and (Get-Date) -lt $deadline) {
                Start-Sleep -Milliseconds 50
            }
            foreach ($vault in $vaults) {
                $old = Get-CkKeyVaultKey -VaultName $vault -Name 'exo-key'
                $null = Add-CkKeyVaultKey -VaultName $vault -Name 'exo-key' -Destination Software -KeyOps 'wrapKey', 'unwrapKey'
                Update-CkKeyVaultKey -VaultName $vault -Name 'exo-key' -Version $old.Version -Enable $false -AcceptDataLoss
            }
            Set-CkDataEncryptionPolicy -Identity 'EXO-STOPPED' -Refresh -Wait
            Get-CkDataEncryptionPolicy -Identity 'EXO-STOPPED'
        }
        $observed.Errors.Count | Should -Be 1
        $observed.Errors[0].FullyQualifiedErrorId | Should -Be 'OperationFailed,Set-CkDataEncryptionPolicy'
        $observed.Errors[0].Exception.Message | Should -BeLike '*Rewrapping*stopped*Failed*0 of 1 mailboxes*Last error:*'
        @($observed.Output).Count | Should -Be 1 -Because 'a failed wait emits no policy; the Get after it does'
        $stopped = $observed.Output[0]
        $stopped.RewrapState | Should -Be 'Stopped'
        $stopped.JobState | Should -Be 'Failed'
        $stopped.LastError | Should -Not -BeNullOrEmpty
        $stopped.MailboxesDone | Should -Be 0
        $stopped.MailboxesTotal | Should -Be 1
        Assert-Progress -Records $observed.Progress -ActivityLike '*Rewrapping*data encryption policy*' -StatusLike 'Rewrapping: 0 of 1 mailboxes' -MinimumProcessing 1
    }

    It 'New-CkMoveRequest -Wait shows the move until Completed' {
        (Invoke-Observed -Shell $shell -Script { (Get-Command -Name New-CkMoveRequest).Parameters.ContainsKey('Wait') }).Output |
            Should -BeTrue -Because 'an admin waits for a move as for the SharePoint roll'
        $observed = Invoke-Observed -Shell $shell -Script {
            $null = New-CkMailUser -Name 'Cy Young' -Alias 'cy' -PrimarySmtpAddress 'cy@contoso.com'
            $null = Add-CkMailboxItem -Identity 'cy' -Subject 'on-premises' -Body 'held for migration'
            Set-CkMailUser -Identity 'cy' -DataEncryptionPolicy 'EXO-PROGRESS'
            New-CkMoveRequest -Identity 'cy' -Wait
            (Get-CkMailboxStatistics -Identity 'cy').DataEncryptionPolicyID -eq (Get-CkDataEncryptionPolicy -Identity 'EXO-PROGRESS').DataEncryptionPolicyID
        }
        @($observed.Output).Count | Should -Be 2
        $observed.Output[0].PSObject.TypeNames | Should -Contain 'CustomerKey.MoveRequestStatistics'
        $observed.Output[0].Status | Should -Be 'Completed'
        $observed.Output[0].PercentComplete | Should -Be 100
        $observed.Output[0].DisplayName | Should -Be 'Cy Young'
        $observed.Output[1] | Should -BeTrue -Because 'the moved mailbox is under the pre-assigned policy once -Wait returns'
        Assert-Progress -Records $observed.Progress -ActivityLike 'Moving the mailbox' -StatusLike 'Cy Young: *% moved' -MinimumProcessing 0
    }

    It 'New-CkMoveRequest without -Wait returns at once, its progress in Get-CkMoveRequestStatistics' {
        $observed = Invoke-Observed -Shell $shell -Script {
            $null = New-CkMailUser -Name 'Di Prince' -Alias 'di' -PrimarySmtpAddress 'di@contoso.com'
            Set-CkMailUser -Identity 'di' -DataEncryptionPolicy 'EXO-PROGRESS'
            New-CkMoveRequest -Identity 'di'
            $deadline = (Get-Date).AddMinutes(1)
            do {
                $statistics = Get-CkMoveRequestStatistics -Identity 'di'
                if ($statistics.Status -eq 'Completed') { break }
                Start-Sleep -Milliseconds 50
            } while ((Get-Date) -lt $deadline)
            $statistics
        }
        $observed.Output[0].Status | Should -BeIn 'Queued', 'InProgress', 'Completed'
        $observed.Output[1].Status | Should -Be 'Completed'
        $observed.Output[1].PercentComplete | Should -Be 100
        $observed.Progress.Count | Should -Be 0 -Because 'without -Wait nothing is shown, as in Exchange Online'
    }
}
