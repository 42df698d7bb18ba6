@{
    RootModule           = 'CustomerKey.psm1'
    ModuleVersion        = '0.1.0'
    GUID                 = '6592df79-9ee9-44af-9c2e-5390fc93424b'
    Author               = 'CustomerKey contributors'
    CompanyName          = 'CustomerKey'
    Copyright            = '(c) CustomerKey contributors. MIT License.'
    Description          = 'Customer Key / BYOK workflows for Microsoft 365 admins: Az.KeyVault-style cmdlets (noun prefix Ck) over the customer_key native engine.'
    PowerShellVersion    = '7.2'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('CustomerKey.Format.ps1xml')
    FunctionsToExport    = @(
        'Connect-CkService',
        'Disconnect-CkService',
        'Get-CkConnection',
        'New-CkKeyVault',
        'Get-CkKeyVault',
        'Remove-CkKeyVault',
        'Undo-CkKeyVaultRemoval',
        'Set-CkKeyVaultAccessPolicy',
        'Remove-CkKeyVaultAccessPolicy',
        'Add-CkKeyVaultKey',
        'Get-CkKeyVaultKey',
        'Update-CkKeyVaultKey',
        'Remove-CkKeyVaultKey',
        'Undo-CkKeyVaultKeyRemoval',
        'Backup-CkKeyVaultKey',
        'Restore-CkKeyVaultKey',
        'Invoke-CkKeyVaultKeyOperation'
    )
    CmdletsToExport      = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('CustomerKey', 'KeyVault', 'BYOK', 'Microsoft365', 'Encryption')
            LicenseUri = 'https://opensource.org/licenses/MIT'
        }
    }
}
