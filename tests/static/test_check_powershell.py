"""Proves check_powershell.py can fail: small bad snippets must be caught, good ones must pass.

Run: python -m unittest tests/static/test_check_powershell.py (tests/static/run.sh does).
"""

import io
import json
import re
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import check_powershell as cp  # noqa: E402


def param(name, ty="string", mandatory=False, allowed=(), rng=None, pipeline=False, sets=()):
    """A registry parameter; sets: (set name, mandatory there) pairs, none = every set."""
    return {"Name": name, "PowerShellType": ty, "Mandatory": mandatory,
            "AllowedValues": list(allowed), "Range": rng,
            "ValueFromPipelineByPropertyName": pipeline,
            "ParameterSets": [{"Name": n, "Mandatory": m} for n, m in sets]}


NEW_VAULT = {
    "Name": "New-KeyVault", "Verb": "New", "Noun": "KeyVault", "StateChanging": True,
    "ConfirmImpact": "Medium", "ParameterSets": [], "DefaultParameterSetName": None,
    "Parameters": [
        param("VaultName", mandatory=True, pipeline=True),
        param("Sku", allowed=["Standard", "Premium"]),
        param("SoftDeleteRetentionInDays", ty="int", rng=[7, 90]),
        param("Tag", ty="hashtable"),
        param("EnablePurgeProtection", ty="switch"),
    ],
}
REMOVE_POLICY = {
    "Name": "Remove-KeyVaultAccessPolicy", "Verb": "Remove", "Noun": "KeyVaultAccessPolicy",
    "StateChanging": True, "ConfirmImpact": "High",
    "ParameterSets": ["ByUserPrincipalName", "ByObjectId"],
    "DefaultParameterSetName": "ByUserPrincipalName",
    "Parameters": [
        param("VaultName", mandatory=True, pipeline=True),
        param("UserPrincipalName", pipeline=True, sets=[("ByUserPrincipalName", True)]),
        param("ObjectId", pipeline=True, sets=[("ByObjectId", True)]),
    ],
}
GET_VAULT = {
    "Name": "Get-KeyVault", "Verb": "Get", "Noun": "KeyVault", "StateChanging": False,
    "ConfirmImpact": "None", "ParameterSets": [], "DefaultParameterSetName": None,
    "Parameters": [param("VaultName", pipeline=True)],
}
GET_KEY = {
    "Name": "Get-KeyVaultKey", "Verb": "Get", "Noun": "KeyVaultKey", "StateChanging": False,
    "ConfirmImpact": "None", "ParameterSets": ["ByVaultName", "ByKeyVersion", "ByKeyVersions"],
    "DefaultParameterSetName": "ByVaultName",
    "Parameters": [
        param("VaultName", mandatory=True, pipeline=True),
        param("Name", pipeline=True,
              sets=[("ByVaultName", False), ("ByKeyVersion", True), ("ByKeyVersions", True)]),
        param("Version", pipeline=True, sets=[("ByKeyVersion", True)]),
        param("IncludeVersions", ty="switch", sets=[("ByKeyVersions", True)]),
    ],
}
REGISTRY = {"Version": "0", "Operations": [NEW_VAULT, REMOVE_POLICY, GET_VAULT, GET_KEY]}

GOOD_NEW = """
<#
.SYNOPSIS
Creates a key vault.
.PARAMETER VaultName
The vault.
.PARAMETER Sku
The SKU.
.PARAMETER SoftDeleteRetentionInDays
Days.
.PARAMETER Tag
Tags.
.PARAMETER EnablePurgeProtection
Purge protection.
.EXAMPLE
New-CkKeyVault -VaultName v1 -Location westeurope
#>
function New-CkKeyVault {
    [CmdletBinding(SupportsShouldProcess = $true)]
    param(
        [Parameter(Mandatory = $true, ValueFromPipelineByPropertyName = $true)]
        [string] $VaultName,
        [ValidateSet('standard', 'PREMIUM')]
        [string] $Sku,
        [ValidateRange(7, 90)]
        [int] $SoftDeleteRetentionInDays,
        [hashtable] $Tag,
        [switch] $EnablePurgeProtection
    )
    process {
        if ($PSCmdlet.ShouldProcess($VaultName, 'Create')) { 'created' }
    }
}
"""

