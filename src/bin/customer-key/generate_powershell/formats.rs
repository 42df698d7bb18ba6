//! The module's default views: one `Formats/<Area>.Format.ps1xml` per area, made from the
//! `DefaultView` of each output type in the registry's `OutputTypes`. A type's area is that of
//! the first operation (in registry order) that returns it. Each column names a declared
//! property of its type; one that does not, or a view that cannot be written, is refused with
//! the type, the column and the rule.

use super::registry::Operation;
use serde::Deserialize;
use serde_json::Value;

/// The folder of the generated format files, which holds nothing else.
pub const FOLDER: &str = "Formats";
/// The property types the registry describes (the module converts the first three).
const PROPERTY_TYPES: [&str; 8] = [
    "datetime",
    "bytes",
    "hashtable",
    "string",
    "boolean",
    "integer",
    "array",
    "object",
];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OutputType {
    pub name: String,
    #[serde(default)]
    pub properties: Vec<Property>,
    #[serde(default)]
    pub default_view: Option<DefaultView>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Property {
    pub name: String,
    #[serde(rename = "Type")]
    pub ty: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DefaultView {
    pub control: Control,
    #[serde(default)]
    pub group_by: Option<String>,
    pub columns: Vec<Column>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Control {
    Table,
    List,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Format {
    Value,
    Join,
    Pairs,
    Script,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Column {
    pub property: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub width: Option<u16>,
    pub format: Format,
    #[serde(default)]
    pub select: Option<String>,
    #[serde(default)]
    pub only: Option<String>,
    #[serde(default)]
    pub script: Option<String>,
}

impl Column {
    fn label(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.property)
    }

    /// The script block that shows the column, or None when its property is shown as is.
    fn script_block(&self) -> Option<String> {
        let p = &self.property;
        match self.format {
            Format::Value => None,
            Format::Join => Some(match (&self.only, &self.select) {
                (None, None) => format!("$_.{p} -join ', '"),
                (Some(only), None) => format!("($_.{p} | Where-Object {only}) -join ', '"),
                (None, Some(select)) => format!("($_.{p} | ForEach-Object {select}) -join ', '"),
                (Some(only), Some(select)) => format!(
                    "($_.{p} | Where-Object {only} | ForEach-Object {select}) -join ', '"
                ),
            }),
            Format::Pairs => Some(format!(
                "($_.{p}.GetEnumerator() | Sort-Object -Property Name | ForEach-Object {{ '{{0}}={{1}}' -f $_.Name, $_.Value }}) -join ', '"
            )),
            Format::Script => self.script.clone(),
        }
    }
}

/// The registry's output types, each checked. A registry without `OutputTypes` has none.
pub fn output_types(registry: &Value) -> Result<Vec<OutputType>, String> {
    let Some(list) = registry.get("OutputTypes") else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or("the registry's \"OutputTypes\" is not an array")?;
    let mut types: Vec<OutputType> = Vec::new();
    for (index, value) in list.iter().enumerate() {
        let label = value
            .get("Name")
            .and_then(Value::as_str)
            .map_or_else(|| format!("#{index}"), |n| format!("'{n}'"));
        let label = format!("registry output type {label}");
        let ty: OutputType =
            serde_json::from_value(value.clone()).map_err(|e| format!("{label}: {e}"))?;
        if types.iter().any(|t| t.name == ty.name) {
            return Err(format!("{label} is described twice"));
        }
        check(&ty).map_err(|e| format!("{label}: {e}"))?;
        types.push(ty);
    }
    Ok(types)
}

fn identifier(field: &str, value: &str) -> Result<(), String> {
    if super::text::is_identifier(value) {
        Ok(())
    } else {
        Err(format!(
            "{field} {value:?} must be an ASCII letter followed by ASCII letters and digits"
        ))
    }
}

fn check(ty: &OutputType) -> Result<(), String> {
    let type_name = ty.name.strip_prefix("CustomerKey.").unwrap_or_default();
    identifier("the name after 'CustomerKey.'", type_name)?;
    for property in &ty.properties {
        identifier("Properties: Name", &property.name)?;
        if !PROPERTY_TYPES.contains(&property.ty.as_str()) {
            return Err(format!(
                "property {}: Type {:?} is not one of {PROPERTY_TYPES:?}",
                property.name, property.ty
            ));
        }
    }
    let declared = |name: &str| ty.properties.iter().any(|p| p.name == name);
    let view = ty
        .default_view
        .as_ref()
        .ok_or("has no DefaultView: every output type is shown by a generated view")?;
    if view.columns.is_empty() {
        return Err("DefaultView.Columns is empty".into());
    }
    if let Some(group) = &view.group_by {
        if !declared(group) {
            return Err(format!(
                "DefaultView.GroupBy {group:?} is not a declared property of the type"
            ));
        }
    }
    for (i, column) in view.columns.iter().enumerate() {
        let field = format!("DefaultView.Columns[{i}]");
        let p = &column.property;
        if !declared(p) {
            return Err(format!(
                "{field}.Property {p:?} is not a declared property of the type"
            ));
        }
        if view.columns[..i].iter().any(|c| &c.property == p) {
            return Err(format!("{field}.Property {p:?} is shown twice"));
        }
        if column.label().trim().is_empty() || column.label().chars().any(char::is_control) {
            return Err(format!("{field}.Label must be a non-empty line of text"));
        }
        if column.width == Some(0) || (column.width.is_some() && view.control == Control::List) {
            return Err(format!(
                "{field}.Width must be a positive number of characters, and only in a Table"
            ));
        }
        let join = column.format == Format::Join;
        for (name, value) in [("Select", &column.select), ("Only", &column.only)] {
            match value {
                Some(_) if !join => {
                    return Err(format!("{field}.{name} belongs to Format \"Join\" only"))
                }
                Some(v) => identifier(&format!("{field}.{name}"), v)?,
                None => {}
            }
        }
        match (&column.script, column.format) {
            (Some(script), Format::Script) => {
                if !script.contains(&format!("$_.{p}")) {
                    return Err(format!("{field}.Script does not read $_.{p}"));
                }
            }
            (None, Format::Script) => {
                return Err(format!("{field} has Format \"Script\" and no Script"))
            }
            (Some(_), _) => {
                return Err(format!("{field}.Script belongs to Format \"Script\" only"))
            }
            (None, _) => {}
        }
    }
    Ok(())
}

/// `Formats/<Area>.Format.ps1xml` -> content, for every area that returns a described type,
/// in the order the areas first appear among the operations.
pub fn render(
    operations: &[Operation],
    types: &[OutputType],
) -> Result<Vec<(String, String)>, String> {
    let mut areas: Vec<(&str, Vec<&OutputType>)> = Vec::new();
    for op in operations {
        if !areas.iter().any(|(a, _)| *a == op.area) {
            areas.push((op.area.as_str(), Vec::new()));
        }
    }
    for ty in types {
        let area = operations
            .iter()
            .find(|op| {
                op.output_type == ty.name
                    || op
                        .output_type_when
                        .as_ref()
                        .is_some_and(|w| w.output_type == ty.name)
            })
            .map(|op| op.area.as_str())
            .ok_or_else(|| {
                format!(
                    "registry output type '{}': no operation returns it, so no area's format file would hold its view",
                    ty.name
                )
            })?;
        if let Some((_, list)) = areas.iter_mut().find(|(a, _)| *a == area) {
            list.push(ty);
        }
    }
    Ok(areas
        .into_iter()
        .filter(|(_, list)| !list.is_empty())
        .map(|(area, list)| (format!("{FOLDER}/{area}.Format.ps1xml"), file(area, &list)))
        .collect())
}

/// Text as XML element content.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn file(area: &str, types: &[&OutputType]) -> String {
    let header = super::HEADER.trim_start_matches("# ");
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- {header} -->\n<!-- The default views of the objects the {area} cmdlets emit, selected by PSTypeName: each output\n     type's DefaultView in the registry. -->\n<Configuration>\n  <ViewDefinitions>\n"
    );
    for ty in types {
        view(&mut out, ty);
    }
    out.push_str("  </ViewDefinitions>\n</Configuration>\n");
    out
}

/// The property or script block a column shows, as the XML of a table or list item.
fn shown(column: &Column, indent: &str) -> String {
    match column.script_block() {
        None => format!(
            "{indent}<PropertyName>{}</PropertyName>\n",
            xml(&column.property)
        ),
        Some(script) => format!("{indent}<ScriptBlock>{}</ScriptBlock>\n", xml(&script)),
    }
}

fn view(out: &mut String, ty: &OutputType) {
    let Some(view) = &ty.default_view else {
        return;
    };
    let name = xml(&ty.name);
    out.push_str(&format!(
        "    <View>\n      <Name>{name}</Name>\n      <ViewSelectedBy>\n        <TypeName>{name}</TypeName>\n      </ViewSelectedBy>\n"
    ));
    if let Some(group) = &view.group_by {
        out.push_str(&format!(
            "      <GroupBy>\n        <PropertyName>{}</PropertyName>\n      </GroupBy>\n",
            xml(group)
        ));
    }
    match view.control {
        Control::Table => {
            out.push_str("      <TableControl>\n        <TableHeaders>\n");
            for column in &view.columns {
                out.push_str("          <TableColumnHeader>\n");
                out.push_str(&format!(
                    "            <Label>{}</Label>\n",
                    xml(column.label())
                ));
                if let Some(width) = column.width {
                    out.push_str(&format!("            <Width>{width}</Width>\n"));
                }
                out.push_str("          </TableColumnHeader>\n");
            }
            out.push_str("        </TableHeaders>\n        <TableRowEntries>\n          <TableRowEntry>\n            <TableColumnItems>\n");
            for column in &view.columns {
                out.push_str("              <TableColumnItem>\n");
                out.push_str(&shown(column, "                "));
                out.push_str("              </TableColumnItem>\n");
            }
            out.push_str("            </TableColumnItems>\n          </TableRowEntry>\n        </TableRowEntries>\n      </TableControl>\n");
        }
        Control::List => {
            out.push_str("      <ListControl>\n        <ListEntries>\n          <ListEntry>\n            <ListItems>\n");
            for column in &view.columns {
                out.push_str("              <ListItem>\n");
                out.push_str(&format!(
                    "                <Label>{}</Label>\n",
                    xml(column.label())
                ));
                out.push_str(&shown(column, "                "));
                out.push_str("              </ListItem>\n");
            }
            out.push_str("            </ListItems>\n          </ListEntry>\n        </ListEntries>\n      </ListControl>\n");
        }
    }
    out.push_str("    </View>\n");
}
