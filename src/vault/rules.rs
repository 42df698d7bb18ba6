//! Customer Key's requirements on vaults and keys, each decided in one place: the setup check
//! (`Test-CustomerKeySetup`) reports every rule, and the workloads' own checks
//! (New-DataEncryptionPolicy, Register-SPODataEncryptionPolicy) reach the same decisions
//! through the predicates here. The rules read plain facts, never the store or the network, so
//! a vault of the store and one read from Azure are judged alike. Sources are keyed as in
//! `customer-key-setup-facts.md` (S1 the 2019-2022 set-up page, S7 the current one, S13 Key
//! Vault's keys API, S15 Azure's Key Vault docs, S19 third-party summaries of the current page).

use serde::Serialize;

/// How one requirement stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Status {
    Pass,
    Warning,
    Fail,
    /// The facts could not be read (the reason says which permission was missing).
    NotChecked,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "Pass",
            Status::Warning => "Warning",
            Status::Fail => "Fail",
            Status::NotChecked => "NotChecked",
        }
    }
}

/// A rule's decision and the sentence that explains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    pub detail: String,
}

impl Verdict {
    pub fn pass(detail: impl Into<String>) -> Self {
        Verdict {
            status: Status::Pass,
            detail: detail.into(),
        }
    }
    pub fn warning(detail: impl Into<String>) -> Self {
        Verdict {
            status: Status::Warning,
            detail: detail.into(),
        }
    }
    pub fn fail(detail: impl Into<String>) -> Self {
        Verdict {
            status: Status::Fail,
            detail: detail.into(),
        }
    }
    pub fn not_checked(detail: impl Into<String>) -> Self {
        Verdict {
            status: Status::NotChecked,
            detail: detail.into(),
        }
    }
}

/// The Microsoft 365 workload a pair of keys serves, and the service principal that uses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    Exchange,
    SharePoint,
    MultiWorkload,
}

/// What -Workload takes.
pub const WORKLOADS: &[&str] = &["Exchange", "SharePoint", "MultiWorkload"];

impl Workload {
    pub fn parse(text: &str) -> Option<Workload> {
        [
            Workload::Exchange,
            Workload::SharePoint,
            Workload::MultiWorkload,
        ]
        .into_iter()
        .find(|w| w.name().eq_ignore_ascii_case(text.trim()))
    }

    pub fn name(self) -> &'static str {
        match self {
            Workload::Exchange => "Exchange",
            Workload::SharePoint => "SharePoint",
            Workload::MultiWorkload => "MultiWorkload",
        }
    }

    /// The application id of the service principal that wraps and unwraps with the keys (S1).
    pub fn application_id(self) -> &'static str {
        match self {
            Workload::Exchange => "00000002-0000-0ff1-ce00-000000000000",
            Workload::SharePoint => "00000003-0000-0ff1-ce00-000000000000",
            Workload::MultiWorkload => "c066d759-24ae-40e7-a56f-027002b5d3e4",
        }
    }

    pub fn service_name(self) -> &'static str {
        match self {
            Workload::Exchange => "Office 365 Exchange Online",
            Workload::SharePoint => "Office 365 SharePoint Online",
            Workload::MultiWorkload => "M365DataAtRestEncryption",
        }
    }

    /// SharePoint's keys must sit in vaults of a subscription on the mandatory retention list
    /// (or keep 90 days): its data has no availability key a tenant may call on by itself.
    fn needs_full_retention(self) -> bool {
        self == Workload::SharePoint
    }
}

/// Soft-delete retention Microsoft's validation expects (S15: 7-90, immutable after creation).
pub const REQUIRED_RETENTION_DAYS: i64 = 90;
/// What the workload's service principal needs on each vault, and nothing more (S1).
pub const SERVICE_PERMISSIONS: [&str; 3] = ["get", "wrapKey", "unwrapKey"];
/// Azure RBAC's role for it: Key Vault Crypto Service Encryption User (S15 rbac-guide).
pub const CRYPTO_SERVICE_ENCRYPTION_USER: &str = "e147488a-f6f5-4113-8e2d-b22465e65bf6";
pub const CRYPTO_SERVICE_ENCRYPTION_USER_NAME: &str = "Key Vault Crypto Service Encryption User";
/// 12/31/9999 00:00 UTC: the one expiry date Microsoft 365's validation accepts (S1, S2).
pub const ACCEPTED_EXPIRY: i64 = 253_402_214_400;
const DAY: i64 = 86_400;
/// The farthest a time zone is ahead of UTC: `Get-Date '12/31/9999'` in UTC+14 is 10:00 on
/// the 30th in UTC.
const MAX_ZONE_AHEAD: i64 = 14 * 3_600;

