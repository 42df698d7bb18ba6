//! The `wire` module's bodies against the keys API's specification
//! (tests/data/keyvault-keys-7.6.openapi.json, a copy of ../shared/reference's) and against
//! the service's recorded answers (tests/data/azure-recordings): each struct reads an example
//! and writes it back with no field lost or renamed. The specification's `x-ms-examples` files
//! are not stored with it, so each example is built from its schema: every property, a value of
//! the property's type.

use customer_key::wire::arm::*;
use customer_key::wire::authorization::*;
use customer_key::wire::graph::{DirectoryObject, GetByIdsParameters};
use customer_key::wire::keyvault::*;
use customer_key::wire::{from_base64url, to_base64url, Kid, SecretText};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::path::PathBuf;

fn spec() -> Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = dir.join("tests/data/keyvault-keys-7.6.openapi.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn recorded(name: &str) -> Value {
    let path = format!(
        "{}/tests/data/azure-recordings/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A value of `schema`'s type, every property of an object filled (to `depth`).
fn example(spec: &Value, schema: &Value, depth: usize) -> Value {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        return example(spec, &spec["definitions"][name], depth);
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    match (schema["type"].as_str(), schema["format"].as_str()) {
        (Some("boolean"), _) => json!(true),
        (Some("integer"), Some("unixtime")) => json!(1_700_000_000),
        (Some("integer"), _) => json!(2048),
        (Some("string"), Some("base64url")) => json!("u_-8AQIDBA"),
        (Some("string"), _) => json!("https://vault1.vault.azure.net/keys/k1"),
        (Some("array"), _) => json!([example(spec, &schema["items"], depth)]),
        _ if schema["additionalProperties"].is_object() => {
            json!({ "env": example(spec, &schema["additionalProperties"], depth) })
        }
        _ => {
            let mut object = Map::new();
            if let Some(properties) = schema["properties"].as_object().filter(|_| depth > 0) {
                for (name, property) in properties {
                    object.insert(name.clone(), example(spec, property, depth - 1));
                }
            }
            Value::Object(object)
        }
    }
}

/// `value` read as a `T` and written back: the same JSON, and read again: the same `T`.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
    what: &str,
    value: &Value,
) -> T {
    let typed: T = serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{what}: {e}"));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(&back, value, "{what}");
    let again: T = serde_json::from_value(back).unwrap();
    assert_eq!(again, typed, "{what}");
    typed
}

/// The definition's example, without the properties `wire` does not model (its doc says
/// which).
fn spec_example(spec: &Value, definition: &str) -> Value {
    let mut value = example(spec, &json!({ "$ref": definition }), 4);
    strip(&mut value);
    assert!(
        value.as_object().is_some_and(|o| !o.is_empty()),
        "{definition}"
    );
    value
}

fn strip(value: &mut Value) {
    match value {
        Value::Object(o) => {
            for unmodelled in ["attestation", "iv", "aad", "tag"] {
                o.remove(unmodelled);
            }
            o.values_mut().for_each(strip);
        }
        Value::Array(a) => a.iter_mut().for_each(strip),
        _ => {}
    }
}

#[test]
fn every_body_reads_and_writes_its_specification_example_whole() {
    let spec = spec();
    let ex = |d: &str| spec_example(&spec, d);
    round_trip::<JsonWebKey>("JsonWebKey", &ex("JsonWebKey"));
    round_trip::<KeyAttributes>("KeyAttributes", &ex("KeyAttributes"));
    round_trip::<KeyBundle>("KeyBundle", &ex("KeyBundle"));
    round_trip::<DeletedKeyBundle>("DeletedKeyBundle", &ex("DeletedKeyBundle"));
    round_trip::<KeyItem>("KeyItem", &ex("KeyItem"));
    round_trip::<DeletedKeyItem>("DeletedKeyItem", &ex("DeletedKeyItem"));
    round_trip::<KeyListResult>("KeyListResult", &ex("KeyListResult"));
    round_trip::<DeletedKeyListResult>("DeletedKeyListResult", &ex("DeletedKeyListResult"));
    round_trip::<KeyCreateParameters>("KeyCreateParameters", &ex("KeyCreateParameters"));
    round_trip::<KeyImportParameters>("KeyImportParameters", &ex("KeyImportParameters"));
    round_trip::<KeyUpdateParameters>("KeyUpdateParameters", &ex("KeyUpdateParameters"));
    round_trip::<KeyOperationsParameters>(
        "KeyOperationsParameters",
        &ex("KeyOperationsParameters"),
    );
    round_trip::<KeySignParameters>("KeySignParameters", &ex("KeySignParameters"));
    round_trip::<KeyOperationResult>("KeyOperationResult", &ex("KeyOperationResult"));
    round_trip::<KeyVerifyParameters>("KeyVerifyParameters", &ex("KeyVerifyParameters"));
    round_trip::<KeyVerifyResult>("KeyVerifyResult", &ex("KeyVerifyResult"));
    round_trip::<BackupKeyResult>("BackupKeyResult", &ex("BackupKeyResult"));
    round_trip::<KeyRestoreParameters>("KeyRestoreParameters", &ex("KeyRestoreParameters"));
    round_trip::<KeyVaultError>("KeyVaultError", &ex("KeyVaultError"));
    // The examples are full: a field renamed in `wire` would be dropped, and fail above.
    let bundle = ex("DeletedKeyBundle");
    assert!(bundle["key"]["dp"].is_string() && bundle["attributes"]["recoverableDays"].is_i64());
    assert!(bundle["release_policy"].is_object() && bundle["scheduledPurgeDate"].is_i64());
    assert!(ex("KeyVaultError")["error"]["innererror"]["code"].is_string());
}

#[test]
fn the_services_recorded_answers_read_and_write_whole() {
    round_trip::<KeyBundle>("create-key.json", &recorded("create-key.json"));
    round_trip::<KeyListResult>("list-keys-page.json", &recorded("list-keys-page.json"));
    let empty = recorded("list-keys-empty-page.json");
    round_trip::<KeyListResult>("list-keys-empty-page.json", &empty);
    let not_found = recorded("deleted-key-not-found.json");
    round_trip::<KeyVaultError>("deleted-key-not-found.json", &not_found);
    let unauthorized = recorded("unauthorized.json")["body"].clone();
    round_trip::<KeyVaultError>("unauthorized.json", &unauthorized);
    let page: KeyListResult = serde_json::from_value(recorded("list-keys-page.json")).unwrap();
    assert_eq!(page.value[1].managed, Some(true));
    assert_eq!(page.value[1].attributes.exp, Some(1_622_592_096));
    assert!(page.next_link.unwrap().contains(":443/keys?"));
}

#[test]
fn a_body_without_the_newer_fields_writes_none_of_them() {
    let attributes = KeyAttributes {
        enabled: Some(true),
        recovery_level: Some("Recoverable".into()),
        ..KeyAttributes::default()
    };
    let written = serde_json::to_value(&attributes).unwrap();
    assert_eq!(
        written,
        json!({"enabled": true, "recoveryLevel": "Recoverable"})
    );
    let bundle = serde_json::to_value(KeyBundle::default()).unwrap();
    assert_eq!(bundle, json!({"key": {}, "attributes": {}}));
    let last_page = serde_json::to_value(KeyListResult {
        value: vec![],
        next_link: None,
    });
    assert_eq!(last_page.unwrap(), json!({ "value": [] }));
}

#[test]
fn key_ids_parse_on_their_url() {
    let v = "0123456789abcdef0123456789abcdef";
    let kid = Kid::parse(&format!("https://Vault1.vault.azure.net/keys/k1/{v}")).unwrap();
    assert_eq!(kid.authority, "vault1.vault.azure.net");
    assert_eq!((kid.name.as_str(), kid.version.as_deref()), ("k1", Some(v)));
    let local = Kid::parse("https://v1.localhost:8443/keys/k1/").unwrap();
    assert_eq!(
        (local.authority.as_str(), local.version),
        ("v1.localhost:8443", None)
    );
    let default_port = Kid::parse("https://keyvault_name.vault.azure.net:443/keys/k1").unwrap();
    assert_eq!(default_port.authority, "keyvault_name.vault.azure.net");
    for bad in [
        "http://v1.vault.azure.net/keys/k1",
        "https://v1.vault.azure.net/secrets/k1",
        "https://v1.vault.azure.net/keys/",
        "https://v1.vault.azure.net/keys/k1/v/extra",
        "https://v1.vault.azure.net/keys/k1?x=1",
        "https://user@v1.vault.azure.net/keys/k1",
        "https://v1.vault.azure.net:x/keys/k1",
        "keys/k1",
    ] {
        assert!(Kid::parse(bad).is_err(), "{bad}");
    }
    let id = Kid::id("https://v1.localhost:8443", "k1", Some(v));
    assert_eq!(Kid::parse(&id).unwrap().version.as_deref(), Some(v));
    assert_eq!(
        Kid::id("https://v1.vault.azure.net", "k1", None),
        "https://v1.vault.azure.net/keys/k1"
    );
}

#[test]
fn base64url_is_written_without_padding_and_read_in_every_form() {
    let bytes = [0xbb, 0xff, 0xbc, 0x01, 0x02, 0x03, 0x04];
    assert_eq!(to_base64url(&bytes), "u_-8AQIDBA");
    for text in ["u_-8AQIDBA", "u_-8AQIDBA==", "u/+8AQIDBA==", "u/+8AQIDBA"] {
        assert_eq!(from_base64url(text).as_deref(), Some(&bytes[..]), "{text}");
    }
    assert_eq!(from_base64url("not base64!"), None);
}

#[test]
fn key_material_never_shows_in_debug_output() {
    let secret = "c2VjcmV0LWtleS1tYXRlcmlhbA";
    let text = || Some(SecretText::new(secret.to_string()));
    let import = KeyImportParameters {
        key: JsonWebKey {
            kty: Some("RSA".into()),
            d: text(),
            dp: text(),
            dq: text(),
            qi: text(),
            p: text(),
            q: text(),
            k: text(),
            key_hsm: text(),
            ..JsonWebKey::default()
        },
        ..KeyImportParameters::default()
    };
    let unwrapped = KeyOperationResult {
        kid: Some("https://v1.vault.azure.net/keys/k1".into()),
        value: text(),
    };
    let wrap = KeyOperationsParameters {
        alg: "RSA-OAEP-256".into(),
        value: SecretText::new(secret.into()),
    };
    let backup = BackupKeyResult {
        value: SecretText::new(secret.into()),
    };
    for shown in [
        format!("{import:?} {import:#?}"),
        format!("{unwrapped:?} {unwrapped:#?}"),
        format!("{wrap:?} {backup:?} {:?}", text()),
    ] {
        assert!(!shown.contains(secret), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }
    // The wire still carries it.
    let json = serde_json::to_value(&import).unwrap();
    assert_eq!(json["key"]["d"], secret);
    assert_eq!(SecretText::of_bytes(b"\xbb\xff").expose(), "u_8");
}

#[test]
fn graphs_directory_objects_read_and_write_whole() {
    let service_principal = json!({
        "@odata.type": "#microsoft.graph.servicePrincipal",
        "id": "1f8e5a3c-3c1e-4c47-9c43-3a1b2c3d4e5f",
        "appId": "00000002-0000-0ff1-ce00-000000000000",
        "displayName": "Office 365 Exchange Online",
        "servicePrincipalNames": ["00000002-0000-0ff1-ce00-000000000000"],
        "servicePrincipalType": "Application",
    });
    round_trip::<DirectoryObject>("servicePrincipal", &service_principal);
    let user = json!({"id": "6e7b3b0a-0b8e-4d6b-8f0e-2a1b3c4d5e6f", "userPrincipalName": "ada@contoso.com", "displayName": "Ada"});
    round_trip::<DirectoryObject>("user", &user);
    let page = json!({ "value": [service_principal, user] });
    round_trip::<ListResult<DirectoryObject>>("collection", &page);
    let asked = json!({"ids": ["6e7b3b0a-0b8e-4d6b-8f0e-2a1b3c4d5e6f"], "types": ["user"]});
    round_trip::<GetByIdsParameters>("getByIds", &asked);
    let any: GetByIdsParameters = serde_json::from_value(json!({"ids": []})).unwrap();
    assert!(any.types.is_empty());
}

/// A vault as `customer-key serve` writes it (and Azure, which adds `systemData`).
fn served_vault() -> Value {
    json!({
        "id": "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/customer-key/providers/Microsoft.KeyVault/vaults/contoso-ck",
        "name": "contoso-ck",
        "type": "Microsoft.KeyVault/vaults",
        "location": "westeurope",
        "tags": {"env": "prod"},
        "properties": {
            "sku": {"family": "A", "name": "premium"},
            "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "accessPolicies": [{
                "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
                "objectId": "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
                "permissions": {"keys": ["get", "wrapKey"], "secrets": [], "certificates": [], "storage": []}
            }],
            "enabledForDeployment": false,
            "enabledForDiskEncryption": false,
            "enabledForTemplateDeployment": false,
            "enableSoftDelete": true,
            "softDeleteRetentionInDays": 90,
            "enablePurgeProtection": false,
            "enableRbacAuthorization": true,
            "vaultUri": "https://contoso-ck.localhost:8443/",
            "provisioningState": "Succeeded",
            "publicNetworkAccess": "Enabled"
        }
    })
}

