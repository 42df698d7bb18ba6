//! The registry as the generator reads it: the JSON `ck_describe` returns, and nothing from the
//! Rust declarations behind it. Unknown fields are ignored, so the registry may grow.

use super::text::{self, Piece};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Operation {
    pub name: String,
    pub verb: String,
    pub noun: String,
    pub synopsis: String,
    pub output_type: String,
    #[serde(default)]
    pub output_type_when: Option<OutputTypeWhen>,
    pub state_changing: bool,
    pub confirm_impact: String,
    #[serde(default)]
    pub default_parameter_set_name: Option<String>,
    pub parameters: Vec<Parameter>,
    pub area: String,
    pub description: String,
    #[serde(default)]
    pub examples: Vec<Example>,
    #[serde(default)]
    pub should_process: Option<ShouldProcess>,
    /// Many pipeline inputs go to the engine in one call (a read; see ck_call's documentation).
    #[serde(default)]
    pub batch: bool,
    /// Behaviour written in PowerShell around the native call. Unknown members are refused
    /// rather than ignored.
    #[serde(default, rename = "PowerShell")]
    pub power_shell: Option<PowerShellExtension>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PowerShellExtension {
    #[serde(default)]
    pub wait: Option<Wait>,
    #[serde(default)]
    pub impact_preview: Option<ImpactPreview>,
    #[serde(default)]
    pub continue_when: Option<ContinueWhen>,
}

/// A read-only operation called before ShouldProcess with the given `parameters` that were
/// bound; its `Impact`, when `InUse`, is added to the ShouldProcess action. With `when_false`,
/// only when that boolean parameter was given as `$false`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ImpactPreview {
    pub operation: String,
    pub parameters: Vec<String>,
    #[serde(default)]
    pub when_false: Option<String>,
}

/// ShouldContinue with `query` when the switch `parameter` is on, unless -Force is.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ContinueWhen {
    pub parameter: String,
    pub query: String,
}

/// `-Wait`: poll `poll` until `state_property` is one of `done_states`, with Write-Progress.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Wait {
    pub poll: String,
    pub activity: String,
    pub state_property: String,
    pub done_states: Vec<String>,
    pub percent_property: String,
    /// `{Property}` placeholders name the polled object's properties.
    pub status: String,
    /// The wait fails, with `error_property` as the message, when this property is one of
    /// `failed_states`.
    pub failed_property: String,
    pub failed_states: Vec<String>,
    pub error_property: String,
    /// The poll's parameters, each taken from a property of the object the cmdlet returned.
    #[serde(default)]
    pub poll_parameters: Vec<PollParameter>,
}

