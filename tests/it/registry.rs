//! The operation registry checks itself: unique names, every parameter set's arguments decode
//! into the operation's struct, ShouldProcess wording for exactly the state-changing
//! operations, and ck_describe kept compatible.

use customer_key::operations::{Operation, ParamType as T};
use customer_key::registry::Registry;
use serde_json::{json, Map, Value};
use std::path::Path;

fn sample(op: &Operation, name: &str) -> Value {
    let p = op.param(name).unwrap();
    let first = p.allowed.first().copied();
    match p.ty {
        T::String => json!(first.unwrap_or("sample-name")),
        T::Path => json!("/tmp/ck-registry-sample"),
        T::SecureString => json!("sample-secret"),
        T::StringArray => json!([first.unwrap_or("sample")]),
        T::Int => json!(p.range.map_or(1, |(low, _)| low)),
        T::Switch | T::Bool => json!(true),
        T::DateTime => json!("2030-01-01T00:00:00Z"),
        T::Hashtable => json!({"env": "test"}),
        T::Bytes => json!("eA=="),
    }
}

/// The parameter sets to try: each named set, or the one implicit set.
fn sets(op: &Operation) -> Vec<Option<&'static str>> {
    let named = op.parameter_sets();
    if named.is_empty() {
        vec![None]
    } else {
        named.into_iter().map(Some).collect()
    }
}

fn arguments(op: &Operation, set: Option<&str>, all: bool) -> Value {
    let mut args = Map::new();
    for p in &op.params {
        let membership = match set {
            Some(s) => p.in_parameter_set(s),
            None => Some(p.mandatory),
        };
        match membership {
            Some(true) => {}
            Some(false) if all => {}
            _ => continue,
        }
        args.insert(p.name.to_string(), sample(op, p.name));
    }
    Value::Object(args)
}

#[test]
fn every_parameter_set_decodes_into_its_operations_struct() {
    let mut checked = 0;
    for op in customer_key::registry().operations() {
        for set in sets(op) {
            for all in [false, true] {
                let args = arguments(op, set, all);
                // Switches that select another set (IncludeVersions) may not fit with "all";
                // only what validation accepts must decode.
                let Ok(valid) = customer_key::operations::validate(op, &args) else {
                    assert!(
                        all,
                        "{} set {set:?}: the mandatory parameters alone must validate: {args}",
                        op.name
                    );
                    continue;
                };
                op.decode_only(Value::Object(valid.into_map()))
                    .unwrap_or_else(|e| panic!("{} set {set:?} ({args}): {}", op.name, e.message));
                checked += 1;
            }
        }
    }
    assert!(checked >= customer_key::registry().operations().len());
}

#[test]
fn a_name_declared_twice_is_refused() {
    let twice = vec![
        customer_key::vault::operations::operations(),
        customer_key::vault::operations::operations(),
    ];
    let e = Registry::new(twice)
        .err()
        .expect("duplicate names must be refused");
    assert!(e.contains("declared twice"), "{e}");
    // The real registry has unique names, matched case-insensitively.
    let registry = customer_key::registry();
    for op in registry.operations() {
        assert_eq!(
            registry.find(&op.name.to_uppercase()).unwrap().name,
            op.name
        );
    }
}

fn placeholders(text: &str) -> Vec<&str> {
    text.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect()
}

#[test]
fn exactly_the_state_changing_operations_have_should_process_wording_naming_real_parameters() {
    for op in customer_key::registry().operations() {
        assert_eq!(
            op.should_process.is_some(),
            !op.reads_only(),
            "{}: ShouldProcess wording goes with state change",
            op.name
        );
        assert!(
            !op.synopsis.is_empty() && !op.description.is_empty(),
            "{}: help",
            op.name
        );
        assert!(!op.examples.is_empty(), "{}: at least one example", op.name);
        assert!(!op.area.is_empty(), "{}: area", op.name);
        if let Some(sp) = &op.should_process {
            let mut texts = vec![sp.target, sp.action];
            for (parameter, action) in &sp.action_when {
                assert!(
                    op.param(parameter).is_some(),
                    "{}: ActionWhen {parameter}",
                    op.name
                );
                texts.push(action);
            }
            for text in texts {
                for name in placeholders(text) {
                    assert!(
                        op.param(name).is_some(),
                        "{}: placeholder {{{name}}} in '{text}'",
                        op.name
                    );
                }
            }
        }
    }
}

