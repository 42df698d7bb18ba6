function Connect-CkService {
    <#
    .SYNOPSIS
    Opens a CustomerKey session on a store, closing the current one.
    .DESCRIPTION
    Opens the store folder given by -Path (created when missing) and makes it the store every
    CustomerKey cmdlet uses. Without Connect-CkService, the first cmdlet opens the default store.
    Emits the connection (CustomerKey.Connection), as Get-CkConnection shows it.
    .PARAMETER Path
    The store folder. Relative paths are resolved against the current PowerShell location.
    Default: the engine's default store.
    .PARAMETER UserPrincipalName
    The user principal name the session acts as (access policies are checked against it).
    .PARAMETER TimeShiftSeconds
    Seconds to add to the engine's clock, to try expiry and retention without waiting. Accepted
    only by a rehearsal store: one created by a Connect-CkService that gave -TimeShiftSeconds
    (even 0). A store of real keys refuses a shifted clock, which would purge for real.
    .PARAMETER Environment
    Where the keys are: Local (the default, the store's own vaults), or an Azure cloud
    (AzureCloud, AzureUSGovernment, AzureChinaCloud), whose Key Vault then serves every key
    operation and the keys of the Exchange, SharePoint and AIP workloads. The store keeps the
    workloads' own state and the audit either way.
    .PARAMETER VaultDomain
    Overrides the cloud's vault domain (vault.azure.net), for example localhost:8443 for
    customer-key serve. Vaults are addressed as https://<name>.<VaultDomain>.
    .PARAMETER CaFile
    A PEM file of extra trust anchors for the vaults' certificates (customer-key serve's CaFile).
    .PARAMETER AccessToken
    A Key Vault bearer token, as from (Get-AzAccessToken -ResourceUrl https://vault.azure.net -AsSecureString).Token.
    Without it, the engine uses AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, then managed identity.
    .PARAMETER ApiVersion
    The Key Vault api-version (7.6 by default).
    .PARAMETER ManagementEndpoint
    Overrides the cloud's Azure Resource Manager endpoint (https://management.azure.com), for
    example localhost:8443 for customer-key serve. Get-CkKeyVault and the access policy cmdlets
    go there in a session with an Azure Environment.
    .PARAMETER SubscriptionId
    The Azure subscription of the vaults, for Azure Resource Manager: Get-CkKeyVault and the
    access policy cmdlets use it when they are given no -SubscriptionId (before
    AZURE_SUBSCRIPTION_ID), and a workload's key use is checked against its access policy there,
    as Exchange Online and SharePoint Online check it, rather than only probed with this
    session's token.
    .PARAMETER GraphEndpoint
    Overrides the cloud's Microsoft Graph endpoint (https://graph.microsoft.com), where
    -UserPrincipalName and -ServicePrincipalName are looked up.
    .PARAMETER ManagementAccessToken
    An Azure Resource Manager bearer token, as from (Get-AzAccessToken -AsSecureString).Token.
    -AccessToken is Key Vault's only; without this one, the engine uses the client credentials
    of the environment, then managed identity, with the cloud's management scope.
    .PARAMETER GraphAccessToken
    A Microsoft Graph bearer token, as from (Get-AzAccessToken -ResourceTypeName MSGraph -AsSecureString).Token.
    Without one that may read users and service principals, pass -ObjectId to the access policy cmdlets.
    .PARAMETER CallTimeoutSeconds
    How long one cmdlet's call into the engine may take (300 seconds by default, 1 to 86400): a
    call still waiting on Azure then fails with OperationTimedOut (category OperationTimeout).
    Ctrl+C ends a call at any time (OperationStopped).
    .EXAMPLE
    Connect-CkService -Path ./ck-store -UserPrincipalName admin@contoso.onmicrosoft.com

    Opens (or creates) the store in ./ck-store as admin@contoso.onmicrosoft.com.
    .EXAMPLE
    Connect-CkService -Path ./ck-rehearsal -TimeShiftSeconds 0
    Connect-CkService -Path ./ck-rehearsal -TimeShiftSeconds (91 * 24 * 3600)

    Creates a rehearsal store, then reopens it with the clock 91 days ahead, past the default
    soft-delete retention.
    .EXAMPLE
    $token = (Get-AzAccessToken -ResourceUrl 'https://vault.azure.net' -AsSecureString).Token
    Connect-CkService -Path ./ck-store -Environment AzureCloud -AccessToken $token

    Points every key operation at Azure Key Vault, with the token of the signed-in Az account.
    .EXAMPLE
    $vault = (Get-AzAccessToken -ResourceUrl 'https://vault.azure.net' -AsSecureString).Token
    $arm = (Get-AzAccessToken -AsSecureString).Token
    Connect-CkService -Path ./ck-store -Environment AzureCloud -AccessToken $vault -ManagementAccessToken $arm
    $env:AZURE_SUBSCRIPTION_ID = (Get-AzContext).Subscription.Id
    Get-CkKeyVault -VaultName contoso-ck-weu

    Also reads and changes vaults' access policies through Azure Resource Manager.
    .OUTPUTS
    CustomerKey.Connection
    #>
    [CmdletBinding()]
    [OutputType('CustomerKey.Connection')]
    param(
        [Parameter(HelpMessage = 'The store folder')]
        [string] $Path,

        [Parameter(HelpMessage = 'The user principal name the session acts as')]
        [string] $UserPrincipalName,

        [Parameter(HelpMessage = 'Seconds to add to the engine clock')]
        [long] $TimeShiftSeconds,

        [Parameter(HelpMessage = 'Local, or the Azure cloud whose Key Vault holds the keys')]
        [ValidateSet('Local', 'AzureCloud', 'AzureUSGovernment', 'AzureChinaCloud')]
        [string] $Environment,

        [Parameter(HelpMessage = 'The vault domain, overriding the cloud''s (host[:port])')]
        [string] $VaultDomain,

        [Parameter(HelpMessage = 'A PEM file of extra trust anchors')]
        [string] $CaFile,

        [Parameter(HelpMessage = 'A Key Vault bearer token')]
        [securestring] $AccessToken,

        [Parameter(HelpMessage = 'The Key Vault api-version')]
        [string] $ApiVersion,

        [Parameter(HelpMessage = 'The Azure Resource Manager endpoint, overriding the cloud''s')]
        [string] $ManagementEndpoint,

        [Parameter(HelpMessage = 'The Microsoft Graph endpoint, overriding the cloud''s')]
        [string] $GraphEndpoint,

        [Parameter(HelpMessage = 'The Azure subscription of the vaults')]
        [string] $SubscriptionId,

        [Parameter(HelpMessage = 'An Azure Resource Manager bearer token')]
        [securestring] $ManagementAccessToken,

        [Parameter(HelpMessage = 'A Microsoft Graph bearer token')]
        [securestring] $GraphAccessToken,

        [Parameter(HelpMessage = 'Seconds one call may take before it fails (300 by default)')]
        [ValidateRange(1, 86400)]
        [int] $CallTimeoutSeconds
    )

    begin {
        [CustomerKey.Native.CallerPreference]::Apply($PSCmdlet, $ExecutionContext.SessionState)
    }

    process {
        $options = [ordered]@{}
        if ($PSBoundParameters.ContainsKey('Path')) {
            $options['Store'] = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($Path)
        }
        if ($PSBoundParameters.ContainsKey('UserPrincipalName')) {
            $options['UserPrincipalName'] = $UserPrincipalName
        }
        if ($PSBoundParameters.ContainsKey('TimeShiftSeconds')) {
            $options['TimeShiftSeconds'] = $TimeShiftSeconds
        }
        foreach ($name in 'Environment', 'VaultDomain', 'ApiVersion', 'ManagementEndpoint', 'GraphEndpoint', 'SubscriptionId', 'CallTimeoutSeconds') {
            if ($PSBoundParameters.ContainsKey($name)) {
                $options[$name] = $PSBoundParameters[$name]
            }
        }
        if ($PSBoundParameters.ContainsKey('CaFile')) {
            $options['CaFile'] = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($CaFile)
        }
        # The tokens stay SecureStrings until the native call itself.
        $tokens = [ordered]@{}
        foreach ($name in 'AccessToken', 'ManagementAccessToken', 'GraphAccessToken') {
            if ($PSBoundParameters.ContainsKey($name)) {
                $tokens[$name] = $PSBoundParameters[$name]
            }
        }
        Open-NativeSession -Cmdlet $PSCmdlet -Options $options -Tokens $tokens
        $script:CkConnection
    }
}
