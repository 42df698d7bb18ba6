#Requires -Version 7.2
# Stand-ins for the Microsoft cmdlets that Customer Key scripts pipe CustomerKey objects into, or
# pipe Microsoft objects out of. Dot-sourced by MicrosoftPipelines.Tests.ps1. Each function has the
# parameter block of the real cmdlet (names, sets, Mandatory, Position, pipeline flags, aliases) and
# only records what PowerShell bound, so the test sees the binding the real cmdlet would get.
#
# Types from Microsoft assemblies become [object] or [string]. Where a real parameter takes pipeline
# input BY VALUE and is typed with an Az.KeyVault model class, [object] would accept anything and
# prove nothing: PowerShell converts a PSCustomObject into such a class only when the class has a
# public parameterless constructor and every property of the input exists there with a setter
# PowerShell may call (public or protected; not private or internal). So those parameters are typed
# with the MicrosoftStandIn classes below, which copy the real classes' constructors, property types
# and setter accessibility, and PowerShell's own conversion decides, as it would for Az.
# Exchange Online's cmdlets reach the shell as generated proxy functions whose Microsoft-typed
# parameters are [System.Object] (see the stubs generated from a live session in
# microsoft/Microsoft365DSC, Tests/Unit/Stubs/Microsoft365.psm1); they are [object] here for that
# reason. Argument completers and validation that cannot change which parameter binds are left out.

if (-not ('MicrosoftStandIn.CallLog' -as [type])) {
    Add-Type -TypeDefinition @'
using System;
using System.Collections;
using System.Collections.Generic;
namespace MicrosoftStandIn
{
    // The list the test reads: one entry per record a stand-in cmdlet processed.
    public static class CallLog { public static readonly List<object> Calls = new List<object>(); }

    // Azure/azure-powershell src/KeyVault/KeyVault/Models/ObjectIdentifier (stored version read:
    // VaultName, Name, Version with public setters). Id is shown by every Get-AzKeyVaultKey output;
    // its setter could not be confirmed from a source and is taken as public like the others.
    public class ObjectIdentifier
    {
        public string VaultName { get; set; }
        public string Name { get; set; }
        public string Version { get; set; }
        public string Id { get; set; }
    }

    // src/KeyVault/KeyVault/Models/Key/PSKeyVaultKeyIdentityItem.cs (commit 081d6346).
    public class PSKeyVaultKeyIdentityItem : ObjectIdentifier
    {
        public PSKeyVaultKeyIdentityItem() { }
        public string HsmPlatform { get; set; }
        public bool? Enabled { get; set; }
        public DateTime? Expires { get; set; }
        public DateTime? NotBefore { get; set; }
        public DateTime? Created { get; protected set; }
        public DateTime? Updated { get; protected set; }
        public string RecoveryLevel { get; protected set; }
        public Hashtable Tags { get; set; }
        public string TagsTable { get { return null; } }
        public bool IsHsm { get; protected set; }
    }

    // src/KeyVault/KeyVault/Models/PSKeyVaultIdentityItem.cs (commit 50f84903).
    public class PSKeyVaultIdentityItem
    {
        public PSKeyVaultIdentityItem() { }
        public string ResourceId { get; protected set; }
        public string VaultName { get; protected set; }
        public string ResourceGroupName { get; protected set; }
        public string Location { get; protected set; }
        public Hashtable Tags { get; protected set; }
        public string TagsTable { get { return null; } }
    }

    // src/KeyVault/KeyVault/Models/PSKeyVault.cs (commit 0071962a). Model-typed properties are object.
    public class PSKeyVault : PSKeyVaultIdentityItem
    {
        public PSKeyVault() { }
        public string PublicNetworkAccess { get; private set; }
        public string VaultUri { get; private set; }
        public Guid TenantId { get; private set; }
        public string TenantName { get; private set; }
        public string Sku { get; private set; }
        public bool EnabledForDeployment { get; private set; }
        public bool? EnabledForTemplateDeployment { get; private set; }
        public bool? EnabledForDiskEncryption { get; private set; }
        public bool? EnableSoftDelete { get; private set; }
        public bool? EnablePurgeProtection { get; internal set; }
        public bool? EnableRbacAuthorization { get; private set; }
        public int? SoftDeleteRetentionInDays { get; private set; }
        public object[] AccessPolicies { get; private set; }
        public string AccessPoliciesText { get { return null; } }
        public object NetworkAcls { get; private set; }
        public string NetworkAclsText { get { return null; } }
        public object OriginalVault { get; private set; }
    }

    // PSManagedHsm (Models/ManagedHsm/PSManagedHsm.cs) was not read. With only its base's members
    // the stand-in refuses every CustomerKey object tried here (each has properties it lacks); the
    // real class would too unless it declared VaultUri, Name... with public setters (not confirmed).
    public class PSManagedHsm : PSKeyVaultIdentityItem { public PSManagedHsm() { } }
}
'@
}

# Records one pipeline record (or one call) as the real cmdlet would have received it.
function Write-MicrosoftCall {
    param([System.Management.Automation.PSCmdlet] $Caller, [hashtable] $Bound)
    $copy = @{}
    foreach ($name in $Bound.Keys) { $copy[$name] = $Bound[$name] }
    [MicrosoftStandIn.CallLog]::Calls.Add([pscustomobject]@{
            Cmdlet = $Caller.MyInvocation.MyCommand.Name; ParameterSet = $Caller.ParameterSetName; Bound = $copy
        })
}

#region Az.KeyVault
# Every Az cmdlet inherits -DefaultProfile <IAzureContextContainer> with aliases AzContext,
# AzureRmContext, AzureCredential (src/KeyVault/KeyVault/help/*.md, "-DefaultProfile").
# -SubscriptionId appears in the learn.microsoft.com syntax of Get-AzKeyVault and
# Set-AzKeyVaultAccessPolicy (management-plane cmdlets, shared base KeyVaultManagementCmdletBase);
# no stored source showed its attribute, so it is taken as optional, named, without pipeline input.