GOOD_REMOVE = """
function Remove-CkKeyVaultAccessPolicy {
    <#
    .SYNOPSIS
    Removes an access policy.
    .PARAMETER VaultName
    v
    .PARAMETER UserPrincipalName
    u
    .PARAMETER ObjectId
    o
    .EXAMPLE
    Remove-CkKeyVaultAccessPolicy -VaultName v1 -ObjectId 00000000-0000-0000-0000-000000000000
    #>
    [CmdletBinding(DefaultParameterSetName = 'ByUserPrincipalName', SupportsShouldProcess, ConfirmImpact = 'High')]
    param(
        [Parameter(Mandatory, ValueFromPipelineByPropertyName)]
        [string] $VaultName,
        [Parameter(Mandatory, ParameterSetName = 'ByUserPrincipalName', ValueFromPipelineByPropertyName)]
        [string] $UserPrincipalName,
        [Parameter(Mandatory, ParameterSetName = 'ByObjectId', ValueFromPipelineByPropertyName)]
        [string] $ObjectId
    )
    if ($PSCmdlet.ShouldProcess($VaultName, 'Remove access policy')) { }
}
"""

GOOD_GET = """
function Get-CkKeyVault {
    # .SYNOPSIS
    # Gets key vaults.
    # .PARAMETER VaultName
    # The vault.
    # .EXAMPLE
    # Get-CkKeyVault -VaultName v1
    [CmdletBinding()]
    param(
        [Parameter(ValueFromPipelineByPropertyName)]
        [System.String] $VaultName
    )
    'vault'
}
"""

GOOD_GET_KEY = """
function Get-CkKeyVaultKey {
    <#
    .SYNOPSIS
    Gets keys.
    .PARAMETER VaultName
    v
    .PARAMETER Name
    n
    .PARAMETER Version
    ver
    .PARAMETER IncludeVersions
    i
    .EXAMPLE
    Get-CkKeyVaultKey -VaultName v1 -Name k -IncludeVersions
    #>
    [CmdletBinding(DefaultParameterSetName = 'ByVaultName')]
    param(
        [Parameter(Mandatory, ValueFromPipelineByPropertyName)]
        [string] $VaultName,
        [Parameter(ParameterSetName = 'ByVaultName', ValueFromPipelineByPropertyName)]
        [Parameter(ParameterSetName = 'ByKeyVersion', Mandatory, ValueFromPipelineByPropertyName)]
        [Parameter(ParameterSetName = 'ByKeyVersions', Mandatory = $true, ValueFromPipelineByPropertyName)]
        [string] $Name,
        [Parameter(Mandatory, ParameterSetName = 'ByKeyVersion', ValueFromPipelineByPropertyName)]
        [string] $Version,
        [Parameter(ParameterSetName = 'ByKeyVersions', Mandatory)]
        [switch] $IncludeVersions
    )
    process {
        if ($PSCmdlet.ParameterSetName -eq 'ByKeyVersions') { 'versions' }
    }
}
"""

EXTRAS = """
<#
.SYNOPSIS
Connects.
.EXAMPLE
Connect-CkService
#>
function Connect-CkService {
    [CmdletBinding()]
    param()
}

<#
.SYNOPSIS
Disconnects.
.EXAMPLE
Disconnect-CkService
#>
function Disconnect-CkService {
    [CmdletBinding()]
    param()
}

<#
.SYNOPSIS
Shows the connection.
.EXAMPLE
Get-CkConnection
#>
function Get-CkConnection {
    [CmdletBinding()]
    param()
}
"""

MANIFEST = """
@{
    RootModule = 'CustomerKey.psm1'
    FunctionsToExport = @(
        'New-CkKeyVault', 'Remove-CkKeyVaultAccessPolicy'
        'Get-CkKeyVault'
        'Get-CkKeyVaultKey'
        'Connect-CkService'
        'Disconnect-CkService'
        'Get-CkConnection'
    )
}
"""


def edit(code, old, new):
    """code.replace(old, new), failing when old is not there (so a test cannot pass vacuously)."""
    assert old in code, f"{old!r} not in the snippet"
    return code.replace(old, new)


def function(source):
    src = cp.Source(textwrap.dedent(source))
    fns = cp.top_level_functions(src)
    assert len(fns) == 1, fns
    return src, fns[0]


class ParseChecks(unittest.TestCase):
    def test_parse_error_is_caught(self):
        src = cp.Source("function F {\n    if ($x { 'y' }\n}\n")
        bad, excused = cp.split_problems(src)
        self.assertTrue(bad)
        self.assertEqual(excused, {})

    def test_missing_node_is_caught(self):
        src = cp.Source("$x = @(1, 2\n")
        self.assertTrue(cp.syntax_problems(src))

    def test_clean_code_parses(self):
        for code in (GOOD_NEW, GOOD_REMOVE, GOOD_GET, GOOD_GET_KEY, EXTRAS, MANIFEST):
            self.assertEqual(cp.syntax_problems(cp.Source(code)), [], code[:40])

    def test_allow_list_excuses_only_its_gap(self):
        src = cp.Source("$x = $a ?? 'default'\n")
        bad, excused = cp.split_problems(src)
        self.assertEqual(bad, [])
        self.assertEqual(set(excused), {"null-coalescing"})
        # The same file with a real error next to it still fails.
        src = cp.Source("$x = $a ?? 'default'\nif ($y { }\n")
        bad, _ = cp.split_problems(src)
        self.assertTrue(bad)

    def test_allow_list_entries_still_fail(self):
        self.assertEqual(cp.stale_gaps(), [])
        for gap in cp.ALLOW_LIST:
            problems = cp.syntax_problems(cp.Source(gap.reproduction))
            self.assertTrue(problems, gap.name)
            # Each entry excuses its own reproduction.
            self.assertTrue(all(cp.excusing_gap(p) is not None for p in problems), gap.name)

    def test_stale_allow_list_entry_is_caught(self):
        rotten = cp.GrammarGap("rotten", "parses fine now", "$x = 1\n", r"\$x")
        self.assertEqual(cp.stale_gaps((rotten,)), [rotten])