/// Key Vault's recoveryLevel for a vault's settings (S13): "Customized" below 90 days,
/// "Purgeable" without purge protection.
pub fn recovery_level_for(soft_delete: bool, purge_protection: bool, days: i64) -> &'static str {
    match (
        soft_delete,
        purge_protection,
        days >= REQUIRED_RETENTION_DAYS,
    ) {
        (false, _, _) => "Purgeable",
        (true, false, true) => "Recoverable+Purgeable",
        (true, false, false) => "CustomizedRecoverable+Purgeable",
        (true, true, true) => "Recoverable",
        (true, true, false) => "CustomizedRecoverable",
    }
}

pub fn soft_delete(enabled: bool) -> Verdict {
    if enabled {
        Verdict::pass(
            "Soft delete is on: a deleted key stays recoverable for the retention period.",
        )
    } else {
        Verdict::fail("Soft delete is off: a deleted key is gone at once. Customer Key requires soft delete on every vault.")
    }
}

pub fn retention(
    soft_delete: bool,
    days: i64,
    purge_protection: bool,
    workload: Workload,
) -> Verdict {
    if !soft_delete {
        return Verdict::not_checked(
            "Soft delete is off, so nothing is retained (see SoftDelete).",
        );
    }
    if days >= REQUIRED_RETENTION_DAYS {
        return Verdict::pass(format!("Deleted keys are kept {days} days."));
    }
    let level = recovery_level_for(true, purge_protection, days);
    let text = format!(
        "Deleted keys are kept {days} days, not {REQUIRED_RETENTION_DAYS}: the vault's keys report recovery level {level}, and the retention cannot be changed after the vault was created."
    );
    if workload.needs_full_retention() {
        Verdict::fail(text)
    } else {
        Verdict::warning(text)
    }
}

/// Purge protection, or the older path: a subscription on Microsoft's mandatory retention list
/// (its keys' recovery level ends in "+ProtectedSubscription"), which the 2019-2022 docs relied
/// on instead (S1-S3 against S19; both accepted, the path found named).
pub fn purge_protection(enabled: bool, key_recovery_level: Option<&str>) -> Verdict {
    if enabled {
        return Verdict::pass(
            "Purge protection is on (the current path: 90-day soft delete with purge protection).",
        );
    }
    if key_recovery_level.is_some_and(|l| l.ends_with("+ProtectedSubscription")) {
        return Verdict::pass("Purge protection is off, but the subscription is on the mandatory retention list (recovery level Recoverable+ProtectedSubscription): the path of the 2019-2022 set-up docs.");
    }
    Verdict::fail("Purge protection is off: a deleted key can be purged at once, and the data it protects lost. Enable it (it cannot be turned off again).")
}

pub fn sku(sku: &str) -> Verdict {
    if sku.eq_ignore_ascii_case("Premium") {
        Verdict::pass("Premium: keys can be HSM-protected.")
    } else if sku.eq_ignore_ascii_case("Standard") {
        Verdict::warning("Standard: Customer Key accepts it, but Microsoft recommends Premium with HSM-protected keys for production (Standard only for test and validation).")
    } else {
        Verdict::fail(format!("SKU '{sku}' is neither Standard nor Premium."))
    }
}

