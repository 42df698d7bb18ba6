//! One operation's cmdlet: an advanced function in its own file, help first, then the
//! declaration PowerShell binds with, then a `process {}` block that asks ShouldProcess and
//! hands `$PSBoundParameters` to the private `Invoke-NativeOperation`.

use super::registry::{ContinueWhen, ImpactPreview, Operation, Parameter, ShouldProcess, Wait};
use super::text::{self, quote, Piece};
use super::HEADER;

/// Help text is wrapped so that lines stay within this many columns, indentation included.
const WIDTH: usize = 100;
const HELP_INDENT: &str = "    ";
const BODY_INDENT: &str = "        ";
/// The switch that overrides the engine's guard against removing what a policy still needs.
const ACCEPT_DATA_LOSS: &str = "AcceptDataLoss";
/// -ResourceId of Az.KeyVault's ResourceId parameter sets, which stands for -VaultName.
const RESOURCE_ID: &str = "ResourceId";
const WAIT_HELP: &str = "Wait until the work is done, showing its progress";
const WAIT_HELP_TEXT: &str = "Waits until the background work this starts is done, showing its progress with Write-Progress, then emits the final object. Without -Wait the cmdlet returns at once, as Microsoft's does.";

pub fn render(op: &Operation) -> String {
    let mut out = Lines::default();
    out.push(HEADER);
    out.push(&format!("function {} {{", op.cmdlet_name()));
    help(op, &mut out);
    declaration(op, &mut out);
    out.push("");
    process_block(op, &mut out);
    out.push("}");
    out.finish()
}

#[derive(Default)]
struct Lines(Vec<String>);

impl Lines {
    fn push(&mut self, line: &str) {
        self.0.push(line.trim_end().to_string());
    }
    fn push_wrapped(&mut self, indent: &str, text: &str) {
        for line in text::wrap(text, WIDTH - indent.len()) {
            self.push(&format!("{indent}{line}"));
        }
    }
    fn finish(self) -> String {
        let mut s = self.0.join("\n");
        s.push('\n');
        s
    }
}

fn help(op: &Operation, out: &mut Lines) {
    let i = HELP_INDENT;
    out.push(&format!("{i}<#"));
    out.push(&format!("{i}.SYNOPSIS"));
    out.push_wrapped(i, &op.synopsis);
    if !op.description.trim().is_empty() {
        out.push(&format!("{i}.DESCRIPTION"));
        out.push_wrapped(i, &op.description);
    }
    for p in &op.parameters {
        out.push(&format!("{i}.PARAMETER {}", p.name));
        out.push_wrapped(i, &parameter_help(p));
    }
    if op.wait().is_some() {
        out.push(&format!("{i}.PARAMETER Wait"));
        out.push_wrapped(i, WAIT_HELP_TEXT);
    }
    for example in &op.examples {
        out.push(&format!("{i}.EXAMPLE"));
        // Code stays as written: wrapping would change what it does.
        for line in example
            .code
            .replace("\r\n", "\n")
            .trim_matches('\n')
            .split('\n')
        {
            out.push(&format!("{i}{line}"));
        }
        if !example.remarks.trim().is_empty() {
            // PowerShell takes the example's code up to the first blank line.
            out.push("");
            out.push_wrapped(i, &example.remarks);
        }
    }
    out.push(&format!("{i}.OUTPUTS"));
    for ty in output_types(op) {
        out.push(&format!("{i}{ty}"));
    }
    if output_types(op).is_empty() {
        out.push(&format!("{i}None"));
    }
    out.push(&format!("{i}#>"));
}

/// The .PARAMETER text: the registry's HelpMessage as a sentence, and what the module does
/// with the value when that is not obvious from the type.
fn parameter_help(p: &Parameter) -> String {
    let mut help = p.help_message.trim().to_string();
    if help.is_empty() {
        help = format!("The {} parameter", p.name);
    }
    if !help.ends_with(['.', '!', '?']) {
        help.push('.');
    }
    if p.is_path {
        help.push_str(" Relative paths are resolved against the current PowerShell location.");
    }
    help
}