class ParameterChecks(unittest.TestCase):
    def test_good_functions_pass(self):
        for code, op in ((GOOD_NEW, NEW_VAULT), (GOOD_REMOVE, REMOVE_POLICY),
                         (GOOD_GET, GET_VAULT), (GOOD_GET_KEY, GET_KEY)):
            src, fn = function(code)
            self.assertEqual(cp.check_parameters(src, fn, op), [], op["Name"])
            self.assertEqual(cp.check_parameter_sets(src, fn, op), [], op["Name"])
            self.assertEqual(cp.check_should_process(src, fn, op), [], op["Name"])
            self.assertEqual(cp.check_help(fn), [], op["Name"])

    def assertCaught(self, code, op, needle, check="parameters"):
        src, fn = function(code)
        problems = {"parameters": lambda: cp.check_parameters(src, fn, op),
                    "parameter-sets": lambda: cp.check_parameter_sets(src, fn, op),
                    "should-process": lambda: cp.check_should_process(src, fn, op),
                    "help": lambda: cp.check_help(fn)}[check]()
        self.assertTrue(any(needle in p for p in problems), f"{needle!r} not in {problems}")

    def test_name_mismatch(self):
        self.assertCaught(GOOD_NEW.replace("$Sku", "$SkuName"), NEW_VAULT, "missing parameters ['Sku']")
        self.assertCaught(GOOD_NEW.replace("$Sku", "$SkuName"), NEW_VAULT, "not in the registry ['SkuName']")

    def test_case_mismatch(self):
        self.assertCaught(GOOD_NEW.replace("$VaultName", "$Vaultname"), NEW_VAULT, "missing parameters ['VaultName']")

    def test_extra_parameter(self):
        code = GOOD_NEW.replace("[hashtable] $Tag,", "[hashtable] $Tag,\n        [string] $Extra,")
        self.assertCaught(code, NEW_VAULT, "not in the registry ['Extra']")

    def test_type_mismatch(self):
        self.assertCaught(GOOD_NEW.replace("[int] $Soft", "[string] $Soft"), NEW_VAULT, "type [string]")
        self.assertCaught(GOOD_NEW.replace("[hashtable] $Tag", "$Tag"), NEW_VAULT, "exactly one type")

    def test_mandatory_mismatch(self):
        self.assertCaught(GOOD_NEW.replace("Mandatory = $true, ", ""), NEW_VAULT, "must be Mandatory")
        self.assertCaught(GOOD_NEW.replace("Mandatory = $true", "Mandatory = $false"), NEW_VAULT, "must be Mandatory")
        code = GOOD_NEW.replace("[hashtable] $Tag", "[Parameter(Mandatory)][hashtable] $Tag")
        self.assertCaught(code, NEW_VAULT, "-Tag: is Mandatory")

    def test_mandatory_is_per_set(self):
        # A parameter in every set must be Mandatory there as the registry says...
        code = edit(GOOD_REMOVE, "[Parameter(Mandatory, ValueFromPipelineByPropertyName)]\n"
                    "        [string] $VaultName",
                    "[Parameter(ValueFromPipelineByPropertyName)]\n"
                    "        [string] $VaultName")
        self.assertCaught(code, REMOVE_POLICY, "-VaultName: must be Mandatory (in every parameter set)")
        # ... and a parameter of one set, in that set.
        code = edit(GOOD_REMOVE, "[Parameter(Mandatory, ParameterSetName = 'ByObjectId'",
                    "[Parameter(ParameterSetName = 'ByObjectId'")
        self.assertCaught(code, REMOVE_POLICY, "-ObjectId: must be Mandatory (in parameter set 'ByObjectId')")

    def test_pipeline_mismatch(self):
        self.assertCaught(GOOD_NEW.replace(", ValueFromPipelineByPropertyName = $true", ""),
                          NEW_VAULT, "ValueFromPipelineByPropertyName is False")

    def test_validate_set_mismatch(self):
        self.assertCaught(GOOD_NEW.replace("'PREMIUM'", "'Basic'"), NEW_VAULT, "ValidateSet")
        self.assertCaught(GOOD_NEW.replace("[ValidateSet('standard', 'PREMIUM')]", ""), NEW_VAULT, "needs [ValidateSet")
        self.assertCaught(GOOD_NEW.replace("'PREMIUM')", "'PREMIUM', IgnoreCase = $false)"), NEW_VAULT, "IgnoreCase")

    def test_validate_range_mismatch(self):
        self.assertCaught(GOOD_NEW.replace("ValidateRange(7, 90)", "ValidateRange(1, 90)"), NEW_VAULT, "ValidateRange")
        self.assertCaught(GOOD_NEW.replace("[ValidateRange(7, 90)]", ""), NEW_VAULT, "needs [ValidateRange")


