//! The setup rules on states the store's vaults cannot be put in (EC and odd-sized keys, Azure
//! RBAC vaults, a subscription on the mandatory retention list), judged as the remote target
//! reads them from Azure. The store's own states are in tests/it/setup_check.rs.

use customer_key::vault::rules::{self, Status, Workload};

fn ops(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn key_type_passes_hsm_warns_software_and_fails_elliptic_curve() {
    assert_eq!(rules::key_type("RSA-HSM").status, Status::Pass);
    assert_eq!(rules::key_type("RSA").status, Status::Warning);
    for kty in ["EC", "EC-HSM"] {
        let v = rules::key_type(kty);
        assert_eq!(v.status, Status::Fail);
        assert!(v.detail.contains("elliptic curve"), "{v:?}");
    }
    assert_eq!(rules::key_type("oct-HSM").status, Status::Fail);
}

#[test]
fn key_size_is_one_of_the_three_rsa_sizes() {
    for bits in [2048, 3072, 4096] {
        assert_eq!(rules::key_size(bits).status, Status::Pass);
    }
    for bits in [0, 1024, 2047, 8192] {
        assert_eq!(rules::key_size(bits).status, Status::Fail, "{bits}");
    }
}

#[test]
fn the_permission_model_is_access_policies_or_rbac_with_the_crypto_service_role() {
    let w = Workload::Exchange;
    assert_eq!(
        rules::permission_model(false, Ok(false), true, w).status,
        Status::Pass
    );
    let pass = rules::permission_model(true, Ok(true), false, w);
    assert_eq!(pass.status, Status::Pass);
    assert!(
        pass.detail
            .contains("Key Vault Crypto Service Encryption User"),
        "{pass:?}"
    );
    let warn = rules::permission_model(true, Ok(true), true, w);
    assert_eq!(warn.status, Status::Warning);
    assert!(warn.detail.contains("ignored"), "{warn:?}");
    let fail = rules::permission_model(true, Ok(false), true, w);
    assert_eq!(fail.status, Status::Fail);
    assert!(
        fail.detail
            .contains("access policy for Office 365 Exchange Online is ignored"),
        "{fail:?}"
    );
    let unread = rules::permission_model(true, Err("needs roleAssignments/read".into()), false, w);
    assert_eq!(unread.status, Status::NotChecked);
}

#[test]
fn purge_protection_or_the_mandatory_retention_path_each_named() {
    let current = rules::purge_protection(true, Some("Recoverable"));
    assert_eq!(current.status, Status::Pass);
    assert!(current.detail.contains("current path"), "{current:?}");
    let legacy = rules::purge_protection(false, Some("Recoverable+ProtectedSubscription"));
    assert_eq!(legacy.status, Status::Pass);
    assert!(legacy.detail.contains("mandatory retention"), "{legacy:?}");
    assert_eq!(
        rules::purge_protection(false, Some("Recoverable+Purgeable")).status,
        Status::Fail
    );
    assert_eq!(rules::purge_protection(false, None).status, Status::Fail);
}

#[test]
fn recovery_levels_pass_both_paths_and_fail_customized_and_purgeable_naming_why() {
    assert_eq!(rules::recovery_level("Recoverable").status, Status::Pass);
    assert_eq!(
        rules::recovery_level("Recoverable+ProtectedSubscription").status,
        Status::Pass
    );
    for (level, why) in [
        ("CustomizedRecoverable", "fewer than 90 days"),
        (
            "CustomizedRecoverable+ProtectedSubscription",
            "fewer than 90 days",
        ),
        ("CustomizedRecoverable+Purgeable", "purge protection is off"),
        ("Recoverable+Purgeable", "can be purged"),
        ("Purgeable", "can be purged"),
    ] {
        let v = rules::recovery_level(level);
        assert_eq!(v.status, Status::Fail, "{level}");
        assert!(v.detail.contains(why), "{level}: {v:?}");
    }
    assert_eq!(rules::recovery_level("").status, Status::NotChecked);
    assert_eq!(rules::recovery_level_for(true, true, 90), "Recoverable");
    assert_eq!(
        rules::recovery_level_for(true, false, 7),
        "CustomizedRecoverable+Purgeable"
    );
}

#[test]
fn the_service_needs_three_permissions_and_all_counts_as_too_many() {
    let w = Workload::SharePoint;
    assert_eq!(
        rules::service_permissions(&ops(&["get", "wrapKey", "unwrapKey"]), w).status,
        Status::Pass
    );
    assert_eq!(
        rules::service_permissions(&ops(&["Get", "WrapKey", "UnwrapKey"]), w).status,
        Status::Pass
    );
    let all = rules::service_permissions(&ops(&["all"]), w);
    assert_eq!(all.status, Status::Warning, "{all:?}");
    let fail = rules::service_permissions(&ops(&["get"]), w);
    assert_eq!(fail.status, Status::Fail);
    assert!(
        fail.detail
            .contains("Office 365 SharePoint Online lacks wrapKey, unwrapKey"),
        "{fail:?}"
    );
}

#[test]
fn the_pair_needs_two_vaults_and_two_unpaired_regions() {
    assert_eq!(
        rules::separate_vaults(&["https://a.vault.azure.net"]).status,
        Status::Fail
    );
    assert_eq!(
        rules::separate_vaults(&["https://a.vault.azure.net", "https://A.vault.azure.net"]).status,
        Status::Fail
    );
    assert_eq!(rules::regions("eastus", "westus").status, Status::Warning);
    assert_eq!(rules::regions("westus3", "eastus").status, Status::Warning);
    assert_eq!(rules::regions("eastus", "westus2").status, Status::Pass);
    assert_eq!(
        rules::data_location(&[("a", "japaneast")], Some("JPN")).status,
        Status::Pass
    );
}

#[test]
fn the_admin_rule_passes_backup_without_a_restore_it_could_not_try() {
    assert_eq!(rules::admin_backup(true, None, "app").status, Status::Pass);
    assert_eq!(
        rules::admin_backup(true, Some(false), "app").status,
        Status::Warning
    );
    assert_eq!(rules::admin_backup(false, None, "app").status, Status::Fail);
}

#[test]
fn workloads_name_their_service_principals() {
    assert_eq!(Workload::parse("exchange"), Some(Workload::Exchange));
    assert_eq!(
        Workload::MultiWorkload.application_id(),
        "c066d759-24ae-40e7-a56f-027002b5d3e4"
    );
    assert_eq!(
        Workload::SharePoint.application_id(),
        "00000003-0000-0ff1-ce00-000000000000"
    );
    assert_eq!(Workload::parse("Teams"), None);
}