/// The vault's permission model. `role_assigned`: whether the service principal holds
/// Key Vault Crypto Service Encryption User at the vault's scope or above (RBAC vaults only);
/// `has_access_policy`: whether an access policy names it (ignored in RBAC mode, S14/S15).
pub fn permission_model(
    rbac: bool,
    role_assigned: Result<bool, String>,
    has_access_policy: bool,
    workload: Workload,
) -> Verdict {
    let service = workload.service_name();
    if !rbac {
        return Verdict::pass("Vault access policies (the model the set-up docs use); the service principal's permissions are checked in ServicePrincipalAccess.");
    }
    let ignored = if has_access_policy {
        format!(" The vault's access policy for {service} is ignored in this mode.")
    } else {
        " Access policies are ignored in this mode.".to_string()
    };
    match role_assigned {
        Err(why) => Verdict::not_checked(format!("Azure RBAC: {why}.{ignored}")),
        Ok(false) => Verdict::fail(format!("Azure RBAC: {service} has no '{CRYPTO_SERVICE_ENCRYPTION_USER_NAME}' role assignment at the vault or above, so it cannot use the keys.{ignored}")),
        Ok(true) if has_access_policy => Verdict::warning(format!("Azure RBAC: {service} holds '{CRYPTO_SERVICE_ENCRYPTION_USER_NAME}'.{ignored} Remove it to avoid believing it counts.")),
        Ok(true) => Verdict::pass(format!("Azure RBAC: {service} holds '{CRYPTO_SERVICE_ENCRYPTION_USER_NAME}'.{ignored}")),
    }
}

pub fn key_enabled(enabled: bool) -> Verdict {
    if enabled {
        Verdict::pass("The key version exists and is enabled.")
    } else {
        Verdict::fail("The key version is disabled: the service cannot wrap or unwrap with it.")
    }
}

pub fn key_type(kty: &str) -> Verdict {
    match kty {
        "RSA-HSM" => Verdict::pass("RSA-HSM: an HSM-protected RSA key."),
        "RSA" => Verdict::warning("RSA (software-protected): accepted, but Microsoft recommends HSM-protected keys (RSA-HSM, in a Premium vault) for production."),
        ec if ec.starts_with("EC") => Verdict::fail(format!("{ec}: Azure Key Vault doesn't support wrapping and unwrapping with elliptic curve keys; Customer Key needs an RSA key.")),
        other => Verdict::fail(format!("{other}: Customer Key needs an RSA or RSA-HSM key.")),
    }
}

pub fn key_size(bits: u32) -> Verdict {
    if [2048, 3072, 4096].contains(&bits) {
        Verdict::pass(format!("{bits} bits."))
    } else {
        Verdict::fail(format!(
            "{bits} bits: Customer Key takes RSA keys of 2048, 3072 or 4096 bits."
        ))
    }
}

/// Whether a key's operations let a service wrap and unwrap with it.
pub fn allows_wrapping(key_ops: &[String]) -> bool {
    ["wrapKey", "unwrapKey"]
        .iter()
        .all(|op| key_ops.iter().any(|o| o == op))
}

pub fn key_ops(key_ops: &[String]) -> Verdict {
    let missing: Vec<&str> = ["wrapKey", "unwrapKey"]
        .into_iter()
        .filter(|op| !key_ops.iter().any(|o| o == op))
        .collect();
    if !allows_wrapping(key_ops) {
        return Verdict::fail(format!(
            "KeyOps lack {}: the service cannot wrap or unwrap with the key (it allows {}).",
            missing.join(" and "),
            shown(key_ops)
        ));
    }
    let extra: Vec<&str> = key_ops
        .iter()
        .map(String::as_str)
        .filter(|o| !["wrapKey", "unwrapKey"].contains(o))
        .collect();
    if extra.is_empty() {
        Verdict::pass("KeyOps are wrapKey and unwrapKey.")
    } else {
        Verdict::warning(format!("KeyOps allow {} besides wrapKey and unwrapKey: Customer Key needs only those two, and a root key that can do more can be misused for more.", extra.join(", ")))
    }
}

fn shown(list: &[String]) -> String {
    if list.is_empty() {
        "nothing".into()
    } else {
        list.join(", ")
    }
}

pub fn expiry(expires: Option<i64>) -> Verdict {
    let Some(exp) = expires else {
        return Verdict::pass("No expiry date.");
    };
    let date = crate::time::iso_from_unix(exp);
    if (ACCEPTED_EXPIRY..ACCEPTED_EXPIRY + DAY).contains(&exp) {
        Verdict::pass(format!(
            "Expires {date}: 12/31/9999, the one date Microsoft 365's validation accepts."
        ))
    } else if (ACCEPTED_EXPIRY - MAX_ZONE_AHEAD..ACCEPTED_EXPIRY).contains(&exp) {
        Verdict::warning(format!("Expires {date}: 12/31/9999 in a time zone ahead of UTC, which is 12/30 in UTC; set it in UTC so that the validation reads 12/31/9999."))
    } else {
        Verdict::fail(format!("Expires {date}: Customer Key can't use an expired key, and any date but 12/31/9999 fails Microsoft 365's validation."))
    }
}

