//! Azure Resource Manager's `Microsoft.Authorization` bodies (api-version 2022-04-01): role
//! assignments and role definitions, named and shaped as its specification
//! (authorization-RoleAssignmentsCalls.json, authorization-RoleDefinitionsCalls.json) defines
//! them. A listing is a [`super::keyvault::ListResult`].

use super::Absent;
use serde::{Deserialize, Deserializer, Serialize};

impl Absent for RoleAssignmentProperties {}
impl Absent for RoleDefinitionProperties {}

/// A field that is written `null` when present without a value: `Some(None)` is `null`,
/// `None` leaves the field out.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

bodies! {
    /// A role assignment: GET's, PUT's and DELETE's answer and a listing's item; a PUT's body
    /// (RoleAssignmentCreateParameters) carries `properties` only.
    pub struct RoleAssignment {
        pub id: Option<String>,
        pub name: Option<String>,
        #[serde(rename = "type")]
        pub resource_type: Option<String>,
        #[serde(default)]
        pub properties: RoleAssignmentProperties,
    }

    /// `condition` and `conditionVersion` are `null` in Azure's answers when unset.
    #[serde(rename_all = "camelCase")]
    pub struct RoleAssignmentProperties {
        pub role_definition_id: Option<String>,
        pub principal_id: Option<String>,
        pub principal_type: Option<String>,
        pub scope: Option<String>,
        #[serde(default, deserialize_with = "present")]
        pub condition: Option<Option<String>>,
        #[serde(default, deserialize_with = "present")]
        pub condition_version: Option<Option<String>>,
    }

    /// A role definition (a built-in role's, here).
    pub struct RoleDefinition {
        pub id: Option<String>,
        pub name: Option<String>,
        #[serde(rename = "type")]
        pub resource_type: Option<String>,
        #[serde(default)]
        pub properties: RoleDefinitionProperties,
    }

    /// `type` is `BuiltInRole` or `CustomRole`.
    #[serde(rename_all = "camelCase")]
    pub struct RoleDefinitionProperties {
        pub role_name: Option<String>,
        #[serde(rename = "type")]
        pub role_type: Option<String>,
        pub description: Option<String>,
        #[serde(default)]
        pub assignable_scopes: Vec<String>,
        #[serde(default)]
        pub permissions: Vec<Permission>,
    }

    /// What a role lets do: control-plane `actions` and data-plane `dataActions`.
    #[serde(rename_all = "camelCase")]
    pub struct Permission {
        #[serde(default)]
        pub actions: Vec<String>,
        #[serde(default)]
        pub not_actions: Vec<String>,
        #[serde(default)]
        pub data_actions: Vec<String>,
        #[serde(default)]
        pub not_data_actions: Vec<String>,
    }
}

impl RoleAssignment {
    /// The role definition's GUID: the last segment of `roleDefinitionId`.
    pub fn role_guid(&self) -> &str {
        let id = self.properties.role_definition_id.as_deref();
        id.unwrap_or_default()
            .rsplit('/')
            .next()
            .unwrap_or_default()
    }
}
