use super::*;
use serde_json::json;

fn operation(extra: Value) -> Value {
    let mut op = json!({
        "Name": "Remove-Thing", "Verb": "Remove", "Noun": "Thing",
        "Synopsis": "Removes a thing.", "OutputType": "CustomerKey.Thing",
        "OutputTypeWhen": null, "StateChanging": true, "ConfirmImpact": "High",
        "DefaultParameterSetName": "ByName", "Area": "Things",
        "Description": "Removes a thing.\nSecond line.",
        "Examples": [{"Code": "Remove-CkThing -Name 'a'\n$x", "Remarks": "Removes a."}],
        "ShouldProcess": {
            "Target": "Thing '{Name}' {a b}",
            "Action": "Remove {Tags}",
            "ActionWhen": [
                {"Parameter": "Purge", "Action": "Purge '{Name}'"},
                {"Parameter": "Version", "Action": "Remove version {Version}"}
            ]
        },
        "Parameters": [
            {"Name": "Name", "PowerShellType": "string", "Mandatory": true,
             "ValueFromPipelineByPropertyName": true, "HelpMessage": "Name of the thing",
             "Aliases": ["ThingName"],
             "ParameterSets": [{"Name": "ByName", "Mandatory": true}, {"Name": "ById", "Mandatory": false}]},
            {"Name": "Tags", "PowerShellType": "string[]", "AllowedValues": ["a", "b"], "HelpMessage": "Tags"},
            {"Name": "Version", "PowerShellType": "int", "Range": [1, 9], "HelpMessage": "Version"},
            {"Name": "Purge", "PowerShellType": "switch", "HelpMessage": "Purge it"},
            {"Name": "Force", "PowerShellType": "switch", "HelpMessage": "Do not ask"},
            {"Name": "File", "PowerShellType": "string", "IsPath": true, "HelpMessage": "The file's path"}
        ]
    });
    if let (Some(op), Value::Object(extra)) = (op.as_object_mut(), extra) {
        op.extend(extra);
    }
    op
}

fn registry(ops: Vec<Value>) -> Value {
    json!({"Version": "1.2.3-beta", "Operations": ops})
}

fn one_cmdlet(op: Value) -> String {
    let files = generate(&registry(vec![op]), &[]).unwrap();
    files["Public/Things/Remove-CkThing.ps1"].clone()
}

#[test]
fn renders_declaration_help_and_should_process() {
    let ps = one_cmdlet(operation(json!({})));
    let expected_lines = [
        HEADER,
        "function Remove-CkThing {",
        "    .PARAMETER File",
        "    The file's path. Relative paths are resolved against the current PowerShell location.",
        "    Remove-CkThing -Name 'a'\n    $x\n\n    Removes a.",
        "    .OUTPUTS\n    CustomerKey.Thing\n    #>",
        "    [CmdletBinding(PositionalBinding = $false, DefaultParameterSetName = 'ByName', SupportsShouldProcess, ConfirmImpact = 'High')]",
        "    [OutputType('CustomerKey.Thing')]",
        "        [Parameter(ParameterSetName = 'ByName', Mandatory, ValueFromPipelineByPropertyName, HelpMessage = 'Name of the thing')]\n        [Parameter(ParameterSetName = 'ById', ValueFromPipelineByPropertyName, HelpMessage = 'Name of the thing')]\n        [Alias('ThingName')]\n        [string] $Name,",
        "        [ValidateSet('a', 'b')]\n        [string[]] $Tags,",
        "        [ValidateRange(1, 9)]\n        [int] $Version,",
        "        [Parameter(HelpMessage = \"The file's path\")]\n        [string] $File\n    )",
        "        $shouldProcessTarget = (\"Thing '{0}' {{a b}}\" -f $PSBoundParameters['Name'])",
        "        $shouldProcessAction = ('Remove {0}' -f ($PSBoundParameters['Tags'] -join ', '))",
        "        if ($PSBoundParameters.ContainsKey('Purge') -and $PSBoundParameters['Purge'].IsPresent) {\n            $shouldProcessAction = (\"Purge '{0}'\" -f $PSBoundParameters['Name'])\n        }\n        elseif ($PSBoundParameters.ContainsKey('Version')) {",
        "        if ($PSBoundParameters.ContainsKey('Force') -and $PSBoundParameters['Force'].IsPresent -and -not $PSBoundParameters.ContainsKey('Confirm')) {\n            $ConfirmPreference = 'None'\n        }\n        if ($PSCmdlet.ShouldProcess($shouldProcessTarget, $shouldProcessAction)) {\n            Invoke-NativeOperation -Cmdlet $PSCmdlet -Operation 'Remove-Thing' -BoundParameters $PSBoundParameters\n        }\n    }\n}\n",
    ];
    for expected in expected_lines {
        assert!(ps.contains(expected), "missing {expected:?} in\n{ps}");
    }
    assert!(ps.starts_with(HEADER));
    assert!(
        !ps.contains('\r') && !ps.contains(" \n"),
        "CR or trailing space in\n{ps}"
    );
}

