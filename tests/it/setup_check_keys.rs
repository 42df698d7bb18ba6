//! Test-CustomerKeySetup's checks of each key, against the store's own vaults through the C
//! ABI: enabled, operations, dates, a roll without -Refresh (by key id and by policy, Exchange's
//! and SharePoint's) and backups, each made to pass, warn (where the rule has a warning) and
//! fail with the ordinary cmdlets.

use crate::setup_support::*;
use serde_json::json;

#[test]
fn a_disabled_or_missing_key_fails_and_its_other_checks_point_there() {
    let p = pair("setup-enabled");
    assert_status(&p.check(json!({})), "KeyEnabled", A, "Pass");
    p.ck.ok(
        "Update-KeyVaultKey",
        json!({"VaultName": A, "Name": "ck-key", "Enable": false}),
    );
    let r = assert_status(&p.check(json!({})), "KeyEnabled", A, "Fail");
    assert!(
        r["RemediationCk"].as_str().unwrap().starts_with(
            "Update-CkKeyVaultKey -VaultName 'contoso-ck-a' -Name 'ck-key' -Version '"
        ),
        "{r}"
    );
    assert!(
        r["RemediationCk"]
            .as_str()
            .unwrap()
            .ends_with("-Enable $true"),
        "{r}"
    );

    let missing = format!(
        "{}/keys/nothing-here",
        p.ids[0].split("/keys/").next().unwrap()
    );
    let gone_vault = "https://contoso-ck-gone.vault.azure.net/keys/ck-key";
    let rows = run(
        &p.ck,
        json!({"Workload": "Exchange", "AzureKeyIDs": [missing, gone_vault]}),
    );
    let r = assert_status(&rows, "KeyEnabled", "nothing-here", "Fail");
    assert!(
        r["RemediationCk"]
            .as_str()
            .unwrap()
            .contains("Add-CkKeyVaultKey -VaultName 'contoso-ck-a' -Name 'nothing-here'"),
        "{r}"
    );
    assert_status(&rows, "KeyType", "nothing-here", "NotChecked");
    let r = assert_status(&rows, "KeyEnabled", "contoso-ck-gone", "Fail");
    assert!(
        r["Detail"].as_str().unwrap().contains("does not exist"),
        "{r}"
    );
    let r = assert_status(&rows, "SoftDelete", "contoso-ck-gone", "NotChecked");
    assert!(
        r["Detail"].as_str().unwrap().contains("see KeyEnabled"),
        "{r}"
    );
}

#[test]
fn key_operations_must_include_wrap_and_unwrap_and_should_be_only_those() {
    let p = pair("setup-keyops");
    assert_status(&p.check(json!({})), "KeyOperations", A, "Pass");
    assert_status(&p.check(json!({})), "KeySize", A, "Pass");
    p.ck.ok(
        "Update-KeyVaultKey",
        json!({"VaultName": A, "Name": "ck-key", "KeyOps": ["wrapKey", "unwrapKey", "sign"]}),
    );
    let r = assert_status(&p.check(json!({})), "KeyOperations", A, "Warning");
    assert!(r["Detail"].as_str().unwrap().contains("allow sign"), "{r}");
    p.ck.ok(
        "Update-KeyVaultKey",
        json!({"VaultName": A, "Name": "ck-key", "KeyOps": ["unwrapKey", "decrypt"]}),
    );
    let r = assert_status(&p.check(json!({})), "KeyOperations", A, "Fail");
    assert!(
        r["Detail"].as_str().unwrap().contains("lack wrapKey"),
        "{r}"
    );
    assert!(
        r["RemediationCk"]
            .as_str()
            .unwrap()
            .ends_with("-KeyOps wrapKey, unwrapKey"),
        "{r}"
    );
    let big = add_key(&p.ck, B, "big", json!({"Size": 4096}));
    let rows = run(
        &p.ck,
        json!({"Workload": "Exchange", "AzureKeyIDs": [p.ids[0], big["Id"]]}),
    );
    let r = assert_status(&rows, "KeySize", "big", "Pass");
    assert_eq!(r["Detail"], "4096 bits.");
}

