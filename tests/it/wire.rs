//! The `wire` module's bodies against the keys API's specification
//! (tests/data/keyvault-keys-7.6.openapi.json, a copy of ../shared/reference's) and against
//! the service's recorded answers (tests/data/azure-recordings): each struct reads an example
//! and writes it back with no field lost or renamed. The specification's `x-ms-examples` files
//! are not stored with it, so each example is built from its schema: every property, a value of
//! the property's type.

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

/// `value` read as a `T` and written back: the same JSON.
fn round_trip<T: Serialize + DeserializeOwned>(what: &str, value: &Value) {
    let typed: T = serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{what}: {e}"));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(&back, value, "{what}");
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