#[test]
fn read_only_operations_call_directly_and_medium_impact_keeps_the_prompt() {
    let read = one_cmdlet(operation(json!({
        "StateChanging": false, "ConfirmImpact": "None", "ShouldProcess": null,
        "DefaultParameterSetName": null})));
    assert!(
        read.contains("    [CmdletBinding(PositionalBinding = $false)]\n"),
        "{read}"
    );
    // The caller's preference variables reach every cmdlet, as they reach compiled ones.
    assert!(
        read.contains("    begin {\n        [CustomerKey.Native.CallerPreference]::Apply($PSCmdlet, $ExecutionContext.SessionState)\n    }"),
        "{read}"
    );
    assert!(read.contains("    process {\n        Invoke-NativeOperation -Cmdlet $PSCmdlet"));
    assert!(!read.contains("ShouldProcess"), "{read}");

    let medium = one_cmdlet(operation(json!({"ConfirmImpact": "Medium"})));
    assert!(medium.contains("ConfirmImpact = 'Medium'"));
    assert!(
        !medium.contains("$ConfirmPreference"),
        "-Force must not skip a Medium prompt"
    );
}

#[test]
fn wraps_long_help_at_100_columns() {
    let long = "word ".repeat(60);
    let ps = one_cmdlet(operation(json!({"Description": long})));
    let description: Vec<&str> = ps
        .lines()
        .skip_while(|l| *l != "    .DESCRIPTION")
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with('.'))
        .collect();
    assert!(description.len() >= 3, "{description:?}");
    assert!(description
        .iter()
        .all(|l| l.len() <= 100 && l.starts_with("    word")));
}

