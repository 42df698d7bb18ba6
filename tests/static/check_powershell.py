#!/usr/bin/env python3
"""Static checks of the CustomerKey PowerShell module against the native operation registry.

No PowerShell runs here: every .ps1/.psm1/.psd1 under powershell/ and tests/powershell/ is parsed
with the real PowerShell grammar (PyPI tree-sitter + tree-sitter-powershell, pinned in
requirements.txt), and the module is compared with the registry that ck_describe returns (read
from target/release/libcustomer_key.so with ctypes, or from a JSON file given with --registry).

Checks (one "PASS/FAIL <check>: detail" line each, then "N passed, N failed"; exit 1 on failure):

* parse <file>: no ERROR or MISSING node, except where ALLOW_LIST excuses it (below).
* allow-list <gap>: every ALLOW_LIST reproduction still fails to parse (so the list cannot rot:
  once the grammar learns the construct, the entry fails and must be deleted).
* loader: CustomerKey.psm1 defines no function (it only loads Native.cs, Private/, Public/).
* public <file>: each Public/**/*.ps1 defines exactly one top-level function, a Verb-Ck* cmdlet
  named as the file. private <file>: each Private/**/*.ps1 defines exactly one top-level
  function named as the file, and no Verb-Ck* function (every *-Ck* function is a cmdlet).
* exports: the manifest's FunctionsToExport (a literal list in the .psd1 hashtable) equals the
  Verb-Ck* functions defined in Public/** files, which equal {"<Verb>-Ck<Noun>" for each
  registry operation} + EXTRA_CMDLETS; a literal top-level Export-ModuleMember -Function list,
  when the psm1 has one, equals them too (a computed one is left to these checks; a wildcard
  is refused).
* cmdlet <name> file: an operation's cmdlet is in Public/<Area>/<name>.ps1 (Area from the
  registry); EXTRA_CMDLETS are in Public/Session/.
* cmdlet <name> parameters: the param() names equal the operation's parameter names exactly
  (case included; plus POWERSHELL_ONLY_PARAMETERS, which is empty); ValidateSet
  (case-insensitive set compare with AllowedValues), ValidateRange (Range) and the type
  constraint (PowerShellType) agree, and every [Parameter(HelpMessage = ...)], where given, is
  the registry's HelpMessage. Parameter sets: each parameter's set of (ParameterSetName,
  Mandatory, ValueFromPipelineByPropertyName), one per [Parameter()] attribute, equals the
  registry's. A [Parameter()] without ParameterSetName (or no [Parameter()] at all: optional,
  not from the pipeline) means every set, which is what an empty registry "ParameterSets" list
  means (with the parameter's top-level Mandatory); otherwise one attribute per registry set,
  Mandatory as that set says. So Mandatory is checked per set.
* cmdlet <name> parameter-sets: [CmdletBinding(DefaultParameterSetName = ...)] equals the
  registry's DefaultParameterSetName (absent when that is null), and no ParameterSetName in the
  param() block names a set missing from the operation's "ParameterSets".
* cmdlet <name> output-type: an [OutputType(...)], where declared, names the registry's
  OutputType (plus the OutputTypeWhen type) and nothing else.
* cmdlet <name> should-process: a StateChanging operation's function has
  [CmdletBinding(SupportsShouldProcess...)], ConfirmImpact equal to the registry's (absent means
  Medium) and calls $PSCmdlet.ShouldProcess; a read-only one declares neither.
* cmdlet <name> help: comment-based help (before `function`, or at the start or end of the body)
  whose keywords are all valid (PowerShell drops the whole block otherwise) with a non-empty
  .SYNOPSIS, at least one .EXAMPLE and a .PARAMETER for each parameter (and none for parameters
  that do not exist).
* verbs: every Verb-Noun function in the module uses an approved verb (APPROVED_VERBS, the
  PowerShell 7 Get-Verb list).

ALLOW_LIST policy: an entry is only for a construct that real PowerShell 7 accepts and the pinned
grammar does not. Each entry carries a minimal reproduction (checked on every run to still fail to
parse) and a regular expression; an ERROR/MISSING node is excused only when it spans at most
MAX_EXCUSED_LINES lines and the text of those lines matches an entry's expression. Everything else
is a failure: rewrite the code instead of growing the list.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import tree_sitter
import tree_sitter_powershell

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULE_DIR = Path("powershell") / "CustomerKey"
MODULE_NAME = "CustomerKey"
SCAN_DIRS = [Path("powershell"), Path("tests") / "powershell"]
EXTENSIONS = {".ps1", ".psm1", ".psd1"}
PUBLIC_DIR = "Public"
PRIVATE_DIR = "Private"
# Public/<SESSION_AREA>/ holds the hand-written cmdlets; the other Public/ folders are generated.
SESSION_AREA = "Session"

# Cmdlets the module exports that are not registry operations (session handling in PowerShell).
EXTRA_CMDLETS = {"Connect-CkService", "Disconnect-CkService", "Get-CkConnection"}

# PowerShell-only parameters a registry cmdlet may declare beyond the operation's parameters,
# name -> why. Keep it empty: a parameter the native side does not know is a parity bug.
POWERSHELL_ONLY_PARAMETERS: dict[str, str] = {}

def powershell_only_parameters(op: dict) -> dict:
    """The parameters an operation's PowerShell extension adds (-Wait), beyond the registry's."""
    extras = dict(POWERSHELL_ONLY_PARAMETERS)
    extension = op.get("PowerShell") or {}
    if extension.get("Wait"):
        extras["Wait"] = "PowerShell waits for the background work (registry PowerShell.Wait)"
    return extras


PUBLIC_FUNCTION = re.compile(r"^(?P<verb>[A-Za-z]+)-Ck(?P<noun>[A-Za-z0-9]+)$")

# Get-Verb in PowerShell 7 (Build and Deploy arrived in 6.0).
APPROVED_VERBS = frozenset(
    """
    Add Clear Close Copy Enter Exit Find Format Get Hide Join Lock Move New Open Optimize Pop Push
    Redo Remove Rename Reset Resize Search Select Set Show Skip Split Step Switch Undo Unlock Watch
    Connect Disconnect Read Receive Send Write
    Backup Checkpoint Compare Compress Convert ConvertFrom ConvertTo Dismount Edit Expand Export
    Group Import Initialize Limit Merge Mount Out Publish Restore Save Sync Unpublish Update
    Debug Measure Ping Repair Resolve Test Trace
    Approve Assert Build Complete Confirm Deny Deploy Disable Enable Install Invoke Register
    Request Restart Resume Start Stop Submit Suspend Uninstall Unregister Wait
    Block Grant Protect Revoke Unblock Unprotect
    Use
    """.split()
)

# Keywords PowerShell accepts in comment-based help; one unknown keyword voids the whole block.
HELP_KEYWORDS = frozenset(
    """
    SYNOPSIS DESCRIPTION PARAMETER EXAMPLE INPUTS OUTPUTS NOTES LINK COMPONENT ROLE FUNCTIONALITY
    FORWARDHELPTARGETNAME FORWARDHELPCATEGORY REMOTEHELPRUNSPACE EXTERNALHELP
    """.split()
)

# Registry PowerShellType -> the spellings of that type accepted in a param() block (lower case).
POWERSHELL_TYPES = {
    "string": {"string", "system.string"},
    "string[]": {"string[]", "system.string[]"},
    "int": {"int", "int32", "system.int32"},
    "switch": {"switch", "switchparameter", "system.management.automation.switchparameter",
               "management.automation.switchparameter"},
    "bool": {"bool", "boolean", "system.boolean"},
    "datetime": {"datetime", "system.datetime"},
    "hashtable": {"hashtable", "system.collections.hashtable", "collections.hashtable"},
    "byte[]": {"byte[]", "system.byte[]"},
    "securestring": {"securestring", "system.security.securestring", "security.securestring"},
}


@dataclass(frozen=True)
class GrammarGap:
    """A construct PowerShell 7 accepts that the pinned tree-sitter grammar does not."""

    name: str
    reason: str
    reproduction: str  # must still FAIL to parse, or the entry is stale
    pattern: str  # regex over the source lines an ERROR/MISSING node spans


MAX_EXCUSED_LINES = 3

ALLOW_LIST: tuple[GrammarGap, ...] = (
    GrammarGap(
        name="ternary-operator",
        reason="PowerShell 7 `<condition> ? <a> : <b>` is not in the grammar",
        reproduction="$x = $a ? 1 : 2\n",
        pattern=r"\S\s+\?\s+\S.*\s:\s+\S",
    ),
    GrammarGap(
        name="null-coalescing",
        reason="PowerShell 7 `??` and `??=` are not in the grammar",
        reproduction="$x = $a ?? 2\n",
        pattern=r"\?\?=?",
    ),
)


# --------------------------------------------------------------------------------------------
# Parsing helpers

_PARSER: Optional[tree_sitter.Parser] = None


def parser() -> tree_sitter.Parser:
    global _PARSER
    if _PARSER is None:
        _PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    return _PARSER


def _bytes(source: str | bytes) -> bytes:
    return source.encode("utf-8") if isinstance(source, str) else source


class Source:
    """A parsed file: its bytes, its tree and a text accessor."""

    def __init__(self, source: str | bytes, path: str = "<snippet>"):
        self.data = _bytes(source)
        self.path = path
        self.tree = parser().parse(self.data)
        self.root = self.tree.root_node

    def text(self, node) -> str:
        return self.data[node.start_byte:node.end_byte].decode("utf-8", "replace")

    def lines(self, first: int, last: int) -> str:
        all_lines = self.data.decode("utf-8", "replace").split("\n")
        return "\n".join(all_lines[first:last + 1])


def walk(node) -> Iterable:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


@dataclass
class SyntaxProblem:
    line: int  # 1-based
    column: int  # 1-based
    kind: str  # "ERROR" or "MISSING <token>"
    text: str  # the source lines the node spans
    last_line: int

    def __str__(self) -> str:
        first = self.text.strip().split("\n")[0][:80]
        return f"{self.kind} at {self.line}:{self.column} near {first!r}"


def syntax_problems(src: Source) -> list[SyntaxProblem]:
    out = []
    for n in walk(src.root):
        if n.type == "ERROR" or n.is_missing:
            kind = "ERROR" if n.type == "ERROR" else f"MISSING {n.type!r}"
            first, last = n.start_point[0], n.end_point[0]
            out.append(SyntaxProblem(first + 1, n.start_point[1] + 1, kind,
                                     src.lines(first, last), last + 1))
    return out


def excusing_gap(problem: SyntaxProblem, allow_list=ALLOW_LIST) -> Optional[GrammarGap]:
    if problem.last_line - problem.line + 1 > MAX_EXCUSED_LINES:
        return None
    for gap in allow_list:
        if re.search(gap.pattern, problem.text):
            return gap
    return None


def split_problems(src: Source, allow_list=ALLOW_LIST):
    """-> (unexcused problems, {gap name: count of excused problems})."""
    bad, used = [], {}
    for p in syntax_problems(src):
        gap = excusing_gap(p, allow_list)
        if gap is None:
            bad.append(p)
        else:
            used[gap.name] = used.get(gap.name, 0) + 1
    return bad, used


def stale_gaps(allow_list=ALLOW_LIST) -> list[GrammarGap]:
    """Entries whose reproduction now parses cleanly (the grammar learned it: delete them)."""
    return [g for g in allow_list if not syntax_problems(Source(g.reproduction))]


# --------------------------------------------------------------------------------------------
# Literal values

class NotLiteral(ValueError):
    pass


_LEAVES = {"string_literal", "integer_literal", "real_literal", "variable", "member_access",
           "array_expression", "hash_literal_expression", "type_literal",
           "expression_with_unary_operator", "script_block_expression"}


def unwrap(node):
    """Descends through the grammar's single-child precedence wrappers."""
    while node.type not in _LEAVES and node.named_child_count == 1:
        node = node.named_children[0]
    return node