# Source: Azure/azure-powershell src/KeyVault/KeyVault/Commands/Key/GetAzureKeyVaultKey.cs (commit 49be303a).
function Get-AzKeyVaultKey {
    [CmdletBinding(DefaultParameterSetName = 'ByVaultName')]
    param(
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'ByKeyName')]
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'ByVaultName')]
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'ByKeyVersions')]
        [ValidateNotNullOrEmpty()] [string] $VaultName,
        [Parameter(Mandatory, ParameterSetName = 'HsmByKeyName')] [Parameter(Mandatory, ParameterSetName = 'HsmByVaultName')]
        [Parameter(Mandatory, ParameterSetName = 'HsmByKeyVersions')]
        [ValidateNotNullOrEmpty()] [string] $HsmName,
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ParameterSetName = 'ByInputObjectVaultName')]
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ParameterSetName = 'ByInputObjectKeyName')]
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ParameterSetName = 'ByInputObjectKeyVersions')]
        [ValidateNotNullOrEmpty()] [MicrosoftStandIn.PSKeyVault] $InputObject,
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ParameterSetName = 'HsmByInputObjectVaultName')]
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ParameterSetName = 'HsmByInputObjectKeyName')]
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ParameterSetName = 'HsmByInputObjectKeyVersions')]
        [ValidateNotNullOrEmpty()] [MicrosoftStandIn.PSManagedHsm] $HsmObject,
        [Parameter(Mandatory, ValueFromPipelineByPropertyName, ParameterSetName = 'ByResourceIdVaultName')]
        [Parameter(Mandatory, ValueFromPipelineByPropertyName, ParameterSetName = 'ByResourceIdKeyName')]
        [Parameter(Mandatory, ValueFromPipelineByPropertyName, ParameterSetName = 'ByResourceIdKeyVersions')]
        [ValidateNotNullOrEmpty()] [string] $ResourceId,
        [Parameter(Mandatory, ValueFromPipelineByPropertyName, ParameterSetName = 'HsmByResourceIdVaultName')]
        [Parameter(Mandatory, ValueFromPipelineByPropertyName, ParameterSetName = 'HsmByResourceIdKeyName')]
        [Parameter(Mandatory, ValueFromPipelineByPropertyName, ParameterSetName = 'HsmByResourceIdKeyVersions')]
        [ValidateNotNullOrEmpty()] [string] $HsmResourceId,
        [Parameter(Position = 1, ParameterSetName = 'ByVaultName')] [Parameter(Position = 1, ParameterSetName = 'ByInputObjectVaultName')]
        [Parameter(Position = 1, ParameterSetName = 'ByResourceIdVaultName')]
        [Parameter(Mandatory, Position = 1, ParameterSetName = 'ByKeyName')] [Parameter(Mandatory, Position = 1, ParameterSetName = 'ByInputObjectKeyName')]
        [Parameter(Mandatory, Position = 1, ParameterSetName = 'ByResourceIdKeyName')]
        [Parameter(Mandatory, Position = 1, ParameterSetName = 'ByKeyVersions')] [Parameter(Mandatory, Position = 1, ParameterSetName = 'ByInputObjectKeyVersions')]
        [Parameter(Mandatory, Position = 1, ParameterSetName = 'ByResourceIdKeyVersions')]
        [Parameter(Position = 1, ParameterSetName = 'HsmByVaultName')] [Parameter(Position = 1, ParameterSetName = 'HsmByInputObjectVaultName')]
        [Parameter(Position = 1, ParameterSetName = 'HsmByResourceIdVaultName')]
        [Parameter(Mandatory, Position = 1, ParameterSetName = 'HsmByKeyName')] [Parameter(Mandatory, Position = 1, ParameterSetName = 'HsmByInputObjectKeyName')]
        [Parameter(Mandatory, Position = 1, ParameterSetName = 'HsmByResourceIdKeyName')]
        [Parameter(Mandatory, Position = 1, ParameterSetName = 'HsmByKeyVersions')] [Parameter(Mandatory, Position = 1, ParameterSetName = 'HsmByInputObjectKeyVersions')]
        [Parameter(Mandatory, Position = 1, ParameterSetName = 'HsmByResourceIdKeyVersions')]
        [ValidateNotNullOrEmpty()] [Alias('KeyName')] [SupportsWildcards()] [string] $Name,
        [Parameter(Mandatory, Position = 2, ParameterSetName = 'ByKeyName')] [Parameter(Mandatory, Position = 2, ParameterSetName = 'ByInputObjectKeyName')]
        [Parameter(Mandatory, Position = 2, ParameterSetName = 'ByResourceIdKeyName')] [Parameter(Mandatory, Position = 2, ParameterSetName = 'HsmByKeyName')]
        [Parameter(Mandatory, Position = 2, ParameterSetName = 'HsmByInputObjectKeyName')] [Parameter(Mandatory, Position = 2, ParameterSetName = 'HsmByResourceIdKeyName')]
        [Alias('KeyVersion')] [string] $Version,
        [Parameter(Mandatory, ParameterSetName = 'ByKeyVersions')] [Parameter(Mandatory, ParameterSetName = 'ByInputObjectKeyVersions')]
        [Parameter(Mandatory, ParameterSetName = 'ByResourceIdKeyVersions')] [Parameter(Mandatory, ParameterSetName = 'HsmByKeyVersions')]
        [Parameter(Mandatory, ParameterSetName = 'HsmByInputObjectKeyVersions')] [Parameter(Mandatory, ParameterSetName = 'HsmByResourceIdKeyVersions')]
        [switch] $IncludeVersions,
        [Parameter(ParameterSetName = 'ByVaultName')] [Parameter(ParameterSetName = 'ByInputObjectVaultName')]
        [Parameter(ParameterSetName = 'ByResourceIdVaultName')] [Parameter(ParameterSetName = 'HsmByVaultName')]
        [Parameter(ParameterSetName = 'HsmByInputObjectVaultName')] [Parameter(ParameterSetName = 'HsmByResourceIdVaultName')]
        [switch] $InRemovedState,
        [Parameter()] [ValidateNotNullOrEmpty()] [string] $OutFile,
        # IAzureContextContainer
        [Parameter()] [Alias('AzContext', 'AzureRmContext', 'AzureCredential')] [object] $DefaultProfile
    )
    process { Write-MicrosoftCall -Caller $PSCmdlet -Bound $PSBoundParameters }
}

