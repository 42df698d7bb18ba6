//! Against a real vault, only when CUSTOMER_KEY_LIVE_VAULT names one (its name, in the cloud
//! of CUSTOMER_KEY_LIVE_ENVIRONMENT, AzureCloud by default) and credentials are set: a token
//! in the file CUSTOMER_KEY_LIVE_ACCESS_TOKEN_FILE, or AZURE_TENANT_ID / AZURE_CLIENT_ID /
//! AZURE_CLIENT_SECRET. The identity needs get, list, create, delete, wrapKey and unwrapKey on
//! the vault (purge too, to leave nothing behind). Otherwise the test says it was skipped.

use customer_key::SessionOptions;
use serde_json::json;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[test]
fn a_key_is_created_used_and_deleted_in_a_real_vault() {
    let Some(vault) = var("CUSTOMER_KEY_LIVE_VAULT") else {
        println!("SKIPPED: live Azure Key Vault test (set CUSTOMER_KEY_LIVE_VAULT and credentials to run it)");
        return;
    };
    let token = var("CUSTOMER_KEY_LIVE_ACCESS_TOKEN_FILE").map(|f| {
        std::fs::read_to_string(f)
            .expect("the token file reads")
            .trim()
            .to_string()
    });
    let client_credentials = ["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"]
        .iter()
        .all(|n| var(n).is_some());
    if token.is_none() && !client_credentials {
        println!("SKIPPED: live Azure Key Vault test: CUSTOMER_KEY_LIVE_VAULT is set but no credentials (CUSTOMER_KEY_LIVE_ACCESS_TOKEN_FILE, or AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET)");
        return;
    }
    let dir = std::env::temp_dir().join(format!(
        "ck-live-{}-{}",
        std::process::id(),
        customer_key::crypto::new_version_id().unwrap()
    ));
    let session = customer_key::open_session(SessionOptions {
        store: Some(dir.join("store")),
        environment: Some(var("CUSTOMER_KEY_LIVE_ENVIRONMENT").unwrap_or("AzureCloud".into())),
        access_token: token.map(zeroize::Zeroizing::new),
        ..Default::default()
    })
    .expect("a remote session");
    let call =
        |op: &str, args: serde_json::Value| customer_key::registry().call(&session, op, &args);
    let name = format!(
        "ck-live-{}",
        &customer_key::crypto::new_version_id().unwrap()[..12]
    );
    let created = call("Add-KeyVaultKey", json!({"VaultName": vault, "Name": name})).unwrap();
    println!("created {}", created["Id"]);
    let result = (|| {
        let got = call("Get-KeyVaultKey", json!({"VaultName": vault, "Name": name}))?;
        assert_eq!(got[0]["Version"], created["Version"]);
        let value = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let wrapped = call(
            "Invoke-KeyVaultKeyOperation",
            json!({"VaultName": vault, "Name": name, "Operation": "Wrap", "Algorithm": "RSA-OAEP-256", "ByteArrayValue": value}),
        )?;
        let unwrapped = call(
            "Invoke-KeyVaultKeyOperation",
            json!({"VaultName": vault, "Name": name, "Version": created["Version"], "Operation": "Unwrap", "Algorithm": "RSA-OAEP-256", "ByteArrayValue": wrapped["RawResult"]}),
        )?;
        assert_eq!(unwrapped["RawResult"], value);
        Ok::<(), customer_key::Error>(())
    })();
    let removed = call(
        "Remove-KeyVaultKey",
        json!({"VaultName": vault, "Name": name}),
    );
    if removed.is_ok() {
        // Purged when the vault allows it (not under purge protection); kept deleted else.
        std::thread::sleep(std::time::Duration::from_secs(5));
        if let Err(e) = call(
            "Remove-KeyVaultKey",
            json!({"VaultName": vault, "Name": name, "InRemovedState": true}),
        ) {
            println!("the deleted key stays until its retention ends: {e}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    result.unwrap();
    removed.unwrap();
}