#[test]
fn refuses_registries_it_cannot_render() {
    let cases = [
        (json!({"ShouldProcess": null}), "no ShouldProcess"),
        (json!({"StateChanging": false}), "read-only"),
        (json!({"Area": "../x"}), "Area"),
        (json!({"Area": "Session"}), "reserved"),
        (json!({"Examples": []}), "at least one example"),
        (json!({"Description": "Uses\n.NET"}), "help keyword"),
        (json!({"Synopsis": "a #> b"}), "#>"),
        (
            json!({"ShouldProcess": {"Target": "{Nope}", "Action": "x"}}),
            "{Nope}",
        ),
        (
            json!({"ShouldProcess": {"Target": "x", "Action": "x", "ActionWhen": [{"Parameter": "Nope", "Action": "y"}]}}),
            "\"Nope\"",
        ),
        (json!({"ConfirmImpact": "Huge"}), "ConfirmImpact"),
        (
            json!({"PowerShell": {"Wait": {"Poll": "Get-Thing", "Activity": "a", "StateProperty": "State", "DoneStates": [], "PercentProperty": "Percent", "Status": "s", "FailedProperty": "JobState", "FailedStates": ["Failed"], "ErrorProperty": "LastError"}}}),
            "DoneStates is empty",
        ),
        (
            json!({"PowerShell": {"Wait": {"Poll": "Get-Thing; rm", "Activity": "a", "StateProperty": "State", "DoneStates": ["Done"], "PercentProperty": "Percent", "Status": "s", "FailedProperty": "JobState", "FailedStates": ["Failed"], "ErrorProperty": "LastError"}}}),
            "not an operation name",
        ),
    ];
    for (extra, needle) in cases {
        let err = generate(&registry(vec![operation(extra.clone())]), &[]).unwrap_err();
        assert!(
            err.contains("'Remove-Thing'") && err.contains(needle),
            "{extra}: {err}"
        );
    }
    let mut missing = operation(json!({}));
    missing.as_object_mut().unwrap().remove("Area");
    let err = generate(&registry(vec![missing]), &[]).unwrap_err();
    assert!(err.contains("Area"), "{err}");
    let empty_extension = operation(json!({"PowerShell": {}}));
    assert!(generate(&registry(vec![empty_extension]), &[]).is_ok());
    let unknown_extension = operation(json!({"PowerShell": {"Sleep": 1}}));
    let err = generate(&registry(vec![unknown_extension]), &[]).unwrap_err();
    assert!(err.contains("Sleep"), "{err}");
    let twice = generate(
        &registry(vec![operation(json!({})), operation(json!({}))]),
        &[],
    );
    assert!(twice.unwrap_err().contains("twice"));
    let clash = generate(
        &registry(vec![operation(json!({}))]),
        &["Remove-CkThing".into()],
    );
    assert!(clash.unwrap_err().contains("hand-written"));
}

#[test]
fn manifest_exports_session_cmdlets_then_registry_order() {
    let second = operation(json!({"Name": "Add-Thing", "Verb": "Add"}));
    let two = registry(vec![operation(json!({})), second]);
    let files = generate(&two, &["Connect-CkService".into()]).unwrap();
    let manifest = &files["CustomerKey.psd1"];
    assert!(manifest.starts_with(HEADER));
    assert!(
        manifest.contains("ModuleVersion        = '1.2.3'"),
        "{manifest}"
    );
    assert!(manifest.contains(
        "    FunctionsToExport    = @(\n        'Connect-CkService',\n        'Remove-CkThing',\n        'Add-CkThing'\n    )"
    ), "{manifest}");
    assert!(manifest::module_version("1.x").is_err());
    let hash = registry_hash(&two);
    assert!(
        manifest.contains(&format!("Hash    = '{hash}'")),
        "{manifest}"
    );
    assert_eq!(hash.len(), 64);
}

#[test]
fn release_notes_are_the_version_section_of_the_changelog() {
    let changelog =
        "# Changelog\nintro\n\n## 1.2.3\n\nNew: it's here.\nSecond line.\n\n## 1.2.2\nOld.\n";
    assert_eq!(
        manifest::release_notes(changelog, "1.2.3"),
        "New: it's here.\nSecond line."
    );
    assert_eq!(manifest::release_notes(changelog, "1.2.2"), "Old.");
    assert!(manifest::release_notes(changelog, "9.9.9").contains("9.9.9"));
    let registry = manifest::Registry {
        version: "1.2.3-beta",
        hash: "abc",
    };
    let rendered = manifest::render("1.2.3", &[], &[], &registry);
    assert!(rendered.contains("ReleaseNotes = "), "{rendered}");
    assert!(
        rendered.contains(
            "CkRegistry = @{\n            Version = '1.2.3-beta'\n            Hash    = 'abc'"
        ),
        "{rendered}"
    );
}