class ParameterSetChecks(unittest.TestCase):
    assertCaught = ParameterChecks.assertCaught

    def test_missing_parameter_set_name(self):
        # Without ParameterSetName the parameter is in every set: PowerShell would then accept
        # -UserPrincipalName together with -ObjectId.
        code = edit(GOOD_REMOVE, "[Parameter(Mandatory, ParameterSetName = 'ByObjectId', ",
                    "[Parameter(")
        self.assertCaught(code, REMOVE_POLICY, "-ObjectId: has a [Parameter()] without ParameterSetName")
        # The same with no [Parameter()] at all.
        code = edit(GOOD_REMOVE, "[Parameter(Mandatory, ParameterSetName = 'ByObjectId', "
                    "ValueFromPipelineByPropertyName)]", "")
        self.assertCaught(code, REMOVE_POLICY, "-ObjectId: has a [Parameter()] without ParameterSetName")
        # One set of several left out.
        code = edit(GOOD_GET_KEY, "        [Parameter(ParameterSetName = 'ByKeyVersion', Mandatory, "
                    "ValueFromPipelineByPropertyName)]\n", "")
        self.assertCaught(code, GET_KEY, "-Name: parameter sets ['ByKeyVersions', 'ByVaultName'] != "
                                         "registry ['ByKeyVersion', 'ByKeyVersions', 'ByVaultName']")

    def test_set_name_where_the_registry_has_every_set(self):
        code = edit(GOOD_REMOVE, "[Parameter(Mandatory, ValueFromPipelineByPropertyName)]\n"
                    "        [string] $VaultName",
                    "[Parameter(Mandatory, ParameterSetName = 'ByObjectId', "
                    "ValueFromPipelineByPropertyName)]\n        [string] $VaultName")
        self.assertCaught(code, REMOVE_POLICY, "-VaultName: is declared only in parameter sets ['ByObjectId']")

    def test_wrong_default_set(self):
        code = edit(GOOD_REMOVE, "DefaultParameterSetName = 'ByUserPrincipalName'",
                    "DefaultParameterSetName = 'ByObjectId'")
        self.assertCaught(code, REMOVE_POLICY, "DefaultParameterSetName 'ByObjectId' != registry "
                                               "'ByUserPrincipalName'", "parameter-sets")
        code = edit(GOOD_REMOVE, "DefaultParameterSetName = 'ByUserPrincipalName', ", "")
        self.assertCaught(code, REMOVE_POLICY, "lacks [CmdletBinding(DefaultParameterSetName = "
                                               "'ByUserPrincipalName')]", "parameter-sets")
        code = edit(GOOD_REMOVE, "DefaultParameterSetName = 'ByUserPrincipalName'",
                    "DefaultParameterSetName = 'ByUpn'")
        self.assertCaught(code, REMOVE_POLICY, "'ByUpn' is not a parameter set of the registry",
                          "parameter-sets")
        code = edit(GOOD_GET, "[CmdletBinding()]", "[CmdletBinding(DefaultParameterSetName = 'ByName')]")
        self.assertCaught(code, GET_VAULT, "but the registry has no parameter sets", "parameter-sets")

    def test_mandatory_in_the_wrong_set(self):
        # -Name is optional in ByVaultName and Mandatory in ByKeyVersion: swapped here.
        code = edit(
            GOOD_GET_KEY,
            "[Parameter(ParameterSetName = 'ByVaultName', ValueFromPipelineByPropertyName)]",
            "[Parameter(ParameterSetName = 'ByVaultName', Mandatory, ValueFromPipelineByPropertyName)]"
        )
        code = edit(
            code,
            "[Parameter(ParameterSetName = 'ByKeyVersion', Mandatory, ValueFromPipelineByPropertyName)]",
            "[Parameter(ParameterSetName = 'ByKeyVersion', ValueFromPipelineByPropertyName)]")
        self.assertCaught(code, GET_KEY, "-Name: is Mandatory (in parameter set 'ByVaultName') but "
                                         "the registry says optional there")
        self.assertCaught(code, GET_KEY, "-Name: must be Mandatory (in parameter set 'ByKeyVersion')")
        # A principal Mandatory in the other principal's set.
        code = edit(GOOD_REMOVE, "[Parameter(Mandatory, ParameterSetName = 'ByObjectId'",
                    "[Parameter(Mandatory, ParameterSetName = 'ByUserPrincipalName'")
        self.assertCaught(code, REMOVE_POLICY, "-ObjectId: parameter sets ['ByUserPrincipalName'] != "
                                               "registry ['ByObjectId']")

    def test_unknown_set_name(self):
        code = edit(GOOD_REMOVE, "ParameterSetName = 'ByObjectId'", "ParameterSetName = 'ByObjectID'")
        self.assertCaught(code, REMOVE_POLICY, "parameter sets ['ByObjectID'] are not in the registry",
                          "parameter-sets")
        self.assertCaught(code, REMOVE_POLICY, "-ObjectId: parameter sets ['ByObjectID'] != registry")
        code = edit(GOOD_NEW, "[Parameter(Mandatory = $true, ValueFromPipelineByPropertyName = $true)]",
                    "[Parameter(Mandatory = $true, ParameterSetName = 'Default', "
                    "ValueFromPipelineByPropertyName = $true)]")
        self.assertCaught(code, NEW_VAULT, "parameter sets ['Default'] are not in the registry "
                                           "(which has none)", "parameter-sets")

    def test_pipeline_is_per_set(self):
        code = edit(
            GOOD_GET_KEY,
            "[Parameter(ParameterSetName = 'ByKeyVersions', Mandatory = $true, ValueFromPipelineByPropertyName)]",
            "[Parameter(ParameterSetName = 'ByKeyVersions', Mandatory = $true)]")
        self.assertCaught(code, GET_KEY, "-Name: ValueFromPipelineByPropertyName is False (in "
                                         "parameter set 'ByKeyVersions')")

    def test_set_declared_twice(self):
        code = edit(
            GOOD_GET_KEY,
            "[Parameter(ParameterSetName = 'ByKeyVersions', Mandatory)]",
            "[Parameter(ParameterSetName = 'ByKeyVersions', Mandatory)]\n"
            "        [Parameter(ParameterSetName = 'ByKeyVersions')]")
        self.assertCaught(code, GET_KEY, "-IncludeVersions: more than one [Parameter()] for "
                                         "parameter set 'ByKeyVersions'")

    def test_all_parameter_sets_spelled_out(self):
        code = edit(GOOD_REMOVE, "[Parameter(Mandatory, ValueFromPipelineByPropertyName)]\n"
                    "        [string] $VaultName",
                    "[Parameter(Mandatory, ParameterSetName = '__AllParameterSets', "
                    "ValueFromPipelineByPropertyName)]\n        [string] $VaultName")
        src, fn = function(code)
        self.assertEqual(cp.check_parameters(src, fn, REMOVE_POLICY), [])
        self.assertEqual(cp.check_parameter_sets(src, fn, REMOVE_POLICY), [])

