//! The rows of Test-CustomerKeySetup: each rule of `vault::rules` applied to what was read of
//! the keys and their vaults, in the order an admin fixes them (the pair, then each vault and
//! its key), and a summary last.

use super::check::Check;
use super::remedies::{remedy, Names};
use super::{SetupCheck, Subject};
use crate::vault::inspect::{Inspection, Unread, VersionFacts};
use crate::vault::rules::{self, Status, Verdict};

const VAULT_CHECKS: [Check; 7] = [
    Check::SoftDelete,
    Check::SoftDeleteRetention,
    Check::PurgeProtection,
    Check::VaultSku,
    Check::PermissionModel,
    Check::ServicePrincipalAccess,
    Check::AdminBackupAccess,
];

const KEY_CHECKS: [Check; 9] = [
    Check::KeyEnabled,
    Check::KeyType,
    Check::KeySize,
    Check::KeyOperations,
    Check::KeyExpiry,
    Check::KeyNotBefore,
    Check::RecoveryLevel,
    Check::LatestVersion,
    Check::KeyBackup,
];

fn row(check: Check, target: &str, verdict: Verdict, names: &Names<'_>) -> SetupCheck {
    let (remediation, remediation_ck) = match verdict.status {
        Status::Warning | Status::Fail => remedy(check, &verdict, names),
        _ => (None, None),
    };
    SetupCheck {
        check: check.name(),
        target: target.to_string(),
        status: verdict.status,
        detail: verdict.detail,
        remediation,
        remediation_ck,
        reference: check.reference(),
    }
}

/// A fact that could not be read: a missing object fails where it is first met (`first`),
/// and every other check of it is NotChecked pointing there.
fn unread(u: &Unread, first: Check) -> Verdict {
    if u.not_found {
        Verdict::not_checked(format!("{} (see {}).", u.reason, first.name()))
    } else {
        Verdict::not_checked(u.reason.clone())
    }
}

pub(crate) fn all(subject: &Subject, inspections: &[Inspection]) -> Vec<SetupCheck> {
    let mut rows = Vec::new();
    let last = inspections.len().saturating_sub(1);
    let pair_names = Names::of(subject, inspections, last);
    let ids: Vec<String> = inspections.iter().map(|i| i.reference.id()).collect();
    let uris: Vec<&str> = inspections
        .iter()
        .map(|i| i.reference.vault_uri.as_str())
        .collect();
    rows.push(row(
        Check::SeparateVaults,
        &ids.join(", "),
        rules::separate_vaults(&uris),
        &pair_names,
    ));
    let vault_names = distinct_vaults(inspections).join(", ");
    rows.push(row(
        Check::VaultRegions,
        &vault_names,
        regions(inspections),
        &pair_names,
    ));
    rows.push(row(
        Check::DataLocation,
        &vault_names,
        data_location(subject, inspections),
        &pair_names,
    ));
    let mut vaults_done: Vec<String> = Vec::new();
    for (position, inspection) in inspections.iter().enumerate() {
        let names = Names::of(subject, inspections, position);
        let vault = inspection.reference.vault_name.clone();
        if !vaults_done.contains(&vault) {
            vault_rows(subject, inspection, &names, &mut rows);
            vaults_done.push(vault);
        }
        key_rows(subject, inspection, &names, &mut rows);
    }
    rows.push(summary(subject, &rows));
    rows
}

fn distinct_vaults(inspections: &[Inspection]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for i in inspections {
        let name = i
            .vault
            .as_ref()
            .map_or(&i.reference.vault_name, |v| &v.name);
        if !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            names.push(name.clone());
        }
    }
    names
}

/// (vault, location) of each distinct vault, or why one could not be read.
fn locations(inspections: &[Inspection]) -> Result<Vec<(String, String)>, Verdict> {
    let mut out: Vec<(String, String)> = Vec::new();
    for i in inspections {
        let v = i.vault.as_ref().map_err(|u| unread(u, Check::KeyEnabled))?;
        if !out.iter().any(|(name, _)| name == &v.name) {
            out.push((v.name.clone(), v.location.clone()));
        }
    }
    Ok(out)
}

fn regions(inspections: &[Inspection]) -> Verdict {
    let found = match locations(inspections) {
        Ok(found) => found,
        Err(v) => return v,
    };
    if found.len() < 2 {
        return Verdict::not_checked("The keys are not in two vaults (see SeparateVaults).");
    }
    let mut verdicts = Vec::new();
    for (i, (_, a)) in found.iter().enumerate() {
        for (_, b) in &found[i + 1..] {
            verdicts.push(rules::regions(a, b));
        }
    }
    let worst = verdicts
        .iter()
        .position(|v| v.status != Status::Pass)
        .unwrap_or(0);
    verdicts.swap_remove(worst)
}

fn data_location(subject: &Subject, inspections: &[Inspection]) -> Verdict {
    match locations(inspections) {
        Ok(found) => {
            let pairs: Vec<(&str, &str)> = found
                .iter()
                .map(|(v, l)| (v.as_str(), l.as_str()))
                .collect();
            rules::data_location(&pairs, subject.data_location.as_deref())
        }
        Err(v) => v,
    }
}

