//! Test-CustomerKeySetup against the store's own vaults, through the C ABI: the pair's, the
//! vaults' and the principals' checks, each made to pass, warn (where the rule has a warning)
//! and fail by putting vaults in that state with the ordinary cmdlets; -Quiet; bad input named.
//! The keys' checks are in tests/it/setup_check_keys.rs; the states the store cannot hold (EC
//! keys, RBAC vaults, the mandatory retention list) in tests/it/setup_rules.rs.

use crate::common::{Ck, TempDir, ADMIN};
use crate::setup_support::*;
use serde_json::{json, Value};

#[test]
fn a_pair_set_up_as_microsoft_asks_passes_every_check() {
    let p = pair("setup-all-pass");
    let backups = p.dir.join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    for vault in [A, B] {
        p.ck.ok(
            "Backup-KeyVaultKey",
            json!({"VaultName": vault, "Name": "ck-key", "OutputFile": backups.join(format!("{vault}-ck-key-1.keybackup"))}),
        );
    }
    let rows = p.check(json!({"DataLocation": "EUR", "BackupPath": backups}));
    // The pair's three checks, seven per vault, nine per key, and the summary.
    assert_eq!(rows.len(), 3 + 2 * (7 + 9) + 1, "{rows:#?}");
    for r in &rows {
        assert_eq!(r["Status"], "Pass", "{r:#}");
        assert!(r["Remediation"].is_null() && r["RemediationCk"].is_null());
        assert!(r["Reference"]
            .as_str()
            .unwrap()
            .starts_with("https://learn.microsoft.com/"));
    }
    let summary = rows.last().unwrap();
    assert_eq!(summary["Check"], "Summary");
    assert!(
        summary["Detail"]
            .as_str()
            .unwrap()
            .starts_with("35 passed, 0 warnings, 0 failed, 0 not checked. No check failed."),
        "{summary}"
    );
    let quiet = p.ck.ok(
        "Test-CustomerKeySetup",
        json!({"Workload": "Exchange", "AzureKeyIDs": p.ids, "Quiet": true}),
    );
    assert_eq!(quiet, json!(true));
    // The service principal's permissions were proved by using them, as it.
    let access = row(&rows, "ServicePrincipalAccess", A);
    assert!(
        access["Detail"]
            .as_str()
            .unwrap()
            .contains("by using them as the service principal"),
        "{access}"
    );
}

#[test]
fn two_keys_must_be_in_two_vaults() {
    let p = pair("setup-separate");
    assert_status(&p.check(json!({})), "SeparateVaults", A, "Pass");
    let second = add_key(&p.ck, A, "second", json!({}));
    let rows = run(
        &p.ck,
        json!({"Workload": "Exchange", "AzureKeyIDs": [p.ids[0], second["Id"]]}),
    );
    let r = assert_status(&rows, "SeparateVaults", A, "Fail");
    assert!(
        r["Detail"].as_str().unwrap().contains("different vault"),
        "{r}"
    );
    assert!(
        r["RemediationCk"]
            .as_str()
            .unwrap()
            .contains("New-CkKeyVault -VaultName 'contoso-ck-a-v2'"),
        "{r}"
    );
    // One vault: its checks once, the regions not checked.
    assert_eq!(
        rows.iter().filter(|r| r["Check"] == "SoftDelete").count(),
        1
    );
    assert_status(&rows, "VaultRegions", A, "NotChecked");
}

#[test]
fn vaults_in_one_region_or_a_region_pair_warn() {
    let p = pair("setup-regions");
    assert_status(&p.check(json!({})), "VaultRegions", A, "Pass");
    for (location, why) in [
        ("westeurope", "Both vaults are in westeurope"),
        ("northeurope", "region pair"),
    ] {
        let q = pair_with(
            &format!("setup-regions-{location}"),
            json!({}),
            json!({"Location": location}),
            EXO,
        );
        let r = assert_status(&q.check(json!({})), "VaultRegions", A, "Warning");
        assert!(r["Detail"].as_str().unwrap().contains(why), "{r}");
        assert!(
            r["RemediationCk"]
                .as_str()
                .unwrap()
                .contains("-Location 'francecentral'"),
            "{r}"
        );
    }
}