def string_value(src: Source, node) -> str:
    text = src.text(node)
    if text.startswith("@'"):
        return re.sub(r"^@'[ \t]*\r?\n", "", re.sub(r"\r?\n'@$", "", text))
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return text[1:-1].replace("''", "'")
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        inner = text[1:-1]
        if "$" in inner or "`" in inner:
            raise NotLiteral(f"expandable string {text}")
        return inner.replace('""', '"')
    raise NotLiteral(f"string {text}")


def literal_value(src: Source, node) -> Any:
    """The value of a constant expression: strings, integers, $true/$false/$null, lists,
    [Enum]::Member (as 'Member'). Anything else raises NotLiteral."""
    node = unwrap(node)
    t = node.type
    if t == "string_literal":
        return string_value(src, node)
    if t == "integer_literal":
        text = src.text(node).lower()
        return int(text, 16) if text.startswith("0x") else int(text)
    if t == "expression_with_unary_operator":
        text = src.text(node).replace(" ", "")
        if re.fullmatch(r"-\d+", text):
            return int(text)
        raise NotLiteral(text)
    if t == "variable":
        text = src.text(node).lower()
        if text in ("$true", "$false", "$null"):
            return {"$true": True, "$false": False, "$null": None}[text]
        raise NotLiteral(text)
    if t == "member_access" and "::" in src.text(node):
        return src.text(node).rsplit("::", 1)[1].strip()
    if t in ("array_literal_expression", "array_expression", "statement_list", "pipeline",
             "pipeline_chain"):
        items = []
        for c in node.named_children:
            if c.type in ("empty_statement", "comment"):
                continue
            v = literal_value(src, c)
            items.extend(v if isinstance(v, list) else [v])
        return items
    raise NotLiteral(f"{t}: {src.text(node)[:60]}")