# Source: Azure/azure-powershell src/KeyVault/KeyVault/Commands/Key/AddAzureKeyVaultKey.cs (commit 00193391).
function Add-AzKeyVaultKey {
    [CmdletBinding(SupportsShouldProcess, DefaultParameterSetName = 'InteractiveCreate')]
    param(
        [Parameter(Mandatory, ParameterSetName = 'InteractiveCreate', Position = 0)] [Parameter(Mandatory, ParameterSetName = 'InteractiveImport', Position = 0)]
        [ValidateNotNullOrEmpty()] [string] $VaultName,
        [Parameter(Mandatory, ParameterSetName = 'HsmInteractiveCreate')] [Parameter(Mandatory, ParameterSetName = 'HsmInteractiveImport')]
        [ValidateNotNullOrEmpty()] [string] $HsmName,
        [Parameter(Mandatory, ParameterSetName = 'InputObjectCreate', Position = 0, ValueFromPipeline)]
        [Parameter(Mandatory, ParameterSetName = 'InputObjectImport', Position = 0, ValueFromPipeline)]
        [ValidateNotNullOrEmpty()] [MicrosoftStandIn.PSKeyVault] $InputObject,
        [Parameter(Mandatory, ParameterSetName = 'HsmInputObjectCreate', Position = 0, ValueFromPipeline)]
        [Parameter(Mandatory, ParameterSetName = 'HsmInputObjectImport', Position = 0, ValueFromPipeline)]
        [ValidateNotNullOrEmpty()] [MicrosoftStandIn.PSManagedHsm] $HsmObject,
        [Parameter(Mandatory, ParameterSetName = 'ResourceIdCreate', Position = 0, ValueFromPipelineByPropertyName)]
        [Parameter(Mandatory, ParameterSetName = 'ResourceIdImport', Position = 0, ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()] [string] $ResourceId,
        [Parameter(Mandatory, ParameterSetName = 'HsmResourceIdCreate', ValueFromPipelineByPropertyName)]
        [Parameter(Mandatory, ParameterSetName = 'HsmResourceIdImport', ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()] [string] $HsmResourceId,
        [Parameter(Mandatory, Position = 1)] [ValidateNotNullOrEmpty()] [Alias('KeyName')] [string] $Name,
        [Parameter(Mandatory, ParameterSetName = 'InteractiveImport')] [Parameter(Mandatory, ParameterSetName = 'InputObjectImport')]
        [Parameter(Mandatory, ParameterSetName = 'ResourceIdImport')] [Parameter(Mandatory, ParameterSetName = 'HsmInteractiveImport')]
        [Parameter(Mandatory, ParameterSetName = 'HsmInputObjectImport')] [Parameter(Mandatory, ParameterSetName = 'HsmResourceIdImport')]
        [ValidateNotNullOrEmpty()] [string] $KeyFilePath,
        [Parameter(ParameterSetName = 'InteractiveImport')] [Parameter(ParameterSetName = 'InputObjectImport')]
        [Parameter(ParameterSetName = 'ResourceIdImport')] [Parameter(ParameterSetName = 'HsmInteractiveImport')]
        [Parameter(ParameterSetName = 'HsmInputObjectImport')] [Parameter(ParameterSetName = 'HsmResourceIdImport')]
        [ValidateNotNullOrEmpty()] [securestring] $KeyFilePassword,
        [Parameter(Mandatory, ParameterSetName = 'InteractiveCreate')] [Parameter(Mandatory, ParameterSetName = 'InputObjectCreate')]
        [Parameter(Mandatory, ParameterSetName = 'ResourceIdCreate')] [Parameter(ParameterSetName = 'InteractiveImport')]
        [Parameter(ParameterSetName = 'InputObjectImport')] [Parameter(ParameterSetName = 'ResourceIdImport')]
        [ValidateSet('HSM', 'Software')] [string] $Destination,
        [Parameter()] [switch] $Disable,
        [Parameter()] [string[]] $KeyOps,
        [Parameter()] [Nullable[datetime]] $Expires,
        [Parameter()] [Nullable[datetime]] $NotBefore,
        [Parameter()] [Alias('Tags')] [hashtable] $Tag,
        [Parameter(ParameterSetName = 'InputObjectCreate')] [Parameter(ParameterSetName = 'InteractiveCreate')]
        [Parameter(ParameterSetName = 'ResourceIdCreate')] [Parameter(ParameterSetName = 'HsmInputObjectCreate')]
        [Parameter(ParameterSetName = 'HsmInteractiveCreate')] [Parameter(ParameterSetName = 'HsmResourceIdCreate')]
        [Nullable[int]] $Size,
        [Parameter(Mandatory, ParameterSetName = 'HsmInteractiveCreate')] [Parameter(Mandatory, ParameterSetName = 'HsmInputObjectCreate')]
        [Parameter(Mandatory, ParameterSetName = 'HsmResourceIdCreate')] [Parameter(ParameterSetName = 'InteractiveCreate')]
        [Parameter(ParameterSetName = 'InputObjectCreate')] [Parameter(ParameterSetName = 'ResourceIdCreate')]
        [Parameter(ParameterSetName = 'InteractiveImport')] [Parameter(ParameterSetName = 'InputObjectImport')]
        [Parameter(ParameterSetName = 'ResourceIdImport')]
        [string] $KeyType,
        [Parameter(ParameterSetName = 'HsmInteractiveCreate')] [Parameter(ParameterSetName = 'HsmInputObjectCreate')]
        [Parameter(ParameterSetName = 'HsmResourceIdCreate')] [Parameter(ParameterSetName = 'InteractiveCreate')]
        [Parameter(ParameterSetName = 'InputObjectCreate')] [Parameter(ParameterSetName = 'ResourceIdCreate')]
        [Parameter(ParameterSetName = 'InteractiveImport')] [Parameter(ParameterSetName = 'InputObjectImport')]
        [Parameter(ParameterSetName = 'ResourceIdImport')]
        [string] $CurveName,
        [Parameter(ParameterSetName = 'HsmInteractiveCreate')] [Parameter(ParameterSetName = 'HsmInputObjectCreate')]
        [Parameter(ParameterSetName = 'HsmResourceIdCreate')] [Parameter(ParameterSetName = 'InteractiveCreate')]
        [Parameter(ParameterSetName = 'InputObjectCreate')] [Parameter(ParameterSetName = 'ResourceIdCreate')]
        [switch] $Exportable,
        [Parameter(ParameterSetName = 'HsmInteractiveCreate')] [Parameter(ParameterSetName = 'HsmInputObjectCreate')]
        [Parameter(ParameterSetName = 'HsmResourceIdCreate')] [Parameter(ParameterSetName = 'InteractiveCreate')]
        [Parameter(ParameterSetName = 'InputObjectCreate')] [Parameter(ParameterSetName = 'ResourceIdCreate')]
        [switch] $Immutable,
        [Parameter(ParameterSetName = 'HsmInteractiveCreate')] [Parameter(ParameterSetName = 'HsmInputObjectCreate')]
        [Parameter(ParameterSetName = 'HsmResourceIdCreate')] [Parameter(ParameterSetName = 'InteractiveCreate')]
        [Parameter(ParameterSetName = 'InputObjectCreate')] [Parameter(ParameterSetName = 'ResourceIdCreate')]
        [string] $ReleasePolicyPath,
        [Parameter(ParameterSetName = 'HsmInteractiveCreate')] [Parameter(ParameterSetName = 'HsmInputObjectCreate')]
        [Parameter(ParameterSetName = 'HsmResourceIdCreate')] [Parameter(ParameterSetName = 'InteractiveCreate')]
        [Parameter(ParameterSetName = 'InputObjectCreate')] [Parameter(ParameterSetName = 'ResourceIdCreate')]
        [switch] $UseDefaultCVMPolicy,
        [Parameter()] [Alias('AzContext', 'AzureRmContext', 'AzureCredential')] [object] $DefaultProfile
    )
    process { Write-MicrosoftCall -Caller $PSCmdlet -Bound $PSBoundParameters }
}

# Source: Azure/azure-powershell src/KeyVault/KeyVault/Commands/Key/BackupAzureKeyVaultKey.cs (commit 68be8ee9).
function Backup-AzKeyVaultKey {
    [CmdletBinding(SupportsShouldProcess, DefaultParameterSetName = 'ByKeyName')]
    param(
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'ByKeyName')] [ValidateNotNullOrEmpty()] [string] $VaultName,
        [Parameter(Mandatory, ParameterSetName = 'HsmByKeyName')] [ValidateNotNullOrEmpty()] [string] $HsmName,
        [Parameter(Mandatory, Position = 1, ParameterSetName = 'ByKeyName')] [Parameter(Mandatory, Position = 1, ParameterSetName = 'HsmByKeyName')]
        [ValidateNotNullOrEmpty()] [Alias('KeyName')] [string] $Name,
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ParameterSetName = 'ByKey')]
        [ValidateNotNullOrEmpty()] [Alias('Key')] [MicrosoftStandIn.PSKeyVaultKeyIdentityItem] $InputObject,
        [Parameter(Position = 2)] [ValidateNotNullOrEmpty()] [string] $OutputFile,
        [Parameter()] [switch] $Force,
        [Parameter()] [Alias('AzContext', 'AzureRmContext', 'AzureCredential')] [object] $DefaultProfile
    )
    process { Write-MicrosoftCall -Caller $PSCmdlet -Bound $PSBoundParameters }
}