#[test]
fn the_vaults_geography_is_checked_against_the_data_location_given() {
    let p = pair("setup-geo");
    assert_status(
        &p.check(json!({"DataLocation": "EUR"})),
        "DataLocation",
        A,
        "Pass",
    );
    assert_status(
        &p.check(json!({"DataLocation": "westeurope"})),
        "DataLocation",
        A,
        "Warning",
    );
    let r = assert_status(
        &p.check(json!({"DataLocation": "NAM"})),
        "DataLocation",
        A,
        "Warning",
    );
    assert!(
        r["Detail"]
            .as_str()
            .unwrap()
            .contains("contoso-ck-a (westeurope)"),
        "{r}"
    );
    assert_status(&p.check(json!({})), "DataLocation", A, "NotChecked");
    let e = p.ck.err(
        "Test-CustomerKeySetup",
        json!({"Workload": "Exchange", "AzureKeyIDs": p.ids, "DataLocation": "Atlantis"}),
    );
    assert_eq!(e.category(), "InvalidArgument");
    assert!(
        e.message().contains("Parameter 'DataLocation'") && e.message().contains("EUR"),
        "{e:?}"
    );
}

#[test]
fn soft_delete_retention_and_purge_protection_each_with_the_recovery_level_they_give() {
    let p = pair("setup-vault-protection");
    let rows = p.check(json!({}));
    for check in ["SoftDelete", "SoftDeleteRetention", "PurgeProtection"] {
        assert_status(&rows, check, A, "Pass");
    }
    assert!(row(&rows, "RecoveryLevel", A)["Detail"]
        .as_str()
        .unwrap()
        .starts_with("Recoverable:"));

    // 30 days: a warning for Exchange naming the level it yields; a failure for SharePoint.
    let short = pair_with(
        "setup-retention",
        json!({"SoftDeleteRetentionInDays": 30}),
        json!({}),
        EXO,
    );
    grant(&short.ck, A, SPO, &SERVICE);
    grant(&short.ck, B, SPO, &SERVICE);
    let rows = short.check(json!({}));
    let r = assert_status(&rows, "SoftDeleteRetention", A, "Warning");
    assert!(
        r["Detail"]
            .as_str()
            .unwrap()
            .contains("CustomizedRecoverable"),
        "{r}"
    );
    assert!(r["RemediationCk"].as_str().unwrap().contains("-SoftDeleteRetentionInDays 90 -EnablePurgeProtection; Backup-CkKeyVaultKey -VaultName 'contoso-ck-a' -Name 'ck-key'"), "{r}");
    assert_status(&rows, "RecoveryLevel", A, "Fail");
    let spo = run(
        &short.ck,
        json!({"Workload": "SharePoint", "AzureKeyIDs": short.ids}),
    );
    assert_status(&spo, "SoftDeleteRetention", A, "Fail");

    // No purge protection, no soft delete.
    let weak = pair_with(
        "setup-purge",
        json!({"EnablePurgeProtection": false}),
        json!({"EnablePurgeProtection": false, "DisableSoftDelete": true}),
        EXO,
    );
    let rows = weak.check(json!({}));
    let r = assert_status(&rows, "PurgeProtection", A, "Fail");
    assert!(r["Remediation"].as_str().unwrap().starts_with("Update-AzKeyVault -VaultName 'contoso-ck-a' -ResourceGroupName 'customer-key' -EnablePurgeProtection"), "{r}");
    let level = assert_status(&rows, "RecoveryLevel", A, "Fail");
    assert!(
        level["Detail"]
            .as_str()
            .unwrap()
            .starts_with("Recoverable+Purgeable"),
        "{level}"
    );
    assert_status(&rows, "SoftDelete", A, "Pass");
    assert_status(&rows, "SoftDelete", B, "Fail");
    assert_status(&rows, "SoftDeleteRetention", B, "NotChecked");
    let level = assert_status(&rows, "RecoveryLevel", B, "Fail");
    assert!(
        level["Detail"].as_str().unwrap().starts_with("Purgeable"),
        "{level}"
    );
}

#[test]
fn a_standard_vault_and_software_keys_warn() {
    let p = pair("setup-sku");
    let rows = p.check(json!({}));
    assert_status(&rows, "VaultSku", A, "Pass");
    assert_status(&rows, "KeyType", A, "Pass");
    let dir = TempDir::new("setup-sku-standard");
    let ck = Ck::at(&dir.join("store"), ADMIN);
    let mut ids = Vec::new();
    for (vault, location) in [(A, "westeurope"), (B, "francecentral")] {
        ck.ok(
            "New-KeyVault",
            json!({"VaultName": vault, "Location": location, "EnablePurgeProtection": true}),
        );
        let k = add_key(&ck, vault, "soft", json!({"Destination": "Software"}));
        ids.push(k["Id"].as_str().unwrap().to_string());
        grant(&ck, vault, EXO, &SERVICE);
    }
    let rows = run(&ck, json!({"Workload": "Exchange", "AzureKeyIDs": ids}));
    assert_status(&rows, "VaultSku", A, "Warning");
    let r = assert_status(&rows, "KeyType", A, "Warning");
    assert!(
        r["RemediationCk"]
            .as_str()
            .unwrap()
            .contains("-Destination HSM"),
        "{r}"
    );
    assert_eq!(rows.last().unwrap()["Status"], "Warning");
}

