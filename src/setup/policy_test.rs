//! Test-M365DataAtRestEncryptionPolicy: whether a multi-workload policy can be used now, key by
//! key with the reasons, judged by the setup checks on the keys its current revision uses.

use super::{checks, SetupCheck, Subject};
use crate::error::Result;
use crate::operations::Context;
use crate::vault::boundary::KeyReference;
use crate::vault::inspect::Inspection;
use crate::vault::rules::{Status, Workload};
use serde::Serialize;

arguments! {
    pub struct TestM365PolicyArgs {
        pub identity: String = "Identity", String, "Name, Guid or DataEncryptionPolicyID of the multi-workload policy", mandatory, pipeline, pipeline_value, position(0);
    }
}

/// One key of the policy: whether the M365DataAtRestEncryption service can use it, and why not.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyTest {
    pub key_id: String,
    pub usable: bool,
    /// Each failed check of the key or its vault: "Check: detail".
    pub reasons: Vec<String>,
    /// Each warning of the key or its vault.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyTest {
    pub identity: String,
    pub name: String,
    /// No check failed: the policy can be used (and assigned) now.
    pub is_valid: bool,
    pub key_results: Vec<KeyTest>,
    /// Every setup check, as Test-CkCustomerKeySetup returns them.
    pub checks: Vec<SetupCheck>,
}

pub fn test_m365_policy(ctx: &Context<'_>, a: TestM365PolicyArgs) -> Result<PolicyTest> {
    let (name, ids) = crate::exchange::multi_workload_policy_keys(ctx, &a.identity)?;
    let references = ids
        .iter()
        .map(|id| KeyReference::parse("Identity", id))
        .collect::<Result<Vec<_>>>()?;
    let workload = Workload::MultiWorkload;
    let inspections: Vec<Inspection> = crate::vault::inspect_keys(ctx, &references, workload, None);
    let subject = Subject {
        workload,
        policy: Some(name.clone()),
        data_location: None,
        backup_path: None,
        admin: ctx.principal().clone(),
        now: ctx.now(),
    };
    // The backup check needs -BackupPath, which a policy test has not: it is left out.
    let rows: Vec<SetupCheck> = checks::all(&subject, &inspections)
        .into_iter()
        .filter(|r| r.check != "KeyBackup" && r.check != "DataLocation")
        .collect();
    let about = |r: &SetupCheck, reference: &KeyReference| {
        r.target.eq_ignore_ascii_case(&reference.id())
            || r.target.eq_ignore_ascii_case(&reference.vault_name)
    };
    let key_results = references
        .iter()
        .map(|reference| {
            let mine: Vec<&SetupCheck> = rows.iter().filter(|r| about(r, reference)).collect();
            let text = |status: Status| {
                mine.iter()
                    .filter(|r| r.status == status)
                    .map(|r| format!("{}: {}", r.check, r.detail))
                    .collect::<Vec<_>>()
            };
            let reasons = text(Status::Fail);
            KeyTest {
                key_id: reference.id(),
                usable: reasons.is_empty(),
                reasons,
                warnings: text(Status::Warning),
            }
        })
        .collect();
    let is_valid = !rows
        .iter()
        .any(|r| r.status == Status::Fail && r.check != "Summary");
    ctx.audit_success(
        &ids.join(", "),
        if is_valid { "usable" } else { "not usable" },
    );
    Ok(PolicyTest {
        identity: name.clone(),
        name,
        is_valid,
        key_results,
        checks: rows,
    })
}