class ShouldProcessChecks(unittest.TestCase):
    assertCaught = ParameterChecks.assertCaught

    def test_missing_should_process_call(self):
        code = GOOD_NEW.replace("$PSCmdlet.ShouldProcess($VaultName, 'Create')", "$true")
        self.assertCaught(code, NEW_VAULT, "never calls $PSCmdlet.ShouldProcess", "should-process")

    def test_missing_supports_should_process(self):
        code = GOOD_NEW.replace("SupportsShouldProcess = $true", "")
        self.assertCaught(code, NEW_VAULT, "lacks [CmdletBinding(SupportsShouldProcess)]", "should-process")

    def test_confirm_impact_high_required(self):
        code = GOOD_REMOVE.replace(", ConfirmImpact = 'High'", "")
        self.assertCaught(code, REMOVE_POLICY, "registry says 'High'", "should-process")
        code = GOOD_REMOVE.replace("'High'", "'Low'")
        self.assertCaught(code, REMOVE_POLICY, "registry says 'High'", "should-process")

    def test_read_only_must_not_support_should_process(self):
        code = GOOD_GET.replace("[CmdletBinding()]", "[CmdletBinding(SupportsShouldProcess)]")
        self.assertCaught(code, GET_VAULT, "read-only", "should-process")


class OutputTypeAndHelpMessageChecks(unittest.TestCase):
    assertCaught = ParameterChecks.assertCaught

    def test_output_type(self):
        op = dict(GET_VAULT, OutputType="CustomerKey.KeyVault",
                  OutputTypeWhen={"Switch": "InRemovedState", "OutputType": "CustomerKey.DeletedKeyVault"})
        good = GOOD_GET.replace("[CmdletBinding()]", "[CmdletBinding()]\n    [OutputType('CustomerKey.KeyVault', 'CustomerKey.DeletedKeyVault')]")
        src, fn = function(good)
        self.assertEqual(cp.check_output_type(src, fn, op), [])
        src, fn = function(good.replace(", 'CustomerKey.DeletedKeyVault'", ""))
        self.assertTrue(cp.check_output_type(src, fn, op))
        src, fn = function(GOOD_GET.replace("[CmdletBinding()]", "[CmdletBinding()]\n    [OutputType([string])]"))
        self.assertEqual(cp.check_output_type(src, fn, dict(op, OutputType="System.String", OutputTypeWhen=None)), [])
        self.assertTrue(cp.check_output_type(src, fn, op))

    def test_help_message_must_match(self):
        op = dict(GET_VAULT, Parameters=[dict(GET_VAULT["Parameters"][0], HelpMessage="Name of the key vault")])
        src, fn = function(GOOD_GET.replace("[Parameter(ValueFromPipelineByPropertyName)]",
                                            "[Parameter(ValueFromPipelineByPropertyName, HelpMessage = 'Name of the key vault')]"))
        self.assertEqual(cp.check_parameters(src, fn, op), [])
        src, fn = function(GOOD_GET.replace("[Parameter(ValueFromPipelineByPropertyName)]",
                                            "[Parameter(ValueFromPipelineByPropertyName, HelpMessage = 'The vault')]"))
        self.assertTrue(any("HelpMessage" in p for p in cp.check_parameters(src, fn, op)))