#[test]
fn the_service_principal_needs_get_wrap_and_unwrap_proved_by_use_and_nothing_more() {
    let p = pair("setup-service");
    assert_status(&p.check(json!({})), "ServicePrincipalAccess", A, "Pass");
    assert_status(&p.check(json!({})), "PermissionModel", A, "Pass");

    grant(&p.ck, A, EXO, &["get", "unwrapKey"]);
    let rows = p.check(json!({}));
    let r = assert_status(&rows, "ServicePrincipalAccess", A, "Fail");
    assert!(
        r["Detail"].as_str().unwrap().contains("lacks wrapKey"),
        "{r}"
    );
    assert_eq!(
        r["RemediationCk"],
        "Set-CkKeyVaultAccessPolicy -VaultName 'contoso-ck-a' -ServicePrincipalName '00000002-0000-0ff1-ce00-000000000000' -PermissionsToKeys get, wrapKey, unwrapKey"
    );
    assert!(r["Remediation"].as_str().unwrap().starts_with("Set-AzKeyVaultAccessPolicy -VaultName 'contoso-ck-a' -ResourceGroupName 'customer-key' -ServicePrincipalName '00000002"), "{r}");
    assert_eq!(
        p.ck.ok(
            "Test-CustomerKeySetup",
            json!({"Workload": "Exchange", "AzureKeyIDs": p.ids, "Quiet": true})
        ),
        json!(false)
    );

    // What the remediation says, done, fixes it.
    grant(&p.ck, A, EXO, &SERVICE);
    assert_status(&p.check(json!({})), "ServicePrincipalAccess", A, "Pass");

    grant(
        &p.ck,
        B,
        EXO,
        &["get", "wrapKey", "unwrapKey", "delete", "purge"],
    );
    let r = assert_status(&p.check(json!({})), "ServicePrincipalAccess", B, "Warning");
    assert!(
        r["Detail"].as_str().unwrap().contains("delete, purge"),
        "{r}"
    );

    // A key that refuses wrapping itself proves nothing by use: the policy is read instead.
    p.ck.ok(
        "Update-KeyVaultKey",
        json!({"VaultName": A, "Name": "ck-key", "Enable": false}),
    );
    let r = assert_status(&p.check(json!({})), "ServicePrincipalAccess", A, "Pass");
    assert!(
        r["Detail"]
            .as_str()
            .unwrap()
            .contains("read from its access policy"),
        "{r}"
    );

    // Another workload's principal is not the one that counts.
    let rows = run(
        &p.ck,
        json!({"Workload": "MultiWorkload", "AzureKeyIDs": p.ids}),
    );
    let r = assert_status(&rows, "ServicePrincipalAccess", B, "Fail");
    assert!(
        r["Detail"]
            .as_str()
            .unwrap()
            .contains("M365DataAtRestEncryption"),
        "{r}"
    );
    grant(&p.ck, B, MDEP, &SERVICE);
    let rows = run(
        &p.ck,
        json!({"Workload": "MultiWorkload", "AzureKeyIDs": p.ids}),
    );
    assert_status(&rows, "ServicePrincipalAccess", B, "Pass");
}

#[test]
fn the_acting_admin_must_be_able_to_back_up_and_should_be_able_to_restore() {
    let p = pair("setup-admin");
    assert_status(&p.check(json!({})), "AdminBackupAccess", A, "Pass");
    let ops = Ck::at(&p.dir.join("store"), "ops@contoso.com");
    let as_ops = |permissions: &[&str]| {
        for vault in [A, B] {
            p.ck.ok(
                "Set-KeyVaultAccessPolicy",
                json!({"VaultName": vault, "UserPrincipalName": "ops@contoso.com", "PermissionsToKeys": permissions}),
            );
        }
        run(&ops, json!({"Workload": "Exchange", "AzureKeyIDs": p.ids}))
    };
    let r = assert_status(
        &as_ops(&["get", "list", "backup"]),
        "AdminBackupAccess",
        A,
        "Warning",
    );
    assert!(r["RemediationCk"].as_str().unwrap().contains("-UserPrincipalName 'ops@contoso.com' -PermissionsToKeys create, import, list, get, backup, restore"), "{r}");
    let r = assert_status(&as_ops(&["get", "list"]), "AdminBackupAccess", B, "Fail");
    assert!(
        r["Detail"]
            .as_str()
            .unwrap()
            .contains("ops@contoso.com cannot back up"),
        "{r}"
    );
    // Without get, the key cannot be read: its checks are not checked, naming the permission.
    let rows = as_ops(&["backup"]);
    let r = assert_status(&rows, "KeyEnabled", A, "NotChecked");
    assert!(
        r["Detail"].as_str().unwrap().contains("needs keys/get"),
        "{r}"
    );
    // Without list, only the versions' checks are.
    let rows = as_ops(&["get", "backup", "restore"]);
    assert_status(&rows, "KeyEnabled", A, "Pass");
    let r = assert_status(&rows, "LatestVersion", A, "NotChecked");
    assert!(r["Detail"].as_str().unwrap().contains("keys/list"), "{r}");
}

