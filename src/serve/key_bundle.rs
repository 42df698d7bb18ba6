//! The KeyBundle of `GET /keys/{name}[/{version}]`, the endpoint's hottest answer, serialized
//! straight from the engine's result struct: no JSON value is built and dropped on the way. It
//! writes exactly what [`super::key_body::key_bundle_at`] builds from the result's JSON (a test
//! holds the two together).

use super::http::std_to_url_b64;
use super::request::{kid_at, BodyShape};
use engine::store::vaults::Tags;
use engine::vault::model::KeyVaultKeyOut;
use serde::Serialize;

fn unix(iso: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(iso)
        .ok()
        .map(|t| t.timestamp())
}

#[derive(Serialize)]
struct JsonWebKeyBody<'a> {
    kid: String,
    kty: &'a str,
    key_ops: &'a [String],
    n: String,
    e: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AttributesBody<'a> {
    enabled: bool,
    created: Option<i64>,
    updated: Option<i64>,
    recovery_level: &'a str,
    /// 7.1 and later.
    #[serde(skip_serializing_if = "Option::is_none")]
    recoverable_days: Option<i64>,
    /// 7.3 and later.
    #[serde(skip_serializing_if = "Option::is_none")]
    exportable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
}

#[derive(Serialize)]
pub(super) struct KeyBundleBody<'a> {
    key: JsonWebKeyBody<'a>,
    attributes: AttributesBody<'a>,
    #[serde(skip_serializing_if = "Tags::is_empty")]
    tags: &'a Tags,
}

impl<'a> KeyBundleBody<'a> {
    /// The bundle of `out`, its kid under `base` (`https://{vault}.localhost:{port}`), with the
    /// fields of `shape`'s api-version.
    pub(super) fn of(base: &str, out: &'a KeyVaultKeyOut, shape: BodyShape) -> KeyBundleBody<'a> {
        let a = &out.attributes;
        // The engine's keys always carry their JWK (only an Azure vault's listing has none).
        let jwk = out.key.as_ref();
        KeyBundleBody {
            key: JsonWebKeyBody {
                kid: kid_at(base, &out.name, out.version.as_deref()),
                kty: jwk.map_or("", |k| k.kty.as_str()),
                key_ops: jwk.map_or(&[], |k| k.key_ops.as_slice()),
                n: jwk.map(|k| std_to_url_b64(&k.n)).unwrap_or_default(),
                e: jwk.map(|k| std_to_url_b64(&k.e)).unwrap_or_default(),
            },
            attributes: AttributesBody {
                enabled: a.enabled,
                created: unix(&a.created),
                updated: unix(&a.updated),
                recovery_level: &a.recovery_level,
                recoverable_days: shape.recoverable_days.then_some(a.recoverable_days),
                exportable: shape.exportable.then_some(false),
                nbf: a.not_before.as_deref().and_then(unix),
                exp: a.expires.as_deref().and_then(unix),
            },
            tags: &out.tags,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::vault::model::{JsonWebKeyOut, KeyAttributesOut};

    fn key(tags: Tags, dated: bool) -> KeyVaultKeyOut {
        let date = |d: &str| dated.then(|| d.to_string());
        KeyVaultKeyOut {
            vault_name: "contoso".into(),
            name: "k1".into(),
            version: Some("0123456789abcdef0123456789abcdef".into()),
            id: "https://contoso.vault.azure.net/keys/k1/0123456789abcdef0123456789abcdef".into(),
            enabled: true,
            expires: date("2031-01-01T00:00:00Z"),
            not_before: date("2026-01-01T00:00:00Z"),
            created: "2026-12-03T10:00:00Z".into(),
            updated: "2026-12-03T10:05:00Z".into(),
            recovery_level: "CustomizedRecoverable+Purgeable".into(),
            recoverable_days: 90,
            tags: tags.clone(),
            key: Some(JsonWebKeyOut {
                kid: String::new(),
                kty: "RSA".into(),
                key_ops: vec!["wrapKey".into(), "unwrapKey".into()],
                // Both digits that differ between the alphabets, and padding.
                n: "u/+8AQIDBA==".into(),
                e: "AQAB".into(),
            }),
            key_type: Some("RSA".into()),
            key_size: Some(2048),
            attributes: KeyAttributesOut {
                enabled: true,
                not_before: date("2026-01-01T00:00:00Z"),
                expires: date("2031-01-01T00:00:00Z"),
                created: "2026-12-03T10:00:00Z".into(),
                updated: "2026-12-03T10:05:00Z".into(),
                recovery_level: "CustomizedRecoverable+Purgeable".into(),
                recoverable_days: 90,
                exportable: false,
                key_ops: Some(vec!["wrapKey".into(), "unwrapKey".into()]),
            },
            deleted_date: None,
            scheduled_purge_date: None,
        }
    }

    #[test]
    fn the_typed_bundle_is_the_one_built_from_json() {
        let base = "https://contoso.localhost:8443";
        let tagged = Tags::from([("env".to_string(), "prod".to_string())]);
        for version in super::super::API_VERSIONS {
            let shape = BodyShape::of(version);
            for out in [key(Tags::new(), false), key(tagged.clone(), true)] {
                let typed = serde_json::to_value(KeyBundleBody::of(base, &out, shape)).unwrap();
                let from_json = super::super::key_body::key_bundle_at(
                    base,
                    &serde_json::to_value(&out).unwrap(),
                    shape,
                );
                assert_eq!(typed, from_json, "{version}");
            }
        }
        let newest = BodyShape::of("2025-07-01");
        let typed =
            serde_json::to_value(KeyBundleBody::of(base, &key(Tags::new(), true), newest)).unwrap();
        assert_eq!(typed["attributes"]["recoverableDays"], 90);
        assert_eq!(typed["attributes"]["exportable"], false);
        let oldest = BodyShape::of("2016-10-01");
        let old =
            serde_json::to_value(KeyBundleBody::of(base, &key(Tags::new(), true), oldest)).unwrap();
        assert!(old["attributes"].get("recoverableDays").is_none(), "{old}");
        assert!(old["attributes"].get("exportable").is_none(), "{old}");
        assert_eq!(
            old["attributes"]["recoveryLevel"],
            typed["attributes"]["recoveryLevel"]
        );
        assert_eq!(typed["key"]["n"], "u_-8AQIDBA");
        assert_eq!(typed["attributes"]["exp"], 1_924_992_000);
        assert!(typed.get("tags").is_none());
    }
}