fn output_types(op: &Operation) -> Vec<&str> {
    let mut types = Vec::new();
    if op.output_type != "None" && !op.output_type.is_empty() {
        types.push(op.output_type.as_str());
    }
    if let Some(when) = &op.output_type_when {
        if !types.contains(&when.output_type.as_str()) {
            types.push(when.output_type.as_str());
        }
    }
    types
}

fn declaration(op: &Operation, out: &mut Lines) {
    // Positions only where the registry declares them, as Microsoft's cmdlets do: without this,
    // PowerShell would make every parameter positional in declaration order.
    let mut binding = vec!["PositionalBinding = $false".to_string()];
    if let Some(set) = &op.default_parameter_set_name {
        binding.push(format!("DefaultParameterSetName = {}", quote(set)));
    }
    if op.state_changing {
        binding.push("SupportsShouldProcess".to_string());
        binding.push(format!("ConfirmImpact = {}", quote(&op.confirm_impact)));
    }
    out.push(&format!(
        "{HELP_INDENT}[CmdletBinding({})]",
        binding.join(", ")
    ));
    let types = output_types(op);
    if !types.is_empty() {
        let list: Vec<String> = types.iter().map(|t| quote(t)).collect();
        out.push(&format!("{HELP_INDENT}[OutputType({})]", list.join(", ")));
    }
    out.push(&format!("{HELP_INDENT}param("));
    let has_wait = op.wait().is_some();
    for (index, p) in op.parameters.iter().enumerate() {
        if index > 0 {
            out.push("");
        }
        parameter(p, index + 1 == op.parameters.len() && !has_wait, out);
    }
    if has_wait {
        // PowerShell's own: the engine never sees it (the process block takes it out).
        if !op.parameters.is_empty() {
            out.push("");
        }
        out.push(&format!(
            "{BODY_INDENT}[Parameter(HelpMessage = {})]",
            quote(WAIT_HELP)
        ));
        out.push(&format!("{BODY_INDENT}[switch] $Wait"));
    }
    out.push(&format!("{HELP_INDENT})"));
}

fn parameter(p: &Parameter, last: bool, out: &mut Lines) {
    let i = BODY_INDENT;
    // One [Parameter()] per set the parameter belongs to; none named means every set.
    // Pipeline binding may differ by set (Az's ResourceId sets bind only -ResourceId).
    let sets: Vec<(Option<&str>, bool, bool, bool)> = if p.parameter_sets.is_empty() {
        vec![(
            None,
            p.mandatory,
            p.value_from_pipeline,
            p.value_from_pipeline_by_property_name,
        )]
    } else {
        p.parameter_sets
            .iter()
            .map(|s| {
                (
                    Some(s.name.as_str()),
                    s.mandatory,
                    s.value_from_pipeline.unwrap_or(p.value_from_pipeline),
                    s.value_from_pipeline_by_property_name
                        .unwrap_or(p.value_from_pipeline_by_property_name),
                )
            })
            .collect()
    };
    for (set, mandatory, by_value, by_property_name) in sets {
        let mut args = Vec::new();
        if let Some(set) = set {
            args.push(format!("ParameterSetName = {}", quote(set)));
        }
        if mandatory {
            args.push("Mandatory".to_string());
        }
        if let Some(position) = p.position {
            args.push(format!("Position = {position}"));
        }
        if by_value {
            args.push("ValueFromPipeline".to_string());
        }
        if by_property_name {
            args.push("ValueFromPipelineByPropertyName".to_string());
        }
        if !p.help_message.is_empty() {
            args.push(format!("HelpMessage = {}", quote(&p.help_message)));
        }
        out.push(&format!("{i}[Parameter({})]", args.join(", ")));
    }
    if !p.aliases.is_empty() {
        let list: Vec<String> = p.aliases.iter().map(|a| quote(a)).collect();
        out.push(&format!("{i}[Alias({})]", list.join(", ")));
    }
    if !p.allowed_values.is_empty() {
        let list: Vec<String> = p.allowed_values.iter().map(|v| quote(v)).collect();
        out.push(&format!("{i}[ValidateSet({})]", list.join(", ")));
    }
    if let Some([low, high]) = p.range {
        out.push(&format!("{i}[ValidateRange({low}, {high})]"));
    }
    let comma = if last { "" } else { "," };
    out.push(&format!("{i}[{}] ${}{comma}", p.power_shell_type, p.name));
}

