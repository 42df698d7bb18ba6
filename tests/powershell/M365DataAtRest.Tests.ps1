#Requires -Version 7.2
# Pester 5 tests of the multi-workload data encryption policy cmdlets
# (New-, Get-, Set-, Test-CkM365DataAtRestEncryptionPolicy, Set- and
# Get-CkM365DataAtRestEncryptionPolicyAssignment, Add- and Get-CkM365DataItem): creation through
# the M365DataAtRestEncryption service principal, assignment with -Wait and its progress read
# from a runspace's Streams.Progress, a key roll with -Refresh, revocation, the test, -WhatIf.
# Run from the repository root:
#   CK_NO_BUILD=1 bash tests/powershell/run.sh tests/powershell/M365DataAtRest.Tests.ps1

BeforeDiscovery {
    # Each parameter Microsoft's cmdlets take, which ours must take by the same name.
    $microsoftParameters = @(
        @{ Cmdlet = 'New-CkM365DataAtRestEncryptionPolicy'; Parameters = @('Name', 'AzureKeyIDs', 'Description', 'Enabled') }
        @{ Cmdlet = 'Set-CkM365DataAtRestEncryptionPolicy'; Parameters = @('Identity', 'Refresh', 'AzureKeyIDs', 'Replace', 'Enabled', 'Name', 'Description', 'Force') }
        @{ Cmdlet = 'Get-CkM365DataAtRestEncryptionPolicy'; Parameters = @('Identity') }
        @{ Cmdlet = 'Test-CkM365DataAtRestEncryptionPolicy'; Parameters = @('Identity') }
        @{ Cmdlet = 'Set-CkM365DataAtRestEncryptionPolicyAssignment'; Parameters = @('DataEncryptionPolicy') }
    )
}

BeforeAll {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $manifestPath = Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey/CustomerKey.psd1'
    Import-Module -Name $manifestPath -Force -ErrorAction Stop

    $storePath = Join-Path -Path $TestDrive -ChildPath 'm365-store'
    $null = New-Item -ItemType Directory -Path $storePath -Force
    $null = Connect-CkService -Path $storePath -UserPrincipalName 'admin@contoso.com'

    $m365ServicePrincipal = 'c066d759-24ae-40e7-a56f-027002b5d3e4'
    $vaults = 'ck-m365-vault-a', 'ck-m365-vault-b'
    $keyIds = foreach ($vault in $vaults) {
        $null = New-CkKeyVault -VaultName $vault -Location 'westeurope' -EnablePurgeProtection
        $null = Add-CkKeyVaultKey -VaultName $vault -Name 'm365-key' -Destination 'Software' -KeyOps 'wrapKey', 'unwrapKey'
        "https://$vault.vault.azure.net/keys/m365-key"
    }

    function Grant-M365 {
        param([string] $VaultName)
        $null = Set-CkKeyVaultAccessPolicy -VaultName $VaultName -ServicePrincipalName $m365ServicePrincipal -PermissionsToKeys 'get', 'wrapKey', 'unwrapKey'
    }

    function Wait-Assigned {
        param([string] $PolicyId)
        $deadline = (Get-Date).AddSeconds(60)
        do {
            $assignment = Get-CkM365DataAtRestEncryptionPolicyAssignment
            if ($assignment.State -eq 'Assigned' -and $assignment.DataEncryptionPolicyID -eq $PolicyId) {
                return $assignment
            }
            Start-Sleep -Milliseconds 50
        } while ((Get-Date) -lt $deadline)
        throw "The assignment did not reach $PolicyId within a minute"
    }
}

AfterAll {
    Disconnect-CkService
    Remove-Module -Name CustomerKey -Force -ErrorAction SilentlyContinue
}

Describe 'The cmdlets take Microsoft''s parameters' {
    It '<Cmdlet> takes Microsoft''s parameters by their names' -ForEach $microsoftParameters {
        $command = Get-Command -Name $Cmdlet
        foreach ($parameter in $Parameters) {
            $command.Parameters.Keys | Should -Contain $parameter
        }
    }

    It 'New-CkM365DataAtRestEncryptionPolicy takes -Name by position, as Microsoft''s does' {
        (Get-Command New-CkM365DataAtRestEncryptionPolicy).Parameters['Name'].Attributes.Where({ $_ -is [Parameter] })[0].Position | Should -Be 0
    }

    It 'says in its help that there is no purge' {
        (Get-Help New-CkM365DataAtRestEncryptionPolicy).Description.Text | Should -BeLike '*no purge*'
    }
}