pub fn not_before(not_before: Option<i64>, now: i64) -> Verdict {
    match not_before {
        None => Verdict::pass("No NotBefore date."),
        Some(nbf) if nbf <= now => {
            Verdict::pass(format!("Valid since {}.", crate::time::iso_from_unix(nbf)))
        }
        Some(nbf) => Verdict::fail(format!(
            "Not valid before {}: the service cannot wrap with it until then.",
            crate::time::iso_from_unix(nbf)
        )),
    }
}

pub fn recovery_level(level: &str) -> Verdict {
    match level {
        "Recoverable+ProtectedSubscription" => Verdict::pass("Recoverable+ProtectedSubscription: soft delete, and a subscription on the mandatory retention list (the path of the 2019-2022 set-up docs)."),
        "Recoverable" => Verdict::pass("Recoverable: 90-day soft delete with purge protection (the current path)."),
        "" => Verdict::not_checked("The key's answer carries no recovery level."),
        customized if customized.starts_with("Customized") => {
            let purgeable = if customized.contains("Purgeable") {
                " and purge protection is off"
            } else {
                ""
            };
            Verdict::fail(format!("{customized}: the vault keeps deleted keys fewer than 90 days{purgeable}; Customer Key expects Recoverable or Recoverable+ProtectedSubscription."))
        }
        purgeable if purgeable.contains("Purgeable") => Verdict::fail(format!("{purgeable}: the key can be purged (no purge protection, or no soft delete); Customer Key expects Recoverable or Recoverable+ProtectedSubscription.")),
        other => Verdict::fail(format!("{other}: Customer Key expects Recoverable or Recoverable+ProtectedSubscription.")),
    }
}

/// Whether a key id that names a version still names the newest enabled one. `named`: the
/// id's version (None: versionless, which always means the newest).
pub fn latest_version(named: Option<&str>, newest_enabled: Option<&str>) -> Verdict {
    match (named, newest_enabled) {
        (None, _) => Verdict::pass("Versionless: the service uses the newest version."),
        (Some(_), None) => Verdict::not_checked("The key has no enabled version to compare with (see KeyEnabled)."),
        (Some(n), Some(newest)) if n.eq_ignore_ascii_case(newest) => {
            Verdict::pass("Names the newest enabled version.")
        }
        (Some(n), Some(newest)) => Verdict::warning(format!("Names version {n}, but {newest} is newer and enabled: the key was rolled and the policy not refreshed (-Refresh), so the new version is not used yet.")),
    }
}

/// The first vault (of `vault_uris`) that holds two of the keys, if any: each key must be in a
/// vault of its own, so that losing one vault loses one key.
pub fn shared_vault<'a>(vault_uris: &[&'a str]) -> Option<&'a str> {
    vault_uris
        .iter()
        .enumerate()
        .find(|(i, uri)| vault_uris[..*i].iter().any(|u| u.eq_ignore_ascii_case(uri)))
        .map(|(_, uri)| *uri)
}

pub fn separate_vaults(vault_uris: &[&str]) -> Verdict {
    if vault_uris.len() < 2 {
        return Verdict::fail(format!(
            "{} key given: Customer Key needs two, in two different vaults.",
            vault_uris.len()
        ));
    }
    match shared_vault(vault_uris) {
        Some(uri) => Verdict::fail(format!("Two keys are in {uri}: each key must be in a different vault, so that losing one vault loses one key.")),
        None => Verdict::pass(format!("{} keys in {} different vaults.", vault_uris.len(), vault_uris.len())),
    }
}

/// Two vaults' regions: apart, and not an Azure region pair (S2: "prefer two non-paired
/// regions", so that one regional outage and its paired failover take one vault at most).
pub fn regions(a: &str, b: &str) -> Verdict {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    if a == b {
        Verdict::warning(format!("Both vaults are in {a}: an outage of that region takes both keys; put them in two regions."))
    } else if super::regions::paired(&a, &b) {
        Verdict::warning(format!("{a} and {b} are an Azure region pair: Microsoft recommends two regions that are not paired."))
    } else {
        Verdict::pass(format!("{a} and {b}: two regions that are not a pair."))
    }
}

