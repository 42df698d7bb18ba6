//! The remote target's reading of Key Vault's JSON, over responses the real service sent
//! (recorded by the Azure SDK for JavaScript; see tests/data/azure-recordings/README.md).

use customer_key::vault::remote::{arm, auth, errors, keys, same_vault};
use customer_key::wire::Kid;
use serde_json::Value;

fn recorded(name: &str) -> Value {
    let path = format!(
        "{}/tests/data/azure-recordings/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn a_created_key_reads_as_the_engines_key_output() {
    let bundle = serde_json::from_value(recorded("create-key.json")).unwrap();
    let out = keys::key_out("keyvault_name", &bundle, "t").unwrap();
    assert_eq!(out.name, "cryptography-client-test");
    assert_eq!(
        out.version.as_deref(),
        Some("c30ecd689b6b4e4cbbb83268093ba0bd")
    );
    assert_eq!(out.key_size, Some(2048));
    assert_eq!(out.key_type.as_deref(), Some("RSA"));
    assert_eq!(out.recovery_level, "CustomizedRecoverable+Purgeable");
    assert_eq!(out.recoverable_days, 7);
    assert_eq!(out.created, "2021-04-28T21:28:39Z");
    assert!(out.enabled && out.expires.is_none() && out.deleted_date.is_none());
    let jwk = out.key.as_ref().unwrap();
    assert_eq!(jwk.e, "AQAB");
    // The modulus comes out in standard base64, as the engine writes it.
    let n = customer_key::b64::decode(&jwk.n).unwrap();
    assert_eq!(n.len(), 256);
    assert_eq!(out.attributes.key_ops.as_ref().unwrap().len(), 6);
}

#[test]
fn listing_pages_give_kids_and_a_next_link_on_the_same_vault_with_its_port_written_out() {
    let page = recorded("list-keys-page.json");
    let items = page["value"].as_array().unwrap();
    let names: Vec<String> = items
        .iter()
        .map(|i| Kid::parse(i["kid"].as_str().unwrap()).unwrap().name)
        .collect();
    assert_eq!(names[0], "listKeyName-cangetseveralinsertedkeyspaged--0");
    assert_eq!(
        Kid::parse(items[0]["kid"].as_str().unwrap())
            .unwrap()
            .version,
        None
    );
    let vault = "https://keyvault_name.vault.azure.net";
    let next = page["nextLink"].as_str().unwrap();
    assert!(same_vault(next, vault), "{next}");
    assert!(!same_vault(next, "https://other.vault.azure.net"));
    assert!(!same_vault(&next.replace("https://", "http://"), vault));
    // An item reads as a key without what listings do not carry, as Az's identity items.
    let item = |i: usize| serde_json::from_value(items[i].clone()).unwrap();
    let first = keys::key_item_out("keyvault_name", &item(0), "t").unwrap();
    assert_eq!(first.name, "listKeyName-cangetseveralinsertedkeyspaged--0");
    assert_eq!(first.id, items[0]["kid"].as_str().unwrap());
    assert!(first.version.is_none() && first.key.is_none());
    assert!(first.key_type.is_none() && first.key_size.is_none());
    assert!(first.attributes.key_ops.is_none());
    assert_eq!(first.recoverable_days, 90);
    assert_eq!(first.recovery_level, "Recoverable+Purgeable");
    let dated = keys::key_item_out("keyvault_name", &item(1), "t").unwrap();
    assert_eq!(dated.expires.as_deref(), Some("2021-06-02T00:01:36Z"));
    assert_eq!(dated.created, "2020-06-02T00:01:36Z");
    let json = serde_json::to_value(&dated).unwrap();
    for property in ["Version", "Key", "KeyType", "KeySize"] {
        assert!(json[property].is_null(), "{property}: {json}");
    }
    // An empty page can still link on: the listing is not over.
    let empty = recorded("list-keys-empty-page.json");
    assert!(empty["value"].as_array().unwrap().is_empty());
    assert!(same_vault(empty["nextLink"].as_str().unwrap(), vault));
}

#[test]
fn recorded_errors_and_challenges_read_as_ours() {
    let body = recorded("deleted-key-not-found.json").to_string();
    let e = errors::from_response(404, body.as_bytes(), "keyvault_name/x");
    assert_eq!(
        (e.code.as_str(), e.category()),
        ("KeyNotFound", "ObjectNotFound")
    );
    assert!(e.message.starts_with("Deleted Key not found"));
    let unauthorized = recorded("unauthorized.json");
    let e = errors::from_response(401, unauthorized["body"].to_string().as_bytes(), "t");
    assert_eq!(
        (e.code.as_str(), e.category()),
        ("Unauthorized", "AuthenticationError")
    );
    let params = auth::parse_challenge(unauthorized["www-authenticate"].as_str().unwrap());
    assert!(params.contains(&(
        "authorization".to_string(),
        "https://login.windows.net/12345678-1234-1234-1234-123456789012".to_string()
    )));
    assert!(params.contains(&(
        "resource".to_string(),
        "https://vault.azure.net".to_string()
    )));
    let token = recorded("token.json");
    assert_eq!(token["expires_in"], 86399);
}

#[test]
fn a_recorded_resource_manager_vault_reads_as_the_engines_vault_output() {
    let vault = serde_json::from_value(recorded("arm-vault.json")).unwrap();
    let out = arm::vault_out(&vault, "myvaultzzzz").unwrap();
    assert_eq!(out.vault_name, "myvaultzzzz");
    assert_eq!(out.resource_group_name, "myjstest");
    assert!(out
        .resource_id
        .ends_with("/Microsoft.KeyVault/vaults/myvaultzzzz"));
    assert_eq!(out.location, "eastus");
    assert_eq!(out.vault_uri, "https://myvaultzzzz.vault.azure.net/");
    assert_eq!(out.tenant_id, "88888888-8888-8888-8888-888888888888");
    assert_eq!(out.sku, "Standard");
    // The recorded vault says nothing of retention or purge protection: Azure's defaults.
    assert!(out.enable_soft_delete && !out.enable_purge_protection);
    assert_eq!(out.soft_delete_retention_in_days, 90);
    let [policy] = out.access_policies.as_slice() else {
        panic!("one policy, not {}", out.access_policies.len())
    };
    assert_eq!(policy.object_id, "00000000-0000-0000-0000-000000000000");
    assert_eq!(policy.tenant_id, out.tenant_id);
    assert_eq!(policy.application_id, None);
    // Azure's spelling (wrapKey, unwrapKey) is the engine's; the sixteen permissions are kept.
    assert_eq!(policy.permissions_to_keys.len(), 16);
    assert!(policy.permissions_to_keys.iter().any(|p| p == "wrapKey"));
    assert!(policy.permissions_to_keys.iter().any(|p| p == "unwrapKey"));
}

#[test]
fn recorded_resource_manager_pages_link_on_only_within_the_management_endpoint() {
    let pages = recorded("arm-vault-list-pages.json");
    let pages = pages.as_array().unwrap();
    assert_eq!(pages.len(), 3);
    let arm = "https://management.azure.com";
    let vaults: Vec<String> = pages
        .iter()
        .flat_map(|p| p["value"].as_array().unwrap().iter())
        .map(|v| serde_json::from_value(v.clone()).unwrap())
        .map(|v| arm::vault_out(&v, "t").unwrap().vault_name)
        .collect();
    assert_eq!(vaults, ["myvaultzzzz"]);
    // The first two pages link on (the second though empty), the last does not.
    for page in &pages[..2] {
        let next = page["nextLink"].as_str().unwrap();
        assert!(next.contains("$skiptoken="), "{next}");
        assert!(same_vault(next, arm), "{next}");
        assert!(!same_vault(next, "https://management.usgovcloudapi.net"));
    }
    assert!(pages[2].get("nextLink").is_none());
}
