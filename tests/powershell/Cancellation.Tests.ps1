#Requires -Version 7.2
# Calls that end, against a vault host that takes connections and never answers (a TcpListener
# that accepts nothing): a pipeline stopped while its cmdlet waits there (Ctrl+C, or Stop() as
# here) ends within seconds and leaves the session usable, Disconnect-CkService after it returns
# at once, and -CallTimeoutSeconds bounds a call. Without CallWatch, Stop() waited for the
# call's timeouts and retries (over a minute).
#   CK_NO_BUILD=1 bash tests/powershell/run.sh tests/powershell/Cancellation.Tests.ps1

BeforeAll {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $manifestPath = Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey/CustomerKey.psd1'
    Import-Module -Name $manifestPath -Force -ErrorAction Stop

    $stalled = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $stalled.Start()
    $stalledPort = $stalled.LocalEndpoint.Port
    $token = ConvertTo-SecureString -String 'token-for-the-stalled-vault' -AsPlainText -Force
}

AfterAll {
    Disconnect-CkService
    $stalled.Stop()
}

Describe 'A call waiting on a vault that never answers' {
    It 'ends within seconds when its pipeline is stopped, and the session goes on' {
        $runner = [powershell]::Create()
        try {
            $null = $runner.AddScript({
                    param($Manifest, $Store, $Port, $Token)
                    Import-Module -Name $Manifest
                    $null = Connect-CkService -Path $Store -UserPrincipalName 'admin@contoso.com' -Environment AzureCloud -VaultDomain "localhost:$Port" -AccessToken $Token
                    Get-CkKeyVaultKey -VaultName 'stalled-vault' -Name 'k1'
                }).AddArgument($manifestPath).AddArgument((Join-Path -Path $TestDrive -ChildPath 'stopped-store')).AddArgument($stalledPort).AddArgument($token)
            $running = $runner.BeginInvoke()
            # Under way once the vault host holds its connection.
            $deadline = [datetime]::UtcNow.AddSeconds(60)
            while (-not $stalled.Pending() -and -not $running.IsCompleted -and [datetime]::UtcNow -lt $deadline) {
                Start-Sleep -Milliseconds 20
            }
            $stalled.Pending() | Should -BeTrue -Because 'the call reached the vault host'
            Start-Sleep -Milliseconds 300
            $running.IsCompleted | Should -BeFalse -Because 'the vault host never answers'

            $clock = [System.Diagnostics.Stopwatch]::StartNew()
            $runner.Stop()
            $clock.Stop()
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 3
            $runner.InvocationStateInfo.State | Should -Be 'Stopped'

            # Only that call was cancelled: the next one in the session runs, and closing the
            # session does not wait on anything.
            $runner.Commands.Clear()
            $null = $runner.AddScript({
                    $count = @(Get-CkMailbox).Count
                    $clock = [System.Diagnostics.Stopwatch]::StartNew()
                    Disconnect-CkService
                    $count, $clock.Elapsed.TotalSeconds
                })
            $count, $disconnectSeconds = $runner.Invoke()
            $runner.Streams.Error | Should -BeNullOrEmpty
            $count | Should -Be 0
            $disconnectSeconds | Should -BeLessThan 3
        }
        finally {
            $runner.Dispose()
        }
    }

    It 'fails with OperationTimedOut after -CallTimeoutSeconds' {
        $null = Connect-CkService -Path (Join-Path -Path $TestDrive -ChildPath 'deadline-store') -UserPrincipalName 'admin@contoso.com' -Environment AzureCloud -VaultDomain "localhost:$stalledPort" -AccessToken $token -CallTimeoutSeconds 1
        $clock = [System.Diagnostics.Stopwatch]::StartNew()
        $failures = $null
        $keys = @(Get-CkKeyVaultKey -VaultName 'stalled-vault' -Name 'k1' -ErrorAction SilentlyContinue -ErrorVariable failures)
        $clock.Stop()
        $keys | Should -BeNullOrEmpty
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 4
        @($failures).Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -Be 'OperationTimedOut,Get-CkKeyVaultKey'
        $failures[0].CategoryInfo.Category | Should -Be ([System.Management.Automation.ErrorCategory]::OperationTimeout)
        $failures[0].Exception.Message | Should -BeLike '*CallTimeoutSeconds*'
    }

    It 'refuses a -CallTimeoutSeconds out of range before opening anything' {
        { Connect-CkService -Path (Join-Path -Path $TestDrive -ChildPath 'never-store') -CallTimeoutSeconds 0 } |
            Should -Throw -ErrorId 'ParameterArgumentValidationError,Connect-CkService'
    }
}
