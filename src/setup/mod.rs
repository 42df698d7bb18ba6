//! Test-CustomerKeySetup: every Microsoft prerequisite of Customer Key, checked on the two keys
//! of a workload (or of an existing policy) and their vaults, with the fix for each. A domain
//! above the workloads, since a policy of any of them may supply the keys; it reads vaults
//! only through `vault::inspect` (the store's) and `vault::remote::inspect` (Azure's), and
//! judges with `vault::rules`, where each rule lives once.

mod check;
mod checks;
pub mod operations;
mod policy_test;
mod remedies;

use crate::error::{Error, Result};
use crate::identity::Principal;
use crate::operations::Context;
use crate::vault::boundary::KeyReference;
use crate::vault::inspect::{Inspection, PolicyKeys};
use crate::vault::rules::{Status, Workload, WORKLOADS};
use serde::Serialize;

pub(crate) const BY_WORKLOAD: &str = "ByWorkload";
pub(crate) const BY_POLICY: &str = "ByPolicy";
const KEY_IDS: &str = "AzureKeyIDs";
const POLICY: &str = "DataEncryptionPolicy";
const DATA_LOCATION: &str = "DataLocation";
const BACKUP_PATH: &str = "BackupPath";
/// More keys than any policy has: Exchange takes "at least two", the others exactly two.
const MAX_KEYS: usize = 8;

arguments! {
    pub struct TestSetupArgs {
        pub workload: Option<String> = "Workload", String, "The workload the keys are for: Exchange, SharePoint or MultiWorkload (its service principal is the one checked)", allowed(WORKLOADS), in_set(BY_WORKLOAD, true);
        pub azure_key_ids: Option<Vec<String>> = "AzureKeyIDs", StringArray, "The two key ids, versioned or not (https://<vault>.vault.azure.net/keys/<name>[/<version>])", in_set(BY_WORKLOAD, true);
        pub data_encryption_policy: Option<String> = "DataEncryptionPolicy", String, "An existing policy whose keys to check: an Exchange or multi-workload policy's name, Guid or DataEncryptionPolicyID, or SPODataEncryptionPolicy (or the SharePoint admin site URL) for the SharePoint policy", pipeline, aliases(&["Identity"]), in_set(BY_POLICY, true);
        pub data_location: Option<String> = "DataLocation", String, "The Microsoft 365 data location of the workload's data (EUR, NAM, GBR, ...), a geography (Europe) or an Azure region: the vaults should be in its geography";
        pub backup_path: Option<String> = "BackupPath", Path, "A folder of key backups: every version of each key should be in one (without it, the backup check is NotChecked)";
        pub quiet: bool = "Quiet", Switch, "Return only $true (no check failed) or $false, as Test-Path does";
    }
}

/// One requirement's outcome, as `CustomerKey.SetupCheck`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetupCheck {
    pub check: &'static str,
    pub target: String,
    pub status: Status,
    pub detail: String,
    /// The fix with Az (and Exchange Online or SharePoint Online) cmdlets, names filled in.
    pub remediation: Option<String>,
    /// The same fix with this module's cmdlets.
    pub remediation_ck: Option<String>,
    pub reference: &'static str,
}

/// The checks and their summary, or with -Quiet whether no check failed.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum SetupResult {
    Checks(Vec<SetupCheck>),
    Quiet(bool),
}

/// What the checks are about: the workload, the policy the keys came from, and the caller's
/// extra facts.
pub(crate) struct Subject {
    pub workload: Workload,
    pub policy: Option<String>,
    pub data_location: Option<String>,
    pub backup_path: Option<String>,
    pub admin: Principal,
    pub now: i64,
}

