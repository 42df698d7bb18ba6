#Requires -Version 7.2
# The C ABI as the module reaches it: Native.cs's P/Invoke declarations, called directly from
# pwsh (no cmdlet in between). JSON envelopes for every failure, UTF-8 both ways, 5 MB
# arguments, 8 threads on one session, and the CkSessionHandle's ownership of ck_close.

BeforeAll {
    Set-StrictMode -Version Latest
    $repositoryRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    Import-Module -Name (Join-Path -Path $repositoryRoot -ChildPath 'powershell/CustomerKey/CustomerKey.psd1') -Force -ErrorAction Stop

    $upn = 'jürgen@contoso.com'
    $tagValue = 'Zoë Ünïcødé 漢字 🔑'
    $vault = 'ck-interop'
    $store = Join-Path -Path $TestDrive -ChildPath 'interop-store'

    # One ck_call: its status, the text it returned (freed by TakeString) and that text parsed.
    function Invoke-RawCall {
        param([CustomerKey.Native.CkSessionHandle] $Session, [string] $Operation, [string] $Json)
        $pointer = [System.IntPtr]::Zero
        $status = [CustomerKey.Native.NativeMethods]::ck_call($Session, $Operation, $Json, [ref] $pointer)
        $text = [CustomerKey.Native.NativeMethods]::TakeString($pointer)
        $value = $null
        if (-not [string]::IsNullOrEmpty($text)) {
            $value = ConvertFrom-Json -InputObject $text -AsHashtable -Depth 20
        }
        [pscustomobject]@{ Status = $status; Text = $text; Value = $value }
    }

    function Open-RawSession {
        param([hashtable] $Options)
        $session = $null
        $pointer = [System.IntPtr]::Zero
        $status = [CustomerKey.Native.NativeMethods]::ck_open((ConvertTo-Json -InputObject $Options -Compress), [ref] $session, [ref] $pointer)
        $text = [CustomerKey.Native.NativeMethods]::TakeString($pointer)
        [pscustomobject]@{ Status = $status; Session = $session; Text = $text }
    }

    # A failure: the status, and an envelope {error: {code, category, message, target}} of strings.
    function Assert-ErrorEnvelope {
        param([object] $Reply, [int] $Status = -1, [string] $Code, [string] $Category)
        $Reply.Status | Should -Not -Be 0
        $Reply.Status | Should -Not -Be 9 -Because 'status 9 is a caught panic'
        if ($Status -ge 0) {
            $Reply.Status | Should -Be $Status -Because $Reply.Text
        }
        $Reply.Value | Should -Not -BeNullOrEmpty
        $failure = $Reply.Value['error']
        foreach ($field in 'code', 'category', 'message', 'target') {
            $failure.ContainsKey($field) | Should -BeTrue -Because $field
        }
        $failure['message'] | Should -Not -BeNullOrEmpty
        if ($Code) { $failure['code'] | Should -Be $Code }
        if ($Category) { $failure['category'] | Should -Be $Category }
    }

    $opened = Open-RawSession -Options @{ Store = $store; UserPrincipalName = $upn; TimeShiftSeconds = 0 }
    $session = $opened.Session
    $describePointer = [System.IntPtr]::Zero
    $null = [CustomerKey.Native.NativeMethods]::ck_describe([ref] $describePointer)
    $registry = ConvertFrom-Json -InputObject ([CustomerKey.Native.NativeMethods]::TakeString($describePointer)) -Depth 20
}

AfterAll {
    if ($null -ne $session) {
        $session.Dispose()
    }
    Remove-Module -Name CustomerKey -Force -ErrorAction SilentlyContinue
}

Describe 'Version, registry and opening' {
    It 'ck_version is a static string that ck_describe repeats' {
        $version = [CustomerKey.Native.NativeMethods]::PtrToUtf8([CustomerKey.Native.NativeMethods]::ck_version())
        $version | Should -Not -BeNullOrEmpty
        [CustomerKey.Native.NativeMethods]::PtrToUtf8([CustomerKey.Native.NativeMethods]::ck_version()) | Should -Be $version
        $registry.Version | Should -Be $version
        @($registry.Operations.Name) | Should -Contain 'Invoke-KeyVaultKeyOperation'
    }

    It 'ck_open refuses options that are not JSON, with an envelope and no session' {
        $refused = Open-RawSession -Options @{}
        $refused.Session.Dispose()
        $session2 = $null
        $pointer = [System.IntPtr]::Zero
        $status = [CustomerKey.Native.NativeMethods]::ck_open('{not json', [ref] $session2, [ref] $pointer)
        $text = [CustomerKey.Native.NativeMethods]::TakeString($pointer)
        $session2.IsInvalid | Should -BeTrue
        Assert-ErrorEnvelope -Reply ([pscustomobject]@{ Status = $status; Text = $text; Value = (ConvertFrom-Json -InputObject $text -AsHashtable) }) -Status 1 -Category 'InvalidArgument'
    }

    It 'ck_open opens the store as the given user' {
        $opened.Status | Should -Be 0 -Because $opened.Text
        $session.IsInvalid | Should -BeFalse
    }
}

