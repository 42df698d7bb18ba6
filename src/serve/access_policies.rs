//! `PUT .../vaults/{name}/accessPolicies/{add|replace|remove}` over the engine's vaults.
//!
//! Policy changes run the registry's Set- and Remove-KeyVaultAccessPolicy as the token's
//! service principal, so the engine's rule holds: only the vault's owner changes its access
//! policies (in Azure, the role that may write `Microsoft.KeyVault/vaults/accessPolicies`);
//! anyone else gets ARM's 403 AuthorizationFailed. `add` merges permissions into the
//! principal's entry, `replace` makes the vault's policies exactly the list given, `remove`
//! takes the given permissions away (the entry goes when none is left). An entry's object id is
//! mapped back to the principal the engine knows: the vault's own policy of that id, a service
//! principal of the directory, a user Graph was asked about, a vault owner; else the policy
//! names the bare object id, as `-ObjectId` does.

use super::arm_request::ArmRequest;
use super::http::{parse_json, ApiError};
use engine::store::vaults::PolicyRow;
use engine::vault::model::KEY_PERMISSION_VALUES;
use engine::wire::arm::{AccessPolicyEntry, VaultAccessPolicyParameters};
use hyper::StatusCode;
use serde_json::{json, Map, Value};

const WRITE: &str = "Microsoft.KeyVault/vaults/accessPolicies/write";

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "BadRequest", message)
}

/// The parameter naming a policy's principal, as the engine's cmdlets take it, and the vault.
fn identity_args(vault: &str, p: &PolicyRow) -> Map<String, Value> {
    let mut args = Map::from_iter([("VaultName".to_string(), json!(vault))]);
    match (&p.user_principal_name, &p.service_principal_name) {
        (Some(u), _) => args.insert("UserPrincipalName".into(), json!(u)),
        (None, Some(s)) => args.insert("ServicePrincipalName".into(), json!(s)),
        (None, None) => args.insert("ObjectId".into(), json!(p.object_id)),
    };
    args
}

/// The principal an object id names, as a policy row (permissions empty).
fn principal_of(
    req: &ArmRequest<'_>,
    policies: &[PolicyRow],
    object_id: &str,
) -> Result<PolicyRow, ApiError> {
    let row = |upn: Option<String>, spn: Option<String>| PolicyRow {
        object_id: object_id.to_ascii_lowercase(),
        application_id: None,
        user_principal_name: upn,
        service_principal_name: spn,
        display_name: String::new(),
        permissions: vec![],
    };
    if let Some(p) = policies
        .iter()
        .find(|p| p.object_id.eq_ignore_ascii_case(object_id))
    {
        return Ok(PolicyRow {
            permissions: vec![],
            ..p.clone()
        });
    }
    let state = req.state;
    if let Some((app, _)) = super::graph::service_principals(state)?
        .into_iter()
        .find(|(app, _)| engine::identity::service_object_id(app).eq_ignore_ascii_case(object_id))
    {
        return Ok(row(None, Some(app)));
    }
    if let Some(upn) = state.directory.user(object_id) {
        return Ok(row(Some(upn), None));
    }
    let owners = state
        .session
        .store()
        .read(|tx| engine::store::vaults::list_vaults(tx, false))
        .map_err(ApiError::from)?;
    if let Some(owner) = owners.iter().map(|v| &v.owner).find(|o| {
        o.contains('@') && engine::identity::user_object_id(o).eq_ignore_ascii_case(object_id)
    }) {
        return Ok(row(Some(owner.clone()), None));
    }
    Ok(row(None, None))
}

/// The engine's key permissions an entry gives, checked to be a principal of the vault's
/// tenant with key permissions only.
fn key_permissions(entry: &AccessPolicyEntry, tenant: &str) -> Result<Vec<String>, ApiError> {
    if !engine::vault::is_guid(&entry.object_id) {
        return Err(bad_request("An access policy's objectId must be a GUID"));
    }
    if !entry.tenant_id.eq_ignore_ascii_case(tenant) {
        return Err(bad_request(format!(
            "An access policy's tenantId must be the vault's tenant '{tenant}'"
        )));
    }
    if entry
        .application_id
        .as_deref()
        .is_some_and(|a| !a.is_empty())
    {
        return Err(bad_request("Compound identities (an access policy with an applicationId) are not supported by this endpoint"));
    }
    let p = &entry.permissions;
    if [&p.secrets, &p.certificates, &p.storage]
        .iter()
        .any(|given| given.as_ref().is_some_and(|g| !g.is_empty()))
    {
        return Err(bad_request("This endpoint's vaults hold keys only: secrets, certificates and storage permissions are not supported"));
    }
    let keys = entry.keys().iter().map(|k| {
        let known = KEY_PERMISSION_VALUES
            .iter()
            .find(|v| v.eq_ignore_ascii_case(k));
        known
            .map(|v| v.to_string())
            .ok_or_else(|| bad_request(format!("'{k}' is not a key permission")))
    });
    Ok(engine::vault::granted_permissions(
        &keys.collect::<Result<Vec<_>, _>>()?,
    ))
}