# Source: Azure/azure-powershell src/KeyVault/KeyVault/Commands/Key/RestoreAzureKeyVaultKey.cs (commit bb3db319).
function Restore-AzKeyVaultKey {
    [CmdletBinding(SupportsShouldProcess, DefaultParameterSetName = 'ByVaultName')]
    param(
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'ByVaultName')] [ValidateNotNullOrEmpty()] [string] $VaultName,
        [Parameter(Mandatory, ParameterSetName = 'HsmByVaultName')] [ValidateNotNullOrEmpty()] [string] $HsmName,
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'ByInputObject', ValueFromPipeline)]
        [ValidateNotNullOrEmpty()] [MicrosoftStandIn.PSKeyVault] $InputObject,
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'HsmByInputObject', ValueFromPipeline)]
        [ValidateNotNullOrEmpty()] [MicrosoftStandIn.PSManagedHsm] $HsmObject,
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'ByResourceId', ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()] [string] $ResourceId,
        [Parameter(Mandatory, ParameterSetName = 'HsmByResourceId', ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()] [string] $HsmResourceId,
        [Parameter(Mandatory, Position = 1)] [ValidateNotNullOrEmpty()] [string] $InputFile,
        [Parameter()] [Alias('AzContext', 'AzureRmContext', 'AzureCredential')] [object] $DefaultProfile
    )
    process { Write-MicrosoftCall -Caller $PSCmdlet -Bound $PSBoundParameters }
}

# Source: Azure/azure-powershell src/KeyVault/KeyVault/Commands/Key/RemoveAzureKeyVaultKey.cs (commit 4bb9d364).
function Remove-AzKeyVaultKey {
    [CmdletBinding(SupportsShouldProcess, DefaultParameterSetName = 'ByVaultName')]
    param(
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'ByVaultName')] [ValidateNotNullOrEmpty()] [string] $VaultName,
        [Parameter(Mandatory, ParameterSetName = 'HsmByVaultName')] [ValidateNotNullOrEmpty()] [string] $HsmName,
        [Parameter(Mandatory, Position = 1, ParameterSetName = 'ByVaultName')] [Parameter(Mandatory, Position = 1, ParameterSetName = 'HsmByVaultName')]
        [ValidateNotNullOrEmpty()] [Alias('KeyName')] [string] $Name,
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ParameterSetName = 'ByInputObject')]
        [ValidateNotNullOrEmpty()] [MicrosoftStandIn.PSKeyVaultKeyIdentityItem] $InputObject,
        [Parameter()] [switch] $Force,
        [Parameter()] [switch] $PassThru,
        [Parameter()] [switch] $InRemovedState,
        [Parameter()] [Alias('AzContext', 'AzureRmContext', 'AzureCredential')] [object] $DefaultProfile
    )
    process { Write-MicrosoftCall -Caller $PSCmdlet -Bound $PSBoundParameters }
}