/// The body. A registry extension run in PowerShell (say, waiting on a returned job) would add
/// its lines around the native call here, keyed by a per-operation registry field.
fn process_block(op: &Operation, out: &mut Lines) {
    let i = BODY_INDENT;
    let call = format!(
        "Invoke-NativeOperation -Cmdlet $PSCmdlet -Operation {} -BoundParameters $PSBoundParameters",
        quote(&op.name)
    );
    // The caller's $ErrorActionPreference, $WhatIfPreference, ... as a compiled cmdlet would
    // see them: a script module's function otherwise sees only its module's and the global ones.
    out.push(&format!("{HELP_INDENT}begin {{"));
    out.push(&format!(
        "{i}[CustomerKey.Native.CallerPreference]::Apply($PSCmdlet, $ExecutionContext.SessionState)"
    ));
    if op.batch {
        batch_blocks(op, out);
        return;
    }
    out.push(&format!("{HELP_INDENT}}}"));
    out.push("");
    out.push(&format!("{HELP_INDENT}process {{"));
    if op.wait().is_some() {
        // Read from the variable, which stays bound for every pipeline item, then keep the
        // switch away from the engine.
        out.push(&format!("{i}$waitForIt = $Wait.IsPresent"));
        out.push(&format!("{i}$null = $PSBoundParameters.Remove('Wait')"));
    }
    match &op.should_process {
        None => call_lines(op, &call, i, out),
        Some(sp) => {
            should_process(op, sp, out);
            out.push(&format!(
                "{i}if ($PSCmdlet.ShouldProcess($shouldProcessTarget, $shouldProcessAction)) {{"
            ));
            if let Some(question) = op.continue_when() {
                continue_question(op, question, &format!("{i}    "), out);
            }
            call_lines(op, &call, &format!("{i}    "), out);
            out.push(&format!("{i}}}"));
        }
    }
    out.push(&format!("{HELP_INDENT}}}"));
}

/// A batched read: each pipeline input joins the batch, which goes to the engine as one call
/// when full and at the end (the begin block is open when this is called).
fn batch_blocks(op: &Operation, out: &mut Lines) {
    let i = BODY_INDENT;
    let name = quote(&op.name);
    out.push(&format!(
        "{i}$batch = [CustomerKey.Native.CallBatch]::new($PSCmdlet, {name}, $script:CkPlans[{name}])"
    ));
    out.push(&format!("{HELP_INDENT}}}"));
    out.push("");
    out.push(&format!("{HELP_INDENT}process {{"));
    out.push(&format!("{i}if ($batch.Add($PSBoundParameters)) {{"));
    out.push(&format!(
        "{i}    Invoke-NativeBatch -Cmdlet $PSCmdlet -Batch $batch"
    ));
    out.push(&format!("{i}}}"));
    out.push(&format!("{HELP_INDENT}}}"));
    out.push("");
    out.push(&format!("{HELP_INDENT}end {{"));
    out.push(&format!(
        "{i}Invoke-NativeBatch -Cmdlet $PSCmdlet -Batch $batch"
    ));
    out.push(&format!("{HELP_INDENT}}}"));
}

/// The native call, and with -Wait the polling after it.
fn call_lines(op: &Operation, call: &str, indent: &str, out: &mut Lines) {
    let Some(wait) = op.wait() else {
        out.push(&format!("{indent}{call}"));
        return;
    };
    out.push(&format!("{indent}$started = {call}"));
    out.push(&format!(
        "{indent}if ($waitForIt -and $null -ne $started) {{"
    ));
    out.push(&format!("{indent}    {}", wait_call(wait)));
    out.push(&format!("{indent}}}"));
    out.push(&format!("{indent}else {{"));
    out.push(&format!("{indent}    $started"));
    out.push(&format!("{indent}}}"));
}