Describe 'A multi-workload policy' {
    It 'is refused while the M365DataAtRestEncryption service has no access, naming it' {
        { New-CkM365DataAtRestEncryptionPolicy -Name 'M365-DEP' -AzureKeyIDs $keyIds -ErrorAction Stop } |
            Should -Throw -ErrorId '*,New-CkM365DataAtRestEncryptionPolicy'
        $Error[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        $Error[0].Exception.Message | Should -BeLike "*$m365ServicePrincipal*"
    }

    It 'refuses a name with a space, naming the parameter' {
        $vaults | ForEach-Object { Grant-M365 -VaultName $_ }
        { New-CkM365DataAtRestEncryptionPolicy -Name 'M365 DEP' -AzureKeyIDs $keyIds -ErrorAction Stop } |
            Should -Throw '*Name*space*'
        $Error[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'is created with both keys healthy, not assigned' {
        $policy = New-CkM365DataAtRestEncryptionPolicy 'M365-DEP' -AzureKeyIDs $keyIds -Description 'Tenant data'
        $policy.PSTypeNames[0] | Should -Be 'CustomerKey.M365DataAtRestEncryptionPolicy'
        $policy.Assigned | Should -BeFalse
        @($policy.KeyHealth | Where-Object Usable).Count | Should -Be 2
        (Get-CkM365DataAtRestEncryptionPolicy -Identity $policy.Guid).Name | Should -Be 'M365-DEP'
    }

    It 'changes nothing under -WhatIf' {
        Set-CkM365DataAtRestEncryptionPolicyAssignment -DataEncryptionPolicy 'M365-DEP' -WhatIf
        Get-CkM365DataAtRestEncryptionPolicyAssignment | Should -BeNullOrEmpty
    }

    It 'is assigned with -Wait from the pipeline, and tenant data and mailboxes without a policy move under it' {
        $chat = Add-CkM365DataItem -Workload TeamsChat -Subject 'Kick-off' -Body 'at ten'
        $chat.DataEncryptionPolicyID | Should -BeNullOrEmpty
        $null = New-CkMailbox -Name 'Ada Lovelace' -Alias 'ada' -PrimarySmtpAddress 'ada@contoso.com'
        $assignment = Get-CkM365DataAtRestEncryptionPolicy -Identity 'M365-DEP' |
            Set-CkM365DataAtRestEncryptionPolicyAssignment -Wait -Confirm:$false
        $assignment.PSTypeNames[0] | Should -Be 'CustomerKey.M365DataAtRestEncryptionPolicyAssignment'
        $assignment.State | Should -Be 'Assigned'
        $assignment.DataEncryptionPolicy | Should -Be 'M365-DEP'
        $revision = (Get-CkM365DataAtRestEncryptionPolicy -Identity 'M365-DEP').DataEncryptionPolicyID
        (Get-CkM365DataItem -Workload TeamsChat).DataEncryptionPolicyID | Should -Be $revision
        $deadline = (Get-Date).AddSeconds(60)
        while ((Get-CkMailboxStatistics -Identity 'ada').DataEncryptionPolicyID -ne $revision -and (Get-Date) -lt $deadline) {
            Start-Sleep -Milliseconds 50
        }
        (Get-CkMailboxStatistics -Identity 'ada').IsEncrypted | Should -BeTrue
    }

    It 'refuses to disable the assigned policy' {
        { Set-CkM365DataAtRestEncryptionPolicy -Identity 'M365-DEP' -Enabled $false -ErrorAction Stop } |
            Should -Throw -ErrorId 'PolicyAssigned,Set-CkM365DataAtRestEncryptionPolicy'
        (Get-CkM365DataAtRestEncryptionPolicy -Identity 'M365-DEP').Enabled | Should -BeTrue
    }

    It 'is refreshed after a key roll, and the data follows the new revision' {
        $before = (Get-CkM365DataAtRestEncryptionPolicy -Identity 'M365-DEP').DataEncryptionPolicyID
        $null = Add-CkKeyVaultKey -VaultName $vaults[0] -Name 'm365-key' -Destination 'Software' -KeyOps 'wrapKey', 'unwrapKey'
        $refreshed = Set-CkM365DataAtRestEncryptionPolicy -Identity 'M365-DEP' -Refresh -Wait
        $refreshed.DataEncryptionPolicyID | Should -Not -Be $before
        $refreshed.RewrapState | Should -Be 'Done'
        $null = Wait-Assigned -PolicyId $refreshed.DataEncryptionPolicyID
        (Get-CkM365DataItem).DataEncryptionPolicyID | Should -Be $refreshed.DataEncryptionPolicyID
    }

    It 'is usable by the test, and not once the service lost one vault' {
        $test = Test-CkM365DataAtRestEncryptionPolicy -Identity 'M365-DEP'
        $test.IsValid | Should -BeTrue
        Remove-CkKeyVaultAccessPolicy -VaultName $vaults[1] -ServicePrincipalName $m365ServicePrincipal -Confirm:$false
        $test = Get-CkM365DataAtRestEncryptionPolicy -Identity 'M365-DEP' | Test-CkM365DataAtRestEncryptionPolicy
        $test.IsValid | Should -BeFalse
        $broken = @($test.KeyResults | Where-Object { -not $_.Usable })
        $broken.Count | Should -Be 1
        $broken[0].KeyId | Should -BeLike "*$($vaults[1])*"
        # One key left: the data still reads.
        (Get-CkM365DataItem).Subject | Should -Be 'Kick-off'
    }

    It 'leaves the data unreadable, PermissionDenied, once both keys are gone' {
        Remove-CkKeyVaultAccessPolicy -VaultName $vaults[0] -ServicePrincipalName $m365ServicePrincipal -Confirm:$false
        { Get-CkM365DataItem -ErrorAction Stop } | Should -Throw -ErrorId '*,Get-CkM365DataItem'
        $Error[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        Grant-M365 -VaultName $vaults[0]
        (Get-CkM365DataItem).Subject | Should -Be 'Kick-off'
    }
}

Describe 'Progress of the assignment' {
    BeforeAll {
        $shell = [powershell]::Create()
        $null = $shell.AddScript({
                param([string] $ManifestPath, [string] $StorePath, [string] $ServicePrincipal)
                Import-Module -Name $ManifestPath -ErrorAction Stop
                $null = Connect-CkService -Path $StorePath -UserPrincipalName 'admin@contoso.com'
                $keyIds = foreach ($vault in 'ck-m365-progress-a', 'ck-m365-progress-b') {
                    $null = New-CkKeyVault -VaultName $vault -Location 'westeurope' -EnablePurgeProtection
                    (Add-CkKeyVaultKey -VaultName $vault -Name 'm365-key' -Destination 'Software' -KeyOps 'wrapKey', 'unwrapKey').Id
                    $null = Set-CkKeyVaultAccessPolicy -VaultName $vault -ServicePrincipalName $ServicePrincipal -PermissionsToKeys 'get', 'wrapKey', 'unwrapKey'
                }
                $null = New-CkM365DataAtRestEncryptionPolicy -Name 'M365-PROGRESS' -AzureKeyIDs $keyIds
                foreach ($i in 1..30) {
                    $null = New-CkMailbox -Name "User $i" -Alias "progress$i" -PrimarySmtpAddress "progress$i@contoso.com"
                }
            }.ToString()).AddParameters(@{ ManifestPath = $manifestPath; StorePath = (Join-Path $TestDrive 'm365-progress'); ServicePrincipal = $m365ServicePrincipal })
        $null = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'm365-progress') -Force
        $null = $shell.Invoke()
        if ($shell.Streams.Error.Count -gt 0) { throw "Set-up failed: $($shell.Streams.Error -join '; ')" }
    }

    AfterAll {
        $shell.Dispose()
    }

    It 'writes one bar that ends Completed, with items done of total' {
        $shell.Commands.Clear()
        $shell.Streams.ClearStreams()
        $null = $shell.AddScript('Set-CkM365DataAtRestEncryptionPolicyAssignment -DataEncryptionPolicy M365-PROGRESS -Wait -Confirm:$false')
        $output = @($shell.Invoke())
        @($shell.Streams.Error).Count | Should -Be 0 -Because "$($shell.Streams.Error -join '; ')"
        $output[0].State | Should -Be 'Assigned'
        $records = @($shell.Streams.Progress)
        $records.Count | Should -BeGreaterThan 0
        @($records.ActivityId | Select-Object -Unique).Count | Should -Be 1
        $records[-1].RecordType | Should -Be ([System.Management.Automation.ProgressRecordType]::Completed)
        @($records | Where-Object { $_.RecordType -eq 'Processing' -and $_.StatusDescription -notlike '* of * items' }).Count | Should -Be 0
    }
}

Describe 'The README walkthrough' {
    It 'runs as written and ends with the data under the refreshed revision' {
        $readme = Get-Content -Raw -Path (Join-Path $repositoryRoot 'README.md')
        $section = $readme.Substring($readme.IndexOf('## Microsoft 365 multi-workload data encryption policies'))
        $block = [regex]::Match($section, '(?s)```powershell\r?\n(.*?)```').Groups[1].Value
        $block | Should -BeLike '*Set-CkM365DataAtRestEncryptionPolicy -Identity*-Refresh*'
        $walkthroughStore = Join-Path $TestDrive 'm365-readme'
        $null = New-Item -ItemType Directory -Path $walkthroughStore -Force
        Disconnect-CkService
        $null = Connect-CkService -Path $walkthroughStore -UserPrincipalName 'admin@contoso.com'
        try {
            $null = . ([scriptblock]::Create($block))
            $assignment = Get-CkM365DataAtRestEncryptionPolicyAssignment
            $assignment.State | Should -Be 'Assigned'
            $assignment.DataEncryptionPolicyID | Should -Be $refreshed.DataEncryptionPolicyID
            (Get-CkM365DataItem).DataEncryptionPolicyID | Should -Be $refreshed.DataEncryptionPolicyID
        }
        finally {
            Disconnect-CkService
            $null = Connect-CkService -Path $storePath -UserPrincipalName 'admin@contoso.com'
        }
    }
}