# Source: Azure/azure-powershell src/KeyVault/KeyVault/help/Get-AzKeyVault.md (commit 33358090) for the
# sets, positions, pipeline input and aliases; Commands/GetAzureKeyVault.cs (commit 00f5e6e4) agrees
# and also has -ResourceType, which the current learn.microsoft.com syntax no longer lists (left out).
function Get-AzKeyVault {
    [CmdletBinding(DefaultParameterSetName = 'GetVaultByName')]
    param(
        [Parameter(Position = 0, ValueFromPipelineByPropertyName, ParameterSetName = 'GetVaultByName')]
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName, ParameterSetName = 'ByDeletedVault')]
        [Alias('Name')] [ValidateNotNullOrEmpty()] [SupportsWildcards()] [string] $VaultName,
        [Parameter(Position = 1, ValueFromPipelineByPropertyName, ParameterSetName = 'GetVaultByName')]
        [ValidateNotNullOrEmpty()] [SupportsWildcards()] [string] $ResourceGroupName,
        [Parameter(Mandatory, Position = 1, ValueFromPipelineByPropertyName, ParameterSetName = 'ByDeletedVault')]
        [ValidateNotNullOrEmpty()] [string] $Location,
        [Parameter(Mandatory, ParameterSetName = 'ByDeletedVault')] [Parameter(Mandatory, ParameterSetName = 'ListAllDeletedVaultsInSubscription')]
        [switch] $InRemovedState,
        [Parameter(ValueFromPipelineByPropertyName, ParameterSetName = 'GetVaultByName')] [hashtable] $Tag,
        [Parameter()] [Alias('AzContext', 'AzureRmContext', 'AzureCredential')] [object] $DefaultProfile,
        [Parameter()] [string] $SubscriptionId
    )
    process { Write-MicrosoftCall -Caller $PSCmdlet -Bound $PSBoundParameters }
}

# Source: Azure/azure-powershell src/KeyVault/KeyVault/Commands/SetAzureKeyVaultAccessPolicy.cs
# (commit cdfbdb51; help/Set-AzKeyVaultAccessPolicy.md at commit 03e39266 agrees).
function Set-AzKeyVaultAccessPolicy {
    [CmdletBinding(SupportsShouldProcess, DefaultParameterSetName = 'ByUserPrincipalName')]
    param(
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'ByObjectId')] [Parameter(Mandatory, Position = 0, ParameterSetName = 'ByServicePrincipalName')]
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'ByUserPrincipalName')] [Parameter(Mandatory, Position = 0, ParameterSetName = 'ByEmailAddress')]
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'ForVault')]
        [ValidateNotNullOrEmpty()] [string] $VaultName,
        [Parameter(Position = 1, ParameterSetName = 'ByObjectId')] [Parameter(Position = 1, ParameterSetName = 'ByServicePrincipalName')]
        [Parameter(Position = 1, ParameterSetName = 'ByUserPrincipalName')] [Parameter(Position = 1, ParameterSetName = 'ByEmailAddress')]
        [Parameter(Position = 1, ParameterSetName = 'ForVault')]
        [ValidateNotNullOrEmpty()] [string] $ResourceGroupName,
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ParameterSetName = 'InputObjectByObjectId')]
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ParameterSetName = 'InputObjectByServicePrincipalName')]
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ParameterSetName = 'InputObjectByUserPrincipalName')]
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ParameterSetName = 'InputObjectByEmailAddress')]
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ParameterSetName = 'InputObjectForVault')]
        [ValidateNotNullOrEmpty()] [MicrosoftStandIn.PSKeyVaultIdentityItem] $InputObject,
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName, ParameterSetName = 'ResourceIdByObjectId')]
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName, ParameterSetName = 'ResourceIdByServicePrincipalName')]
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName, ParameterSetName = 'ResourceIdByUserPrincipalName')]
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName, ParameterSetName = 'ResourceIdByEmailAddress')]
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName, ParameterSetName = 'ResourceIdForVault')]
        [ValidateNotNullOrEmpty()] [string] $ResourceId,
        [Parameter(Mandatory, ParameterSetName = 'ByServicePrincipalName')] [Parameter(Mandatory, ParameterSetName = 'InputObjectByServicePrincipalName')]
        [Parameter(Mandatory, ParameterSetName = 'ResourceIdByServicePrincipalName')]
        [ValidateNotNullOrEmpty()] [Alias('SPN')] [string] $ServicePrincipalName,
        [Parameter(Mandatory, ParameterSetName = 'ByUserPrincipalName')] [Parameter(Mandatory, ParameterSetName = 'InputObjectByUserPrincipalName')]
        [Parameter(Mandatory, ParameterSetName = 'ResourceIdByUserPrincipalName')]
        [ValidateNotNullOrEmpty()] [Alias('UPN')] [string] $UserPrincipalName,
        [Parameter(Mandatory, ParameterSetName = 'ByObjectId')] [Parameter(Mandatory, ParameterSetName = 'InputObjectByObjectId')]
        [Parameter(Mandatory, ParameterSetName = 'ResourceIdByObjectId')]
        [ValidateNotNullOrEmpty()] [string] $ObjectId,
        [Parameter(Mandatory, ParameterSetName = 'ByEmailAddress')] [Parameter(Mandatory, ParameterSetName = 'InputObjectByEmailAddress')]
        [Parameter(Mandatory, ParameterSetName = 'ResourceIdByEmailAddress')]
        [ValidateNotNullOrEmpty()] [string] $EmailAddress,
        [Parameter(ParameterSetName = 'ByObjectId')] [Parameter(ParameterSetName = 'InputObjectByObjectId')] [Parameter(ParameterSetName = 'ResourceIdByObjectId')]
        [Nullable[guid]] $ApplicationId,
        # The four permission lists share the same twelve sets (every set but the three *ForVault ones).
        [Parameter(ParameterSetName = 'ByObjectId')] [Parameter(ParameterSetName = 'ByServicePrincipalName')] [Parameter(ParameterSetName = 'ByUserPrincipalName')]
        [Parameter(ParameterSetName = 'ByEmailAddress')] [Parameter(ParameterSetName = 'InputObjectByObjectId')] [Parameter(ParameterSetName = 'InputObjectByServicePrincipalName')]
        [Parameter(ParameterSetName = 'InputObjectByUserPrincipalName')] [Parameter(ParameterSetName = 'InputObjectByEmailAddress')] [Parameter(ParameterSetName = 'ResourceIdByObjectId')]
        [Parameter(ParameterSetName = 'ResourceIdByServicePrincipalName')] [Parameter(ParameterSetName = 'ResourceIdByUserPrincipalName')] [Parameter(ParameterSetName = 'ResourceIdByEmailAddress')]
        [string[]] $PermissionsToKeys,
        [Parameter(ParameterSetName = 'ByObjectId')] [Parameter(ParameterSetName = 'ByServicePrincipalName')] [Parameter(ParameterSetName = 'ByUserPrincipalName')]
        [Parameter(ParameterSetName = 'ByEmailAddress')] [Parameter(ParameterSetName = 'InputObjectByObjectId')] [Parameter(ParameterSetName = 'InputObjectByServicePrincipalName')]
        [Parameter(ParameterSetName = 'InputObjectByUserPrincipalName')] [Parameter(ParameterSetName = 'InputObjectByEmailAddress')] [Parameter(ParameterSetName = 'ResourceIdByObjectId')]
        [Parameter(ParameterSetName = 'ResourceIdByServicePrincipalName')] [Parameter(ParameterSetName = 'ResourceIdByUserPrincipalName')] [Parameter(ParameterSetName = 'ResourceIdByEmailAddress')]
        [string[]] $PermissionsToSecrets,
        [Parameter(ParameterSetName = 'ByObjectId')] [Parameter(ParameterSetName = 'ByServicePrincipalName')] [Parameter(ParameterSetName = 'ByUserPrincipalName')]
        [Parameter(ParameterSetName = 'ByEmailAddress')] [Parameter(ParameterSetName = 'InputObjectByObjectId')] [Parameter(ParameterSetName = 'InputObjectByServicePrincipalName')]
        [Parameter(ParameterSetName = 'InputObjectByUserPrincipalName')] [Parameter(ParameterSetName = 'InputObjectByEmailAddress')] [Parameter(ParameterSetName = 'ResourceIdByObjectId')]
        [Parameter(ParameterSetName = 'ResourceIdByServicePrincipalName')] [Parameter(ParameterSetName = 'ResourceIdByUserPrincipalName')] [Parameter(ParameterSetName = 'ResourceIdByEmailAddress')]
        [string[]] $PermissionsToCertificates,
        [Parameter(ParameterSetName = 'ByObjectId')] [Parameter(ParameterSetName = 'ByServicePrincipalName')] [Parameter(ParameterSetName = 'ByUserPrincipalName')]
        [Parameter(ParameterSetName = 'ByEmailAddress')] [Parameter(ParameterSetName = 'InputObjectByObjectId')] [Parameter(ParameterSetName = 'InputObjectByServicePrincipalName')]
        [Parameter(ParameterSetName = 'InputObjectByUserPrincipalName')] [Parameter(ParameterSetName = 'InputObjectByEmailAddress')] [Parameter(ParameterSetName = 'ResourceIdByObjectId')]
        [Parameter(ParameterSetName = 'ResourceIdByServicePrincipalName')] [Parameter(ParameterSetName = 'ResourceIdByUserPrincipalName')] [Parameter(ParameterSetName = 'ResourceIdByEmailAddress')]
        [string[]] $PermissionsToStorage,
        [Parameter(ParameterSetName = 'ForVault')] [Parameter(ParameterSetName = 'InputObjectForVault')] [Parameter(ParameterSetName = 'ResourceIdForVault')]
        [switch] $EnabledForDeployment,
        [Parameter(ParameterSetName = 'ForVault')] [Parameter(ParameterSetName = 'InputObjectForVault')] [Parameter(ParameterSetName = 'ResourceIdForVault')]
        [switch] $EnabledForTemplateDeployment,
        [Parameter(ParameterSetName = 'ForVault')] [Parameter(ParameterSetName = 'InputObjectForVault')] [Parameter(ParameterSetName = 'ResourceIdForVault')]
        [switch] $EnabledForDiskEncryption,
        [Parameter(ParameterSetName = 'ByObjectId')] [Parameter(ParameterSetName = 'InputObjectByObjectId')] [Parameter(ParameterSetName = 'ResourceIdByObjectId')]
        [switch] $BypassObjectIdValidation,
        [Parameter()] [switch] $PassThru,
        [Parameter()] [Alias('AzContext', 'AzureRmContext', 'AzureCredential')] [object] $DefaultProfile,
        [Parameter()] [string] $SubscriptionId
    )
    process { Write-MicrosoftCall -Caller $PSCmdlet -Bound $PSBoundParameters }
}