#[test]
fn resource_managers_vault_bodies_read_and_write_whole() {
    let vault: Vault = round_trip("served vault", &served_vault());
    assert_eq!(vault.name.as_deref(), Some("contoso-ck"));
    assert_eq!(vault.access_policies()[0].keys(), ["get", "wrapKey"]);
    assert_eq!(vault.properties.enable_rbac_authorization, Some(true));
    assert!(vault.properties.other.is_empty());
    // The recordings, without the resource's systemData (not modelled).
    let mut recorded_vault = recorded("arm-vault.json");
    recorded_vault.as_object_mut().unwrap().remove("systemData");
    let vault: Vault = round_trip("arm-vault.json", &recorded_vault);
    assert_eq!(vault.access_policies()[0].keys().len(), 16);
    assert_eq!(
        vault.properties.sku.unwrap().name.as_deref(),
        Some("standard")
    );
    let mut pages = recorded("arm-vault-list-pages.json");
    for page in pages.as_array_mut().unwrap() {
        for v in page["value"].as_array_mut().unwrap() {
            v.as_object_mut().unwrap().remove("systemData");
        }
        round_trip::<VaultListResult>("arm-vault-list-pages.json", page);
    }
    // What Azure adds is kept, and a body with nothing but properties writes nothing else.
    let mut newer = served_vault();
    newer["properties"]["networkAcls"] =
        json!({"defaultAction": "Deny", "bypass": "AzureServices"});
    newer["properties"]["createMode"] = json!("default");
    let vault: Vault = round_trip("newer vault", &newer);
    assert_eq!(vault.properties.other.len(), 2);
    let patch = Vault {
        properties: VaultProperties {
            enable_rbac_authorization: Some(false),
            ..VaultProperties::default()
        },
        ..Vault::default()
    };
    let written = serde_json::to_value(&patch).unwrap();
    assert_eq!(
        written,
        json!({"properties": {"enableRbacAuthorization": false}})
    );
    // Unknown fields anywhere are tolerated on reading.
    let tolerant: Vault = serde_json::from_value(json!({"name": "v", "etag": "x", "properties": {"accessPolicies": [{"tenantId": "t", "objectId": "o", "permissions": {"keys": [], "future": []}, "extra": 1}]}})).unwrap();
    assert_eq!(tolerant.access_policies()[0].object_id, "o");
}