/// `PUT .../vaults/{vault}/accessPolicies/{kind}`: the answer echoes the entries given.
pub(super) fn update(
    req: &ArmRequest<'_>,
    vault: &str,
    kind: &str,
    body: &[u8],
) -> Result<VaultAccessPolicyParameters, ApiError> {
    let kind = kind.to_ascii_lowercase();
    if !["add", "replace", "remove"].contains(&kind.as_str()) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidOperationKind",
            format!("The operation kind '{kind}' is not add, replace or remove"),
        ));
    }
    // The vault exists and is live (its 404 otherwise).
    let name = req.get_vault(vault)?.vault_name;
    let parameters: VaultAccessPolicyParameters = parse_json(body)?;
    let store = req.state.session.store();
    let policies = store
        .read(|tx| engine::store::vaults::list_policies(tx, &name))
        .map_err(ApiError::from)?;
    let mut wanted: Vec<(PolicyRow, Vec<String>)> = Vec::new();
    for e in &parameters.properties.access_policies {
        let keys = key_permissions(e, store.tenant_id())?;
        wanted.push((principal_of(req, &policies, &e.object_id)?, keys));
    }
    let scope = req.vault_id(&name);
    let set = |who: &PolicyRow, permissions: &[String]| {
        let mut args = identity_args(&name, who);
        args.insert("PermissionsToKeys".into(), json!(permissions));
        let op = "Set-KeyVaultAccessPolicy";
        req.call::<Option<engine::vault::model::KeyVaultOut>>(
            op,
            Value::Object(args),
            &scope,
            WRITE,
        )
        .map(|_| ())
    };
    let remove = |who: &PolicyRow| {
        let args = Value::Object(identity_args(&name, who));
        let op = "Remove-KeyVaultAccessPolicy";
        req.call::<Option<engine::vault::model::KeyVaultOut>>(op, args, &scope, WRITE)
            .map(|_| ())
    };
    let existing = |who: &PolicyRow| {
        policies
            .iter()
            .find(|p| p.object_id.eq_ignore_ascii_case(&who.object_id))
            .map(|p| p.permissions.clone())
    };
    match kind.as_str() {
        "add" => {
            for (who, keys) in &wanted {
                let mut merged = existing(who).unwrap_or_default();
                for k in keys {
                    if !merged.iter().any(|m| m.eq_ignore_ascii_case(k)) {
                        merged.push(k.clone());
                    }
                }
                set(who, &merged)?;
            }
        }
        "replace" => {
            for (who, keys) in &wanted {
                match (keys.is_empty(), existing(who)) {
                    (true, Some(_)) => remove(who)?,
                    (true, None) => {}
                    (false, _) => set(who, keys)?,
                }
            }
            for p in &policies {
                if !wanted
                    .iter()
                    .any(|(w, _)| w.object_id.eq_ignore_ascii_case(&p.object_id))
                {
                    remove(p)?;
                }
            }
        }
        _ => {
            for (who, keys) in &wanted {
                let Some(held) = existing(who) else { continue };
                let everything = keys.len() == engine::vault::model::ALL_KEY_PERMISSIONS.len();
                let left: Vec<String> = held
                    .into_iter()
                    .filter(|h| !everything && !keys.iter().any(|k| k.eq_ignore_ascii_case(h)))
                    .collect();
                if left.is_empty() {
                    remove(who)?;
                } else {
                    set(who, &left)?;
                }
            }
        }
    }
    Ok(VaultAccessPolicyParameters {
        id: Some(format!("{scope}/accessPolicies/{kind}")),
        resource_type: Some("Microsoft.KeyVault/vaults/accessPolicies".into()),
        ..parameters
    })
}