# --------------------------------------------------------------------------------------------
# Attributes, functions, help

def _norm_attr_name(name: str) -> str:
    name = re.sub(r"\s", "", name).lower()
    name = re.sub(r"^(system\.)?(management\.automation\.)?", "", name)
    return name[:-len("attribute")] if name.endswith("attribute") else name


def _norm_type(name: str) -> str:
    return re.sub(r"\s", "", name).lower()


@dataclass
class Attribute:
    name: str  # normalized: lower case, no namespace, no "Attribute" suffix
    positional: list  # nodes
    named: dict  # lower-case name -> node, or None for a bare flag
    text: str

    def flag(self, src: Source, name: str) -> Optional[bool]:
        """None when absent; True for a bare flag; else the literal value's truth."""
        key = name.lower()
        if key not in self.named:
            return None
        node = self.named[key]
        if node is None:
            return True
        try:
            return bool(literal_value(src, node))
        except NotLiteral:
            return True  # a non-constant expression; PowerShell treats most as true

    def value(self, src: Source, name: str) -> Any:
        node = self.named.get(name.lower())
        return None if node is None else literal_value(src, node)


def parse_attribute(src: Source, node) -> Attribute:
    name_node = node.child_by_field_name("name") or next(
        (c for c in node.named_children if c.type == "attribute_name"), None)
    name = src.text(name_node) if name_node is not None else ""
    positional, named = [], {}
    args = next((c for c in node.named_children if c.type == "attribute_arguments"), None)
    if args is not None:
        for arg in args.named_children:
            if arg.type != "attribute_argument":
                continue
            kids = arg.named_children
            if kids and kids[0].type == "simple_name":
                named[src.text(kids[0]).lower()] = kids[1] if len(kids) > 1 else None
            elif kids:
                positional.append(kids[0])
    return Attribute(_norm_attr_name(name), positional, named, src.text(node))


@dataclass
class Parameter:
    name: str
    types: list  # type constraints as written, e.g. ["string[]"]
    attributes: list  # Attribute
    line: int

    def attrs(self, name: str) -> list:
        return [a for a in self.attributes if a.name == name]


@dataclass
class HelpBlock:
    text: str
    sections: list  # (KEYWORD, argument, content)
    invalid_keywords: list

    def has(self, keyword: str) -> bool:
        return any(k == keyword for k, _, _ in self.sections)


@dataclass
class Function:
    name: str
    node: Any
    line: int
    cmdlet_binding: Optional[Attribute]
    function_attributes: list
    parameters: list  # Parameter
    has_param_block: bool
    inline_parameters: bool  # function F($a) {...}
    help: Optional[HelpBlock]
    should_process_calls: int


def parse_parameters(src: Source, parameter_list) -> list:
    out = []
    for sp in parameter_list.named_children:
        if sp.type != "script_parameter":
            continue
        var = next((c for c in sp.named_children if c.type == "variable"), None)
        if var is None:
            continue
        name = src.text(var).lstrip("$").strip("{}")
        if ":" in name:
            name = name.split(":", 1)[1]
        types, attributes = [], []
        al = next((c for c in sp.named_children if c.type == "attribute_list"), None)
        for a in al.named_children if al is not None else []:
            if a.type != "attribute":
                continue
            tl = next((c for c in a.named_children if c.type == "type_literal"), None)
            if tl is not None:
                types.append(src.text(tl).strip()[1:-1].strip())
            else:
                attributes.append(parse_attribute(src, a))
        out.append(Parameter(name, types, attributes, sp.start_point[0] + 1))
    return out


HELP_LINE = re.compile(r"^\s*\.([A-Za-z]+)[ \t]*(.*?)\s*$")


def parse_help(text: str) -> Optional[HelpBlock]:
    """Parses a comment as comment-based help; None when it has no help keyword at all."""
    body = text.strip()
    if body.startswith("<#"):
        body = body[2:]
        body = body[:-2] if body.endswith("#>") else body
        lines = body.split("\n")
    else:
        lines = [re.sub(r"^\s*#", "", l) for l in body.split("\n")]
    sections, invalid, current = [], [], None
    for line in lines:
        m = HELP_LINE.match(line)
        if m:
            keyword, argument = m.group(1).upper(), m.group(2)
            if keyword not in HELP_KEYWORDS:
                invalid.append(m.group(1))
            current = [keyword, argument, []]
            sections.append(current)
        elif current is not None:
            current[2].append(line.strip())
    if not sections:
        return None
    return HelpBlock(text, [(k, a, "\n".join(c).strip()) for k, a, c in sections], invalid)


def comment_blocks(src: Source) -> list:
    """Comments as (start_byte, end_byte, text); consecutive '#' line comments merge."""
    comments = sorted((n for n in walk(src.root) if n.type == "comment"),
                      key=lambda n: n.start_byte)
    blocks = []
    for c in comments:
        text = src.text(c)
        if (blocks and not text.startswith("<#") and not blocks[-1][2].startswith("<#")
                and re.fullmatch(r"[ \t]*\r?\n[ \t]*",
                                 src.data[blocks[-1][1]:c.start_byte].decode("utf-8", "replace"))):
            s, _, t = blocks[-1]
            blocks[-1] = (s, c.end_byte, t + "\n" + text)
        else:
            blocks.append((c.start_byte, c.end_byte, text))
    return blocks


