function Invoke-NativeCall {
    <#
    .SYNOPSIS
    Makes one ck_call (through CustomerKey.Native.Invoker) and returns what it gave.
    .DESCRIPTION
    Private; Invoke-NativeOperation and Get-NativeChangeImpact call it. Opens the default store
    first when Connect-CkService was not used. Invoker builds the JSON from the arguments as the
    cmdlet bound them, converts SecureString to text only while the JSON is built, frees the
    returned string exactly once and reads the answer by the shape. Writes nothing itself: a
    failed call is a CallResult with a non-zero Status and its error envelope. A call that cannot
    be made at all (no session, broken library) or an answer that is not JSON is a terminating
    error of the calling cmdlet, never a half-read result.
    .PARAMETER Cmdlet
    The calling cmdlet's $PSCmdlet.
    .PARAMETER Operation
    The registry operation name, such as 'Get-KeyVaultKey'.
    .PARAMETER Arguments
    The arguments: the cmdlet's $PSBoundParameters (common parameters are left out) or a
    dictionary made for the call.
    .PARAMETER PathParameters
    The names of the arguments that are paths, resolved against PowerShell's location.
    .PARAMETER Shape
    The output type's conversions (a CustomerKey.Native.OutputShape); without one, the answer is
    read as plain objects.
    .OUTPUTS
    CustomerKey.Native.CallResult: Status, Objects, Envelope.
    .EXAMPLE
    $call = Invoke-NativeCall -Cmdlet $PSCmdlet -Operation 'Get-KeyVault' -Arguments @{}
    #>
    param(
        [System.Management.Automation.PSCmdlet] $Cmdlet,
        [string] $Operation,
        [System.Collections.IDictionary] $Arguments,
        [System.Collections.Generic.ISet[string]] $PathParameters,
        [CustomerKey.Native.OutputShape] $Shape
    )

    # The first call opens the default store when Connect-CkService was not used.
    $session = Get-NativeSession -Cmdlet $Cmdlet

    if ($VerbosePreference -ne 'SilentlyContinue') {
        Write-Verbose ("CustomerKey: calling {0}" -f $Operation)
    }
    try {
        return [CustomerKey.Native.Invoker]::Call($session, $Operation, $Arguments, $PathParameters, $Cmdlet, $Shape)
    }
    catch {
        $Cmdlet.ThrowTerminatingError((New-CallFailureRecord -Operation $Operation -ErrorRecord $_))
    }
}