# Source: Azure/azure-powershell src/KeyVault/KeyVault/Commands/RemoveAzureKeyVaultAccessPolicy.cs (commit
# 8a04a99c, the only stored version). Unlike Set-, its -InputObject is a PSKeyVault and the e-mail sets
# are named ByEmail; a newer release may have aligned them with Set- (not confirmed).
function Remove-AzKeyVaultAccessPolicy {
    [CmdletBinding(SupportsShouldProcess, DefaultParameterSetName = 'ByUserPrincipalName')]
    param(
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'ByObjectId')] [Parameter(Mandatory, Position = 0, ParameterSetName = 'ByServicePrincipalName')]
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'ByUserPrincipalName')] [Parameter(Mandatory, Position = 0, ParameterSetName = 'ByEmail')]
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'ForVault')]
        [ValidateNotNullOrEmpty()] [string] $VaultName,
        [Parameter(Position = 1, ParameterSetName = 'ByObjectId')] [Parameter(Position = 1, ParameterSetName = 'ByServicePrincipalName')]
        [Parameter(Position = 1, ParameterSetName = 'ByUserPrincipalName')] [Parameter(Position = 1, ParameterSetName = 'ByEmail')]
        [Parameter(Position = 1, ParameterSetName = 'ForVault')]
        [ValidateNotNullOrEmpty()] [string] $ResourceGroupName,
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'InputObjectByObjectId', ValueFromPipeline)]
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'InputObjectByServicePrincipalName', ValueFromPipeline)]
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'InputObjectByUserPrincipalName', ValueFromPipeline)]
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'InputObjectByEmail', ValueFromPipeline)]
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'InputObjectForVault', ValueFromPipeline)]
        [ValidateNotNullOrEmpty()] [MicrosoftStandIn.PSKeyVault] $InputObject,
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'ResourceIdByObjectId', ValueFromPipelineByPropertyName)]
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'ResourceIdByServicePrincipalName', ValueFromPipelineByPropertyName)]
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'ResourceIdByUserPrincipalName', ValueFromPipelineByPropertyName)]
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'ResourceIdByEmail', ValueFromPipelineByPropertyName)]
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'ResourceIdForVault', ValueFromPipelineByPropertyName)]
        [ValidateNotNullOrEmpty()] [string] $ResourceId,
        [Parameter(Mandatory, ParameterSetName = 'ByServicePrincipalName')] [Parameter(Mandatory, ParameterSetName = 'InputObjectByServicePrincipalName')]
        [Parameter(Mandatory, ParameterSetName = 'ResourceIdByServicePrincipalName')]
        [ValidateNotNullOrEmpty()] [Alias('SPN')] [string] $ServicePrincipalName,
        [Parameter(Mandatory, ParameterSetName = 'ByUserPrincipalName')] [Parameter(Mandatory, ParameterSetName = 'InputObjectByUserPrincipalName')]
        [Parameter(Mandatory, ParameterSetName = 'ResourceIdByUserPrincipalName')]
        [ValidateNotNullOrEmpty()] [Alias('UPN')] [string] $UserPrincipalName,
        [Parameter(Mandatory, ParameterSetName = 'ByObjectId')] [Parameter(Mandatory, ParameterSetName = 'InputObjectByObjectId')]
        [Parameter(Mandatory, ParameterSetName = 'ResourceIdByObjectId')]
        [ValidateNotNullOrEmpty()] [string] $ObjectId,
        [Parameter(Mandatory, ParameterSetName = 'ByEmail')] [Parameter(Mandatory, ParameterSetName = 'InputObjectByEmail')]
        [Parameter(Mandatory, ParameterSetName = 'ResourceIdByEmail')]
        [ValidateNotNullOrEmpty()] [string] $EmailAddress,
        [Parameter(ParameterSetName = 'ByObjectId')] [Parameter(ParameterSetName = 'InputObjectByObjectId')] [Parameter(ParameterSetName = 'ResourceIdByObjectId')]
        [Nullable[guid]] $ApplicationId,
        [Parameter(ParameterSetName = 'ForVault')] [Parameter(ParameterSetName = 'InputObjectForVault')] [Parameter(ParameterSetName = 'ResourceIdForVault')]
        [switch] $EnabledForDeployment,
        [Parameter(ParameterSetName = 'ForVault')] [Parameter(ParameterSetName = 'InputObjectForVault')] [Parameter(ParameterSetName = 'ResourceIdForVault')]
        [switch] $EnabledForTemplateDeployment,
        [Parameter(ParameterSetName = 'ForVault')] [Parameter(ParameterSetName = 'InputObjectForVault')] [Parameter(ParameterSetName = 'ResourceIdForVault')]
        [switch] $EnabledForDiskEncryption,
        [Parameter()] [switch] $PassThru,
        [Parameter()] [Alias('AzContext', 'AzureRmContext', 'AzureCredential')] [object] $DefaultProfile,
        [Parameter()] [string] $SubscriptionId
    )
    process { Write-MicrosoftCall -Caller $PSCmdlet -Bound $PSBoundParameters }
}
#endregion