#[test]
fn powershell_version_is_the_first_that_runs_the_interop_assemblys_framework() {
    // PowerShell 7.4 runs on .NET 8, 7.5 on .NET 9, 7.6 on .NET 10: the manifest must not let an
    // older pwsh import a module whose lib/CustomerKey.Native.dll it cannot load.
    let csproj =
        include_str!("../../../../powershell/CustomerKey.Native/CustomerKey.Native.csproj");
    let framework = csproj
        .split("<TargetFramework>")
        .nth(1)
        .and_then(|rest| rest.split("</TargetFramework>").next())
        .expect("CustomerKey.Native.csproj names its TargetFramework");
    let needs = match framework {
        "net8.0" => "7.4",
        "net9.0" => "7.5",
        "net10.0" => "7.6",
        other => panic!("no PowerShell version known for {other}"),
    };
    assert_eq!(manifest::POWERSHELL_VERSION, needs);
    let registry = manifest::Registry {
        version: "1.2.3",
        hash: "abc",
    };
    let rendered = manifest::render("1.2.3", &[], &[], &registry);
    assert!(
        rendered.contains(&format!("PowerShellVersion    = '{needs}'")),
        "{rendered}"
    );
}

#[test]
fn the_real_registry_generates_every_cmdlet() {
    let files = generate(&customer_key::registry().describe(), &[]).unwrap();
    let count = customer_key::registry().operations().len();
    let formats: Vec<&String> = files.keys().filter(|f| f.starts_with("Formats/")).collect();
    assert_eq!(
        formats,
        [
            "Formats/Aip.Format.ps1xml",
            "Formats/Directory.Format.ps1xml",
            "Formats/Exchange.Format.ps1xml",
            "Formats/KeyVault.Format.ps1xml",
            "Formats/Setup.Format.ps1xml",
            "Formats/SharePoint.Format.ps1xml",
        ]
    );
    assert_eq!(files.len(), count + 1 + formats.len());
    assert!(files.contains_key("Public/KeyVault/Get-CkKeyVaultKey.ps1"));
    // Every type an operation returns is shown by exactly one generated view.
    let views = files
        .iter()
        .filter(|(f, _)| f.starts_with("Formats/"))
        .map(|(_, content)| content.matches("<View>").count())
        .sum::<usize>();
    let described = customer_key::registry().describe();
    assert_eq!(views, described["OutputTypes"].as_array().unwrap().len());
    let vault = &files["Formats/KeyVault.Format.ps1xml"];
    assert!(vault.contains("<Label>Soft Delete Retention Period (days)</Label>\n                <PropertyName>SoftDeleteRetentionInDays</PropertyName>"), "{vault}");
    assert!(vault.contains("<ScriptBlock>($_.Tags.GetEnumerator() | Sort-Object -Property Name | ForEach-Object { '{0}={1}' -f $_.Name, $_.Value }) -join ', '</ScriptBlock>"), "{vault}");
    assert!(
        files["Formats/Aip.Format.ps1xml"].contains("<ScriptBlock>($_.Operations | Where-Object Available | ForEach-Object Operation) -join ', '</ScriptBlock>"),
    );
    assert_eq!(
        files,
        generate(&customer_key::registry().describe(), &[]).unwrap()
    );
}