/// Whether each vault is in the geography of the workload's data (S2: vaults close to the
/// service's geography). `data_location` as -DataLocation gave it; None: not given.
pub fn data_location(locations: &[(&str, &str)], data_location: Option<&str>) -> Verdict {
    let Some(given) = data_location else {
        return Verdict::not_checked("No -DataLocation given: give the Microsoft 365 data location (EUR, NAM, GBR, ...) to check the vaults are in its geography.");
    };
    let Some(wanted) = super::regions::data_location(given) else {
        return Verdict::not_checked(format!("'{given}' is not a known data location."));
    };
    let outside: Vec<String> = locations
        .iter()
        .filter(|(_, location)| !super::regions::in_data_location(location, &wanted))
        .map(|(vault, location)| format!("{vault} ({location})"))
        .collect();
    if outside.is_empty() {
        Verdict::pass(format!("Every vault is in the geography of {given}."))
    } else {
        Verdict::warning(format!("{} not in the geography of {given}: Microsoft recommends vaults close to the workload's data.", outside.join(", ")))
    }
}

/// The service principal's key permissions on a vault: `granted` as proven or read; it needs
/// get, wrapKey and unwrapKey, and more (delete, purge, ...) is a risk.
pub fn service_permissions(granted: &[String], workload: Workload) -> Verdict {
    let has = |p: &str| {
        granted
            .iter()
            .any(|g| g.eq_ignore_ascii_case(p) || g.eq_ignore_ascii_case("all"))
    };
    let service = workload.service_name();
    let missing: Vec<&str> = SERVICE_PERMISSIONS
        .into_iter()
        .filter(|p| !has(p))
        .collect();
    if !missing.is_empty() {
        return Verdict::fail(format!(
            "{service} lacks {} on the vault (it has {}).",
            missing.join(", "),
            shown(granted)
        ));
    }
    let extra: Vec<&str> = granted
        .iter()
        .map(String::as_str)
        .filter(|g| {
            !SERVICE_PERMISSIONS
                .iter()
                .any(|p| p.eq_ignore_ascii_case(g))
        })
        .collect();
    if extra.is_empty() {
        Verdict::pass(format!(
            "{service} has get, wrapKey and unwrapKey, and nothing more."
        ))
    } else {
        Verdict::warning(format!("{service} has {} besides get, wrapKey and unwrapKey: a service that may delete or purge keys can destroy what it protects; give it only those three.", extra.join(", ")))
    }
}

/// The acting admin's key permissions: backup keeps the keys available (S2: back up after
/// every change), and restore brings them back.
/// `restore`: None when the target cannot tell without restoring something.
pub fn admin_backup(backup: bool, restore: Option<bool>, admin: &str) -> Verdict {
    match (backup, restore) {
        (true, Some(true)) => Verdict::pass(format!("{admin} can back up and restore the keys.")),
        (true, None) => Verdict::pass(format!("{admin} can back up the keys (restore is not checked: it would change the vault).")),
        (true, Some(false)) => Verdict::warning(format!("{admin} can back up the keys but not restore them.")),
        (false, _) => Verdict::fail(format!("{admin} cannot back up the keys (no backup permission): a key lost without a backup is data lost.")),
    }
}

/// Whether every version of a key is in a backup. `unreadable`: backup files found that could
/// not be opened (another store's, or damaged), not counted.
pub fn backups(versions: &[&str], backed_up: &[String], unreadable: usize) -> Verdict {
    let missing: Vec<&str> = versions
        .iter()
        .copied()
        .filter(|v| !backed_up.iter().any(|b| b.eq_ignore_ascii_case(v)))
        .collect();
    if backed_up.is_empty() && !missing.is_empty() {
        return Verdict::fail("No backup of the key was found.");
    }
    if !missing.is_empty() {
        return Verdict::fail(format!(
            "{} of {} versions are in no backup ({}): back the key up again after every roll.",
            missing.len(),
            versions.len(),
            missing.join(", ")
        ));
    }
    if unreadable > 0 {
        Verdict::warning(format!("Every version is in a backup; {unreadable} other backup file(s) in the folder could not be read (another store's, or damaged) and were not counted."))
    } else {
        Verdict::pass(format!(
            "Every version ({}) is in a backup.",
            versions.len()
        ))
    }
}
