#Requires -Version 7.2
# Pester 5 tests of the CustomerKey module against the native library built by
# `cargo build --release`. Run from the repository root:
#   pwsh -NoProfile -Command "Invoke-Pester -Path tests/powershell -Output Detailed"
# Every test works in a fresh store under $TestDrive.

BeforeAll {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $manifestPath = Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey/CustomerKey.psd1'
    Import-Module -Name $manifestPath -Force -ErrorAction Stop

    $storePath = Join-Path -Path $TestDrive -ChildPath 'store'
    $null = New-Item -ItemType Directory -Path $storePath -Force
    $connection = Connect-CkService -Path $storePath

    $location = 'westeurope'
    $vaultA = 'ck-test-vault-a'
    $vaultB = 'ck-test-vault-b'
    $vaultObjectA = New-CkKeyVault -VaultName $vaultA -Location $location
    $vaultObjectB = New-CkKeyVault -VaultName $vaultB -Location $location

    # The parameters every advanced function has, which the registry does not list.
    $commonParameterNames = @(
        'Verbose', 'Debug', 'ErrorAction', 'WarningAction', 'InformationAction', 'ProgressAction',
        'ErrorVariable', 'WarningVariable', 'InformationVariable', 'OutVariable', 'OutBuffer',
        'PipelineVariable', 'WhatIf', 'Confirm'
    )

    # The engine's operation registry, read straight from ck_describe.
    $describePointer = [System.IntPtr]::Zero
    $describeStatus = [CustomerKey.Native.NativeMethods]::ck_describe([ref] $describePointer)
    $describeText = [CustomerKey.Native.NativeMethods]::TakeString($describePointer)
    $registry = ConvertFrom-Json -InputObject $describeText
}

AfterAll {
    Disconnect-CkService
    Remove-Module -Name CustomerKey -Force -ErrorAction SilentlyContinue
}

Describe 'Importing the module' {
    It 'imports and opens the store given to Connect-CkService' {
        Get-Module -Name CustomerKey | Should -Not -BeNullOrEmpty
        $connection.PSTypeNames[0] | Should -Be 'CustomerKey.Connection'
        $current = Get-CkConnection
        $current | Should -Not -BeNullOrEmpty
        $current.Store | Should -Not -BeNullOrEmpty
        $current.Version | Should -Not -BeNullOrEmpty
    }

    It 'reads the registry through ck_describe' {
        $describeStatus | Should -Be 0
        @($registry.Operations).Count | Should -BeGreaterThan 0
    }

    It 'exports one Verb-CkNoun cmdlet per registry operation plus the session cmdlets' {
        $expected = @('Connect-CkService', 'Disconnect-CkService', 'Get-CkConnection')
        foreach ($operation in $registry.Operations) {
            $expected += ('{0}-Ck{1}' -f $operation.Verb, $operation.Noun)
        }
        $exported = @((Get-Command -Module CustomerKey).Name)
        $difference = Compare-Object -ReferenceObject ($expected | Sort-Object) -DifferenceObject ($exported | Sort-Object)
        $difference | Should -BeNullOrEmpty
    }

    It 'gives each cmdlet exactly the parameters of its operation' {
        foreach ($operation in $registry.Operations) {
            $commandName = '{0}-Ck{1}' -f $operation.Verb, $operation.Noun
            $command = Get-Command -Name $commandName -Module CustomerKey
            $actual = @($command.Parameters.Keys | Where-Object { $commonParameterNames -notcontains $_ } | Sort-Object)
            $expected = @($operation.Parameters | ForEach-Object { $_.Name })
            # An operation that starts background work gets PowerShell's -Wait (its PowerShell.Wait).
            if ($null -ne $operation.PowerShell -and $null -ne $operation.PowerShell.PSObject.Properties['Wait']) {
                $expected += 'Wait'
            }
            $expected = @($expected | Sort-Object)
            ($actual -join ',') | Should -Be ($expected -join ',') -Because $commandName
        }
    }

    It 'has help with a synopsis and an example for every exported cmdlet' {
        foreach ($command in Get-Command -Module CustomerKey) {
            $help = Get-Help -Name $command.Name -Full
            $help.Synopsis | Should -Not -BeNullOrEmpty -Because $command.Name
            @($help.examples.example).Count | Should -BeGreaterThan 0 -Because $command.Name
        }
    }
}