class HelpChecks(unittest.TestCase):
    assertCaught = ParameterChecks.assertCaught

    def test_missing_parameter_help(self):
        code = GOOD_NEW.replace(".PARAMETER Tag\nTags.\n", "")
        self.assertCaught(code, NEW_VAULT, "lacks .PARAMETER for ['Tag']", "help")

    def test_missing_synopsis_and_example(self):
        code = GOOD_NEW.replace(".SYNOPSIS\nCreates a key vault.\n", "")
        self.assertCaught(code, NEW_VAULT, ".SYNOPSIS", "help")
        code = GOOD_NEW.replace(".EXAMPLE\nNew-CkKeyVault -VaultName v1 -Location westeurope\n", "")
        self.assertCaught(code, NEW_VAULT, ".EXAMPLE", "help")

    def test_unknown_keyword_voids_help(self):
        code = GOOD_NEW.replace(".SYNOPSIS", ".SYNOPSYS")
        self.assertCaught(code, NEW_VAULT, "does not know ['SYNOPSYS']", "help")

    def test_no_help(self):
        src, fn = function("function New-CkKeyVault {\n    param()\n}\n")
        self.assertTrue(cp.check_help(fn))

    def test_help_too_far_above_is_not_help(self):
        code = GOOD_NEW.replace("#>\nfunction", "#>\n\n\n\nfunction")
        self.assertCaught(code, NEW_VAULT, "no comment-based help", "help")


class ExportAndVerbChecks(unittest.TestCase):
    def test_exports_agree(self):
        names = cp.manifest_functions(cp.Source(MANIFEST))
        module = [f.name for f in cp.top_level_functions(
            cp.Source(GOOD_NEW + GOOD_REMOVE + GOOD_GET + GOOD_GET_KEY + EXTRAS))]
        self.assertEqual(cp.check_exports(names, module, REGISTRY), [])

    def test_export_mismatch(self):
        names = cp.manifest_functions(cp.Source(MANIFEST.replace("'Get-CkKeyVault'", "")))
        module = [f.name for f in cp.top_level_functions(
            cp.Source(GOOD_NEW + GOOD_REMOVE + GOOD_GET + GOOD_GET_KEY + EXTRAS))]
        problems = cp.check_exports(names, module, REGISTRY)
        self.assertTrue(any("Get-CkKeyVault" in p for p in problems), problems)
        problems = cp.check_exports(module, module[:-1], REGISTRY)
        self.assertTrue(any("Get-CkConnection" in p for p in problems), problems)

    def test_private_helper_with_cmdlet_name(self):
        names = cp.manifest_functions(cp.Source(MANIFEST))
        module = [f.name for f in cp.top_level_functions(
            cp.Source(GOOD_NEW + GOOD_REMOVE + GOOD_GET + GOOD_GET_KEY + EXTRAS + "function Invoke-CkNative { }\n"))]
        problems = cp.check_exports(names, module, REGISTRY)
        self.assertTrue(any("Invoke-CkNative" in p and "helpers" in p for p in problems), problems)
        module = [f.name for f in cp.top_level_functions(
            cp.Source(GOOD_NEW + GOOD_REMOVE + GOOD_GET + GOOD_GET_KEY + EXTRAS + "function Invoke-Native { }\n"))
            if cp.PUBLIC_FUNCTION.match(f.name)]
        self.assertEqual(cp.check_exports(names, module, REGISTRY), [])

    def test_export_module_member(self):
        src = cp.Source("Export-ModuleMember -Function @(\n    'A-CkB',\n    'C-CkD'\n) -Alias @()\n")
        self.assertEqual(cp.export_module_member_functions(src), ["A-CkB", "C-CkD"])
        self.assertIsNone(cp.export_module_member_functions(cp.Source("Get-Thing -Function x\n")))
        names = cp.manifest_functions(cp.Source(MANIFEST))
        problems = cp.check_exports(names, names, REGISTRY, names[:-1])
        self.assertTrue(any("Export-ModuleMember" in p for p in problems), problems)
        with self.assertRaises(cp.NotLiteral):
            cp.export_module_member_functions(cp.Source("Export-ModuleMember -Function *-Ck*\n"))

    def test_wildcard_export_refused(self):
        with self.assertRaises(cp.NotLiteral):
            cp.manifest_functions(cp.Source("@{ FunctionsToExport = '*-Ck*' }"))
        with self.assertRaises(cp.NotLiteral):
            cp.manifest_functions(cp.Source("@{ FunctionsToExport = $names }"))

    def test_nested_function_is_not_top_level(self):
        src = cp.Source("function Get-CkA {\n    function Get-CkB { }\n}\n")
        self.assertEqual([f.name for f in cp.top_level_functions(src)], ["Get-CkA"])

    def test_unapproved_verb(self):
        self.assertTrue(cp.check_verb("Fetch-CkKeyVault"))
        self.assertTrue(cp.check_verb("get-CkKeyVault"))
        self.assertEqual(cp.check_verb("Undo-CkKeyVaultRemoval"), [])