struct Scratch(PathBuf);
impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("ck-psgen-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn write_then_check_finds_every_kind_of_drift() {
    let scratch = Scratch::new("drift");
    let dir = &scratch.0;
    std::fs::create_dir_all(dir.join("Public/Session")).unwrap();
    std::fs::write(dir.join("Public/Session/Connect-CkService.ps1"), "x").unwrap();
    std::fs::create_dir_all(dir.join("Public/Old")).unwrap();
    std::fs::write(dir.join("Public/Old/Get-CkOld.ps1"), "old").unwrap();
    let sessions = session_cmdlets(dir).unwrap();
    assert_eq!(sessions, vec!["Connect-CkService".to_string()]);
    let files = generate(&registry(vec![operation(json!({}))]), &sessions).unwrap();

    let before = drift(dir, &files).unwrap();
    assert_eq!(
        before,
        vec![
            "missing: CustomerKey.psd1",
            "missing: Public/Things/Remove-CkThing.ps1",
            "should not exist: Public/Old/Get-CkOld.ps1",
        ]
    );
    assert_eq!(write(dir, &files).unwrap(), (2, 1));
    assert!(drift(dir, &files).unwrap().is_empty());
    assert!(!dir.join("Public/Old").exists(), "the emptied folder stays");
    assert!(dir.join("Public/Session/Connect-CkService.ps1").exists());
    assert_eq!(write(dir, &files).unwrap(), (0, 0));

    std::fs::write(dir.join("Public/Things/Remove-CkThing.ps1"), "edited").unwrap();
    assert_eq!(
        drift(dir, &files).unwrap(),
        vec!["differs: Public/Things/Remove-CkThing.ps1"]
    );
}

#[test]
fn wait_adds_a_powershell_switch_that_never_reaches_the_engine_and_polls_with_progress() {
    let op = operation(json!({"PowerShell": {"Wait": {
        "Poll": "Get-Thing", "Activity": "Removing the thing", "StateProperty": "State",
        "DoneStates": ["Done", "Gone"], "PercentProperty": "PercentComplete",
        "Status": "{State}: {Done} of {Total}",
        "FailedProperty": "JobState", "FailedStates": ["Failed", "Cancelled"], "ErrorProperty": "LastError"
    }}}));
    let files = generate(&registry(vec![op]), &[]).unwrap();
    let cmdlet = files
        .values()
        .find(|f| f.contains("function Remove-CkThing"))
        .unwrap();
    assert!(cmdlet.contains("    .PARAMETER Wait\n"), "{cmdlet}");
    assert!(cmdlet.contains("        [switch] $Wait\n    )"), "{cmdlet}");
    assert!(cmdlet.contains("$waitForIt = $Wait.IsPresent"));
    assert!(cmdlet.contains("$null = $PSBoundParameters.Remove('Wait')"));
    assert!(cmdlet.contains(
        "Wait-NativeOperation -Cmdlet $PSCmdlet -Operation 'Get-Thing' -Activity 'Removing the thing' -StateProperty 'State' -DoneState @('Done', 'Gone') -PercentProperty 'PercentComplete' -StatusFormat '{0}: {1} of {2}' -StatusProperty @('State', 'Done', 'Total') -FailedProperty 'JobState' -FailedState @('Failed', 'Cancelled') -ErrorProperty 'LastError'"
    ), "{cmdlet}");
    // The switch is taken out before the native call, inside ShouldProcess.
    let remove = cmdlet.find("Remove('Wait')").unwrap();
    let call = cmdlet.find("Invoke-NativeOperation").unwrap();
    assert!(remove < call);
}

/// A read-only operation a preview may call.
fn preview_operation() -> Value {
    operation(json!({
        "Name": "Get-ThingImpact", "Verb": "Get", "Noun": "ThingImpact",
        "StateChanging": false, "ConfirmImpact": "None", "ShouldProcess": null,
    }))
}