Describe 'Calls that fail' {
    It 'every operation answers empty arguments with a result or a clean envelope' {
        foreach ($operation in $registry.Operations) {
            $reply = Invoke-RawCall -Session $session -Operation $operation.Name -Json '{}'
            if ($reply.Status -ne 0) {
                $reply.Status | Should -BeLessThan 8 -Because ('{0}: {1}' -f $operation.Name, $reply.Text)
                $reply.Value['error']['message'] | Should -Not -BeNullOrEmpty -Because $operation.Name
            }
        }
    }

    It 'refuses an unknown operation, malformed arguments and an unknown parameter as InvalidArgument' {
        Assert-ErrorEnvelope -Reply (Invoke-RawCall -Session $session -Operation 'Frobnicate-KeyVault' -Json '{}') -Status 1 -Category 'InvalidArgument'
        Assert-ErrorEnvelope -Reply (Invoke-RawCall -Session $session -Operation 'Get-KeyVault' -Json '{"VaultName":') -Status 1 -Category 'InvalidArgument'
        Assert-ErrorEnvelope -Reply (Invoke-RawCall -Session $session -Operation 'Get-KeyVault' -Json '{"NoSuchParameter":1}') -Status 1 -Category 'InvalidArgument'
    }

    It 'answers a handle that holds no session with an envelope' {
        $none = [CustomerKey.Native.CkSessionHandle]::new()
        try {
            Assert-ErrorEnvelope -Reply (Invoke-RawCall -Session $none -Operation 'Get-KeyVault' -Json '{}')
        }
        finally {
            $none.Dispose()
        }
    }

    It 'reports a missing key and a missing vault as ObjectNotFound' {
        $null = Invoke-RawCall -Session $session -Operation 'New-KeyVault' -Json (ConvertTo-Json -Compress -InputObject @{ VaultName = 'ck-interop-missing'; Location = 'westeurope' })
        Assert-ErrorEnvelope -Reply (Invoke-RawCall -Session $session -Operation 'Get-KeyVaultKey' -Json '{"VaultName":"ck-interop-missing","Name":"no-such-key"}') -Status 2 -Code 'KeyNotFound' -Category 'ObjectNotFound'
        Assert-ErrorEnvelope -Reply (Invoke-RawCall -Session $session -Operation 'Get-KeyVault' -Json '{"VaultName":"no-such-vault"}') -Status 2 -Category 'ObjectNotFound'
    }
}