MODULE = "powershell/CustomerKey/"
LOADER = """
$files = [System.IO.Directory]::GetFiles($PSScriptRoot, '*.ps1', [System.IO.SearchOption]::AllDirectories)
foreach ($file in $files) {
    . $file
}
Export-ModuleMember -Function @($files | ForEach-Object { [System.IO.Path]::GetFileNameWithoutExtension($_) })
"""
PRIVATE_HELPER = "function Invoke-NativeOperation {\n    param()\n}\n"


def session_snippets():
    """EXTRAS split into its three functions, by name."""
    chunks = re.split(r"\n(?=<#)", EXTRAS.strip())
    return {re.search(r"function (\S+)", c).group(1): c + "\n" for c in chunks}


def good_tree():
    """{path: content} of a module laid out as the real one: loader, manifest, Private/,
    Public/<Area>/ and Public/Session/."""
    tree = {
        MODULE + "CustomerKey.psm1": LOADER,
        MODULE + "CustomerKey.psd1": MANIFEST,
        MODULE + "Private/Invoke-NativeOperation.ps1": PRIVATE_HELPER,
        MODULE + "Public/KeyVault/New-CkKeyVault.ps1": GOOD_NEW,
        MODULE + "Public/KeyVault/Remove-CkKeyVaultAccessPolicy.ps1": GOOD_REMOVE,
        MODULE + "Public/KeyVault/Get-CkKeyVault.ps1": GOOD_GET,
        MODULE + "Public/KeyVault/Get-CkKeyVaultKey.ps1": GOOD_GET_KEY,
    }
    for name, code in session_snippets().items():
        tree[MODULE + f"Public/Session/{name}.ps1"] = code
    return tree