#region ExchangeOnlineManagement
# Only the parameters the docs mark "Applicable: Exchange Online". The docs give "Accept pipeline
# input: True" without saying by value or by property name, and number positions from 1. The flags
# and 0-based positions are from Exchange's own task classes, decompiled (Exchange 2013, build
# 15.00.1497) in PiratesRE/exchange_diff: GetObjectWithIdentityTaskBase.cs and
# SetObjectWithIdentityTaskBase.cs declare Identity with Position = 0, ValueFromPipeline and
# ValueFromPipelineByPropertyName. The data encryption policy cmdlets exist only in Exchange Online,
# so for them these flags follow that convention and are not confirmed from their own source.

# Source: MicrosoftDocs/office-docs-powershell exchange/exchange-ps/ExchangePowerShell/Get-Mailbox.md
# (commit 2d7728b4); attributes: exchange_diff Microsoft.Exchange.Management RecipientTasks
# GetMailboxOrSyncMailbox.cs (MailboxPlan: ValueFromPipeline only) and GetRecipientBase.cs (Anr, Filter).
function Get-Mailbox {
    [CmdletBinding(DefaultParameterSetName = 'Identity')]
    param(
        # MailboxIdParameter
        [Parameter(Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName, ParameterSetName = 'Identity')] [object] $Identity,
        [Parameter(ParameterSetName = 'AnrSet')] [string] $Anr,
        [Parameter()] [switch] $Archive,
        [Parameter()] [string] $Filter,
        [Parameter()] [switch] $GroupMailbox,
        [Parameter(ParameterSetName = 'AnrSet')] [Parameter(ParameterSetName = 'Identity')] [Parameter(ParameterSetName = 'MailboxPlanSet')] [switch] $InactiveMailboxOnly,
        [Parameter(ParameterSetName = 'AnrSet')] [Parameter(ParameterSetName = 'Identity')] [Parameter(ParameterSetName = 'MailboxPlanSet')] [switch] $IncludeAcceptMessagesOnlyFromDLMembersWithDisplayNames,
        [Parameter(ParameterSetName = 'AnrSet')] [Parameter(ParameterSetName = 'Identity')] [Parameter(ParameterSetName = 'MailboxPlanSet')] [switch] $IncludeAcceptMessagesOnlyFromSendersOrMembersWithDisplayNames,
        [Parameter(ParameterSetName = 'AnrSet')] [Parameter(ParameterSetName = 'Identity')] [Parameter(ParameterSetName = 'MailboxPlanSet')] [switch] $IncludeAcceptMessagesOnlyFromWithDisplayNames,
        [Parameter(ParameterSetName = 'AnrSet')] [Parameter(ParameterSetName = 'Identity')] [Parameter(ParameterSetName = 'MailboxPlanSet')] [switch] $IncludeEmailAddressDisplayNames,
        [Parameter(ParameterSetName = 'AnrSet')] [Parameter(ParameterSetName = 'Identity')] [Parameter(ParameterSetName = 'MailboxPlanSet')] [switch] $IncludeForwardingAddressWithDisplayNames,
        [Parameter(ParameterSetName = 'AnrSet')] [Parameter(ParameterSetName = 'Identity')] [Parameter(ParameterSetName = 'MailboxPlanSet')] [switch] $IncludeGrantSendOnBehalfToWithDisplayNames,
        [Parameter(ParameterSetName = 'AnrSet')] [Parameter(ParameterSetName = 'Identity')] [Parameter(ParameterSetName = 'MailboxPlanSet')] [switch] $IncludeInactiveMailbox,
        # MailboxPlanIdParameter
        [Parameter(ValueFromPipeline, ParameterSetName = 'MailboxPlanSet')] [object] $MailboxPlan,
        [Parameter()] [switch] $Migration,
        # OrganizationalUnitIdParameter
        [Parameter()] [object] $OrganizationalUnit,
        [Parameter()] [switch] $PublicFolder,
        # RecipientTypeDetails[]
        [Parameter()] [object] $RecipientTypeDetails,
        # Unlimited
        [Parameter()] [object] $ResultSize,
        [Parameter(ParameterSetName = 'AnrSet')] [Parameter(ParameterSetName = 'Identity')] [Parameter(ParameterSetName = 'MailboxPlanSet')] [switch] $SoftDeletedMailbox,
        [Parameter()] [string] $SortBy
    )
    process { Write-MicrosoftCall -Caller $PSCmdlet -Bound $PSBoundParameters }
}