def find_help(src: Source, fn_node, blocks) -> Optional[HelpBlock]:
    open_brace = next((c for c in fn_node.children if c.type == "{"), None)
    close_brace = next((c for c in reversed(fn_node.children) if c.type == "}"), None)
    ws = lambda a, b: src.data[a:b].strip() == b""
    candidates = []
    # Before the function keyword, with at most one blank line in between.
    for s, e, t in blocks:
        if e <= fn_node.start_byte and ws(e, fn_node.start_byte) \
                and src.data[e:fn_node.start_byte].count(b"\n") <= 2:
            candidates.append(t)
    if open_brace is not None:  # first thing in the body
        for s, e, t in blocks:
            if s >= open_brace.end_byte and ws(open_brace.end_byte, s):
                candidates.append(t)
    if close_brace is not None:  # last thing in the body
        for s, e, t in blocks:
            if open_brace is not None and s > open_brace.end_byte \
                    and e <= close_brace.start_byte and ws(e, close_brace.start_byte):
                candidates.append(t)
    parsed = [h for h in (parse_help(t) for t in candidates) if h is not None]
    valid = [h for h in parsed if not h.invalid_keywords]
    return (valid or parsed or [None])[0]


def parse_function(src: Source, node, blocks) -> Function:
    name_node = next(c for c in node.named_children if c.type == "function_name")
    sb = next((c for c in node.named_children if c.type == "script_block"), None)
    pb = next((c for c in sb.named_children if c.type == "param_block"), None) if sb else None
    cmdlet_binding, fattrs, params = None, [], []
    if pb is not None:
        al = next((c for c in pb.named_children if c.type == "attribute_list"), None)
        for a in al.named_children if al is not None else []:
            if a.type == "attribute":
                attr = parse_attribute(src, a)
                fattrs.append(attr)
                if attr.name == "cmdletbinding":
                    cmdlet_binding = attr
        pl = next((c for c in pb.named_children if c.type == "parameter_list"), None)
        if pl is not None:
            params = parse_parameters(src, pl)
    inline = any(c.type == "function_parameter_declaration" for c in node.named_children)
    calls = 0
    for n in walk(node):
        if n.type == "invokation_expression":
            kids = n.named_children
            target = src.text(kids[0]).lower() if kids else ""
            member = next((src.text(k).lower() for k in kids if k.type == "member_name"), "")
            if target == "$pscmdlet" and member == "shouldprocess":
                calls += 1
    return Function(src.text(name_node), node, node.start_point[0] + 1, cmdlet_binding, fattrs,
                    params, pb is not None, inline, find_help(src, node, blocks), calls)


def top_level_functions(src: Source) -> list:
    """Functions defined at the top level of a file (not inside another function or block)."""
    blocks = comment_blocks(src)
    out = []
    for sl in src.root.named_children:
        if sl.type != "statement_list":
            continue
        for st in sl.named_children:
            if st.type == "function_statement":
                out.append(parse_function(src, st, blocks))
    return out


def all_functions(src: Source) -> list:
    blocks = comment_blocks(src)
    return [parse_function(src, n, blocks) for n in walk(src.root) if n.type == "function_statement"]


def manifest_entries(src: Source) -> dict:
    """The top-level hashtable of a .psd1 as {lower-case key: value node}."""
    table = next((n for n in walk(src.root) if n.type == "hash_literal_expression"), None)
    if table is None:
        raise NotLiteral("no hashtable in the manifest")
    body = next((c for c in table.named_children if c.type == "hash_literal_body"), None)
    out = {}
    for entry in body.named_children if body is not None else []:
        if entry.type != "hash_entry":
            continue
        key_node = entry.named_children[0]
        key = src.text(key_node).strip()
        try:
            key = literal_value(src, key_node)
        except NotLiteral:
            pass
        out[str(key).lower()] = entry.named_children[-1]
    return out


def manifest_functions(src: Source) -> list:
    """FunctionsToExport as an explicit list of names (wildcards and variables are refused)."""
    entries = manifest_entries(src)
    if "functionstoexport" not in entries:
        raise NotLiteral("FunctionsToExport is missing")
    value = literal_value(src, entries["functionstoexport"])
    names = value if isinstance(value, list) else [value]
    for n in names:
        if not isinstance(n, str) or re.search(r"[*?\[\]]", n):
            raise NotLiteral(f"FunctionsToExport entry {n!r} is not an explicit name")
    return names


def export_module_member_functions(src: Source) -> Optional[list]:
    """The -Function list of top-level Export-ModuleMember calls; None when there is none."""
    found = None
    for sl in src.root.named_children:
        if sl.type != "statement_list":
            continue
        for cmd in (n for st in sl.named_children for n in walk(st) if n.type == "command"):
            name = cmd.child_by_field_name("command_name")
            if name is None or src.text(name).lower() != "export-modulemember":
                continue
            elements = cmd.child_by_field_name("command_elements")
            items = [c for c in (elements.named_children if elements is not None else [])
                     if c.type != "command_argument_sep"]
            for i, el in enumerate(items):
                flag = src.text(el).lower().rstrip(":")
                if el.type == "command_parameter" and len(flag) >= 3 and "-function".startswith(flag):
                    if i + 1 >= len(items):
                        raise NotLiteral("Export-ModuleMember -Function without a value")
                    try:
                        value = literal_value(src, items[i + 1])
                    except NotLiteral:
                        if re.search(r"[*?]", src.text(items[i + 1])):
                            raise
                        # Computed (the loader exports the Public/ file names): the manifest
                        # and the Public/ files are what the exports check compares.
                        continue
                    names = value if isinstance(value, list) else [value]
                    for n in names:
                        if not isinstance(n, str) or re.search(r"[*?\[\]]", n):
                            raise NotLiteral(f"Export-ModuleMember entry {n!r} is not an explicit name")
                    found = (found or []) + names
    return found


# --------------------------------------------------------------------------------------------
# Checks against the registry. Each returns a list of problems (empty = pass).