#[test]
fn access_policy_updates_deleted_vaults_and_errors_read_and_write_whole() {
    let update = json!({
        "properties": {"accessPolicies": [{
            "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "objectId": "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            "applicationId": "00000002-0000-0ff1-ce00-000000000000",
            "permissions": {"keys": ["get"], "secrets": [], "certificates": []}
        }]}
    });
    round_trip::<VaultAccessPolicyParameters>("accessPolicies/add", &update);
    let answered = json!({
        "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v/accessPolicies/add",
        "name": "add",
        "type": "Microsoft.KeyVault/vaults/accessPolicies",
        "location": "westeurope",
        "properties": update["properties"].clone(),
    });
    round_trip::<VaultAccessPolicyParameters>("accessPolicies answer", &answered);
    // The list is required, as in the specification.
    assert!(
        serde_json::from_value::<VaultAccessPolicyParameters>(json!({"properties": {}})).is_err()
    );
    let deleted = json!({
        "id": "/subscriptions/s/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/v",
        "name": "v",
        "type": "Microsoft.KeyVault/deletedVaults",
        "properties": {
            "vaultId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v",
            "location": "westeurope",
            "deletionDate": "2025-01-02T03:04:05Z",
            "scheduledPurgeDate": "2025-04-02T03:04:05Z",
            "tags": {},
            "purgeProtectionEnabled": true
        }
    });
    round_trip::<DeletedVault>("deleted vault", &deleted);
    round_trip::<DeletedVaultListResult>(
        "deleted vaults",
        &json!({"value": [deleted], "nextLink": "https://management.azure.com/x"}),
    );
    let error = json!({"error": {"code": "ResourceNotFound", "message": "The Resource 'Microsoft.KeyVault/vaults/v' under resource group 'rg' was not found."}});
    let parsed: CloudError = round_trip("CloudError", &error);
    assert_eq!(
        parsed.error.unwrap().code.as_deref(),
        Some("ResourceNotFound")
    );
}