Describe 'Key vaults' {
    It 'creates two vaults' {
        $vaultObjectA.VaultName | Should -Be $vaultA
        $vaultObjectB.VaultName | Should -Be $vaultB
        $vaultObjectA.PSTypeNames[0] | Should -Be 'CustomerKey.KeyVault'
        $vaultObjectA.Location | Should -Be $location
        $vaultObjectA.EnableSoftDelete | Should -BeTrue
        $vaultObjectA.SoftDeleteRetentionInDays | Should -Be 90
    }

    It 'lists both vaults' {
        $names = @(Get-CkKeyVault | ForEach-Object { $_.VaultName })
        $names | Should -Contain $vaultA
        $names | Should -Contain $vaultB
    }

    It 'reports a missing vault as ObjectNotFound' {
        $found = Get-CkKeyVault -VaultName 'ck-missing-vault' -ErrorAction SilentlyContinue -ErrorVariable vaultErrors
        $found | Should -BeNullOrEmpty
        $vaultErrors.Count | Should -Be 1
        $vaultErrors[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::ObjectNotFound)
        $vaultErrors[0].FullyQualifiedErrorId | Should -BeLike '*,Get-CkKeyVault'
    }
}

Describe 'Keys: create, roll and read' {
    BeforeAll {
        $expires = (Get-Date).AddYears(1)
        $firstVersion = Add-CkKeyVaultKey -VaultName $vaultA -Name 'roll-key' -Destination Software -Expires $expires -Tag @{ purpose = 'test' }
        $secondVersion = Add-CkKeyVaultKey -VaultName $vaultA -Name 'roll-key' -Destination Software
        $versions = @(Get-CkKeyVaultKey -VaultName $vaultA -Name 'roll-key' -IncludeVersions)
        $latest = Get-CkKeyVaultKey -VaultName $vaultA -Name 'roll-key'
    }

    It 'creates a key with Microsoft property names and types' {
        $firstVersion.PSTypeNames[0] | Should -Be 'CustomerKey.KeyVaultKey'
        $firstVersion.VaultName | Should -Be $vaultA
        $firstVersion.Name | Should -Be 'roll-key'
        $firstVersion.Version | Should -Match '^[0-9a-f]{32}$'
        $firstVersion.Id | Should -BeLike ('*/keys/roll-key/' + $firstVersion.Version)
        $firstVersion.Enabled | Should -BeTrue
    }

    It 'returns times as [datetime]' {
        $firstVersion.Expires | Should -BeOfType [datetime]
        $firstVersion.Created | Should -BeOfType [datetime]
        $difference = ($firstVersion.Expires.ToUniversalTime() - $expires.ToUniversalTime()).Duration()
        $difference.TotalSeconds | Should -BeLessThan 2
    }

    It 'returns tags as a hashtable' {
        $firstVersion.Tags | Should -BeOfType [hashtable]
        $firstVersion.Tags['purpose'] | Should -Be 'test'
    }

    It 'adds a second version when the name exists (a roll)' {
        $secondVersion.Version | Should -Not -Be $firstVersion.Version
        $versions.Count | Should -Be 2
        $versionIds = @($versions | ForEach-Object { $_.Version })
        $versionIds | Should -Contain $firstVersion.Version
        $versionIds | Should -Contain $secondVersion.Version
    }

    It 'gets the newest version by default' {
        $latest.Version | Should -Be $secondVersion.Version
    }

    It 'gets an older version by -Version' {
        $older = Get-CkKeyVaultKey -VaultName $vaultA -Name 'roll-key' -Version $firstVersion.Version
        $older.Version | Should -Be $firstVersion.Version
    }
}