/// The one deliberate change since 0.1.0: -Force meant both "do not ask" and "override the
/// guard against removing what a policy still needs". It now means only what it means in Az
/// and Exchange Online; the guard's override is a switch of its own (AcceptDataLoss, or
/// AcceptUnrecoverableVault for the AIP tenant key's vault), which a ported script must name.
fn force_means_only_no_prompt(baseline: &mut Value) {
    // (operation, the 0.1.0 Force's new name, and its new help where it stays Force)
    const RENAMED: &[(&str, &str)] = &[
        ("Update-KeyVaultKey", "AcceptDataLoss"),
        ("Use-AipServiceKeyVaultKey", "AcceptUnrecoverableVault"),
        ("Import-AipServiceTpd", "AcceptUnrecoverableVault"),
    ];
    const PROMPT_ONLY: &[&str] = &["Remove-KeyVaultKey", "Remove-KeyVault"];
    let now = customer_key::registry().describe();
    let find = |doc: &Value, op: &str, name: &str| -> Value {
        doc["Operations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["Name"] == op)
            .and_then(|o| {
                o["Parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|p| p["Name"] == name)
            })
            .unwrap_or_else(|| panic!("{op} -{name} is missing"))
            .clone()
    };
    for op in baseline["Operations"].as_array_mut().unwrap() {
        let name = op["Name"].as_str().unwrap().to_string();
        for parameter in op["Parameters"].as_array_mut().unwrap() {
            if parameter["Name"] != "Force" {
                continue;
            }
            if let Some((_, renamed)) = RENAMED.iter().find(|(o, _)| *o == name) {
                *parameter = find(&now, &name, renamed);
            } else if PROMPT_ONLY.contains(&name.as_str()) {
                parameter["HelpMessage"] = find(&now, &name, "Force")["HelpMessage"].clone();
            }
        }
    }
}

/// Parameter sets may be added (Az's ResourceId sets were, in 0.2.0), but every set of the
/// old release keeps its members, each as mandatory as it was; an operation that had no sets
/// had one implicit set, which is now its default set.
fn same_sets(old_op: &Value, new_op: &Value, path: &str) {
    let names = |op: &Value| -> Vec<String> {
        op["ParameterSets"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (old_sets, new_sets) = (names(old_op), names(new_op));
    for set in &old_sets {
        assert!(
            new_sets.contains(set),
            "{path}: parameter set {set} is gone"
        );
    }
    if !old_sets.is_empty() {
        assert_eq!(
            old_op["DefaultParameterSetName"], new_op["DefaultParameterSetName"],
            "{path}: the default parameter set changed"
        );
    }
    let implicit = new_op["DefaultParameterSetName"].as_str().map(String::from);
    let checked: Vec<Option<String>> = if old_sets.is_empty() {
        vec![implicit]
    } else {
        old_sets.into_iter().map(Some).collect()
    };
    // (member, mandatory) of a described parameter in a set; None: the one implicit set.
    let membership = |p: &Value, set: &Option<String>| -> Option<bool> {
        let sets = p["ParameterSets"].as_array().filter(|a| !a.is_empty());
        match (sets, set) {
            (None, _) => p["Mandatory"].as_bool(),
            (Some(sets), Some(set)) => sets
                .iter()
                .find(|s| s["Name"] == json!(set))
                .map(|s| s["Mandatory"].as_bool().unwrap_or(false)),
            (Some(_), None) => panic!("{path}: sets without a default set"),
        }
    };
    let new_params = new_op["Parameters"].as_array().unwrap();
    for old_param in old_op["Parameters"].as_array().unwrap() {
        let name = &old_param["Name"];
        let new_param = new_params.iter().find(|p| &p["Name"] == name).unwrap();
        for set in &checked {
            let set_name = set.clone().or_else(|| implicit_name(new_op));
            assert_eq!(
                membership(old_param, &set_name),
                membership(new_param, &set_name),
                "{path}: {name} in parameter set {set_name:?}"
            );
        }
    }
}

fn implicit_name(op: &Value) -> Option<String> {
    op["DefaultParameterSetName"].as_str().map(String::from)
}

/// An operation's description without its set memberships, which [`same_sets`] compares.
fn without_sets(op: &Value) -> Value {
    let mut op = op.clone();
    let object = op.as_object_mut().unwrap();
    object.remove("ParameterSets");
    object.remove("DefaultParameterSetName");
    for p in object["Parameters"].as_array_mut().unwrap() {
        let p = p.as_object_mut().unwrap();
        p.remove("ParameterSets");
    }
    op
}

#[test]
fn describe_keeps_every_field_of_release_0_1_0_and_only_adds() {
    let baseline: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/describe-0.1.0.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut baseline = baseline;
    force_means_only_no_prompt(&mut baseline);
    let now = customer_key::registry().describe();
    fn contains(old: &Value, new: &Value, path: &str) {
        match (old, new) {
            (Value::Object(o), Value::Object(n)) => {
                for (k, v) in o {
                    let next = n.get(k).unwrap_or_else(|| panic!("{path}.{k} is gone"));
                    contains(v, next, &format!("{path}.{k}"));
                }
            }
            (Value::Array(o), Value::Array(n)) if path.ends_with(".Operations") => {
                for old_op in o {
                    let name = &old_op["Name"];
                    let new_op = n
                        .iter()
                        .find(|x| &x["Name"] == name)
                        .unwrap_or_else(|| panic!("{name} is gone"));
                    let path = format!("{path}[{name}]");
                    same_sets(old_op, new_op, &path);
                    contains(&without_sets(old_op), &without_sets(new_op), &path);
                }
            }
            // New optional parameters come after the old ones, which keep their places.
            (Value::Array(o), Value::Array(n)) if path.ends_with(".Parameters") => {
                assert!(n.len() >= o.len(), "{path}: a parameter is gone");
                for (i, (a, b)) in o.iter().zip(n).enumerate() {
                    contains(a, b, &format!("{path}[{i}]"));
                }
                for added in &n[o.len()..] {
                    assert_eq!(
                        added["Mandatory"], false,
                        "{path}: a new parameter is mandatory"
                    );
                }
            }
            (Value::Array(o), Value::Array(n)) => {
                assert_eq!(o.len(), n.len(), "{path}: length");
                for (i, (a, b)) in o.iter().zip(n).enumerate() {
                    contains(a, b, &format!("{path}[{i}]"));
                }
            }
            _ if path.ends_with(".Version") => {}
            _ => assert_eq!(old, new, "{path} changed"),
        }
    }
    contains(&baseline, &now, "");
}

#[test]
fn every_output_type_an_operation_returns_is_described_once() {
    let described = customer_key::registry().describe();
    let types: Vec<&str> = described["OutputTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["Name"].as_str().unwrap())
        .collect();
    for op in described["Operations"].as_array().unwrap() {
        let returned = [&op["OutputType"], &op["OutputTypeWhen"]["OutputType"]];
        for type_name in returned.iter().filter_map(|t| t.as_str()) {
            if type_name.starts_with("CustomerKey.") {
                assert!(types.contains(&type_name), "{type_name} is not described");
            }
        }
    }
    let key = &described["OutputTypes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["Name"] == "CustomerKey.KeyVaultKey")
        .unwrap()["Properties"];
    assert!(key
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["Name"] == "Expires" && p["Type"] == "datetime"));

    let e = Registry::new(vec![customer_key::vault::operations::operations()])
        .unwrap()
        .with_output_types(Vec::new())
        .err()
        .expect("an operation returning an undescribed type is refused");
    assert!(e.contains("which no domain declares"), "{e}");
}

#[test]
fn every_output_type_has_a_default_view_of_its_declared_properties() {
    use customer_key::operations::{Column, OutputType, PropertyType};
    let described = customer_key::registry().describe();
    for ty in described["OutputTypes"].as_array().unwrap() {
        let declared: Vec<&str> = ty["Properties"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["Name"].as_str().unwrap())
            .collect();
        let columns = ty["DefaultView"]["Columns"]
            .as_array()
            .unwrap_or_else(|| panic!("{} has no DefaultView.Columns", ty["Name"]));
        assert!(!columns.is_empty());
        for column in columns {
            let property = column["Property"].as_str().unwrap();
            assert!(declared.contains(&property), "{}: {property}", ty["Name"]);
        }
    }
    let key = described["OutputTypes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["Name"] == "CustomerKey.KeyVaultKey")
        .unwrap();
    let shown: Vec<&str> = key["DefaultView"]["Columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Property"].as_str().unwrap())
        .collect();
    assert_eq!(
        shown,
        [
            "VaultName",
            "Name",
            "Version",
            "Enabled",
            "Expires",
            "Updated"
        ]
    );
    assert_eq!(key["DefaultView"]["Control"], "Table");

    // Refused when the registry is built: a column that is not a declared property, a type
    // without a view, a script that does not read its column.
    let build = |ty: OutputType| {
        Registry::new(vec![customer_key::directory::operations::operations()])
            .unwrap()
            .with_output_types(vec![ty])
            .err()
    };
    const PRINCIPAL: &[(&str, PropertyType)] = &[
        ("ApplicationId", PropertyType::String),
        ("Created", PropertyType::DateTime),
    ];
    let name = "CustomerKey.ServicePrincipal";
    assert!(build(OutputType::new(name, PRINCIPAL).table(&["ApplicationId", "Created"])).is_none());
    let e = build(OutputType::new(name, PRINCIPAL).table(&["ApplicationId", "DisplayName"]))
        .expect("an undeclared column is refused");
    assert!(
        e.contains(
            "view column DisplayName is not a declared property of CustomerKey.ServicePrincipal"
        ),
        "{e}"
    );
    let e = build(OutputType::new(name, PRINCIPAL)).expect("a type without a view is refused");
    assert!(e.contains("has no default view"), "{e}");
    let e = build(
        OutputType::new(name, PRINCIPAL)
            .table_of(&[Column::new("Created").script("$_.ApplicationId")]),
    )
    .expect("a script that does not read its column is refused");
    assert!(e.contains("does not read $_.Created"), "{e}");
    let e = build(
        OutputType::new(name, PRINCIPAL)
            .table(&["Created"])
            .grouped_by("Owner"),
    )
    .expect("grouping by an undeclared property is refused");
    assert!(e.contains("groups by Owner"), "{e}");
}