/// `Wait-NativeOperation` with the registry's poll, states and status format.
fn wait_call(wait: &Wait) -> String {
    let mut format = String::new();
    let mut properties: Vec<String> = Vec::new();
    for piece in text::placeholders(&wait.status) {
        match piece {
            Piece::Literal(s) => format.push_str(&s.replace('{', "{{").replace('}', "}}")),
            Piece::Parameter(name) => {
                format.push_str(&format!("{{{}}}", properties.len()));
                properties.push(quote(name));
            }
        }
    }
    let done: Vec<String> = wait.done_states.iter().map(|d| quote(d)).collect();
    let failed: Vec<String> = wait.failed_states.iter().map(|d| quote(d)).collect();
    // Both names passed the registry's identifier check, so `$started.<Property>` is safe.
    let poll_parameters = if wait.poll_parameters.is_empty() {
        String::new()
    } else {
        let pairs: Vec<String> = wait
            .poll_parameters
            .iter()
            .map(|p| format!("{} = $started.{}", quote(&p.parameter), p.property))
            .collect();
        format!(" -PollParameters @{{ {} }}", pairs.join("; "))
    };
    format!(
        "Wait-NativeOperation -Cmdlet $PSCmdlet -Operation {} -Activity {} -StateProperty {} -DoneState @({}) -PercentProperty {} -StatusFormat {} -StatusProperty @({}) -FailedProperty {} -FailedState @({}) -ErrorProperty {}{}",
        quote(&wait.poll),
        quote(&wait.activity),
        quote(&wait.state_property),
        done.join(", "),
        quote(&wait.percent_property),
        quote(&format),
        properties.join(", "),
        quote(&wait.failed_property),
        failed.join(", "),
        quote(&wait.error_property),
        poll_parameters
    )
}

fn should_process(op: &Operation, sp: &ShouldProcess, out: &mut Lines) {
    let i = BODY_INDENT;
    out.push(&format!(
        "{i}$shouldProcessTarget = {}",
        formatted(op, &sp.target)
    ));
    out.push(&format!(
        "{i}$shouldProcessAction = {}",
        formatted(op, &sp.action)
    ));
    // The first ActionWhen whose parameter was given wins.
    for (index, when) in sp.action_when.iter().enumerate() {
        let keyword = if index == 0 { "if" } else { "elseif" };
        let given = bound(op, &when.parameter);
        if index == 0 {
            out.push(&format!("{i}{keyword} ({given}) {{"));
        } else {
            out.push(&format!("{i}}}"));
            out.push(&format!("{i}{keyword} ({given}) {{"));
        }
        out.push(&format!(
            "{i}    $shouldProcessAction = {}",
            formatted(op, &when.action)
        ));
    }
    if !sp.action_when.is_empty() {
        out.push(&format!("{i}}}"));
    }
    if let Some(preview) = op.impact_preview() {
        impact_preview(op, preview, out);
    }
    if op.confirm_impact == "High" && op.parameter("Force").is_some() {
        out.push(&format!(
            "{i}# -Force skips the confirmation prompt, as in Az, but never -WhatIf: lowering"
        ));
        out.push(&format!("{i}# $ConfirmPreference leaves ShouldProcess in charge of -WhatIf. An explicit -Confirm wins."));
        out.push(&format!(
            "{i}if ({} -and -not $PSBoundParameters.ContainsKey('Confirm')) {{",
            bound(op, "Force")
        ));
        out.push(&format!("{i}    $ConfirmPreference = 'None'"));
        out.push(&format!("{i}}}"));
    }
}