#[test]
fn expiry_is_none_or_12_31_9999_and_not_before_is_past() {
    let p = pair("setup-dates");
    let expires = |when: &str| {
        p.ck.ok(
            "Update-KeyVaultKey",
            json!({"VaultName": A, "Name": "ck-key", "Expires": when}),
        );
        p.check(json!({}))
    };
    assert_status(&p.check(json!({})), "KeyExpiry", A, "Pass");
    assert_status(&expires("9999-12-31T00:00:00Z"), "KeyExpiry", A, "Pass");
    let r = assert_status(&expires("9999-12-30T20:00:00Z"), "KeyExpiry", A, "Warning");
    assert!(
        r["Detail"]
            .as_str()
            .unwrap()
            .contains("time zone ahead of UTC"),
        "{r}"
    );
    let r = assert_status(&expires("2031-06-30T00:00:00Z"), "KeyExpiry", A, "Fail");
    assert!(
        r["RemediationCk"]
            .as_str()
            .unwrap()
            .ends_with("-Expires ([datetime]::new(9999, 12, 31, 0, 0, 0, 'Utc'))"),
        "{r}"
    );

    assert_status(&p.check(json!({})), "KeyNotBefore", B, "Pass");
    p.ck.ok(
        "Update-KeyVaultKey",
        json!({"VaultName": B, "Name": "ck-key", "NotBefore": "2000-01-01T00:00:00Z"}),
    );
    assert_status(&p.check(json!({})), "KeyNotBefore", B, "Pass");
    p.ck.ok(
        "Update-KeyVaultKey",
        json!({"VaultName": B, "Name": "ck-key", "NotBefore": "2099-01-01T00:00:00Z"}),
    );
    let rows = p.check(json!({}));
    let r = assert_status(&rows, "KeyNotBefore", B, "Fail");
    assert!(r["Detail"].as_str().unwrap().contains("2099-01-01"), "{r}");
    // Nothing here warns, and the key that cannot wrap yet still has its permissions read.
    assert_status(&rows, "ServicePrincipalAccess", B, "Pass");
}