# Source: MicrosoftDocs/office-docs-powershell exchange/exchange-ps/ExchangePowerShell/Get-MailboxStatistics.md
# (commit 0eb18dab); attributes: exchange_diff MapiTasks GetStatisticsBase.cs (Identity: Mandatory,
# Identity set, Position 0, ValueFromPipeline, ValueFromPipelineByPropertyName) and GetMailboxStatistics.cs.
# Exchange Online has only the Identity set (Database and Server are on-premises only).
function Get-MailboxStatistics {
    [CmdletBinding(DefaultParameterSetName = 'Identity')]
    param(
        # GeneralMailboxOrMailUserIdParameter
        [Parameter(Mandatory, ParameterSetName = 'Identity', Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)] [object] $Identity,
        [Parameter(ParameterSetName = 'Identity')] [switch] $Archive,
        [Parameter()] [switch] $IncludeMoveHistory,
        [Parameter()] [switch] $IncludeMoveReport,
        [Parameter(ParameterSetName = 'Identity')] [switch] $IncludeSoftDeletedRecipients,
        [Parameter(ParameterSetName = 'Identity')] [switch] $UseCustomRouting
    )
    process { Write-MicrosoftCall -Caller $PSCmdlet -Bound $PSBoundParameters }
}

# Source: MicrosoftDocs/office-docs-powershell exchange/exchange-ps/ExchangePowerShell/Get-DataEncryptionPolicy.md
# (commit 21476116): one set, Identity optional and first positional, pipeline input True.
function Get-DataEncryptionPolicy {
    [CmdletBinding(SupportsShouldProcess)]
    param(
        # DataEncryptionPolicyIdParameter
        [Parameter(Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)] [object] $Identity,
        # Fqdn
        [Parameter()] [object] $DomainController
    )
    process { Write-MicrosoftCall -Caller $PSCmdlet -Bound $PSBoundParameters }
}

# Source: MicrosoftDocs/office-docs-powershell exchange/exchange-ps/ExchangePowerShell/Set-DataEncryptionPolicy.md
# (commit 302954c6). The docs name three sets, each with a mandatory switch or purge reason, yet their
# Example 1 (-Identity with -Enabled only) must resolve: the default set is taken to be 'Identity', the
# Exchange convention, which no parameter names (so only the (All) parameters belong to it). The docs
# list -PermanentDataPurgeContact as Required in DCAdminPurgeKeyRequest but bracket it in that set's
# syntax; the parameter table is followed.
function Set-DataEncryptionPolicy {
    [CmdletBinding(SupportsShouldProcess, DefaultParameterSetName = 'Identity')]
    param(
        # DataEncryptionPolicyIdParameter
        [Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)] [object] $Identity,
        [Parameter(Mandatory, ParameterSetName = 'TenantAdminPurgeKeyRequest')] [Parameter(Mandatory, ParameterSetName = 'DCAdminPurgeKeyRequest')]
        [string] $PermanentDataPurgeContact,
        [Parameter(Mandatory, ParameterSetName = 'TenantAdminPurgeKeyRequest')] [Parameter(Mandatory, ParameterSetName = 'DCAdminPurgeKeyRequest')]
        [string] $PermanentDataPurgeReason,
        [Parameter(Mandatory, ParameterSetName = 'TenantAdminPurgeKeyRequest')] [switch] $PermanentDataPurgeRequested,
        [Parameter(Mandatory, ParameterSetName = 'RefreshKey')] [switch] $Refresh,
        [Parameter()] [string] $Description,
        # Fqdn
        [Parameter()] [object] $DomainController,
        [Parameter()] [bool] $Enabled,
        [Parameter(ParameterSetName = 'TenantAdminPurgeKeyRequest')] [Parameter(ParameterSetName = 'DCAdminPurgeKeyRequest')] [switch] $Force,
        [Parameter()] [string] $Name
    )
    process { Write-MicrosoftCall -Caller $PSCmdlet -Bound $PSBoundParameters }
}
#endregion

#region SharePoint Online (Microsoft.Online.SharePoint.PowerShell)
# Source: learn.microsoft.com/powershell/module/microsoft.online.sharepoint.powershell/get-spodataencryptionpolicy
# (syntax: "Get-SPODataEncryptionPolicy" with no parameters). Older module versions took
# [-Identity] <SpoSitePipeBind>, optional and without pipeline input (MicrosoftDocs/office-docs-powershell
# sharepoint/sharepoint-ps/sharepoint-online/Get-SPODataEncryptionPolicy.md, commit 042f7d03).
function Get-SPODataEncryptionPolicy {
    [CmdletBinding()]
    param()
    process { Write-MicrosoftCall -Caller $PSCmdlet -Bound $PSBoundParameters }
}

# Source: learn.microsoft.com/powershell/module/microsoft.online.sharepoint.powershell/update-spodataencryptionpolicy
# (sets BYOK_MultipleParameters (default) and BYOK_Uri; every parameter named, none from the pipeline).
# Older versions also required [-Identity] <SpoSitePipeBind> without pipeline input (office-docs-powershell
# Update-SPODataEncryptionPolicy.md, commit 042f7d03). The page showed the pipeline flags for -KeyName
# and -Confirm; the others' are taken to match, as no syntax line marks pipeline input.
function Update-SPODataEncryptionPolicy {
    [CmdletBinding(SupportsShouldProcess, DefaultParameterSetName = 'BYOK_MultipleParameters')]
    param(
        [Parameter(Mandatory, ParameterSetName = 'BYOK_MultipleParameters')] [string] $KeyVaultName,
        [Parameter(Mandatory, ParameterSetName = 'BYOK_MultipleParameters')] [string] $KeyName,
        [Parameter(Mandatory, ParameterSetName = 'BYOK_MultipleParameters')] [guid] $KeyVersion,
        [Parameter(Mandatory, ParameterSetName = 'BYOK_Uri')] [uri] $KeyVaultUri,
        # CustomerKeyVaultKeyType (Primary, Secondary)
        [Parameter(Mandatory)] [string] $KeyType
    )
    process { Write-MicrosoftCall -Caller $PSCmdlet -Bound $PSBoundParameters }
}
#endregion