/// Asks the engine, before ShouldProcess, what still needs what the change takes away, and
/// says it in the action -WhatIf and the prompt show.
fn impact_preview(op: &Operation, preview: &ImpactPreview, out: &mut Lines) {
    let i = BODY_INDENT;
    let parameters: Vec<String> = preview.parameters.iter().map(|p| quote(p)).collect();
    let call = format!(
        "$impact = Get-NativeChangeImpact -Cmdlet $PSCmdlet -Operation {} -BoundParameters $PSBoundParameters -Parameters @({})",
        quote(&preview.operation),
        parameters.join(", ")
    );
    out.push(&format!(
        "{i}# What still needs what this takes away, said by -WhatIf and the confirmation prompt."
    ));
    let inner = match &preview.when_false {
        Some(name) => {
            let key = quote(name);
            out.push(&format!(
                "{i}if ($PSBoundParameters.ContainsKey({key}) -and -not $PSBoundParameters[{key}]) {{"
            ));
            format!("{i}    ")
        }
        None => i.to_string(),
    };
    out.push(&format!("{inner}{call}"));
    out.push(&format!(
        "{inner}if (-not [string]::IsNullOrEmpty($impact)) {{"
    ));
    if op.parameter(ACCEPT_DATA_LOSS).is_some() {
        // Accepting the loss is said in the prompt, never a reason to skip it.
        out.push(&format!(
            "{inner}    if ({}) {{",
            bound(op, ACCEPT_DATA_LOSS)
        ));
        out.push(&format!(
            "{inner}        $shouldProcessAction = '{{0}}, accepting that the data of {{1}} becomes unreadable' -f $shouldProcessAction, $impact"
        ));
        out.push(&format!("{inner}    }}"));
        out.push(&format!("{inner}    else {{"));
        out.push(&format!(
            "{inner}        $shouldProcessAction = '{{0}} (still needed by {{1}})' -f $shouldProcessAction, $impact"
        ));
        out.push(&format!("{inner}    }}"));
    } else {
        out.push(&format!(
            "{inner}    $shouldProcessAction = '{{0}} (still needed by {{1}})' -f $shouldProcessAction, $impact"
        ));
    }
    out.push(&format!("{inner}}}"));
    if preview.when_false.is_some() {
        out.push(&format!("{i}}}"));
    }
}

/// ShouldContinue for what cannot be undone, after ShouldProcess agreed, unless -Force.
fn continue_question(op: &Operation, question: &ContinueWhen, indent: &str, out: &mut Lines) {
    out.push(&format!(
        "{indent}if (({}) -and -not ({})) {{",
        bound(op, &question.parameter),
        bound(op, "Force")
    ));
    out.push(&format!(
        "{indent}    if (-not $PSCmdlet.ShouldContinue({}, $shouldProcessTarget)) {{",
        formatted(op, &question.query)
    ));
    out.push(&format!("{indent}        return"));
    out.push(&format!("{indent}    }}"));
    out.push(&format!("{indent}}}"));
}

/// The condition "parameter `name` was given": a switch must also be on (-X:$false is not
/// given), any other parameter counts with whatever value.
fn bound(op: &Operation, name: &str) -> String {
    let key = quote(name);
    match op.parameter(name) {
        Some(p) if p.is_switch() => {
            format!(
                "$PSBoundParameters.ContainsKey({key}) -and $PSBoundParameters[{key}].IsPresent"
            )
        }
        _ => format!("$PSBoundParameters.ContainsKey({key})"),
    }
}

/// A PowerShell expression for a registry text with `{Param}` placeholders: the literal when it
/// has none, else a `-f` format over the bound parameters (arrays joined with ', ').
fn formatted(op: &Operation, text: &str) -> String {
    let pieces = text::placeholders(text);
    if !pieces.iter().any(|p| matches!(p, Piece::Parameter(_))) {
        return quote(text);
    }
    let mut format = String::new();
    let mut arguments: Vec<String> = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Literal(s) => format.push_str(&s.replace('{', "{{").replace('}', "}}")),
            Piece::Parameter(name) => {
                let value = format!("$PSBoundParameters[{}]", quote(name));
                // In a ResourceId set the vault is named by its resource ID.
                let value = if name == "VaultName" && op.parameter(RESOURCE_ID).is_some() {
                    format!("$(if ($PSBoundParameters.ContainsKey({0})) {{ $PSBoundParameters[{0}] }} else {{ {value} }})", quote(RESOURCE_ID))
                } else {
                    value
                };
                let value = match op.parameter(name) {
                    Some(p) if p.is_array() => format!("({value} -join ', ')"),
                    _ => value,
                };
                let position = arguments
                    .iter()
                    .position(|a| *a == value)
                    .unwrap_or_else(|| {
                        arguments.push(value);
                        arguments.len() - 1
                    });
                format.push_str(&format!("{{{position}}}"));
            }
        }
    }
    format!("({} -f {})", quote(&format), arguments.join(", "))
}