#[test]
fn impact_preview_asks_the_engine_before_should_process_and_only_when_false_if_told() {
    let op = operation(json!({"PowerShell": {"ImpactPreview": {
        "Operation": "Get-ThingImpact", "Parameters": ["Name", "Version"]
    }}}));
    let files = generate(&registry(vec![op, preview_operation()]), &[]).unwrap();
    let cmdlet = &files["Public/Things/Remove-CkThing.ps1"];
    let preview = cmdlet
        .find("$impact = Get-NativeChangeImpact -Cmdlet $PSCmdlet -Operation 'Get-ThingImpact' -BoundParameters $PSBoundParameters -Parameters @('Name', 'Version')")
        .unwrap_or_else(|| panic!("{cmdlet}"));
    assert!(cmdlet.contains(
        "$shouldProcessAction = '{0} (still needed by {1})' -f $shouldProcessAction, $impact"
    ));
    // After the action is chosen, before ShouldProcess uses it.
    assert!(
        cmdlet.find("$shouldProcessAction = (\"Purge").unwrap() < preview,
        "{cmdlet}"
    );
    assert!(preview < cmdlet.find("$PSCmdlet.ShouldProcess(").unwrap());

    let mut op = operation(json!({"PowerShell": {"ImpactPreview": {
        "Operation": "Get-ThingImpact", "Parameters": ["Name"], "WhenFalse": "Enable"
    }}}));
    op["Parameters"]
        .as_array_mut()
        .unwrap()
        .push(json!({"Name": "Enable", "PowerShellType": "bool", "HelpMessage": "On or off"}));
    let files = generate(&registry(vec![op, preview_operation()]), &[]).unwrap();
    let cmdlet = &files["Public/Things/Remove-CkThing.ps1"];
    assert!(cmdlet.contains(
        "        if ($PSBoundParameters.ContainsKey('Enable') -and -not $PSBoundParameters['Enable']) {\n            $impact = Get-NativeChangeImpact"
    ), "{cmdlet}");
}

#[test]
fn impact_previews_and_questions_that_cannot_work_are_refused() {
    let preview = |p: Value| operation(json!({"PowerShell": {"ImpactPreview": p}}));
    let cases = [
        (
            vec![preview(
                json!({"Operation": "Get-Nope", "Parameters": ["Name"]}),
            )],
            "is not an operation",
        ),
        (
            vec![
                preview(json!({"Operation": "Add-Thing", "Parameters": ["Name"]})),
                operation(json!({"Name": "Add-Thing", "Verb": "Add"})),
            ],
            "changes state",
        ),
        (
            vec![
                preview(json!({"Operation": "Get-ThingImpact", "Parameters": ["Nope"]})),
                preview_operation(),
            ],
            "\"Nope\"",
        ),
        (
            vec![preview(
                json!({"Operation": "Get-ThingImpact", "Parameters": ["Name"], "WhenFalse": "Purge"}),
            )],
            "not a bool parameter",
        ),
        (
            vec![operation(
                json!({"PowerShell": {"ContinueWhen": {"Parameter": "Name", "Query": "Sure?"}}}),
            )],
            "not a switch",
        ),
        (
            vec![operation(
                json!({"PowerShell": {"ContinueWhen": {"Parameter": "Purge", "Query": "Purge {Nope}?"}}}),
            )],
            "{Nope}",
        ),
    ];
    for (ops, needle) in cases {
        let err = generate(&registry(ops), &[]).unwrap_err();
        assert!(err.contains(needle), "{needle}: {err}");
    }
}

#[test]
fn continue_when_asks_should_continue_inside_should_process_unless_force() {
    let op = operation(json!({"PowerShell": {"ContinueWhen": {
        "Parameter": "Purge", "Query": "Purge '{Name}' for good?"
    }}}));
    let cmdlet = one_cmdlet(op);
    let should_process = cmdlet.find("if ($PSCmdlet.ShouldProcess(").unwrap();
    let question = cmdlet
        .find("if (($PSBoundParameters.ContainsKey('Purge') -and $PSBoundParameters['Purge'].IsPresent) -and -not ($PSBoundParameters.ContainsKey('Force') -and $PSBoundParameters['Force'].IsPresent)) {\n                if (-not $PSCmdlet.ShouldContinue((\"Purge '{0}' for good?\" -f $PSBoundParameters['Name']), $shouldProcessTarget)) {\n                    return")
        .unwrap_or_else(|| panic!("{cmdlet}"));
    let call = cmdlet.find("Invoke-NativeOperation").unwrap();
    assert!(should_process < question && question < call, "{cmdlet}");
}

