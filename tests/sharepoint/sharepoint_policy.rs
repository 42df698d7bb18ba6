//! The SharePoint data encryption policy through the C ABI: registration over 2,000 sites with
//! progress, key rolls one at a time, every file readable throughout, and the checks that
//! refuse bad keys with nothing changed.

use crate::common::*;
use crate::sharepoint_common::*;
use serde_json::json;
use std::time::Duration;

const SITES: usize = 2_000;
const FILE_EVERY: usize = 10;
const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn register_then_roll_each_key_in_turn_keeps_every_file_readable() {
    pace_batches(100, 30);
    let t = tenant("spo-roll", SITES, FILE_EVERY);
    let ck = &t.ck;

    let before = policy(ck);
    assert_eq!(before["State"], "Unregistered");
    assert_eq!(before["SitesTotal"], SITES as u64);
    let site = ck.ok("Get-SPOSite", json!({"Identity": site_url(0)}));
    assert_eq!(site[0]["Encryption"], "MicrosoftManagedKey");

    // Registration: Registering with PercentComplete rising with sites done, then Registered.
    let registered = ck.ok(
        "Register-SPODataEncryptionPolicy",
        register_args(&t.version_a, &t.version_b),
    );
    assert_eq!(registered["State"], "Registering");
    let seen = wait_registered(ck, LIMIT);
    let percents: Vec<u64> = seen
        .iter()
        .filter_map(|p| p["PercentComplete"].as_u64())
        .collect();
    assert!(
        percents.windows(2).all(|w| w[0] <= w[1]),
        "PercentComplete went down: {percents:?}"
    );
    assert!(
        percents.iter().any(|p| *p > 0 && *p < 100),
        "no progress between 0 and 100 was seen: {percents:?}"
    );
    let done = seen.last().unwrap();
    assert_eq!(done["SitesDone"], SITES as u64);
    assert!(done["PercentComplete"].is_null());
    assert!(done["PrimaryKeyVaultUri"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/keys/{KEY}/{}", t.version_a)));
    assert!(done["KeyHealth"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h["Healthy"] == true));
    let site = ck.ok("Get-SPOSite", json!({"Identity": site_url(SITES - 1)}));
    assert_eq!(site[0]["Encryption"], "CustomerKey");
    assert_files_readable(ck, SITES, FILE_EVERY);
    let again = ck.err(
        "Register-SPODataEncryptionPolicy",
        register_args(&t.version_a, &t.version_b),
    );
    assert_eq!(again.category(), "ResourceExists", "{again:?}");

    // Roll the primary key; a second change during the roll is refused as busy, with progress.
    // Both new versions exist first, so nothing slow runs between the two Updates.
    let new_a = add_key(ck, VAULT_A, KEY);
    let new_b = add_key(ck, VAULT_B, KEY);
    let rolling = ck.ok(
        "Update-SPODataEncryptionPolicy",
        json!({"KeyType": "Primary", "KeyVaultName": VAULT_A, "KeyName": KEY, "KeyVersion": new_a}),
    );
    assert_eq!(rolling["State"], "Rolling");
    assert_eq!(rolling["RollingKeyType"], "Primary");
    let busy = ck.err(
        "Update-SPODataEncryptionPolicy",
        json!({"KeyType": "Secondary", "KeyVaultName": VAULT_B, "KeyName": KEY, "KeyVersion": new_b}),
    );
    assert_eq!(busy.category(), "ResourceBusy", "{busy:?}");
    assert!(
        busy.message().contains("Rolling Primary: ")
            && busy.message().contains(" of 2,000 sites, ")
            && busy.message().contains('%'),
        "{}",
        busy.message()
    );
    // Files stay readable while their sites move to the new TIK.
    assert_files_readable(ck, 200, FILE_EVERY);
    // A site created during the roll goes straight under the new TIK.
    ck.ok(
        "New-SPOSite",
        json!({"Url": site_url(SITES), "Title": "Created mid-roll"}),
    );
    ck.ok(
        "Add-SPOFile",
        json!({"Site": site_url(SITES), "Name": "figures.txt", "Value": file_text(SITES)}),
    );
    let rolled = wait_registered(ck, LIMIT).pop().unwrap();
    assert_eq!(rolled["SitesDone"], (SITES + 1) as u64);
    assert!(rolled["RollingKeyType"].is_null());
    assert!(rolled["PrimaryKeyVaultUri"]
        .as_str()
        .unwrap()
        .ends_with(&new_a));
    assert!(rolled["SecondaryKeyVaultUri"]
        .as_str()
        .unwrap()
        .ends_with(&t.version_b));

    // The old primary version is no longer needed: disabling it is allowed now, while the
    // version in use stays protected and the error names SharePoint.
    ck.ok(
        "Update-KeyVaultKey",
        json!({"VaultName": VAULT_A, "Name": KEY, "Version": t.version_a, "Enable": false}),
    );
    let in_use = ck.err(
        "Update-KeyVaultKey",
        json!({"VaultName": VAULT_A, "Name": KEY, "Version": new_a, "Enable": false}),
    );
    assert!(in_use.message().contains("SharePoint"), "{in_use:?}");

    // Then the secondary, by versioned URI.
    let uri_b = format!("https://{VAULT_B}.vault.azure.net/keys/{KEY}/{new_b}");
    let rolling = ck.ok(
        "Update-SPODataEncryptionPolicy",
        json!({"KeyType": "Secondary", "KeyVaultUri": uri_b}),
    );
    assert_eq!(rolling["RollingKeyType"], "Secondary");
    let rolled = wait_registered(ck, LIMIT).pop().unwrap();
    assert_eq!(rolled["SecondaryKeyVaultUri"], uri_b);
    assert_files_readable(ck, SITES + 1, FILE_EVERY);
}

#[test]
fn key_removal_and_purge_are_refused_while_sharepoint_uses_the_key() {
    pace_batches(100, 30);
    let t = tenant("spo-rails", 3, 1);
    let ck = &t.ck;
    ck.ok(
        "Register-SPODataEncryptionPolicy",
        register_args(&t.version_a, &t.version_b),
    );
    wait_registered(ck, LIMIT);
    let remove = ck.err(
        "Remove-KeyVaultKey",
        json!({"VaultName": VAULT_B, "Name": KEY}),
    );
    assert!(remove.message().contains("SharePoint"), "{remove:?}");
    let vault = ck.err("Remove-KeyVault", json!({"VaultName": VAULT_A}));
    assert!(vault.message().contains("SharePoint"), "{vault:?}");
    let disable = ck.err(
        "Update-KeyVaultKey",
        json!({"VaultName": VAULT_B, "Name": KEY, "Enable": false}),
    );
    assert!(disable.message().contains("SharePoint"), "{disable:?}");
    assert_files_readable(ck, 3, 1);
}

#[test]
fn bad_keys_are_refused_naming_the_parameter_and_nothing_changes() {
    pace_batches(100, 30);
    let t = tenant("spo-checks", 2, 1);
    let ck = &t.ck;
    let (a, b) = (&t.version_a, &t.version_b);

    let update = ck.err(
        "Update-SPODataEncryptionPolicy",
        json!({"KeyType": "Primary", "KeyVaultName": VAULT_A, "KeyName": KEY, "KeyVersion": a}),
    );
    assert_eq!(update.code(), "PolicyNotRegistered", "{update:?}");

    let mut no_version = register_args(a, b);
    no_version
        .as_object_mut()
        .unwrap()
        .remove("PrimaryKeyVersion");
    let e = ck.err("Register-SPODataEncryptionPolicy", no_version);
    assert_eq!(e.error["target"], "PrimaryKeyVersion");
    assert!(e.message().contains("version"), "{e:?}");

    let versionless = ck.err(
        "Register-SPODataEncryptionPolicy",
        json!({
            "PrimaryKeyVaultUri": format!("https://{VAULT_A}.vault.azure.net/keys/{KEY}"),
            "SecondaryKeyVaultUri": format!("https://{VAULT_B}.vault.azure.net/keys/{KEY}/{b}"),
        }),
    );
    assert_eq!(versionless.error["target"], "PrimaryKeyVaultUri");
    assert!(
        versionless.message().contains("no key version"),
        "{versionless:?}"
    );

    let bad_version = ck.err(
        "Register-SPODataEncryptionPolicy",
        json!({
            "PrimaryKeyVaultName": VAULT_A, "PrimaryKeyName": KEY, "PrimaryKeyVersion": "latest",
            "SecondaryKeyVaultName": VAULT_B, "SecondaryKeyName": KEY, "SecondaryKeyVersion": b,
        }),
    );
    assert_eq!(bad_version.error["target"], "PrimaryKeyVersion");

    let second_in_a = add_key(ck, VAULT_A, "spo-key-2");
    let same_vault = ck.err(
        "Register-SPODataEncryptionPolicy",
        json!({
            "PrimaryKeyVaultName": VAULT_A, "PrimaryKeyName": KEY, "PrimaryKeyVersion": a,
            "SecondaryKeyVaultName": VAULT_A, "SecondaryKeyName": "spo-key-2", "SecondaryKeyVersion": second_in_a,
        }),
    );
    assert_eq!(same_vault.error["target"], "SecondaryKeyVaultName");
    assert!(same_vault.message().contains("two different vaults"));

    // A key that does not allow wrapKey.
    let no_wrap = ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": VAULT_B, "Name": "no-wrap", "KeyOps": ["encrypt", "decrypt"]}),
    )["Version"]
        .as_str()
        .unwrap()
        .to_string();
    let e = ck.err(
        "Register-SPODataEncryptionPolicy",
        json!({
            "PrimaryKeyVaultName": VAULT_A, "PrimaryKeyName": KEY, "PrimaryKeyVersion": a,
            "SecondaryKeyVaultName": VAULT_B, "SecondaryKeyName": "no-wrap", "SecondaryKeyVersion": no_wrap,
        }),
    );
    assert_eq!(e.code(), "KeyOperationNotAllowed", "{e:?}");

    // A disabled version.
    let disabled = add_key(ck, VAULT_B, "disabled-key");
    ck.ok(
        "Update-KeyVaultKey",
        json!({"VaultName": VAULT_B, "Name": "disabled-key", "Enable": false}),
    );
    let e = ck.err(
        "Register-SPODataEncryptionPolicy",
        json!({
            "PrimaryKeyVaultName": VAULT_A, "PrimaryKeyName": KEY, "PrimaryKeyVersion": a,
            "SecondaryKeyVaultName": VAULT_B, "SecondaryKeyName": "disabled-key", "SecondaryKeyVersion": disabled,
        }),
    );
    assert_eq!(e.code(), "KeyNotUsable", "{e:?}");

    // A vault without soft delete.
    ck.ok(
        "New-KeyVault",
        json!({"VaultName": "contoso-spo-nosd", "Location": "northeurope", "DisableSoftDelete": true}),
    );
    let nosd = add_key(ck, "contoso-spo-nosd", KEY);
    grant_sharepoint(ck, "contoso-spo-nosd");
    let e = ck.err(
        "Register-SPODataEncryptionPolicy",
        json!({
            "PrimaryKeyVaultName": VAULT_A, "PrimaryKeyName": KEY, "PrimaryKeyVersion": a,
            "SecondaryKeyVaultName": "contoso-spo-nosd", "SecondaryKeyName": KEY, "SecondaryKeyVersion": nosd,
        }),
    );
    assert_eq!(e.code(), "SoftDeleteRequired", "{e:?}");

    // SharePoint's service principal without permissions on one vault.
    revoke_sharepoint(ck, VAULT_B);
    let e = ck.err("Register-SPODataEncryptionPolicy", register_args(a, b));
    assert_eq!(e.category(), "PermissionDenied", "{e:?}");
    grant_sharepoint(ck, VAULT_B);

    // -Identity: another tenant's admin site is refused, this tenant's is accepted.
    let mut other_tenant = register_args(a, b);
    other_tenant["Identity"] = json!("https://fabrikam-admin.sharepoint.com");
    let e = ck.err("Register-SPODataEncryptionPolicy", other_tenant);
    assert_eq!(e.error["target"], "Identity");

    let after_failures = policy(ck);
    assert_eq!(after_failures["State"], "Unregistered");
    assert_files_readable(ck, 2, 1);

    let mut ours = register_args(a, b);
    ours["Identity"] = json!("https://contoso-admin.sharepoint.com/");
    ck.ok("Register-SPODataEncryptionPolicy", ours);
    wait_registered(ck, LIMIT);

    let same = ck.err(
        "Update-SPODataEncryptionPolicy",
        json!({"KeyType": "Primary", "KeyVaultName": VAULT_A, "KeyName": KEY, "KeyVersion": a}),
    );
    assert_eq!(same.error["target"], "KeyVersion");
    let into_other_vault = add_key(ck, VAULT_B, KEY);
    let e = ck.err(
        "Update-SPODataEncryptionPolicy",
        json!({"KeyType": "Primary", "KeyVaultName": VAULT_B, "KeyName": KEY, "KeyVersion": into_other_vault}),
    );
    assert_eq!(e.error["target"], "KeyVaultName");
    assert_eq!(policy(ck)["State"], "Registered");
}

#[test]
fn sites_and_files_refuse_bad_input() {
    let (_dir, ck) = store_with_vaults("spo-sites", &[]);
    let e = ck.err(
        "New-SPOSite",
        json!({"Url": "https://contoso.example.com/sites/a", "Title": "A"}),
    );
    assert_eq!(e.error["target"], "Url");
    let e = ck.err("New-SPOSite", json!({"Url": site_url(1), "Title": "  "}));
    assert_eq!(e.error["target"], "Title");
    ck.ok(
        "New-SPOSite",
        json!({"Url": site_url(1), "Title": "One", "Owner": "alice@contoso.com"}),
    );
    let dup = ck.err(
        "New-SPOSite",
        json!({"Url": site_url(1).to_uppercase().replace("HTTPS", "https"), "Title": "Again"}),
    );
    assert_eq!(dup.category(), "ResourceExists", "{dup:?}");
    let other = ck.err(
        "New-SPOSite",
        json!({"Url": "https://fabrikam.sharepoint.com/sites/x", "Title": "X"}),
    );
    assert_eq!(other.error["target"], "Url");
    let e = ck.err(
        "Add-SPOFile",
        json!({"Site": site_url(1), "Name": "a/b.txt", "Value": "x"}),
    );
    assert_eq!(e.error["target"], "Name");
    let e = ck.err(
        "Add-SPOFile",
        json!({"Site": site_url(2), "Name": "a.txt", "Value": "x"}),
    );
    assert_eq!(e.category(), "ObjectNotFound");
    let e = ck.err(
        "Get-SPOFile",
        json!({"Site": site_url(1), "Name": "missing.txt"}),
    );
    assert_eq!(e.category(), "ObjectNotFound");

    // Bytes through -Path and -OutputFile, replaced by name.
    let input = _dir.join("in.bin");
    std::fs::write(&input, [0u8, 159, 146, 150, 255]).unwrap();
    ck.ok(
        "Add-SPOFile",
        json!({"Site": site_url(1), "Name": "blob.bin", "Path": input}),
    );
    let got = ck.ok(
        "Get-SPOFile",
        json!({"Site": site_url(1), "Name": "blob.bin"}),
    );
    assert_eq!(got[0]["Length"], 5);
    assert!(got[0]["Value"].is_null(), "not UTF-8: no Value");
    let output = _dir.join("out.bin");
    ck.ok(
        "Get-SPOFile",
        json!({"Site": site_url(1), "Name": "blob.bin", "OutputFile": output}),
    );
    assert_eq!(std::fs::read(&output).unwrap(), [0u8, 159, 146, 150, 255]);
    let exists = ck.err(
        "Get-SPOFile",
        json!({"Site": site_url(1), "Name": "blob.bin", "OutputFile": output}),
    );
    assert_eq!(exists.category(), "ResourceExists");
    ck.ok(
        "Add-SPOFile",
        json!({"Site": site_url(1), "Name": "blob.bin", "Value": "now text"}),
    );
    let all = ck.ok("Get-SPOFile", json!({"Site": site_url(1)}));
    assert_eq!(all.as_array().unwrap().len(), 1);
    assert_eq!(all[0]["Value"], "now text");

    // Content never lies in the store in the clear.
    for file in ["store.db", "store.db-wal"] {
        let bytes = std::fs::read(_dir.join("store").join(file)).unwrap_or_default();
        assert!(!bytes.windows(8).any(|w| w == b"now text"), "{file}");
    }
}