pub fn test_customer_key_setup(ctx: &Context<'_>, a: TestSetupArgs) -> Result<SetupResult> {
    let (workload, policy, ids, parameter) = keys_to_check(ctx, &a)?;
    let references = ids
        .iter()
        .map(|id| KeyReference::parse(parameter, id))
        .collect::<Result<Vec<_>>>()?;
    for r in &references {
        crate::vault::check_key_reference(ctx, r).map_err(|e| {
            Error::invalid_argument(
                parameter,
                e.message.trim_start_matches("Parameter 'AzureKeyIDs': "),
            )
        })?;
    }
    if let Some(given) = &a.data_location {
        if crate::vault::regions::data_location(given).is_none() {
            return Err(Error::invalid_argument(
                DATA_LOCATION,
                format!(
                    "'{given}' is not a Microsoft 365 data location ({}), a geography or an Azure region",
                    crate::vault::regions::data_location_codes().join(", ")
                ),
            ));
        }
    }
    let scan = a
        .backup_path
        .as_deref()
        .map(|p| {
            crate::vault::backup::scan_backups(ctx.store(), std::path::Path::new(p), BACKUP_PATH)
        })
        .transpose()?;
    let inspections: Vec<Inspection> =
        crate::vault::inspect_keys(ctx, &references, workload, scan.as_ref());
    let subject = Subject {
        workload,
        policy,
        data_location: a.data_location.clone(),
        backup_path: a.backup_path.clone(),
        admin: ctx.principal().clone(),
        now: ctx.now(),
    };
    let rows = checks::all(&subject, &inspections);
    let summary = rows.last().map(|r| r.detail.clone()).unwrap_or_default();
    ctx.audit_success(&ids.join(", "), &summary);
    if a.quiet {
        Ok(SetupResult::Quiet(
            !rows.iter().any(|r| r.status == Status::Fail),
        ))
    } else {
        Ok(SetupResult::Checks(rows))
    }
}

/// The workload and key ids to check, from -Workload and -AzureKeyIDs or from the policy
/// -DataEncryptionPolicy names; and the parameter the ids came from, for errors.
fn keys_to_check(
    ctx: &Context<'_>,
    a: &TestSetupArgs,
) -> Result<(Workload, Option<String>, Vec<String>, &'static str)> {
    if let Some(identity) = &a.data_encryption_policy {
        let found = match crate::exchange::policy_keys(ctx, identity)? {
            Some(keys) => Some(keys),
            None => crate::sharepoint::policy::policy_keys(ctx, identity)?,
        };
        let PolicyKeys {
            workload,
            name,
            key_ids,
        } = found.ok_or_else(|| {
            Error::not_found(
                "DataEncryptionPolicyNotFound",
                format!("{POLICY}: no Exchange or multi-workload data encryption policy has the name, Guid or DataEncryptionPolicyID '{identity}', and it does not name the SharePoint policy (SPODataEncryptionPolicy)"),
                identity.as_str(),
            )
        })?;
        if key_ids.is_empty() {
            return Err(Error::invalid_argument(
                POLICY,
                format!("policy '{name}' has no keys left to check (its data was purged)"),
            ));
        }
        return Ok((workload, Some(name), key_ids, POLICY));
    }
    // The parameter sets make both present here; their absence is a declaration bug.
    let workload = a
        .workload
        .as_deref()
        .and_then(Workload::parse)
        .ok_or_else(|| {
            Error::invalid_argument(
                "Workload",
                format!("must be one of {}", WORKLOADS.join(", ")),
            )
        })?;
    let ids = a.azure_key_ids.clone().unwrap_or_default();
    let wanted = if workload == Workload::Exchange {
        "at least two key ids (Exchange Online takes two or more)"
    } else {
        "exactly two key ids (a primary and a secondary)"
    };
    let count_ok = match workload {
        Workload::Exchange => (2..=MAX_KEYS).contains(&ids.len()),
        _ => ids.len() == 2,
    };
    if !count_ok {
        return Err(Error::invalid_argument(
            KEY_IDS,
            format!(
                "{} workload needs {wanted}, each in a vault of its own; {} given",
                workload.name(),
                ids.len()
            ),
        ));
    }
    Ok((workload, None, ids, KEY_IDS))
}