/// An output type `CustomerKey.Thing` (what `operation()` returns) with `view` as its default.
fn thing_type(view: Value) -> Value {
    json!({
        "Name": "CustomerKey.Thing",
        "Properties": [
            {"Name": "Name", "Type": "string"},
            {"Name": "Created", "Type": "datetime"},
            {"Name": "Tags", "Type": "hashtable"},
            {"Name": "Versions", "Type": "array"},
            {"Name": "Health", "Type": "array"}
        ],
        "DefaultView": view
    })
}

fn registry_with_types(types: Vec<Value>) -> Value {
    json!({"Version": "1.2.3", "Operations": [operation(json!({}))], "OutputTypes": types})
}

fn table(columns: Value) -> Value {
    json!({"Control": "Table", "GroupBy": null, "Columns": columns})
}

fn column(property: &str) -> Value {
    json!({"Property": property, "Label": property, "Width": null, "Format": "Value", "Select": null, "Only": null})
}

#[test]
fn views_are_generated_per_area_with_labels_widths_and_formats_and_listed_in_the_manifest() {
    let mut name = column("Name");
    name["Label"] = json!("Thing <name> & more");
    name["Width"] = json!(24);
    let view = json!({"Control": "Table", "GroupBy": "Name", "Columns": [
        name,
        column("Created"),
        {"Property": "Versions", "Label": "Enabled versions", "Format": "Join", "Select": "Version", "Only": "Enabled"},
        {"Property": "Tags", "Label": "Tags", "Format": "Pairs"},
        {"Property": "Health", "Label": "Health", "Format": "Script", "Script": "$_.Health.Count"}
    ]});
    let registry = registry_with_types(vec![thing_type(view)]);
    let files = generate(&registry, &[]).unwrap();
    let xml = &files["Formats/Things.Format.ps1xml"];
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- Generated by 'customer-key generate-powershell' from the operation registry. Do not edit. -->\n"), "{xml}");
    for expected in [
        "      <ViewSelectedBy>\n        <TypeName>CustomerKey.Thing</TypeName>\n      </ViewSelectedBy>\n      <GroupBy>\n        <PropertyName>Name</PropertyName>\n      </GroupBy>\n      <TableControl>",
        "            <Label>Thing &lt;name&gt; &amp; more</Label>\n            <Width>24</Width>\n",
        "            <Label>Created</Label>\n          </TableColumnHeader>",
        "<PropertyName>Created</PropertyName>",
        "<ScriptBlock>($_.Versions | Where-Object Enabled | ForEach-Object Version) -join ', '</ScriptBlock>",
        "<ScriptBlock>($_.Tags.GetEnumerator() | Sort-Object -Property Name | ForEach-Object { '{0}={1}' -f $_.Name, $_.Value }) -join ', '</ScriptBlock>",
        "<ScriptBlock>$_.Health.Count</ScriptBlock>",
    ] {
        assert!(xml.contains(expected), "{expected}\n---\n{xml}");
    }
    // Columns keep the registry's order.
    let created = xml.find("<PropertyName>Created").unwrap();
    let name_item = xml
        .find("<PropertyName>Name</PropertyName>\n              </TableColumnItem>")
        .unwrap();
    assert!(name_item < created);
    assert!(
        files["CustomerKey.psd1"].contains(
            "FormatsToProcess     = @('CustomerKey.Format.ps1xml', 'Formats/Things.Format.ps1xml')"
        ),
        "{}",
        files["CustomerKey.psd1"]
    );
    // The same registry, the same bytes.
    assert_eq!(files, generate(&registry, &[]).unwrap());

    let list = json!({"Control": "List", "Columns": [{"Property": "Name", "Label": "Thing Name", "Format": "Value"}]});
    let files = generate(&registry_with_types(vec![thing_type(list)]), &[]).unwrap();
    let xml = &files["Formats/Things.Format.ps1xml"];
    assert!(xml.contains("      <ListControl>\n        <ListEntries>\n          <ListEntry>\n            <ListItems>\n              <ListItem>\n                <Label>Thing Name</Label>\n                <PropertyName>Name</PropertyName>\n              </ListItem>"), "{xml}");
    assert!(!xml.contains("GroupBy"), "{xml}");
}