def expected_cmdlet(op: dict) -> str:
    return f"{op['Verb']}-Ck{op['Noun']}"


def check_exports(manifest: list, module_public: list, registry: dict,
                  export_module_member: Optional[list] = None) -> list:
    """FunctionsToExport == public (Verb-Ck*) top-level functions == registry cmdlets, and the
    psm1's Export-ModuleMember -Function list, when it has one, agrees too."""
    problems = []
    expected = {expected_cmdlet(op) for op in registry["Operations"]} | EXTRA_CMDLETS

    def diff(a_name, a, b_name, b):
        if set(a) != set(b):
            problems.append(f"{a_name} != {b_name}: only in {a_name} {sorted(set(a) - set(b))}, "
                            f"only in {b_name} {sorted(set(b) - set(a))}")

    for label, names in (("FunctionsToExport", manifest), ("module functions", module_public)):
        dups = sorted({n for n in names if names.count(n) > 1})
        if dups:
            problems.append(f"{label} lists {dups} more than once")
    helpers = sorted(set(module_public) - set(manifest) - expected)
    if helpers:
        problems.append(f"top-level functions named like cmdlets (Verb-Ck*) that are neither "
                        f"exported nor registry cmdlets: {helpers}; name private helpers "
                        "without the Ck prefix, so that every *-Ck* function is a cmdlet")
        module_public = [n for n in module_public if n not in helpers]
    diff("FunctionsToExport", manifest, "module functions", module_public)
    diff("module functions", module_public, "registry", expected)
    if export_module_member is not None:
        diff("Export-ModuleMember", export_module_member, "FunctionsToExport", manifest)
    return problems


ALL_SETS = "__AllParameterSets"  # PowerShell's name for "no ParameterSetName": every set


def _set_label(name: str) -> str:
    return "every parameter set" if name == ALL_SETS else f"parameter set {name!r}"


def registry_parameter_sets(rp: dict) -> dict:
    """{set name: (Mandatory, ValueFromPipelineByPropertyName)} of a registry parameter; a
    parameter without sets belongs to every set (ALL_SETS) with its top-level Mandatory."""
    vfp = bool(rp.get("ValueFromPipelineByPropertyName"))
    sets = rp.get("ParameterSets") or []
    if not sets:
        return {ALL_SETS: (bool(rp.get("Mandatory")), vfp)}
    return {s["Name"]: (bool(s.get("Mandatory")), vfp) for s in sets}


def module_parameter_sets(src: Source, p: Parameter, problems: list, where: str) -> dict:
    """{set name: (Mandatory, ValueFromPipelineByPropertyName)} from a param() parameter's
    [Parameter()] attributes: one without ParameterSetName (or with '__AllParameterSets') is
    every set, and a parameter with no [Parameter()] at all is every set, optional, not from the
    pipeline. Problems (non-literal or repeated set names) are appended to `problems`."""
    pattrs = p.attrs("parameter")
    if not pattrs:
        return {ALL_SETS: (False, False)}
    out = {}
    for a in pattrs:
        name = ALL_SETS
        if "parametersetname" in a.named:
            try:
                value = a.value(src, "ParameterSetName")
            except NotLiteral as e:
                problems.append(f"{where}: ParameterSetName is not literal ({e})")
                continue
            if not isinstance(value, str) or not value:
                problems.append(f"{where}: ParameterSetName {value!r} is not a set name")
                continue
            name = ALL_SETS if value.lower() == ALL_SETS.lower() else value
        if name in out:
            problems.append(f"{where}: more than one [Parameter()] for {_set_label(name)} "
                            "(PowerShell refuses to define the function)")
            continue
        out[name] = (bool(a.flag(src, "Mandatory")), bool(a.flag(src, "ValueFromPipelineByPropertyName")))
    return out