Describe 'Backup and restore' {
    BeforeAll {
        $null = Add-CkKeyVaultKey -VaultName $vaultA -Name 'backup-key' -Destination Software
        $null = Add-CkKeyVaultKey -VaultName $vaultA -Name 'backup-key' -Destination Software
        $sourceVersions = @(Get-CkKeyVaultKey -VaultName $vaultA -Name 'backup-key' -IncludeVersions | ForEach-Object { $_.Version } | Sort-Object)
        $backupPath = Join-Path -Path $TestDrive -ChildPath 'backup-key.keybackup'
        $backupResult = Backup-CkKeyVaultKey -VaultName $vaultA -Name 'backup-key' -OutputFile $backupPath
    }

    It 'writes the backup file and emits its path' {
        $backupResult | Should -BeOfType [string]
        $backupResult | Should -Be $backupPath
        Test-Path -LiteralPath $backupPath -PathType Leaf | Should -BeTrue
    }

    It 'refuses to overwrite an existing file without -Force' {
        $before = (Get-Item -LiteralPath $backupPath).Length
        $again = Backup-CkKeyVaultKey -VaultName $vaultA -Name 'backup-key' -OutputFile $backupPath -ErrorAction SilentlyContinue -ErrorVariable backupErrors
        $again | Should -BeNullOrEmpty
        $backupErrors.Count | Should -Be 1
        (Get-Item -LiteralPath $backupPath).Length | Should -Be $before
    }

    It 'resolves a relative -OutputFile against the PowerShell location' {
        Push-Location -Path $TestDrive
        try {
            $relativeResult = Backup-CkKeyVaultKey -VaultName $vaultA -Name 'backup-key' -OutputFile 'relative.keybackup'
        }
        finally {
            Pop-Location
        }
        $relativeResult | Should -Be (Join-Path -Path $TestDrive -ChildPath 'relative.keybackup')
        Test-Path -LiteralPath (Join-Path -Path $TestDrive -ChildPath 'relative.keybackup') | Should -BeTrue
    }

    It 'picks a file in the store when -OutputFile is omitted' {
        $defaultResult = Backup-CkKeyVaultKey -VaultName $vaultA -Name 'backup-key'
        $defaultResult | Should -Not -BeNullOrEmpty
        Test-Path -LiteralPath $defaultResult -PathType Leaf | Should -BeTrue
    }

    It 'restores the key with all its versions into the second vault' {
        $restored = Restore-CkKeyVaultKey -VaultName $vaultB -InputFile $backupPath
        $restored.PSTypeNames[0] | Should -Be 'CustomerKey.KeyVaultKey'
        $restored.VaultName | Should -Be $vaultB
        $restored.Name | Should -Be 'backup-key'
        $restoredVersions = @(Get-CkKeyVaultKey -VaultName $vaultB -Name 'backup-key' -IncludeVersions | ForEach-Object { $_.Version } | Sort-Object)
        ($restoredVersions -join ',') | Should -Be ($sourceVersions -join ',')
    }

    It 'refuses to restore over an existing key (ResourceExists)' {
        $again = Restore-CkKeyVaultKey -VaultName $vaultB -InputFile $backupPath -ErrorAction SilentlyContinue -ErrorVariable restoreErrors
        $again | Should -BeNullOrEmpty
        $restoreErrors.Count | Should -Be 1
        $restoreErrors[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::ResourceExists)
        $restoreErrors[0].FullyQualifiedErrorId | Should -Be 'Conflict,Restore-CkKeyVaultKey'
    }
}

