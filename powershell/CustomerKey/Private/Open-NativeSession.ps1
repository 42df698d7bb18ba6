function Open-NativeSession {
    <#
    .SYNOPSIS
    Opens a session on a store with ck_open, replacing the current one.
    .DESCRIPTION
    Private. The current session is closed only once the new one is open. Failures are
    terminating errors of the calling cmdlet.
    .PARAMETER Cmdlet
    The calling cmdlet's $PSCmdlet.
    .PARAMETER Options
    The ck_open options: Store (absolute path), UserPrincipalName, TimeShiftSeconds, Environment,
    VaultDomain, CaFile, ApiVersion, ManagementEndpoint, GraphEndpoint, SubscriptionId,
    CallTimeoutSeconds; empty for the default store.
    .PARAMETER Tokens
    Bearer tokens by option name (AccessToken, ManagementAccessToken, GraphAccessToken), kept
    SecureStrings until they are put into the ck_open options.
    .EXAMPLE
    Open-NativeSession -Cmdlet $PSCmdlet -Options ([ordered]@{})
    #>
    param(
        [System.Management.Automation.PSCmdlet] $Cmdlet,
        [System.Collections.IDictionary] $Options,
        [System.Collections.IDictionary] $Tokens
    )

    $optionsJson = ConvertTo-Json -InputObject $Options -Depth 10 -Compress
    $given = @()
    if ($null -ne $Tokens) {
        $given = @($Tokens.Keys | Where-Object { $null -ne $Tokens[$_] })
    }
    if ($given.Count -gt 0) {
        $withToken = [ordered]@{}
        foreach ($key in $Options.Keys) {
            $withToken[$key] = $Options[$key]
        }
        foreach ($name in $given) {
            $pointer = [System.Runtime.InteropServices.Marshal]::SecureStringToGlobalAllocUnicode($Tokens[$name])
            try {
                $withToken[$name] = [System.Runtime.InteropServices.Marshal]::PtrToStringUni($pointer)
            }
            finally {
                [System.Runtime.InteropServices.Marshal]::ZeroFreeGlobalAllocUnicode($pointer)
            }
        }
        $optionsJson = ConvertTo-Json -InputObject $withToken -Depth 10 -Compress
        $withToken = $null
    }
    # ck_open fills in a CkSessionHandle, which calls ck_close when disposed.
    $sessionHandle = $null
    $outPointer = [System.IntPtr]::Zero
    $status = -1
    $text = $null
    try {
        $status = [CustomerKey.Native.NativeMethods]::ck_open($optionsJson, [ref] $sessionHandle, [ref] $outPointer)
    }
    catch {
        $record = New-NativeErrorRecord -Code 'NativeCallFailed' -Category 'NotSpecified' -Message ("ck_open failed: {0}" -f $_.Exception.Message) -Target $null -InnerException $_.Exception
        $Cmdlet.ThrowTerminatingError($record)
    }
    finally {
        $text = [CustomerKey.Native.NativeMethods]::TakeString($outPointer)
    }

    $reply = $null
    if (-not [string]::IsNullOrEmpty($text)) {
        $reply = [CustomerKey.Native.EngineJson]::ReadPlain($text)
    }
    if ($status -ne 0 -or $null -eq $sessionHandle -or $sessionHandle.IsInvalid) {
        if ($null -ne $sessionHandle) {
            $sessionHandle.Dispose()
        }
        $record = New-ErrorRecordFromEnvelope -Envelope $reply -Status $status -What 'ck_open'
        $Cmdlet.ThrowTerminatingError($record)
    }

    $store = $null
    $userPrincipalName = $null
    $version = $script:CkVersion
    $environment = 'Local'
    $vaultDomain = $null
    if ($Options.Keys -contains 'Store') {
        $store = [string] $Options['Store']
    }
    if ($Options.Keys -contains 'UserPrincipalName') {
        $userPrincipalName = [string] $Options['UserPrincipalName']
    }
    if ($null -ne $reply) {
        if ($null -ne $reply.PSObject.Properties['Store']) {
            $store = [string] $reply.Store
        }
        if ($null -ne $reply.PSObject.Properties['UserPrincipalName']) {
            $userPrincipalName = [string] $reply.UserPrincipalName
        }
        if ($null -ne $reply.PSObject.Properties['Version']) {
            $version = [string] $reply.Version
        }
        if ($null -ne $reply.PSObject.Properties['Environment']) {
            $environment = [string] $reply.Environment
        }
        if ($null -ne $reply.PSObject.Properties['VaultDomain']) {
            $vaultDomain = $reply.VaultDomain
        }
    }

    # The new session is open: only now close the previous one, so a failed Connect-CkService
    # leaves the current session as it was.
    Close-NativeSession
    $script:CkSession = $sessionHandle
    $script:CkConnection = [pscustomobject]@{
        PSTypeName        = 'CustomerKey.Connection'
        Store             = $store
        UserPrincipalName = $userPrincipalName
        Version           = $version
        Environment       = $environment
        VaultDomain       = $vaultDomain
    }
}