def check_parameters(src: Source, fn: Function, op: dict,
                     extras: dict = POWERSHELL_ONLY_PARAMETERS) -> list:
    problems = []
    if fn.inline_parameters:
        problems.append("declares parameters as function F(...) instead of in a param() block")
    if not fn.has_param_block:
        problems.append("has no param() block")
    reg = {p["Name"]: p for p in op["Parameters"]}
    declared = {p.name: p for p in fn.parameters}
    missing = [n for n in reg if n not in declared]
    unknown = [n for n in declared if n not in reg and n not in extras]
    if missing:
        problems.append(f"missing parameters {missing}")
    if unknown:
        problems.append(f"parameters not in the registry {unknown}")
    if len(declared) != len(fn.parameters):
        problems.append("declares a parameter twice")
    for name, rp in reg.items():
        p = declared.get(name)
        if p is None:
            continue
        where = f"-{name}"
        pattrs = p.attrs("parameter")
        # Type.
        want = rp["PowerShellType"].lower()
        accepted = POWERSHELL_TYPES.get(want, {want})
        if len(p.types) != 1:
            problems.append(f"{where}: needs exactly one type constraint [{rp['PowerShellType']}], "
                            f"has {['[' + t + ']' for t in p.types]}")
        elif _norm_type(p.types[0]) not in accepted:
            problems.append(f"{where}: type [{p.types[0]}] but the registry says "
                            f"[{rp['PowerShellType']}]")
        # Parameter sets, and per set Mandatory and ValueFromPipelineByPropertyName: the
        # (ParameterSetName, Mandatory, ValueFromPipelineByPropertyName) of the [Parameter()]
        # attributes equal the registry's.
        want_sets = registry_parameter_sets(rp)
        got_sets = module_parameter_sets(src, p, problems, where)
        if set(got_sets) != set(want_sets):
            got_names = sorted(got_sets, key=lambda s: (s != ALL_SETS, s))
            want_names = sorted(want_sets, key=lambda s: (s != ALL_SETS, s))
            if ALL_SETS in got_sets and ALL_SETS not in want_sets:
                problems.append(f"{where}: has a [Parameter()] without ParameterSetName (every "
                                f"parameter set) but the registry puts it only in {want_names}; "
                                "give one [Parameter(ParameterSetName = ...)] per set")
            elif ALL_SETS in want_sets and ALL_SETS not in got_sets:
                problems.append(f"{where}: is declared only in parameter sets {got_names} but the "
                                "registry puts it in every set; use one [Parameter()] without "
                                "ParameterSetName")
            else:
                problems.append(f"{where}: parameter sets {got_names} != registry {want_names}")
        for set_name in sorted(set(got_sets) & set(want_sets)):
            (got_mand, got_vfp), (want_mand, want_vfp) = got_sets[set_name], want_sets[set_name]
            if want_mand and not got_mand:
                problems.append(f"{where}: must be Mandatory (in {_set_label(set_name)})")
            elif got_mand and not want_mand:
                problems.append(f"{where}: is Mandatory (in {_set_label(set_name)}) but the "
                                "registry says optional there")
            if got_vfp != want_vfp:
                problems.append(f"{where}: ValueFromPipelineByPropertyName is {got_vfp} (in "
                                f"{_set_label(set_name)}), registry says {want_vfp}")
        # HelpMessage, where declared, is the registry's.
        for a in pattrs:
            if "helpmessage" in a.named and rp.get("HelpMessage"):
                try:
                    hm = a.value(src, "HelpMessage")
                    if hm != rp["HelpMessage"]:
                        problems.append(f"{where}: HelpMessage {hm!r} != registry {rp['HelpMessage']!r}")
                except NotLiteral as e:
                    problems.append(f"{where}: HelpMessage is not literal ({e})")
        # ValidateSet.
        allowed = rp.get("AllowedValues") or []
        vsets = p.attrs("validateset")
        if allowed and not vsets:
            problems.append(f"{where}: needs [ValidateSet({', '.join(repr(v) for v in allowed)})]")
        if vsets and not allowed:
            problems.append(f"{where}: has ValidateSet but the registry allows any value")
        if vsets and allowed:
            try:
                values = [literal_value(src, n) for n in vsets[0].positional]
                if {str(v).lower() for v in values} != {v.lower() for v in allowed} \
                        or len(values) != len(allowed):
                    problems.append(f"{where}: ValidateSet {values} != AllowedValues {allowed}")
                if vsets[0].flag(src, "IgnoreCase") is False:
                    problems.append(f"{where}: ValidateSet(IgnoreCase = $false) but the native "
                                    "side compares case-insensitively")
            except NotLiteral as e:
                problems.append(f"{where}: ValidateSet is not literal ({e})")
        if len(vsets) > 1:
            problems.append(f"{where}: more than one ValidateSet")
        # ValidateRange.
        rng = rp.get("Range")
        vranges = p.attrs("validaterange")
        if rng and not vranges:
            problems.append(f"{where}: needs [ValidateRange({rng[0]}, {rng[1]})]")
        if vranges and not rng:
            problems.append(f"{where}: has ValidateRange but the registry has no range")
        if vranges and rng:
            try:
                values = [literal_value(src, n) for n in vranges[0].positional]
                if values != list(rng):
                    problems.append(f"{where}: ValidateRange{tuple(values)} != Range {tuple(rng)}")
            except NotLiteral as e:
                problems.append(f"{where}: ValidateRange is not literal ({e})")
    return problems


def check_parameter_sets(src: Source, fn: Function, op: dict) -> list:
    """The cmdlet's DefaultParameterSetName equals the registry's (absent when the registry has
    none), and no [Parameter(ParameterSetName = ...)] names a set the registry lacks. Which set
    each parameter belongs to, and how, is check_parameters' job."""
    problems = []
    sets = list(op.get("ParameterSets") or [])
    want_default = op.get("DefaultParameterSetName")
    cb = fn.cmdlet_binding
    got_default = None
    if cb is not None and "defaultparametersetname" in cb.named:
        try:
            got_default = cb.value(src, "DefaultParameterSetName")
        except NotLiteral as e:
            problems.append(f"DefaultParameterSetName is not literal ({e})")
    if got_default != want_default:
        if want_default is None:
            problems.append(f"declares DefaultParameterSetName {got_default!r} but the registry "
                            "has no parameter sets")
        elif got_default is None:
            problems.append(f"lacks [CmdletBinding(DefaultParameterSetName = '{want_default}')]")
        else:
            problems.append(f"DefaultParameterSetName {got_default!r} != registry "
                            f"{want_default!r}")
    if got_default is not None and got_default not in sets and got_default != want_default:
        problems.append(f"DefaultParameterSetName {got_default!r} is not a parameter set of the "
                        f"registry {sets}")
    unknown = []
    for p in fn.parameters:
        for a in p.attrs("parameter"):
            if "parametersetname" not in a.named:
                continue
            try:
                name = a.value(src, "ParameterSetName")
            except NotLiteral:
                continue  # reported by check_parameters
            if isinstance(name, str) and name.lower() != ALL_SETS.lower() and name not in sets \
                    and name not in unknown:
                unknown.append(name)
    if unknown:
        problems.append(f"parameter sets {unknown} are not in the registry "
                        f"({sets if sets else 'which has none'})")
    return problems


def check_should_process(src: Source, fn: Function, op: dict) -> list:
    problems = []
    cb = fn.cmdlet_binding
    supports = bool(cb and cb.flag(src, "SupportsShouldProcess"))
    impact = None
    if cb is not None and "confirmimpact" in cb.named:
        try:
            impact = str(cb.value(src, "ConfirmImpact"))
        except NotLiteral as e:
            problems.append(f"ConfirmImpact is not literal ({e})")
    if cb is None:
        problems.append("has no [CmdletBinding()]")
    if op["StateChanging"]:
        if not supports:
            problems.append("changes state but lacks [CmdletBinding(SupportsShouldProcess)]")
        want = op["ConfirmImpact"]
        got = impact if impact is not None else "Medium"
        if got.lower() != want.lower():
            problems.append(f"ConfirmImpact is {got!r} (absent = 'Medium'), registry says {want!r}")
        if fn.should_process_calls == 0:
            problems.append("never calls $PSCmdlet.ShouldProcess")
    else:
        if supports:
            problems.append("is read-only in the registry but declares SupportsShouldProcess")
        if impact is not None and impact.lower() != "none":
            problems.append(f"is read-only in the registry but declares ConfirmImpact {impact!r}")
        if fn.should_process_calls:
            problems.append("is read-only in the registry but calls $PSCmdlet.ShouldProcess")
    return problems


def _norm_output_type(name: str) -> str:
    name = _norm_type(name)
    return {"string": "system.string", "void": "none", "system.void": "none"}.get(name, name)