Describe 'Soft delete and recovery' {
    BeforeAll {
        $null = Add-CkKeyVaultKey -VaultName $vaultA -Name 'remove-key' -Destination Software
        $removeOutput = Remove-CkKeyVaultKey -VaultName $vaultA -Name 'remove-key' -Force
        $deleted = Get-CkKeyVaultKey -VaultName $vaultA -Name 'remove-key' -InRemovedState
    }

    It 'emits nothing without -PassThru' {
        $removeOutput | Should -BeNullOrEmpty
    }

    It 'shows the key as deleted, with dates' {
        $deleted | Should -Not -BeNullOrEmpty
        $deleted.PSTypeNames[0] | Should -Be 'CustomerKey.DeletedKeyVaultKey'
        $deleted.Name | Should -Be 'remove-key'
        $deleted.DeletedDate | Should -BeOfType [datetime]
        $deleted.ScheduledPurgeDate | Should -BeOfType [datetime]
        [math]::Round(($deleted.ScheduledPurgeDate - $deleted.DeletedDate).TotalDays) | Should -Be 90
    }

    It 'no longer finds the key among active keys' {
        $found = Get-CkKeyVaultKey -VaultName $vaultA -Name 'remove-key' -ErrorAction SilentlyContinue -ErrorVariable removedErrors
        $found | Should -BeNullOrEmpty
        $removedErrors.Count | Should -Be 1
        $removedErrors[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::ObjectNotFound)
    }

    It 'recovers the key with Undo-CkKeyVaultKeyRemoval' {
        $recovered = Undo-CkKeyVaultKeyRemoval -VaultName $vaultA -Name 'remove-key'
        $recovered.PSTypeNames[0] | Should -Be 'CustomerKey.KeyVaultKey'
        $recovered.Name | Should -Be 'remove-key'
        (Get-CkKeyVaultKey -VaultName $vaultA -Name 'remove-key').Name | Should -Be 'remove-key'
        Get-CkKeyVaultKey -VaultName $vaultA -Name 'remove-key' -InRemovedState -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'emits the deleted key with -PassThru' {
        $null = Add-CkKeyVaultKey -VaultName $vaultA -Name 'passthru-key' -Destination Software
        $passThru = Remove-CkKeyVaultKey -VaultName $vaultA -Name 'passthru-key' -Force -PassThru
        $passThru.PSTypeNames[0] | Should -Be 'CustomerKey.DeletedKeyVaultKey'
        $passThru.Name | Should -Be 'passthru-key'
    }
}

Describe 'Pipeline binding' {
    It 'backs up a key piped from Get-CkKeyVaultKey' {
        $null = Add-CkKeyVaultKey -VaultName $vaultA -Name 'pipe-key' -Destination Software
        $pipePath = Join-Path -Path $TestDrive -ChildPath 'pipe-key.keybackup'
        $pipeResult = Get-CkKeyVaultKey -VaultName $vaultA -Name 'pipe-key' | Backup-CkKeyVaultKey -OutputFile $pipePath
        $pipeResult | Should -Be $pipePath
        Test-Path -LiteralPath $pipePath -PathType Leaf | Should -BeTrue
    }

    It 'binds VaultName and InputFile by property name' {
        $null = Add-CkKeyVaultKey -VaultName $vaultA -Name 'pipe-restore-key' -Destination Software
        $pipeRestorePath = Join-Path -Path $TestDrive -ChildPath 'pipe-restore-key.keybackup'
        $null = Backup-CkKeyVaultKey -VaultName $vaultA -Name 'pipe-restore-key' -OutputFile $pipeRestorePath
        $request = [pscustomobject]@{ VaultName = $vaultB; InputFile = $pipeRestorePath }
        $restored = $request | Restore-CkKeyVaultKey
        $restored.VaultName | Should -Be $vaultB
        $restored.Name | Should -Be 'pipe-restore-key'
    }

    It 'updates keys piped from Get-CkKeyVaultKey' {
        $null = Add-CkKeyVaultKey -VaultName $vaultA -Name 'pipe-update-key' -Destination Software
        $updated = Get-CkKeyVaultKey -VaultName $vaultA -Name 'pipe-update-key' | Update-CkKeyVaultKey -Tag @{ owner = 'pester' } -PassThru
        $updated.Name | Should -Be 'pipe-update-key'
        $updated.Tags['owner'] | Should -Be 'pester'
    }
}

Describe 'Parameter sets' {
    BeforeAll {
        # The application id of Exchange Online's service principal.
        $exchangeOnline = '00000002-0000-0ff1-ce00-000000000000'
    }

    It 'declares the parameter sets of the registry' {
        foreach ($operation in $registry.Operations) {
            $commandName = '{0}-Ck{1}' -f $operation.Verb, $operation.Noun
            $command = Get-Command -Name $commandName -Module CustomerKey
            if (@($operation.ParameterSets).Count -gt 0) {
                $command.DefaultParameterSet | Should -Be $operation.DefaultParameterSetName -Because $commandName
            }
            foreach ($parameter in $operation.Parameters) {
                # 'set:Mandatory:ValueFromPipelineByPropertyName' for each set, as PowerShell sees it.
                $expected = @()
                if (@($parameter.ParameterSets).Count -eq 0) {
                    $expected += '{0}:{1}:{2}' -f '__AllParameterSets', [bool] $parameter.Mandatory, [bool] $parameter.ValueFromPipelineByPropertyName
                }
                else {
                    foreach ($set in $parameter.ParameterSets) {
                        # Pipeline binding is per set (only -ResourceId binds in the ResourceId sets).
                        $expected += '{0}:{1}:{2}' -f $set.Name, [bool] $set.Mandatory, [bool] $set.ValueFromPipelineByPropertyName
                    }
                }
                $actual = @()
                foreach ($entry in $command.Parameters[$parameter.Name].ParameterSets.GetEnumerator()) {
                    $actual += '{0}:{1}:{2}' -f $entry.Key, $entry.Value.IsMandatory, $entry.Value.ValueFromPipelineByPropertyName
                }
                (@($actual | Sort-Object) -join ',') | Should -Be (@($expected | Sort-Object) -join ',') -Because ('{0} -{1}' -f $commandName, $parameter.Name)
            }
        }
    }

    Context 'Set-CkKeyVaultAccessPolicy' {
        It 'binds <Expected> for -<Principal>' -ForEach @(
            @{ Principal = 'UserPrincipalName'; Value = 'admin@contoso.onmicrosoft.com'; Expected = 'ByUserPrincipalName' }
            @{ Principal = 'ObjectId'; Value = '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'; Expected = 'ByObjectId' }
            @{ Principal = 'ServicePrincipalName'; Value = '00000002-0000-0ff1-ce00-000000000000'; Expected = 'ByServicePrincipalName' }
        ) {
            # Stands in for the engine call and emits the parameter set PowerShell bound.
            Mock -CommandName Invoke-NativeOperation -ModuleName CustomerKey -MockWith { $Cmdlet.ParameterSetName }
            $arguments = @{ VaultName = $vaultB; PermissionsToKeys = @('get') }
            $arguments[$Principal] = $Value
            $boundSet = Set-CkKeyVaultAccessPolicy @arguments
            $boundSet | Should -Be $Expected
            Should -Invoke -CommandName Invoke-NativeOperation -ModuleName CustomerKey -Times 1 -Exactly -ParameterFilter { $Operation -eq 'Set-KeyVaultAccessPolicy' }
        }

        It 'grants -ServicePrincipalName its permissions, which Get-CkKeyVault then shows' {
            $setOutput = Set-CkKeyVaultAccessPolicy -VaultName $vaultB -ServicePrincipalName $exchangeOnline -PermissionsToKeys 'get', 'wrapKey', 'unwrapKey'
            $setOutput | Should -BeNullOrEmpty
            $policies = @((Get-CkKeyVault -VaultName $vaultB).AccessPolicies | Where-Object { $_.ApplicationId -eq $exchangeOnline })
            $policies.Count | Should -Be 1
            $policies[0].DisplayName | Should -Be $exchangeOnline
            (@($policies[0].PermissionsToKeys | Sort-Object) -join ',') | Should -Be 'get,unwrapKey,wrapKey'
        }

        It 'refuses two principals at once before the cmdlet runs (AmbiguousParameterSet)' {
            $bindingError = $null
            try {
                $null = Set-CkKeyVaultAccessPolicy -VaultName $vaultB -UserPrincipalName 'admin@contoso.onmicrosoft.com' -ServicePrincipalName $exchangeOnline -PermissionsToKeys get
            }
            catch {
                $bindingError = $_
            }
            $bindingError | Should -Not -BeNullOrEmpty
            $bindingError.Exception | Should -BeOfType [System.Management.Automation.ParameterBindingException]
            $bindingError.FullyQualifiedErrorId | Should -Be 'AmbiguousParameterSet,Set-CkKeyVaultAccessPolicy'
        }
    }

    Context 'Add-CkKeyVaultKey' {
        It 'refuses -KeyFilePath with -Size before the cmdlet runs (AmbiguousParameterSet)' {
            # Binding fails before the body runs, so the file is never read and need not exist.
            $keyFilePath = Join-Path -Path $TestDrive -ChildPath 'never-read.pfx'
            $bindingError = $null
            try {
                $null = Add-CkKeyVaultKey -VaultName $vaultA -Name 'ambiguous-key' -KeyFilePath $keyFilePath -Size 2048
            }
            catch {
                $bindingError = $_
            }
            $bindingError | Should -Not -BeNullOrEmpty
            $bindingError.Exception | Should -BeOfType [System.Management.Automation.ParameterBindingException]
            $bindingError.FullyQualifiedErrorId | Should -Be 'AmbiguousParameterSet,Add-CkKeyVaultKey'
            Get-CkKeyVaultKey -VaultName $vaultA -Name 'ambiguous-key' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        }

        It 'binds InteractiveCreate when no set-specific parameter is given' {
            Mock -CommandName Invoke-NativeOperation -ModuleName CustomerKey -MockWith { $Cmdlet.ParameterSetName }
            Add-CkKeyVaultKey -VaultName $vaultA -Name 'default-set-key' -Destination Software | Should -Be 'InteractiveCreate'
        }
    }

    Context 'Get-CkKeyVaultKey' {
        BeforeAll {
            $createdVersions = @()
            for ($index = 0; $index -lt 3; $index++) {
                $createdVersions += (Add-CkKeyVaultKey -VaultName $vaultA -Name 'versions-key' -Destination Software).Version
            }
        }

        It 'binds <Expected> for <Label>' -ForEach @(
            @{ Label = '-VaultName'; Arguments = @{}; Expected = 'ByVaultName' }
            @{ Label = '-Name'; Arguments = @{ Name = 'versions-key' }; Expected = 'ByVaultName' }
            @{ Label = '-InRemovedState'; Arguments = @{ InRemovedState = $true }; Expected = 'ByVaultName' }
            @{ Label = '-Name -Version'; Arguments = @{ Name = 'versions-key'; Version = '0f6c5a3c2b1e4d7a9f8e7d6c5b4a3921' }; Expected = 'ByKeyVersion' }
            @{ Label = '-Name -IncludeVersions'; Arguments = @{ Name = 'versions-key'; IncludeVersions = $true }; Expected = 'ByKeyVersions' }
        ) {
            Mock -CommandName Invoke-NativeOperation -ModuleName CustomerKey -MockWith { $Cmdlet.ParameterSetName }
            Get-CkKeyVaultKey -VaultName $vaultA @Arguments | Should -Be $Expected
        }

        It 'returns every version with -Name -IncludeVersions' {
            $listed = @(Get-CkKeyVaultKey -VaultName $vaultA -Name 'versions-key' -IncludeVersions)
            $listed.Count | Should -Be 3
            $listedVersions = @($listed | ForEach-Object { $_.Version } | Sort-Object)
            ($listedVersions -join ',') | Should -Be (@($createdVersions | Sort-Object) -join ',')
            foreach ($item in $listed) {
                $item.PSTypeNames[0] | Should -Be 'CustomerKey.KeyVaultKey'
                $item.Name | Should -Be 'versions-key'
            }
        }

        It 'refuses -IncludeVersions with -InRemovedState before the cmdlet runs (AmbiguousParameterSet)' {
            $bindingError = $null
            try {
                $null = Get-CkKeyVaultKey -VaultName $vaultA -Name 'versions-key' -IncludeVersions -InRemovedState
            }
            catch {
                $bindingError = $_
            }
            $bindingError | Should -Not -BeNullOrEmpty
            $bindingError.Exception | Should -BeOfType [System.Management.Automation.ParameterBindingException]
            $bindingError.FullyQualifiedErrorId | Should -Be 'AmbiguousParameterSet,Get-CkKeyVaultKey'
        }
    }
}

Describe '-WhatIf' {
    It 'does not create a vault' {
        $whatIfVault = New-CkKeyVault -VaultName 'ck-whatif-vault' -Location $location -WhatIf
        $whatIfVault | Should -BeNullOrEmpty
        Get-CkKeyVault -VaultName 'ck-whatif-vault' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'does not add a key version' {
        $null = Add-CkKeyVaultKey -VaultName $vaultA -Name 'whatif-key' -Destination Software
        $null = Add-CkKeyVaultKey -VaultName $vaultA -Name 'whatif-key' -Destination Software -WhatIf
        @(Get-CkKeyVaultKey -VaultName $vaultA -Name 'whatif-key' -IncludeVersions).Count | Should -Be 1
    }

    It 'does not remove a key, even with -Force' {
        Remove-CkKeyVaultKey -VaultName $vaultA -Name 'whatif-key' -WhatIf
        Remove-CkKeyVaultKey -VaultName $vaultA -Name 'whatif-key' -Force -WhatIf
        (Get-CkKeyVaultKey -VaultName $vaultA -Name 'whatif-key').Name | Should -Be 'whatif-key'
    }

    It 'does not back up a key' {
        $whatIfPath = Join-Path -Path $TestDrive -ChildPath 'whatif.keybackup'
        Backup-CkKeyVaultKey -VaultName $vaultA -Name 'whatif-key' -OutputFile $whatIfPath -WhatIf | Should -BeNullOrEmpty
        Test-Path -LiteralPath $whatIfPath | Should -BeFalse
    }
}

Describe 'Errors' {
    It 'writes a non-terminating ObjectNotFound error for a missing key' {
        $missing = Get-CkKeyVaultKey -VaultName $vaultA -Name 'no-such-key' -ErrorAction SilentlyContinue -ErrorVariable keyErrors
        $missing | Should -BeNullOrEmpty
        $keyErrors.Count | Should -Be 1
        $keyErrors[0] | Should -BeOfType [System.Management.Automation.ErrorRecord]
        $keyErrors[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::ObjectNotFound)
        $keyErrors[0].FullyQualifiedErrorId | Should -Be 'KeyNotFound,Get-CkKeyVaultKey'
        $keyErrors[0].Exception.Message | Should -Not -BeNullOrEmpty
    }

    It 'stops with -ErrorAction Stop' {
        { Get-CkKeyVaultKey -VaultName $vaultA -Name 'no-such-key' -ErrorAction Stop } | Should -Throw
    }

    It 'goes on with the next pipeline item after a failure' {
        $null = Add-CkKeyVaultKey -VaultName $vaultA -Name 'present-key' -Destination Software
        $items = @(
            [pscustomobject]@{ VaultName = $vaultA; Name = 'no-such-key' },
            [pscustomobject]@{ VaultName = $vaultA; Name = 'present-key' }
        )
        $found = @($items | Get-CkKeyVaultKey -ErrorAction SilentlyContinue -ErrorVariable pipelineErrors)
        $found.Count | Should -Be 1
        $found[0].Name | Should -Be 'present-key'
        $pipelineErrors.Count | Should -Be 1
    }

    It 'rejects values outside ValidateSet and ValidateRange before calling the engine' {
        { Add-CkKeyVaultKey -VaultName $vaultA -Name 'bad-key' -Destination 'Cloud' } | Should -Throw
        { Add-CkKeyVaultKey -VaultName $vaultA -Name 'bad-key' -Size 1024 } | Should -Throw
    }
}

Describe 'Invoke-CkKeyVaultKeyOperation' {
    BeforeAll {
        $null = Add-CkKeyVaultKey -VaultName $vaultA -Name 'wrap-key' -Destination Software
        $plain = [byte[]](1..32)
        $wrapped = Invoke-CkKeyVaultKeyOperation -VaultName $vaultA -Name 'wrap-key' -Operation Wrap -Algorithm 'RSA-OAEP-256' -ByteArrayValue $plain
        $wrappedVersion = ($wrapped.KeyId -split '/')[-1]
        $unwrapped = Invoke-CkKeyVaultKeyOperation -VaultName $vaultA -Name 'wrap-key' -Version $wrappedVersion -Operation Unwrap -Algorithm 'RSA-OAEP-256' -ByteArrayValue $wrapped.RawResult
    }

    It 'wraps to a KeyOperationResult with byte[] RawResult' {
        $wrapped.PSTypeNames[0] | Should -Be 'CustomerKey.KeyOperationResult'
        $wrapped.Algorithm | Should -Be 'RSA-OAEP-256'
        $wrapped.KeyId | Should -BeLike '*/keys/wrap-key/*'
        ($wrapped.RawResult -is [byte[]]) | Should -BeTrue
        $wrapped.RawResult.Length | Should -BeGreaterThan 32
    }

    It 'unwraps back to the original bytes' {
        ($unwrapped.RawResult -is [byte[]]) | Should -BeTrue
        [System.Convert]::ToBase64String($unwrapped.RawResult) | Should -Be ([System.Convert]::ToBase64String($plain))
    }
}

Describe 'Module layout' {
    BeforeAll {
        $moduleRoot = [System.IO.Path]::GetFullPath((Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey'))
        $generatedHeader = "# Generated by 'customer-key generate-powershell' from the operation registry. Do not edit."
    }

    It 'keeps the .psm1 a loader: it defines no function' {
        $parseErrors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseFile((Join-Path -Path $moduleRoot -ChildPath 'CustomerKey.psm1'), [ref] $null, [ref] $parseErrors)
        $parseErrors | Should -BeNullOrEmpty
        $definitions = $ast.FindAll({ param($node) $node -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true)
        @($definitions).Count | Should -Be 0
    }

    It 'loads each operation cmdlet from its generated file in Public, in its area''s folder' {
        foreach ($operation in $registry.Operations) {
            $commandName = '{0}-Ck{1}' -f $operation.Verb, $operation.Noun
            $path = [System.IO.Path]::GetFullPath((Join-Path -Path $moduleRoot -ChildPath ('Public/{0}/{1}.ps1' -f $operation.Area, $commandName)))
            Test-Path -LiteralPath $path -PathType Leaf | Should -BeTrue -Because $commandName
            Get-Content -LiteralPath $path -TotalCount 1 | Should -Be $generatedHeader -Because $commandName
            $command = Get-Command -Name $commandName -Module CustomerKey
            [System.IO.Path]::GetFullPath($command.ScriptBlock.File) | Should -Be $path -Because $commandName
        }
    }

    It 'loads the session cmdlets from Public/Session and exports no helper' {
        foreach ($commandName in @('Connect-CkService', 'Disconnect-CkService', 'Get-CkConnection')) {
            $command = Get-Command -Name $commandName -Module CustomerKey
            $expectedPath = [System.IO.Path]::GetFullPath((Join-Path -Path $moduleRoot -ChildPath ('Public/Session/{0}.ps1' -f $commandName)))
            [System.IO.Path]::GetFullPath($command.ScriptBlock.File) | Should -Be $expectedPath
        }
        foreach ($helper in Get-ChildItem -Path (Join-Path -Path $moduleRoot -ChildPath 'Private') -Filter '*.ps1') {
            Get-Command -Name $helper.BaseName -Module CustomerKey -ErrorAction SilentlyContinue | Should -BeNullOrEmpty -Because $helper.Name
        }
    }
}

Describe 'ShouldProcess texts from the registry' {
    It 'formats the target and action from the bound parameters, with the ActionWhen variant' {
        $null = Add-CkKeyVaultKey -VaultName $vaultA -Name 'message-key' -Destination Software
        $transcriptPath = Join-Path -Path $TestDrive -ChildPath 'whatif-transcript.txt'
        $null = Start-Transcript -LiteralPath $transcriptPath
        try {
            Remove-CkKeyVaultKey -VaultName $vaultA -Name 'message-key' -WhatIf
            Remove-CkKeyVaultKey -VaultName $vaultA -Name 'message-key' -InRemovedState -WhatIf
            Set-CkKeyVaultAccessPolicy -VaultName $vaultA -ObjectId '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' -PermissionsToKeys 'get', 'list' -WhatIf
        }
        finally {
            $null = Stop-Transcript
        }
        $transcript = Get-Content -LiteralPath $transcriptPath -Raw
        $transcript | Should -Match ([regex]::Escape(("Key 'message-key' in vault '{0}'" -f $vaultA)))
        $transcript | Should -Match ([regex]::Escape('Remove key with all its versions'))
        $transcript | Should -Match ([regex]::Escape('Purge deleted key (cannot be undone)'))
        $transcript | Should -Match ([regex]::Escape("Set key permissions of '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' to 'get, list'"))
        (Get-CkKeyVaultKey -VaultName $vaultA -Name 'message-key').Name | Should -Be 'message-key'
    }
}

Describe 'Session handle' {
    It 'holds the session in a CkSessionHandle that Disconnect-CkService disposes' {
        $handle = InModuleScope CustomerKey { $script:CkSession }
        $handle | Should -BeOfType ([CustomerKey.Native.CkSessionHandle])
        $handle.IsInvalid | Should -BeFalse
        $handle.IsClosed | Should -BeFalse
        Disconnect-CkService
        $handle.IsClosed | Should -BeTrue
        Get-CkConnection | Should -BeNullOrEmpty
        InModuleScope CustomerKey { $null -eq $script:CkSession } | Should -BeTrue
        # A second Disconnect-CkService has nothing to close.
        { Disconnect-CkService } | Should -Not -Throw
        $null = Connect-CkService -Path $storePath
        (Get-CkKeyVault -VaultName $vaultA).VaultName | Should -Be $vaultA
    }

    It 'closes the previous session once Connect-CkService has opened the next' {
        $before = InModuleScope CustomerKey { $script:CkSession }
        $null = Connect-CkService -Path $storePath
        $after = InModuleScope CustomerKey { $script:CkSession }
        $before.IsClosed | Should -BeTrue
        $after.IsClosed | Should -BeFalse
        (Get-CkKeyVault -VaultName $vaultA).VaultName | Should -Be $vaultA
    }

    It 'keeps the open session when Connect-CkService fails' {
        $before = InModuleScope CustomerKey { $script:CkSession }
        $notAFolder = Join-Path -Path $TestDrive -ChildPath 'a-file'
        Set-Content -LiteralPath $notAFolder -Value 'not a store'
        { Connect-CkService -Path $notAFolder -ErrorAction Stop } | Should -Throw
        $before.IsClosed | Should -BeFalse
        (Get-CkKeyVault -VaultName $vaultA).VaultName | Should -Be $vaultA
    }
}

# Last, because it replaces the module and the session the other tests use.
Describe 'Importing again' {
    It 'can be imported again in the same process' {
        { Import-Module -Name $manifestPath -Force -ErrorAction Stop } | Should -Not -Throw
        # Re-importing removes the old module, which closes its session: connect again.
        $null = Connect-CkService -Path $storePath
        (Get-CkKeyVault -VaultName $vaultA).VaultName | Should -Be $vaultA
    }
}