Describe 'UTF-8 both ways' {
    BeforeAll {
        $created = Invoke-RawCall -Session $session -Operation 'New-KeyVault' -Json (ConvertTo-Json -Compress -InputObject @{
                VaultName = $vault; Location = 'westeurope'; Tag = @{ owner = $tagValue; 'Ünïcødé-kéy' = '漢字' }
            })
    }

    It 'keeps non-ASCII tag names and values through New- and Get-KeyVault' {
        $created.Status | Should -Be 0 -Because $created.Text
        $read = Invoke-RawCall -Session $session -Operation 'Get-KeyVault' -Json (ConvertTo-Json -Compress -InputObject @{ VaultName = $vault })
        $read.Status | Should -Be 0
        $read.Text | Should -BeLike ('*{0}*' -f $tagValue)
        $read.Text | Should -BeLike '*Ünïcødé-kéy*漢字*'
    }

    It 'reads JSON \u escapes, surrogate pairs included, as the characters they name' {
        $escaped = '{"VaultName":"' + $vault + '","Name":"escaped","Destination":"Software","Tag":{"owner":"Zo\u00eb \u6f22\u5b57 \ud83d\udd11"}}'
        $reply = Invoke-RawCall -Session $session -Operation 'Add-KeyVaultKey' -Json $escaped
        $reply.Status | Should -Be 0 -Because $reply.Text
        $reply.Text | Should -BeLike '*Zoë 漢字 🔑*'
    }

    It 'records the non-ASCII user principal name in the access policy, not double-encoded' {
        $read = Invoke-RawCall -Session $session -Operation 'Get-KeyVault' -Json (ConvertTo-Json -Compress -InputObject @{ VaultName = $vault })
        $read.Text | Should -BeLike ('*{0}*' -f $upn)
        $read.Text | Should -Not -BeLike "*j$([char]0xC3)$([char]0xBC)rgen*"
    }

    It 'round-trips a SharePoint file, an AIP document and a mailbox item' {
        $site = 'https://contoso.sharepoint.com/sites/interop'
        (Invoke-RawCall -Session $session -Operation 'New-SPOSite' -Json (ConvertTo-Json -Compress -InputObject @{ Url = $site; Title = 'Interop' })).Status | Should -Be 0
        (Invoke-RawCall -Session $session -Operation 'Add-SPOFile' -Json (ConvertTo-Json -Compress -InputObject @{ Site = $site; Name = 'budget.txt'; Value = $tagValue })).Status | Should -Be 0
        (Invoke-RawCall -Session $session -Operation 'Get-SPOFile' -Json (ConvertTo-Json -Compress -InputObject @{ Site = $site; Name = 'budget.txt' })).Value['Value'] | Should -Be $tagValue

        $document = Join-Path -Path $TestDrive -ChildPath 'interop.ckaip'
        $protected = Invoke-RawCall -Session $session -Operation 'Protect-AipContent' -Json (ConvertTo-Json -Compress -InputObject @{ Value = $tagValue; OutputFile = $document })
        $protected.Status | Should -Be 0 -Because $protected.Text
        $opened = Invoke-RawCall -Session $session -Operation 'Unprotect-AipContent' -Json (ConvertTo-Json -Compress -InputObject @{ InputFile = $document })
        $opened.Value['Value'] | Should -Be $tagValue
        $opened.Value['KeyIdentifier'] | Should -Be $protected.Value['KeyIdentifier']

        (Invoke-RawCall -Session $session -Operation 'New-Mailbox' -Json (ConvertTo-Json -Compress -InputObject @{ Name = $tagValue; Alias = 'interop'; PrimarySmtpAddress = 'interop@contoso.com' })).Value['Name'] | Should -Be $tagValue
        (Invoke-RawCall -Session $session -Operation 'Add-MailboxItem' -Json (ConvertTo-Json -Compress -InputObject @{ Identity = 'interop'; Subject = $tagValue; Body = 'body' })).Status | Should -Be 0
        $items = (Invoke-RawCall -Session $session -Operation 'Get-MailboxItem' -Json '{"Identity":"interop@contoso.com"}').Value
        @($items).Count | Should -Be 1
        @($items)[0]['Subject'] | Should -Be $tagValue
    }
}

Describe '5 MB arguments' {
    It 'stores a 5 MB tag value intact, or refuses it cleanly' {
        $big = [string]::new([char] 'x', 5MB)
        $reply = Invoke-RawCall -Session $session -Operation 'New-KeyVault' -Json (ConvertTo-Json -Compress -InputObject @{ VaultName = 'ck-big'; Location = 'westeurope'; Tag = @{ big = $big } })
        if ($reply.Status -eq 0) {
            $read = Invoke-RawCall -Session $session -Operation 'Get-KeyVault' -Json '{"VaultName":"ck-big"}'
            $read.Value['Tags']['big'].Length | Should -Be $big.Length
        }
        else {
            Assert-ErrorEnvelope -Reply $reply
        }
    }

    It 'refuses to wrap 5 MB with RSA as InvalidArgument' {
        $bytes = [byte[]]::new(5MB)
        [System.Random]::new(7).NextBytes($bytes)
        (Invoke-RawCall -Session $session -Operation 'Add-KeyVaultKey' -Json (ConvertTo-Json -Compress -InputObject @{ VaultName = $vault; Name = 'big-input'; Destination = 'Software' })).Status | Should -Be 0
        $reply = Invoke-RawCall -Session $session -Operation 'Invoke-KeyVaultKeyOperation' -Json (ConvertTo-Json -Compress -InputObject @{
                VaultName = $vault; Name = 'big-input'; Operation = 'Wrap'; Algorithm = 'RSA-OAEP-256'; ByteArrayValue = [System.Convert]::ToBase64String($bytes)
            })
        Assert-ErrorEnvelope -Reply $reply -Status 1 -Category 'InvalidArgument'
    }
}

