function Test-NativeSession {
    <#
    .SYNOPSIS
    Tells whether a session is open: a CkSessionHandle that is neither invalid nor disposed.
    .EXAMPLE
    Test-NativeSession
    #>
    param()

    return ($null -ne $script:CkSession -and -not $script:CkSession.IsInvalid -and -not $script:CkSession.IsClosed)
}
