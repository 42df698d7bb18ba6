//! Get-KeyVaultChangeImpact: the read-only call a cmdlet makes before ShouldProcess, so that
//! `-WhatIf` and the confirmation prompt of a removal, a purge, a disable or the removal of a
//! service's access policy say what still needs what would go ("3 policies, 5,000 mailboxes").
//! It reads `key_references`, as Get-KeyVaultKeyUsage does, and changes nothing.

use super::usage::{impact_text, referrers};
use super::{authorize, require_owner};
use crate::error::{Error, Result};
use crate::identity::{workload_of, Principal};
use crate::operations::Context;
use crate::store::vaults::{self as sql, KeyReference, PolicyRow, VaultRow};
use crate::store::Tx;
use serde::Serialize;

arguments! {
    pub struct ChangeImpactArgs {
        pub vault_name: String = "VaultName", String, super::model::VAULT_NAME_HELP, mandatory, pipeline, position(0);
        pub name: Option<String> = "Name", String, "Name of the key (default: every key of the vault, as for a vault removal)", pipeline;
        pub version: Option<String> = "Version", String, "Version of the key (default: every version)", pipeline;
        pub service_principal_name: Option<String> = "ServicePrincipalName", String, "Application id of a service principal whose access policy would be removed";
        pub object_id: Option<String> = "ObjectId", String, "Object id of a principal whose access policy would be removed";
        pub user_principal_name: Option<String> = "UserPrincipalName", String, "User principal name of a user whose access policy would be removed";
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyVaultChangeImpact {
    pub vault_name: String,
    pub name: Option<String>,
    pub version: Option<String>,
    /// The principal whose access policy would be removed, when one was given.
    pub principal: Option<String>,
    /// The workload that principal is (Exchange, SharePoint, AIP), when it is one.
    pub workload: Option<String>,
    /// "Workload 'policy'" for each policy that still needs what the change takes away.
    pub policies: Vec<String>,
    pub mailboxes_needing_it: i64,
    pub in_use: bool,
    /// "3 policies, 5,000 mailboxes", or "nothing".
    pub impact: String,
}

pub fn get_change_impact(ctx: &Context<'_>, a: ChangeImpactArgs) -> Result<KeyVaultChangeImpact> {
    let principal = principal_given(&a)?;
    ctx.read_audited(&a.vault_name, |tx| {
        // A deleted vault is still looked at: its purge is one of the changes previewed.
        let vault = sql::get_vault(tx, &a.vault_name)?.ok_or_else(|| {
            Error::not_found(
                "VaultNotFound",
                format!("Vault '{}' does not exist", a.vault_name),
                a.vault_name.clone(),
            )
        })?;
        may_preview(tx, &vault, ctx.principal())?;
        let workload = match (&principal, a.user_principal_name.is_some()) {
            (Some(_), true) | (None, _) => None,
            (Some(id), false) => workload_acting_as(&sql::list_policies(tx, &vault.name)?, id),
        };
        impact_of(tx, &vault.name, &a, principal.clone(), workload)
    })
}

/// The arguments checked: the principal whose access policy would go, if one is given.
pub(crate) fn principal_given(a: &ChangeImpactArgs) -> Result<Option<String>> {
    if a.version.is_some() && a.name.is_none() {
        return Err(Error::invalid_argument(
            "Version",
            "needs -Name: a version belongs to one key",
        ));
    }
    let principals = [
        a.service_principal_name.as_deref(),
        a.object_id.as_deref(),
        a.user_principal_name.as_deref(),
    ];
    let principal = match principals.iter().flatten().collect::<Vec<_>>()[..] {
        [] => None,
        [one] => Some(one.to_string()),
        _ => {
            return Err(Error::invalid_argument(
                "ServicePrincipalName",
                "give at most one of -ServicePrincipalName, -ObjectId and -UserPrincipalName",
            ))
        }
    };
    if principal.is_some() && a.name.is_some() {
        return Err(Error::invalid_argument(
            "Name",
            "an access policy covers the whole vault: give a principal or a key, not both",
        ));
    }
    Ok(principal)
}

/// What still needs the keys of `vault` (the store's own, or a remote vault its workloads
/// use) that the change takes away; `workload` is the one `principal` acts as, if any.
pub(crate) fn impact_of(
    tx: &Tx<'_>,
    vault: &str,
    a: &ChangeImpactArgs,
    principal: Option<String>,
    workload: Option<&'static str>,
) -> Result<KeyVaultChangeImpact> {
    let refs = sql::key_references(tx, vault, a.name.as_deref())?;
    let affected: Vec<&KeyReference> = refs
        .iter()
        .filter(|r| match (&principal, workload) {
            // A user's (or an unknown principal's) policy is nobody's workload access.
            (Some(_), None) => false,
            (Some(_), Some(w)) => r.referrer_kind == w,
            (None, _) => a.version.as_deref().is_none_or(|v| {
                r.version
                    .as_deref()
                    .is_none_or(|rv| rv.eq_ignore_ascii_case(v))
            }),
        })
        .collect();
    let referrers = referrers(&affected);
    Ok(KeyVaultChangeImpact {
        vault_name: vault.to_string(),
        name: a.name.clone(),
        version: a.version.clone(),
        principal,
        workload: workload.map(str::to_string),
        policies: referrers
            .iter()
            .map(|r| format!("{} '{}'", r.workload, r.policy))
            .collect(),
        mailboxes_needing_it: referrers
            .iter()
            .filter(|r| r.workload == crate::store::exchange::REFERRER_KIND)
            .filter_map(|r| r.needed_by)
            .sum(),
        in_use: !referrers.is_empty(),
        impact: impact_text(&referrers),
    })
}

/// Who may preview: whoever may read the vault's keys, or its owner (who removes policies and
/// vaults and may hold no key permission at all).
fn may_preview(tx: &Tx<'_>, vault: &VaultRow, principal: &Principal) -> Result<()> {
    if require_owner(vault, principal.name(), "preview a change").is_ok() {
        return Ok(());
    }
    authorize(tx, vault, principal, "get")
}

/// The workload the principal named by `id` acts as: the id itself is a workload's application
/// id, or it is the object id of a policy set for one.
fn workload_acting_as(policies: &[PolicyRow], id: &str) -> Option<&'static str> {
    workload_of(id).or_else(|| {
        policies
            .iter()
            .filter(|p| p.object_id.eq_ignore_ascii_case(id))
            .find_map(|p| {
                p.application_id
                    .as_deref()
                    .or(p.service_principal_name.as_deref())
                    .and_then(workload_of)
            })
    })
}

#[cfg(test)]
mod tests {
    use crate::identity::workload_of;

    #[test]
    fn each_workload_application_id_maps_to_the_name_its_key_references_use() {
        assert_eq!(
            workload_of(crate::exchange::EXCHANGE_APP_ID),
            Some(crate::store::exchange::REFERRER_KIND)
        );
        assert_eq!(
            workload_of(crate::sharepoint::APP_ID),
            Some(crate::store::sharepoint::REFERRER_KIND)
        );
        assert_eq!(
            workload_of(&crate::aip::AIP_APP_ID.to_ascii_uppercase()),
            Some(crate::store::aip::REFERRER_KIND)
        );
        assert_eq!(workload_of("admin@contoso.com"), None);
    }
}