def check_output_type(src: Source, fn: Function, op: dict) -> list:
    """Where [OutputType(...)] is declared, it names the registry's OutputType (and the
    OutputTypeWhen type) and nothing else."""
    declared = []
    for a in fn.function_attributes:
        if a.name != "outputtype":
            continue
        for node in a.positional:
            n = unwrap(node)
            if n.type == "type_literal":
                declared.append(src.text(n).strip()[1:-1])
            else:
                try:
                    v = literal_value(src, n)
                    declared.extend(v if isinstance(v, list) else [v])
                except NotLiteral as e:
                    return [f"OutputType is not literal ({e})"]
    if not declared:
        return []
    expected = {op.get("OutputType") or "None"}
    if op.get("OutputTypeWhen"):
        expected.add(op["OutputTypeWhen"]["OutputType"])
    want = {_norm_output_type(t) for t in expected} - {"none"}
    got = {_norm_output_type(str(t)) for t in declared} - {"none"}
    if want != got:
        return [f"[OutputType({', '.join(map(str, declared))})] but the registry says "
                f"{sorted(expected)}"]
    return []


def check_help(fn: Function) -> list:
    h = fn.help
    if h is None:
        return ["has no comment-based help (before `function`, or first/last in its body)"]
    problems = []
    if h.invalid_keywords:
        problems.append(f"help has keywords PowerShell does not know {h.invalid_keywords}, so "
                        "PowerShell ignores the whole block")
    synopsis = [c for k, _, c in h.sections if k == "SYNOPSIS"]
    if not synopsis or not synopsis[0]:
        problems.append("help lacks a non-empty .SYNOPSIS")
    examples = [c for k, _, c in h.sections if k == "EXAMPLE"]
    if not examples or not all(examples):
        problems.append("help needs at least one .EXAMPLE, each with content")
    documented = [a.strip() for k, a, _ in h.sections if k == "PARAMETER"]
    for k, a, c in h.sections:
        if k == "PARAMETER" and not c:
            problems.append(f"help .PARAMETER {a} is empty")
    declared = [p.name for p in fn.parameters]
    lower_doc = {d.lower() for d in documented}
    missing = [p for p in declared if p.lower() not in lower_doc]
    stale = [d for d in documented if d.lower() not in {p.lower() for p in declared}]
    if missing:
        problems.append(f"help lacks .PARAMETER for {missing}")
    if stale:
        problems.append(f"help documents parameters that do not exist {stale}")
    return problems


def check_loader(psm1: Source) -> list:
    """The psm1 only loads: it defines no function (helpers live in Private/, cmdlets in Public/)."""
    names = [f.name for f in all_functions(psm1)]
    return [f"defines functions {names}; put helpers in {PRIVATE_DIR}/ and cmdlets in "
            f"{PUBLIC_DIR}/, one per file"] if names else []


def _file_function(rel: str, functions: list) -> tuple:
    """(problems, the file's one function or None): exactly one top-level function, named as
    the file (PowerShell names are case-insensitive, but the file name must match exactly)."""
    stem = Path(rel).stem
    if len(functions) != 1:
        return [f"defines {len(functions)} top-level functions "
                f"{[f.name for f in functions]}; one per file, named as the file ({stem})"], None
    fn = functions[0]
    if fn.name != stem:
        return [f"defines {fn.name}, but the file is named {stem}"], fn
    return [], fn


def check_public_file(rel: str, functions: list) -> list:
    """A Public/ file defines exactly one Verb-Ck* function named as the file."""
    problems, fn = _file_function(rel, functions)
    if fn is not None and not PUBLIC_FUNCTION.match(fn.name):
        problems.append(f"{fn.name} is not named Verb-Ck<Noun>; only cmdlets go in {PUBLIC_DIR}/")
    return problems


def check_private_file(rel: str, functions: list) -> list:
    """A Private/ file defines exactly one helper named as the file, never a Verb-Ck* name
    (every *-Ck* function is a cmdlet, and cmdlets live in Public/)."""
    problems, fn = _file_function(rel, functions)
    for f in functions:
        if PUBLIC_FUNCTION.match(f.name):
            problems.append(f"{f.name} is named like a cmdlet (Verb-Ck*); cmdlets go in "
                            f"{PUBLIC_DIR}/, helpers are named without the Ck prefix")
    return problems


def check_verb(name: str) -> list:
    if "-" not in name:
        return []
    verb = name.split("-", 1)[0]
    if verb not in APPROVED_VERBS:
        match = [v for v in APPROVED_VERBS if v.lower() == verb.lower()]
        if match:
            return [f"{name}: verb {verb!r} should be spelled {match[0]!r}"]
        return [f"{name}: {verb!r} is not an approved verb (Get-Verb)"]
    return []


# --------------------------------------------------------------------------------------------
# Registry

def load_registry_from_library(library: Path) -> dict:
    lib = ctypes.CDLL(str(library))
    lib.ck_describe.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
    lib.ck_describe.restype = ctypes.c_int
    lib.ck_free_string.argtypes = [ctypes.c_void_p]
    lib.ck_free_string.restype = None
    out = ctypes.c_void_p()
    status = lib.ck_describe(ctypes.byref(out))
    try:
        text = ctypes.string_at(out.value).decode("utf-8") if out.value else ""
    finally:
        if out.value:
            lib.ck_free_string(out)
    if status != 0:
        raise RuntimeError(f"ck_describe returned {status}: {text}")
    return json.loads(text)


# --------------------------------------------------------------------------------------------
# Driver

class Report:
    def __init__(self, out=sys.stdout):
        self.passed = 0
        self.failed = 0
        self.out = out

    def result(self, name: str, problems: list, ok_detail: str = "ok") -> None:
        if problems:
            self.failed += 1
            print(f"FAIL {name}: " + "; ".join(problems), file=self.out)
        else:
            self.passed += 1
            print(f"PASS {name}: {ok_detail}", file=self.out)

    def summary(self) -> int:
        print(f"{self.passed} passed, {self.failed} failed", file=self.out)
        return 1 if self.failed else 0


def find_files(root: Path) -> list:
    files = []
    for d in SCAN_DIRS:
        base = root / d
        if base.is_dir():
            files.extend(p for p in base.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS)
    return sorted(files)