#[test]
fn quiet_answers_only_whether_no_check_failed() {
    let p = pair_with("setup-quiet", json!({"Sku": "Standard"}), json!({}), EXO);
    let quiet = |ids: &Vec<String>| {
        p.ck.ok(
            "Test-CustomerKeySetup",
            json!({"Workload": "Exchange", "AzureKeyIDs": ids, "Quiet": true}),
        )
    };
    // A Standard vault cannot hold HSM keys; the pair was made with software keys there.
    assert_eq!(quiet(&p.ids), json!(true), "warnings only");
    p.ck.ok(
        "Update-KeyVaultKey",
        json!({"VaultName": B, "Name": "ck-key", "Enable": false}),
    );
    assert_eq!(quiet(&p.ids), json!(false));
}

#[test]
fn bad_input_is_refused_naming_the_parameter_and_the_rule() {
    let p = pair("setup-bad-input");
    let refused = |args: Value| p.ck.err("Test-CustomerKeySetup", args);
    let e = refused(json!({"Workload": "Exchange", "AzureKeyIDs": [p.ids[0]]}));
    assert!(
        e.message().starts_with("Parameter 'AzureKeyIDs'") && e.message().contains("at least two"),
        "{e:?}"
    );
    let e =
        refused(json!({"Workload": "SharePoint", "AzureKeyIDs": [p.ids[0], p.ids[1], p.ids[0]]}));
    assert!(e.message().contains("exactly two"), "{e:?}");
    let e = refused(
        json!({"Workload": "Exchange", "AzureKeyIDs": [p.ids[0], "https://example.com/keys/k"]}),
    );
    assert!(
        e.message().starts_with("Parameter 'AzureKeyIDs'")
            && e.message().contains("not a key vault host"),
        "{e:?}"
    );
    let e = refused(json!({"Workload": "Payroll", "AzureKeyIDs": p.ids}));
    assert!(e.message().contains("Workload"), "{e:?}");
    let e = refused(json!({"DataEncryptionPolicy": "no-such-policy"}));
    assert_eq!(e.code(), "DataEncryptionPolicyNotFound");
    assert!(e.message().starts_with("DataEncryptionPolicy: "), "{e:?}");
    let e = refused(json!({"DataEncryptionPolicy": "SPODataEncryptionPolicy"}));
    assert_eq!(e.code(), "PolicyNotRegistered", "{e:?}");
    let e = refused(
        json!({"DataEncryptionPolicy": "DEP", "Workload": "Exchange", "AzureKeyIDs": p.ids}),
    );
    assert_eq!(e.category(), "InvalidArgument", "{e:?}");
}

#[test]
fn the_check_changes_nothing_and_an_unreachable_vault_is_not_checked() {
    let p = pair("setup-readonly");
    let before: Vec<Value> = [A, B]
        .iter()
        .map(|v| {
            p.ck.ok(
                "Get-KeyVaultKey",
                json!({"VaultName": v, "Name": "ck-key", "IncludeVersions": true}),
            )
        })
        .collect();
    let vaults_before = p.ck.ok("Get-KeyVault", json!({}));
    p.ck.ok("Set-KeyVault", json!({"VaultName": B, "Unreachable": true}));
    let rows = p.check(json!({}));
    let r = assert_status(&rows, "ServicePrincipalAccess", B, "NotChecked");
    assert!(
        r["Detail"].as_str().unwrap().contains("did not answer"),
        "{r}"
    );
    p.ck.ok(
        "Set-KeyVault",
        json!({"VaultName": B, "Unreachable": false}),
    );
    let after: Vec<Value> = [A, B]
        .iter()
        .map(|v| {
            p.ck.ok(
                "Get-KeyVaultKey",
                json!({"VaultName": v, "Name": "ck-key", "IncludeVersions": true}),
            )
        })
        .collect();
    assert_eq!(before, after);
    assert_eq!(vaults_before, p.ck.ok("Get-KeyVault", json!({})));
}