#[test]
fn a_roll_without_refresh_warns_until_the_policy_is_refreshed() {
    let p = pair("setup-roll");
    let versioned: Vec<String> = [A, B]
        .iter()
        .map(|v| {
            p.ck.ok("Get-KeyVaultKey", json!({"VaultName": v, "Name": "ck-key"}))[0]["Id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let rows = run(
        &p.ck,
        json!({"Workload": "Exchange", "AzureKeyIDs": versioned}),
    );
    assert_status(&rows, "LatestVersion", A, "Pass");
    assert_status(&p.check(json!({})), "LatestVersion", A, "Pass");

    p.ck.ok(
        "New-DataEncryptionPolicy",
        json!({"Name": "DEP", "AzureKeyIDs": p.ids}),
    );
    let policy = json!({"DataEncryptionPolicy": "DEP"});
    assert_status(&run(&p.ck, policy.clone()), "LatestVersion", A, "Pass");
    let rolled = add_key(&p.ck, A, "ck-key", json!({}));
    let rows = run(&p.ck, policy.clone());
    let r = assert_status(&rows, "LatestVersion", A, "Warning");
    assert!(
        r["Detail"]
            .as_str()
            .unwrap()
            .contains(rolled["Version"].as_str().unwrap()),
        "{r}"
    );
    assert_eq!(
        r["RemediationCk"],
        "Set-CkDataEncryptionPolicy -Identity 'DEP' -Refresh"
    );
    assert_eq!(
        r["Remediation"],
        "Set-DataEncryptionPolicy -Identity 'DEP' -Refresh"
    );
    assert_eq!(rows.last().unwrap()["Target"], "Exchange policy 'DEP'");
    // A versioned id naming the version before the roll warns the same way.
    let rows = run(
        &p.ck,
        json!({"Workload": "Exchange", "AzureKeyIDs": versioned}),
    );
    assert_status(&rows, "LatestVersion", A, "Warning");

    p.ck.ok(
        "Set-DataEncryptionPolicy",
        json!({"Identity": "DEP", "Refresh": true}),
    );
    let rows = run(&p.ck, policy);
    let r = assert_status(&rows, "LatestVersion", A, "Pass");
    assert!(
        r["Target"]
            .as_str()
            .unwrap()
            .ends_with(rolled["Version"].as_str().unwrap()),
        "{r}"
    );
}

#[test]
fn every_version_must_be_in_a_backup_in_the_folder_given() {
    let p = pair("setup-backups");
    let r = assert_status(&p.check(json!({})), "KeyBackup", A, "NotChecked");
    assert!(r["Detail"].as_str().unwrap().contains("-BackupPath"), "{r}");
    let folder = p.dir.join("key-backups");
    std::fs::create_dir_all(&folder).unwrap();
    let with_folder = json!({"BackupPath": folder});
    let r = assert_status(&p.check(with_folder.clone()), "KeyBackup", A, "Fail");
    let command = r["RemediationCk"].as_str().unwrap();
    assert!(
        command.starts_with(
            "Backup-CkKeyVaultKey -VaultName 'contoso-ck-a' -Name 'ck-key' -OutputFile \""
        ),
        "{r}"
    );
    let backup = |vault: &str, n: u32| {
        p.ck.ok(
            "Backup-KeyVaultKey",
            json!({"VaultName": vault, "Name": "ck-key", "OutputFile": folder.join(format!("{vault}-ck-key-{n}.keybackup"))}),
        );
    };
    backup(A, 1);
    assert_status(&p.check(with_folder.clone()), "KeyBackup", A, "Pass");
    assert_status(&p.check(with_folder.clone()), "KeyBackup", B, "Fail");
    let rolled = add_key(&p.ck, A, "ck-key", json!({}));
    let r = assert_status(&p.check(with_folder.clone()), "KeyBackup", A, "Fail");
    assert!(
        r["Detail"]
            .as_str()
            .unwrap()
            .contains(rolled["Version"].as_str().unwrap()),
        "{r}"
    );
    backup(A, 2);
    backup(B, 1);
    assert_status(&p.check(with_folder.clone()), "KeyBackup", A, "Pass");

    // Another store's backup cannot be read here: counted as such, never as this key's.
    let other = pair("setup-backups-other");
    other.ck.ok(
        "Backup-KeyVaultKey",
        json!({"VaultName": A, "Name": "ck-key", "OutputFile": folder.join("contoso-ck-a-ck-key-other.keybackup")}),
    );
    let r = assert_status(&p.check(with_folder), "KeyBackup", A, "Warning");
    assert!(
        r["Detail"]
            .as_str()
            .unwrap()
            .contains("1 other backup file"),
        "{r}"
    );

    let e = p.ck.err(
        "Test-CustomerKeySetup",
        json!({"Workload": "Exchange", "AzureKeyIDs": p.ids, "BackupPath": p.dir.join("no-such-folder")}),
    );
    assert_eq!(e.category(), "InvalidArgument");
    assert!(e.message().starts_with("Parameter 'BackupPath'"), "{e:?}");
}

#[test]
fn the_sharepoint_policy_supplies_its_keys_and_its_service_principal() {
    let p = pair_with("setup-spo", json!({}), json!({}), SPO);
    let versions: Vec<String> = [A, B]
        .iter()
        .map(|v| {
            p.ck.ok("Get-KeyVaultKey", json!({"VaultName": v, "Name": "ck-key"}))[0]["Version"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    p.ck.ok(
        "Register-SPODataEncryptionPolicy",
        json!({"PrimaryKeyVaultName": A, "PrimaryKeyName": "ck-key", "PrimaryKeyVersion": versions[0],
               "SecondaryKeyVaultName": B, "SecondaryKeyName": "ck-key", "SecondaryKeyVersion": versions[1]}),
    );
    let policy = json!({"DataEncryptionPolicy": "SPODataEncryptionPolicy"});
    let rows = run(&p.ck, policy.clone());
    assert_status(&rows, "ServicePrincipalAccess", A, "Pass");
    assert_eq!(
        rows.last().unwrap()["Target"],
        "SharePoint policy 'SPODataEncryptionPolicy'"
    );
    assert_eq!(rows.last().unwrap()["Status"], "Pass");
    let rolled = add_key(&p.ck, B, "ck-key", json!({}));
    let r = assert_status(&run(&p.ck, policy), "LatestVersion", B, "Warning");
    assert_eq!(
        r["RemediationCk"],
        format!("Update-CkSPODataEncryptionPolicy -KeyVaultName 'contoso-ck-b' -KeyName 'ck-key' -KeyVersion '{}' -KeyType Secondary", rolled["Version"].as_str().unwrap())
    );
    // Exchange's principal has nothing on these vaults.
    let rows = run(&p.ck, json!({"Workload": "Exchange", "AzureKeyIDs": p.ids}));
    assert_status(&rows, "ServicePrincipalAccess", A, "Fail");
}
