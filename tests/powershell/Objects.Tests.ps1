#Requires -Version 7.2
# The engine's JSON as PowerShell objects: each output type's described properties are typed
# ([datetime] in UTC, byte[], hashtables), and nothing else is; keys that differ only in case
# survive; an answer that cannot be read fails inside the error path.

BeforeAll {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    Import-Module -Name (Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey/CustomerKey.psd1') -Force -ErrorAction Stop
    $null = Connect-CkService -Path (Join-Path -Path $TestDrive -ChildPath 'objects-store')
    $vault = 'ck-objects'
    $null = New-CkKeyVault -VaultName $vault -Location 'westeurope'

    # Key Vault's tag names are case-sensitive: a PowerShell hashtable literal is not.
    $tags = [System.Collections.Hashtable]::new([System.StringComparer]::Ordinal)
    $tags['Owner'] = 'security team'
    $tags['owner'] = 'ops team'
    $tags['rotated'] = '2026-12-06T10:00:00Z'
    $key = Add-CkKeyVaultKey -VaultName $vault -Name 'shaped' -Destination Software -Tag $tags
}

AfterAll {
    Disconnect-CkService
    Remove-Module -Name CustomerKey -Force -ErrorAction SilentlyContinue
}

Describe 'Output objects' {
    It 'types the described times as [datetime] in UTC' {
        $key.Created | Should -BeOfType [datetime]
        $key.Created.Kind | Should -Be ([System.DateTimeKind]::Utc)
        ([datetime]::UtcNow - $key.Created).TotalMinutes | Should -BeLessThan 10
    }

    It 'keeps a tag value that looks like a date a string' {
        $key.Tags['rotated'] | Should -BeOfType [string]
        $key.Tags['rotated'] | Should -BeExactly '2026-12-06T10:00:00Z'
    }

    It 'keeps tag names that differ only in case, both of them' {
        $key.Tags.Count | Should -Be 3
        $key.Tags['Owner'] | Should -BeExactly 'security team'
        $key.Tags['owner'] | Should -BeExactly 'ops team'
        $again = Get-CkKeyVaultKey -VaultName $vault -Name 'shaped'
        $again.Tags['Owner'] | Should -BeExactly 'security team'
    }

    It 'gives ordinary tags a hashtable that ignores case, as Az does' {
        $plain = Add-CkKeyVaultKey -VaultName $vault -Name 'plain-tags' -Destination Software -Tag @{ Purpose = 'test' }
        $plain.Tags | Should -BeOfType [hashtable]
        $plain.Tags['purpose'] | Should -Be 'test'
    }

    It 'returns the bytes of a key operation as byte[]' {
        $secret = [byte[]] (1..32)
        $wrapped = Invoke-CkKeyVaultKeyOperation -VaultName $vault -Name 'shaped' -Operation Wrap -Algorithm 'RSA-OAEP-256' -ByteArrayValue $secret
        $wrapped.RawResult | Should -BeOfType [byte]
        $wrapped.RawResult.Length | Should -Be 256
        $unwrapped = Invoke-CkKeyVaultKeyOperation -VaultName $vault -Name 'shaped' -Operation Unwrap -Algorithm 'RSA-OAEP-256' -ByteArrayValue $wrapped.RawResult
        [System.Convert]::ToBase64String($unwrapped.RawResult) | Should -Be ([System.Convert]::ToBase64String($secret))
    }

    It 'puts the type name only on the result, not on the objects nested in it' {
        $vaultObject = Get-CkKeyVault -VaultName $vault
        $vaultObject.PSTypeNames[0] | Should -Be 'CustomerKey.KeyVault'
        $policy = @($vaultObject.AccessPolicies)[0]
        $policy.PSTypeNames[0] | Should -Not -BeLike 'CustomerKey.*'
    }
}

Describe 'Answers that cannot be read' {
    It 'fail as a clear error, never a half-read object' {
        $shape = [CustomerKey.Native.OutputShape]::new('CustomerKey.KeyVaultKey')
        { [CustomerKey.Native.EngineJson]::Read('{"Name": "cut off', $shape) } | Should -Throw
        @([CustomerKey.Native.EngineJson]::Read('null', $shape)).Count | Should -Be 0
        @([CustomerKey.Native.EngineJson]::Read('[{"Name":"a"},{"Name":"b"}]', $shape)).Count | Should -Be 2
    }
}