class EndToEnd(unittest.TestCase):
    def run_tree(self, tree, registry=REGISTRY):
        with tempfile.TemporaryDirectory() as d:
            for rel, content in tree.items():
                path = Path(d) / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content, encoding="utf-8")
            out = io.StringIO()
            report = cp.Report(out)
            cp.run(Path(d), registry, report)
            return report, out.getvalue()

    def assertOnlyFailure(self, tree, expected, registry=REGISTRY, failures=1):
        report, out = self.run_tree(tree, registry)
        self.assertIn(expected, out)
        self.assertEqual(report.failed, failures, out)

    def test_good_module_passes(self):
        report, out = self.run_tree(good_tree())
        self.assertEqual(report.failed, 0, out)
        self.assertGreater(report.passed, 10, out)
        self.assertIn("PASS cmdlet Get-CkKeyVaultKey parameter-sets: 3 sets, default ByVaultName", out)
        self.assertIn("PASS public KeyVault/New-CkKeyVault.ps1", out)
        self.assertIn("PASS private Invoke-NativeOperation.ps1", out)
        self.assertIn("PASS loader", out)

    def test_bad_module_fails(self):
        tree = good_tree()
        rel = MODULE + "Public/KeyVault/New-CkKeyVault.ps1"
        tree[rel] = edit(tree[rel], "if ($PSCmdlet.ShouldProcess($VaultName, 'Create'))", "if ($true")
        report, out = self.run_tree(tree)
        self.assertIn("FAIL parse " + rel, out)
        self.assertIn("FAIL cmdlet New-CkKeyVault should-process", out)

    def test_bad_parameter_sets_fail(self):
        tree = good_tree()
        rel = MODULE + "Public/KeyVault/Get-CkKeyVaultKey.ps1"
        tree[rel] = edit(tree[rel], "DefaultParameterSetName = 'ByVaultName'",
                         "DefaultParameterSetName = 'ByKeyVersions'")
        self.assertOnlyFailure(tree, "FAIL cmdlet Get-CkKeyVaultKey parameter-sets: "
                               "DefaultParameterSetName 'ByKeyVersions' != registry 'ByVaultName'")

    def test_loader_must_not_define_functions(self):
        tree = good_tree()
        tree[MODULE + "CustomerKey.psm1"] = LOADER + PRIVATE_HELPER.replace("Invoke-", "Get-")
        self.assertOnlyFailure(tree, "FAIL loader: defines functions ['Get-NativeOperation']")

    def test_public_file_defines_one_function_named_as_the_file(self):
        tree = good_tree()
        rel = MODULE + "Public/KeyVault/Get-CkKeyVault.ps1"
        tree[rel] += PRIVATE_HELPER
        self.assertOnlyFailure(tree, "FAIL public KeyVault/Get-CkKeyVault.ps1: defines 2 "
                               "top-level functions ['Get-CkKeyVault', 'Invoke-NativeOperation']")
        tree = good_tree()
        del tree[rel]
        tree[MODULE + "Public/KeyVault/Get-CkVault.ps1"] = GOOD_GET
        self.assertOnlyFailure(tree, "FAIL public KeyVault/Get-CkVault.ps1: defines "
                               "Get-CkKeyVault, but the file is named Get-CkVault")
        tree = good_tree()
        tree[MODULE + "Public/KeyVault/Invoke-NativeOperation.ps1"] = PRIVATE_HELPER
        self.assertOnlyFailure(tree, "Invoke-NativeOperation is not named Verb-Ck<Noun>")

    def test_no_cmdlet_in_private(self):
        tree = good_tree()
        tree[MODULE + "Private/Get-CkSecret.ps1"] = "function Get-CkSecret {\n    param()\n}\n"
        report, out = self.run_tree(tree)
        self.assertIn("FAIL private Get-CkSecret.ps1: Get-CkSecret is named like a cmdlet", out)
        tree = good_tree()
        tree[MODULE + "Private/Helpers.ps1"] = PRIVATE_HELPER + PRIVATE_HELPER.replace("Invoke-", "Get-")
        self.assertOnlyFailure(tree, "FAIL private Helpers.ps1: defines 2 top-level functions")

    def test_cmdlet_in_the_wrong_folder(self):
        registry = json.loads(json.dumps(REGISTRY))
        registry["Operations"][2]["Area"] = "Exchange"
        self.assertOnlyFailure(good_tree(), "FAIL cmdlet Get-CkKeyVault file: defined in "
                               "powershell/CustomerKey/Public/KeyVault/Get-CkKeyVault.ps1, but its "
                               "registry Area 'Exchange' puts it in", registry)
        tree = good_tree()
        tree[MODULE + "Public/KeyVault/Get-CkConnection.ps1"] = \
            tree.pop(MODULE + "Public/Session/Get-CkConnection.ps1")
        self.assertOnlyFailure(tree, "FAIL cmdlet Get-CkConnection: not defined in "
                               "powershell/CustomerKey/Public/Session/Get-CkConnection.ps1")

    def test_exports_follow_public_files(self):
        tree = good_tree()
        del tree[MODULE + "Public/KeyVault/Get-CkKeyVault.ps1"]
        report, out = self.run_tree(tree)
        self.assertIn("FAIL exports: FunctionsToExport != module functions: only in "
                      "FunctionsToExport ['Get-CkKeyVault']", out)
        self.assertIn("FAIL cmdlet Get-CkKeyVault: not defined", out)

    def test_computed_export_module_member_is_left_to_the_other_checks(self):
        self.assertIsNone(cp.export_module_member_functions(cp.Source(LOADER)))
        with self.assertRaises(cp.NotLiteral):
            cp.export_module_member_functions(
                cp.Source("Export-ModuleMember -Function @(Get-Thing '*-Ck*')\n"))

    def test_missing_module_fails(self):
        with tempfile.TemporaryDirectory() as d:
            out = io.StringIO()
            report = cp.Report(out)
            cp.run(Path(d), REGISTRY, report)
            self.assertGreater(report.failed, 0, out.getvalue())


if __name__ == "__main__":
    unittest.main()