#[test]
fn role_assignments_and_definitions_read_and_write_whole() {
    let assignment = json!({
        "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v/providers/Microsoft.Authorization/roleAssignments/b24988ac-6180-42a0-ab88-20f7382dd24c",
        "name": "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "roleDefinitionId": "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/e147488a-f6f5-4113-8e2d-b22465e65bf6",
            "principalId": "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            "principalType": "ServicePrincipal",
            "scope": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v",
            "condition": null,
            "conditionVersion": null
        }
    });
    let read: RoleAssignment = round_trip("role assignment", &assignment);
    assert_eq!(read.role_guid(), "e147488a-f6f5-4113-8e2d-b22465e65bf6");
    assert_eq!(read.properties.condition, Some(None));
    let conditioned = json!({"properties": {"roleDefinitionId": "r", "principalId": "p", "condition": "@Resource[x] StringEquals 'y'", "conditionVersion": "2.0"}});
    round_trip::<RoleAssignment>("with a condition", &conditioned);
    // A PUT's body leaves out what it does not set: no nulls.
    let create = RoleAssignment {
        properties: RoleAssignmentProperties {
            role_definition_id: Some("r".into()),
            principal_id: Some("p".into()),
            ..RoleAssignmentProperties::default()
        },
        ..RoleAssignment::default()
    };
    let written = serde_json::to_value(&create).unwrap();
    assert_eq!(
        written,
        json!({"properties": {"roleDefinitionId": "r", "principalId": "p"}})
    );
    round_trip::<ListResult<RoleAssignment>>("assignments", &json!({ "value": [assignment] }));
    let definition = json!({
        "id": "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/e147488a-f6f5-4113-8e2d-b22465e65bf6",
        "name": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "roleName": "Key Vault Crypto Service Encryption User",
            "type": "BuiltInRole",
            "description": "Read metadata of keys and perform wrap/unwrap operations.",
            "assignableScopes": ["/"],
            "permissions": [{
                "actions": ["Microsoft.EventGrid/eventSubscriptions/write"],
                "notActions": [],
                "dataActions": ["Microsoft.KeyVault/vaults/keys/read", "Microsoft.KeyVault/vaults/keys/wrap/action"],
                "notDataActions": []
            }]
        }
    });
    round_trip::<RoleDefinition>("role definition", &definition);
    round_trip::<ListResult<RoleDefinition>>("definitions", &json!({ "value": [definition] }));
    // Nothing here is secret: Debug shows every field.
    let shown = format!("{read:?}");
    assert!(
        shown.contains("6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"),
        "{shown}"
    );
}