/// One parameter of a `-Wait` poll: `parameter` gets the returned object's `property`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PollParameter {
    pub parameter: String,
    pub property: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OutputTypeWhen {
    pub output_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    pub name: String,
    pub power_shell_type: String,
    #[serde(default)]
    pub mandatory: bool,
    #[serde(default)]
    pub allowed_values: Vec<String>,
    #[serde(default)]
    pub range: Option<[i64; 2]>,
    #[serde(default)]
    pub value_from_pipeline_by_property_name: bool,
    #[serde(default)]
    pub is_path: bool,
    #[serde(default)]
    pub help_message: String,
    #[serde(default)]
    pub parameter_sets: Vec<SetMembership>,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub value_from_pipeline: bool,
    #[serde(default)]
    pub position: Option<u8>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetMembership {
    pub name: String,
    #[serde(default)]
    pub mandatory: bool,
    /// Pipeline binding in this set; absent (an older library): the parameter's own.
    #[serde(default)]
    pub value_from_pipeline_by_property_name: Option<bool>,
    #[serde(default)]
    pub value_from_pipeline: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Example {
    pub code: String,
    #[serde(default)]
    pub remarks: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ShouldProcess {
    pub target: String,
    pub action: String,
    #[serde(default)]
    pub action_when: Vec<ActionWhen>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ActionWhen {
    pub parameter: String,
    pub action: String,
}

/// The folder of the hand-written session cmdlets, which no operation may generate into.
pub const SESSION_AREA: &str = "Session";

impl Operation {
    pub fn cmdlet_name(&self) -> String {
        format!("{}-Ck{}", self.verb, self.noun)
    }

    pub fn parameter(&self, name: &str) -> Option<&Parameter> {
        self.parameters.iter().find(|p| p.name == name)
    }

    /// The `-Wait` extension, when the operation declares one.
    pub fn wait(&self) -> Option<&Wait> {
        self.power_shell.as_ref().and_then(|e| e.wait.as_ref())
    }
    pub fn impact_preview(&self) -> Option<&ImpactPreview> {
        self.power_shell
            .as_ref()
            .and_then(|e| e.impact_preview.as_ref())
    }
    pub fn continue_when(&self) -> Option<&ContinueWhen> {
        self.power_shell
            .as_ref()
            .and_then(|e| e.continue_when.as_ref())
    }
}

impl Parameter {
    pub fn is_switch(&self) -> bool {
        self.power_shell_type.eq_ignore_ascii_case("switch")
    }

    pub fn is_array(&self) -> bool {
        self.power_shell_type.ends_with("[]")
    }
}

/// Reads the operations of a registry, each checked so that what the generator writes is valid
/// PowerShell; the error names the operation, the field and the rule.
pub fn operations(registry: &Value) -> Result<Vec<Operation>, String> {
    let list = registry
        .get("Operations")
        .and_then(Value::as_array)
        .ok_or("the registry has no \"Operations\" array")?;
    let mut out: Vec<Operation> = Vec::new();
    for (index, value) in list.iter().enumerate() {
        let label = value
            .get("Name")
            .and_then(Value::as_str)
            .map_or_else(|| format!("#{index}"), |n| format!("'{n}'"));
        let op: Operation = serde_json::from_value(value.clone())
            .map_err(|e| format!("registry operation {label}: {e}"))?;
        check(&op).map_err(|e| format!("registry operation {label}: {e}"))?;
        if out.iter().any(|o| o.cmdlet_name() == op.cmdlet_name()) {
            return Err(format!(
                "registry operation {label}: cmdlet {} is generated twice",
                op.cmdlet_name()
            ));
        }
        out.push(op);
    }
    for op in &out {
        let Some(preview) = op.impact_preview() else {
            continue;
        };
        let label = format!("registry operation '{}': PowerShell.ImpactPreview", op.name);
        let target = out
            .iter()
            .find(|o| o.name == preview.operation)
            .ok_or_else(|| {
                format!(
                    "{label}.Operation {:?} is not an operation",
                    preview.operation
                )
            })?;
        if target.state_changing {
            return Err(format!(
                "{label}.Operation {:?} changes state: a preview must only read",
                target.name
            ));
        }
        if let Some(name) = preview
            .parameters
            .iter()
            .find(|n| target.parameter(n).is_none())
        {
            return Err(format!(
                "{label}.Parameters: {:?} is not a parameter of {}",
                name, target.name
            ));
        }
    }
    Ok(out)
}

fn identifier(field: &str, value: &str) -> Result<(), String> {
    if text::is_identifier(value) {
        Ok(())
    } else {
        Err(format!(
            "{field} {value:?} must be an ASCII letter followed by ASCII letters and digits"
        ))
    }
}

/// Help text PowerShell would misread: a line starting with '.' reads as a help keyword (an
/// unknown one voids the whole help block) and "#>" ends the help comment.
fn help_text(field: &str, value: &str) -> Result<(), String> {
    if value.contains("#>") {
        return Err(format!(
            "{field} must not contain \"#>\", which ends the help comment"
        ));
    }
    if value.lines().any(|l| l.trim_start().starts_with('.')) {
        return Err(format!(
            "{field}: no line may start with '.', which PowerShell reads as a help keyword"
        ));
    }
    Ok(())
}

fn check(op: &Operation) -> Result<(), String> {
    identifier("Verb", &op.verb)?;
    identifier("Noun", &op.noun)?;
    identifier("Area", &op.area)?;
    if op.name != format!("{}-{}", op.verb, op.noun) {
        return Err(format!(
            "Name must be Verb-Noun ('{}-{}')",
            op.verb, op.noun
        ));
    }
    if op.area.eq_ignore_ascii_case(SESSION_AREA) {
        return Err(format!(
            "Area {SESSION_AREA:?} is reserved for the hand-written session cmdlets"
        ));
    }
    if !["None", "Low", "Medium", "High"].contains(&op.confirm_impact.as_str()) {
        return Err(format!(
            "ConfirmImpact {:?} must be None, Low, Medium or High",
            op.confirm_impact
        ));
    }
    if op.synopsis.trim().is_empty() {
        return Err("Synopsis must not be empty".into());
    }
    help_text("Synopsis", &op.synopsis)?;
    help_text("Description", &op.description)?;
    if op.examples.is_empty() {
        return Err("Examples must hold at least one example".into());
    }
    for (i, example) in op.examples.iter().enumerate() {
        if example.code.trim().is_empty() {
            return Err(format!("Examples[{i}].Code must not be empty"));
        }
        help_text(&format!("Examples[{i}].Code"), &example.code)?;
        help_text(&format!("Examples[{i}].Remarks"), &example.remarks)?;
    }
    for p in &op.parameters {
        identifier("parameter Name", &p.name)?;
        let ty = p
            .power_shell_type
            .strip_suffix("[]")
            .unwrap_or(&p.power_shell_type);
        if !ty.split('.').all(text::is_identifier) {
            return Err(format!(
                "parameter {}: PowerShellType {:?} is not a type name",
                p.name, p.power_shell_type
            ));
        }
        for set in &p.parameter_sets {
            identifier(
                &format!("parameter {}: ParameterSets Name", p.name),
                &set.name,
            )?;
        }
        for alias in &p.aliases {
            identifier(&format!("parameter {}: alias", p.name), alias)?;
        }
        help_text(
            &format!("parameter {}: HelpMessage", p.name),
            &p.help_message,
        )?;
    }
    if let Some(wait) = op.wait() {
        if op.parameter("Wait").is_some() {
            return Err("declares -Wait in PowerShell and has a Wait parameter too".into());
        }
        identifier("PowerShell.Wait.StateProperty", &wait.state_property)?;
        identifier("PowerShell.Wait.PercentProperty", &wait.percent_property)?;
        identifier("PowerShell.Wait.FailedProperty", &wait.failed_property)?;
        identifier("PowerShell.Wait.ErrorProperty", &wait.error_property)?;
        for p in &wait.poll_parameters {
            identifier("PowerShell.Wait.PollParameters: Parameter", &p.parameter)?;
            identifier("PowerShell.Wait.PollParameters: Property", &p.property)?;
        }
        if wait.poll.split('-').count() != 2
            || !wait
                .poll
                .split('-')
                .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return Err(format!(
                "PowerShell.Wait.Poll {:?} is not an operation name",
                wait.poll
            ));
        }
        if wait.done_states.is_empty() {
            return Err("PowerShell.Wait.DoneStates is empty: the wait would never end".into());
        }
        for piece in super::text::placeholders(&wait.status) {
            if let super::text::Piece::Parameter(name) = piece {
                identifier("PowerShell.Wait.Status placeholder", name)?;
            }
        }
    }
    if let Some(set) = &op.default_parameter_set_name {
        identifier("DefaultParameterSetName", set)?;
    }
    check_impact_preview_and_continue(op)?;
    if op.batch && (op.state_changing || op.wait().is_some() || op.power_shell.is_some()) {
        // A batch's inputs are sent together: nothing may run per input around the call.
        return Err(
            "is batched (Batch) but changes state or has PowerShell behaviour around the call"
                .into(),
        );
    }
    match (&op.should_process, op.state_changing) {
        (None, true) => Err("changes state (StateChanging) but has no ShouldProcess".into()),
        (Some(_), false) => {
            Err("is read-only (StateChanging false) but has a ShouldProcess".into())
        }
        (None, false) => Ok(()),
        (Some(sp), true) => {
            check_placeholders(op, "ShouldProcess.Target", &sp.target)?;
            check_placeholders(op, "ShouldProcess.Action", &sp.action)?;
            for (i, when) in sp.action_when.iter().enumerate() {
                if op.parameter(&when.parameter).is_none() {
                    return Err(format!(
                        "ShouldProcess.ActionWhen[{i}].Parameter {:?} is not a parameter of the operation",
                        when.parameter
                    ));
                }
                check_placeholders(
                    op,
                    &format!("ShouldProcess.ActionWhen[{i}].Action"),
                    &when.action,
                )?;
            }
            Ok(())
        }
    }
}

/// The preview's and the question's parameters exist with the types the generated code
/// assumes, and both belong to a cmdlet that asks ShouldProcess. (That the preview operation
/// exists and reads only is checked against the whole registry, in `operations`.)
fn check_impact_preview_and_continue(op: &Operation) -> Result<(), String> {
    if let Some(preview) = op.impact_preview() {
        if op.should_process.is_none() {
            return Err("has PowerShell.ImpactPreview but no ShouldProcess".into());
        }
        for name in &preview.parameters {
            if op.parameter(name).is_none() {
                return Err(format!(
                    "PowerShell.ImpactPreview.Parameters: {name:?} is not a parameter of the operation"
                ));
            }
        }
        if let Some(name) = &preview.when_false {
            if op.parameter(name).map(|p| p.power_shell_type.as_str()) != Some("bool") {
                return Err(format!(
                    "PowerShell.ImpactPreview.WhenFalse: {name:?} is not a bool parameter of the operation"
                ));
            }
        }
    }
    if let Some(question) = op.continue_when() {
        if op.should_process.is_none() {
            return Err("has PowerShell.ContinueWhen but no ShouldProcess".into());
        }
        if !op
            .parameter(&question.parameter)
            .is_some_and(|p| p.is_switch())
        {
            return Err(format!(
                "PowerShell.ContinueWhen.Parameter {:?} is not a switch of the operation",
                question.parameter
            ));
        }
        if !op.parameter("Force").is_some_and(|p| p.is_switch()) {
            return Err(
                "has PowerShell.ContinueWhen but no -Force switch to skip the question".into(),
            );
        }
        check_placeholders(op, "PowerShell.ContinueWhen.Query", &question.query)?;
    }
    Ok(())
}

fn check_placeholders(op: &Operation, field: &str, value: &str) -> Result<(), String> {
    for piece in text::placeholders(value) {
        if let Piece::Parameter(name) = piece {
            if op.parameter(name).is_none() {
                return Err(format!(
                    "{field}: placeholder {{{name}}} is not a parameter of the operation"
                ));
            }
        }
    }
    Ok(())
}