Describe 'Threads and the session handle' {
    It 'serves 8 threads on one session: each adds keys, wraps and unwraps' {
        $failures = 1..8 | ForEach-Object -ThrottleLimit 8 -Parallel {
            $threadSession = $using:session
            $threadVault = $using:vault
            $thread = $_
            $random = [System.Random]::new($thread)
            function Invoke-ThreadCall([string] $Operation, [hashtable] $Arguments) {
                $pointer = [System.IntPtr]::Zero
                $status = [CustomerKey.Native.NativeMethods]::ck_call($threadSession, $Operation, (ConvertTo-Json -Compress -InputObject $Arguments), [ref] $pointer)
                $text = [CustomerKey.Native.NativeMethods]::TakeString($pointer)
                if ($status -ne 0) { throw ('{0}: status {1}: {2}' -f $Operation, $status, $text) }
                ConvertFrom-Json -InputObject $text -AsHashtable
            }
            try {
                foreach ($index in 1..3) {
                    $name = 't{0}-k{1}' -f $thread, $index
                    $key = Invoke-ThreadCall 'Add-KeyVaultKey' @{ VaultName = $threadVault; Name = $name; Destination = 'Software'; Tag = @{ thread = "fädén-$thread" } }
                    if ($key['Tags']['thread'] -ne "fädén-$thread") { throw "$name lost its tag" }
                    foreach ($round in 1..3) {
                        $secret = [byte[]]::new(32)
                        $random.NextBytes($secret)
                        $plain = [System.Convert]::ToBase64String($secret)
                        $wrapped = Invoke-ThreadCall 'Invoke-KeyVaultKeyOperation' @{ VaultName = $threadVault; Name = $name; Operation = 'Wrap'; Algorithm = 'RSA-OAEP-256'; ByteArrayValue = $plain }
                        $unwrapped = Invoke-ThreadCall 'Invoke-KeyVaultKeyOperation' @{ VaultName = $threadVault; Name = $name; Operation = 'Unwrap'; Algorithm = 'RSA-OAEP-256'; ByteArrayValue = $wrapped['RawResult'] }
                        if ($unwrapped['RawResult'] -ne $plain) { throw "$name unwrapped other bytes" }
                    }
                }
            }
            catch {
                'thread {0}: {1}' -f $thread, $_.Exception.Message
            }
        }
        @($failures) | Should -BeNullOrEmpty
        foreach ($thread in 1..8) {
            foreach ($index in 1..3) {
                (Invoke-RawCall -Session $session -Operation 'Get-KeyVaultKey' -Json (ConvertTo-Json -Compress -InputObject @{ VaultName = $vault; Name = ('t{0}-k{1}' -f $thread, $index) })).Status | Should -Be 0
            }
        }
    }

    It 'closes the session when the handle is disposed, and refuses the disposed handle' {
        $closing = (Open-RawSession -Options @{ Store = $store; UserPrincipalName = $upn }).Session
        $closing.IsInvalid | Should -BeFalse
        $closing.Dispose()
        $closing.IsClosed | Should -BeTrue
        $closing.Dispose()
        [CustomerKey.Native.NativeMethods]::ck_close([System.IntPtr]::Zero)
        $refusal = { Invoke-RawCall -Session $closing -Operation 'Get-KeyVault' -Json '{}' } | Should -Throw -PassThru
        $refusal.Exception.InnerException | Should -BeOfType ([System.ObjectDisposedException])
    }

    It 'finds what was stored after the store is closed and opened again' {
        $session.Dispose()
        $again = (Open-RawSession -Options @{ Store = $store; UserPrincipalName = $upn }).Session
        try {
            $read = Invoke-RawCall -Session $again -Operation 'Get-KeyVault' -Json (ConvertTo-Json -Compress -InputObject @{ VaultName = $vault })
            $read.Status | Should -Be 0
            $read.Text | Should -BeLike ('*{0}*' -f $tagValue)
        }
        finally {
            $again.Dispose()
        }
    }

    It 'TakeString frees what it reads and gives $null for a null pointer' {
        [CustomerKey.Native.NativeMethods]::TakeString([System.IntPtr]::Zero) | Should -BeNullOrEmpty
        $pointer = [System.IntPtr]::Zero
        [CustomerKey.Native.NativeMethods]::ck_describe([ref] $pointer) | Should -Be 0
        [CustomerKey.Native.NativeMethods]::TakeString($pointer) | Should -BeLike '*"Operations"*'
    }
}