fn vault_rows(subject: &Subject, i: &Inspection, names: &Names<'_>, rows: &mut Vec<SetupCheck>) {
    // The vault's name as it was created, where it could be read (key ids lower-case it).
    let target = i
        .vault
        .as_ref()
        .map_or(i.reference.vault_name.as_str(), |v| v.name.as_str());
    let v = match &i.vault {
        Ok(v) => v,
        Err(u) => {
            for check in VAULT_CHECKS {
                rows.push(row(check, target, unread(u, Check::KeyEnabled), names));
            }
            return;
        }
    };
    let workload = subject.workload;
    let level = i.key.as_ref().ok().map(|k| k.recovery_level.as_str());
    let service = if v.rbac {
        let role = rules::CRYPTO_SERVICE_ENCRYPTION_USER_NAME;
        match &v.service_role {
            Ok(true) => Verdict::pass(format!("{} may get, wrap and unwrap through its '{role}' role (access policies are ignored in RBAC mode).", workload.service_name())),
            Ok(false) => Verdict::fail(format!("{} has no '{role}' role on the vault, so it cannot use the keys (access policies are ignored in RBAC mode).", workload.service_name())),
            Err(why) => Verdict::not_checked(why.clone()),
        }
    } else {
        match &i.service {
            Ok(grants) => {
                let mut verdict = rules::service_permissions(&grants.permissions, workload);
                verdict.detail = format!("{} ({}.)", verdict.detail, grants.how);
                verdict
            }
            Err(u) => unread(u, Check::KeyEnabled),
        }
    };
    let admin = match &i.admin {
        Ok(a) => rules::admin_backup(a.backup, a.restore, &a.admin),
        Err(u) => unread(u, Check::KeyEnabled),
    };
    let verdicts = [
        (Check::SoftDelete, rules::soft_delete(v.soft_delete)),
        (
            Check::SoftDeleteRetention,
            rules::retention(
                v.soft_delete,
                v.retention_days,
                v.purge_protection,
                workload,
            ),
        ),
        (
            Check::PurgeProtection,
            rules::purge_protection(v.purge_protection, level),
        ),
        (Check::VaultSku, rules::sku(&v.sku)),
        (
            Check::PermissionModel,
            rules::permission_model(
                v.rbac,
                v.service_role.clone(),
                v.service_policy.is_some(),
                workload,
            ),
        ),
        (Check::ServicePrincipalAccess, service),
        (Check::AdminBackupAccess, admin),
    ];
    for (check, verdict) in verdicts {
        rows.push(row(check, target, verdict, names));
    }
}

/// The newest enabled version of a listing (oldest first).
fn newest_enabled(versions: &[VersionFacts]) -> Option<&str> {
    versions
        .iter()
        .rev()
        .find(|v| v.enabled)
        .map(|v| v.version.as_str())
}

fn key_rows(subject: &Subject, i: &Inspection, names: &Names<'_>, rows: &mut Vec<SetupCheck>) {
    let k = match &i.key {
        Ok(k) => k,
        Err(u) => {
            let target = i.reference.id();
            let first = if u.not_found {
                Verdict::fail(format!("{}.", u.reason.trim_end_matches('.')))
            } else {
                Verdict::not_checked(u.reason.clone())
            };
            rows.push(row(Check::KeyEnabled, &target, first, names));
            for check in &KEY_CHECKS[1..] {
                rows.push(row(*check, &target, unread(u, Check::KeyEnabled), names));
            }
            return;
        }
    };
    let latest = match &k.versions {
        Ok(versions) => {
            rules::latest_version(i.reference.version.as_deref(), newest_enabled(versions))
        }
        Err(u) => unread(u, Check::KeyEnabled),
    };
    let backup = match (&i.backups, &k.versions) {
        (None, _) => Verdict::not_checked("No -BackupPath given: give the folder the key backups are kept in to check every version is backed up."),
        (Some(Err(u)), _) | (Some(Ok(_)), Err(u)) => unread(u, Check::KeyEnabled),
        (Some(Ok(found)), Ok(versions)) => {
            let all: Vec<&str> = versions.iter().map(|v| v.version.as_str()).collect();
            rules::backups(&all, &found.versions, found.unreadable)
        }
    };
    let verdicts = [
        (Check::KeyEnabled, rules::key_enabled(k.enabled)),
        (Check::KeyType, rules::key_type(&k.key_type)),
        (Check::KeySize, rules::key_size(k.key_size)),
        (Check::KeyOperations, rules::key_ops(&k.key_ops)),
        (Check::KeyExpiry, rules::expiry(k.expires)),
        (
            Check::KeyNotBefore,
            rules::not_before(k.not_before, subject.now),
        ),
        (
            Check::RecoveryLevel,
            rules::recovery_level(&k.recovery_level),
        ),
        (Check::LatestVersion, latest),
        (Check::KeyBackup, backup),
    ];
    for (check, verdict) in verdicts {
        rows.push(row(check, &k.id, verdict, names));
    }
}

fn summary(subject: &Subject, rows: &[SetupCheck]) -> SetupCheck {
    let count = |s: Status| rows.iter().filter(|r| r.status == s).count();
    let (passed, warned, failed, unchecked) = (
        count(Status::Pass),
        count(Status::Warning),
        count(Status::Fail),
        count(Status::NotChecked),
    );
    let status = if failed > 0 {
        Status::Fail
    } else if warned > 0 {
        Status::Warning
    } else if passed == 0 {
        Status::NotChecked
    } else {
        Status::Pass
    };
    let verdict = if failed > 0 {
        "Not ready: fix the failed checks before onboarding"
    } else {
        "No check failed"
    };
    let target = match &subject.policy {
        Some(p) => format!("{} policy '{p}'", subject.workload.name()),
        None => format!("{} keys", subject.workload.name()),
    };
    SetupCheck {
        check: Check::Summary.name(),
        target,
        status,
        detail: format!(
            "{passed} passed, {warned} warning{}, {failed} failed, {unchecked} not checked. {verdict}.",
            if warned == 1 { "" } else { "s" }
        ),
        remediation: None,
        remediation_ck: None,
        reference: Check::Summary.reference(),
    }
}