#[test]
fn views_that_show_what_the_type_does_not_declare_are_refused() {
    let refused = |view: Value, rule: &str| {
        let e = generate(&registry_with_types(vec![thing_type(view)]), &[]).unwrap_err();
        assert!(
            e.contains("registry output type 'CustomerKey.Thing'"),
            "{e}"
        );
        assert!(e.contains(rule), "{rule} not in: {e}");
    };
    refused(
        table(json!([column("Name"), column("Owner")])),
        "DefaultView.Columns[1].Property \"Owner\" is not a declared property of the type",
    );
    refused(Value::Null, "has no DefaultView");
    refused(table(json!([])), "DefaultView.Columns is empty");
    refused(
        table(json!([column("Name"), column("Name")])),
        "is shown twice",
    );
    refused(
        json!({"Control": "Table", "GroupBy": "Owner", "Columns": [column("Name")]}),
        "DefaultView.GroupBy \"Owner\" is not a declared property",
    );
    refused(
        table(json!([{"Property": "Health", "Format": "Script", "Script": "$_.Other"}])),
        "Script does not read $_.Health",
    );
    refused(
        table(json!([{"Property": "Name", "Format": "Value", "Select": "Length"}])),
        "Select belongs to Format \"Join\" only",
    );
    refused(
        json!({"Control": "List", "Columns": [{"Property": "Name", "Format": "Value", "Width": 10}]}),
        "only in a Table",
    );
    refused(
        table(json!([{"Property": "Name", "Format": "Value", "Colour": "red"}])),
        "unknown field",
    );
    let mut odd = thing_type(table(json!([column("Name")])));
    odd["Properties"][0]["Type"] = json!("decimal");
    let e = generate(&registry_with_types(vec![odd]), &[]).unwrap_err();
    assert!(
        e.contains("property Name: Type \"decimal\" is not one of"),
        "{e}"
    );
    // A described type no operation returns has no area to be shown in.
    let mut other = thing_type(table(json!([column("Name")])));
    other["Name"] = json!("CustomerKey.Other");
    let e = generate(
        &registry_with_types(vec![thing_type(table(json!([column("Name")]))), other]),
        &[],
    )
    .unwrap_err();
    assert!(
        e.contains("'CustomerKey.Other': no operation returns it"),
        "{e}"
    );
}

#[test]
fn check_finds_a_hand_written_or_edited_format_file() {
    let scratch = Scratch::new("formats");
    let dir = &scratch.0;
    let registry = registry_with_types(vec![thing_type(table(json!([column("Name")])))]);
    let files = generate(&registry, &[]).unwrap();
    std::fs::create_dir_all(dir.join("Formats")).unwrap();
    std::fs::write(dir.join("Formats/Old.Format.ps1xml"), "<Configuration/>").unwrap();
    std::fs::write(dir.join("CustomerKey.Format.ps1xml"), "hand-written").unwrap();
    assert_eq!(
        drift(dir, &files).unwrap(),
        vec![
            "missing: CustomerKey.psd1",
            "missing: Formats/Things.Format.ps1xml",
            "missing: Public/Things/Remove-CkThing.ps1",
            "should not exist: Formats/Old.Format.ps1xml",
        ]
    );
    assert_eq!(write(dir, &files).unwrap(), (3, 1));
    assert!(drift(dir, &files).unwrap().is_empty());
    assert!(
        dir.join("CustomerKey.Format.ps1xml").exists(),
        "the session views stay"
    );
    std::fs::write(dir.join("Formats/Things.Format.ps1xml"), "edited").unwrap();
    assert_eq!(
        drift(dir, &files).unwrap(),
        vec!["differs: Formats/Things.Format.ps1xml"]
    );
}