def run(root: Path, registry: dict, report: Report) -> None:
    # The allow-list itself.
    stale = {g.name for g in stale_gaps()}
    used: dict = {}

    # Parse every file.
    sources = {}
    for path in find_files(root):
        rel = path.relative_to(root).as_posix()
        src = Source(path.read_bytes(), rel)
        sources[rel] = src
        bad, excused = split_problems(src)
        for k, v in excused.items():
            used[k] = used.get(k, 0) + v
        note = f"parsed ({', '.join(f'{v} excused by {k}' for k, v in excused.items())})" \
            if excused else "parsed"
        report.result(f"parse {rel}", [str(p) for p in bad[:5]] +
                      ([f"... {len(bad) - 5} more"] if len(bad) > 5 else []), note)
    for g in ALLOW_LIST:
        report.result(f"allow-list {g.name}",
                      ["reproduction now parses: the grammar learned it, delete the entry"]
                      if g.name in stale else [],
                      f"reproduction still fails to parse; excused {used.get(g.name, 0)} "
                      f"node(s){'' if used.get(g.name) else ' (unused)'}")

    psm1_rel = (MODULE_DIR / f"{MODULE_NAME}.psm1").as_posix()
    psd1_rel = (MODULE_DIR / f"{MODULE_NAME}.psd1").as_posix()
    psm1, psd1 = sources.get(psm1_rel), sources.get(psd1_rel)
    if psm1 is None:
        report.result("module files", [f"{psm1_rel} is missing"])
        return

    # Layout: the psm1 only loads; one function per Public/ and Private/ file, named as the file.
    report.result("loader", check_loader(psm1), f"{psm1_rel} defines no functions")
    public_prefix = (MODULE_DIR / PUBLIC_DIR).as_posix() + "/"
    private_prefix = (MODULE_DIR / PRIVATE_DIR).as_posix() + "/"
    by_name: dict = {}  # cmdlet name -> (Source, Function)
    public = []
    for rel, src in sources.items():
        if rel.startswith(public_prefix) and rel.endswith(".ps1"):
            functions = top_level_functions(src)
            report.result(f"public {rel[len(public_prefix):]}", check_public_file(rel, functions),
                          "one cmdlet, named as the file")
            for f in functions:
                public.append(f.name)
                by_name.setdefault(f.name, (src, f, rel))
        elif rel.startswith(private_prefix) and rel.endswith(".ps1"):
            report.result(f"private {rel[len(private_prefix):]}",
                          check_private_file(rel, top_level_functions(src)),
                          "one helper, named as the file, not Verb-Ck*")

    # Exports.
    try:
        if psd1 is None:
            raise NotLiteral(f"{psd1_rel} is missing")
        exported = manifest_functions(psd1)
        problems = check_exports(exported, [n for n in public if PUBLIC_FUNCTION.match(n)],
                                 registry, export_module_member_functions(psm1))
        report.result("exports", problems,
                      f"FunctionsToExport == Public/ functions == registry ({len(exported)})")
    except NotLiteral as e:
        report.result("exports", [str(e)])

    # Per-cmdlet parity.
    for op in registry["Operations"]:
        name = expected_cmdlet(op)
        found = by_name.get(name)
        area = op.get("Area")
        want_rel = f"{public_prefix}{area}/{name}.ps1" if area else None
        if found is None:
            report.result(f"cmdlet {name}", [f"not defined in {want_rel or public_prefix + '*/' + name + '.ps1'}"])
            continue
        src, fn, rel = found
        if want_rel is not None:
            report.result(f"cmdlet {name} file", [] if rel == want_rel else
                          [f"defined in {rel}, but its registry Area {area!r} puts it in {want_rel}"],
                          rel)
        report.result(f"cmdlet {name} parameters",
                      check_parameters(src, fn, op, extras=powershell_only_parameters(op)),
                      f"{len(op['Parameters'])} parameters agree")
        sets = op.get("ParameterSets") or []
        report.result(f"cmdlet {name} parameter-sets", check_parameter_sets(src, fn, op),
                      f"{len(sets)} sets, default {op.get('DefaultParameterSetName')}" if sets
                      else "no parameter sets")
        report.result(f"cmdlet {name} output-type", check_output_type(src, fn, op),
                      op.get("OutputType") or "None")
        report.result(f"cmdlet {name} should-process", check_should_process(src, fn, op),
                      "ConfirmImpact " + op["ConfirmImpact"] if op["StateChanging"]
                      else "read-only")
        report.result(f"cmdlet {name} help", check_help(fn), "synopsis, example, parameters")
    for name in sorted(EXTRA_CMDLETS):
        found = by_name.get(name)
        want_rel = f"{public_prefix}{SESSION_AREA}/{name}.ps1"
        if found is None or found[2] != want_rel:
            report.result(f"cmdlet {name}", [f"not defined in {want_rel}"])
            continue
        report.result(f"cmdlet {name} help", check_help(found[1]), "synopsis, example, parameters")

    # Verbs of every Verb-Noun function in the module.
    verb_problems = []
    count = 0
    for rel, src in sources.items():
        if not rel.startswith("powershell/"):
            continue
        for f in all_functions(src):
            count += 1
            verb_problems.extend(check_verb(f.name))
    report.result("verbs", verb_problems, f"{count} functions use approved verbs")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", type=Path, default=REPO_ROOT)
    ap.add_argument("--library", type=Path, default=None,
                    help="libcustomer_key.so to read the registry from (default: "
                         "target/release/libcustomer_key.so under --root)")
    ap.add_argument("--registry", type=Path, default=None,
                    help="read the registry from this JSON file instead of the library")
    args = ap.parse_args(argv)
    report = Report()
    try:
        if args.registry is not None:
            registry = json.loads(args.registry.read_text(encoding="utf-8"))
        else:
            lib = args.library or args.root / "target" / "release" / "libcustomer_key.so"
            registry = load_registry_from_library(lib)
        ops = registry["Operations"]
        report.result("registry", [] if ops else ["no operations"], f"{len(ops)} operations")
    except Exception as e:  # noqa: BLE001 - reported as a failed check
        report.result("registry", [f"cannot read the registry: {e}"])
        return report.summary()
    run(args.root, registry, report)
    return report.summary()


if __name__ == "__main__":
    sys.exit(main())
