function Close-NativeSession {
    <#
    .SYNOPSIS
    Closes the open session, if any.
    .DESCRIPTION
    Private. Used by Connect-CkService (before opening another), Disconnect-CkService and module
    removal. Disposing the CkSessionHandle calls ck_close once; a ck_call still running on another
    thread keeps the session open until it returns (the SafeHandle counts its users).
    .EXAMPLE
    Close-NativeSession
    #>
    param()

    if ($null -ne $script:CkSession) {
        $handle = $script:CkSession
        # Forget the handle first: even if closing fails it must never be used again.
        $script:CkSession = $null
        $script:CkConnection = $null
        $handle.Dispose()
    }
}
