//! The keys API's bodies (api-versions 2016-10-01 to 2025-07-01), named and shaped as the
//! specification (keyvault-keys-7.6.openapi.json) defines them. A field a version does not
//! have is `None` and left out, so one struct writes every version's shape. Bytes are
//! base64url text (see [`super::to_base64url`]); key material is [`SecretText`].
//!
//! Not modelled, as neither side uses them: release and rotation policies beyond carrying
//! `release_policy` through, attestation, random bytes, and the AES fields `iv`, `aad` and
//! `tag` of the key operations.

use super::{Absent, SecretText};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

type Tags = BTreeMap<String, String>;

impl Absent for JsonWebKey {}
impl Absent for KeyAttributes {}
impl Absent for Deletion {}

bodies! {
    /// A JSON Web Key; the private fields only in an import.
    pub struct JsonWebKey {
        pub kid: Option<String>,
        pub kty: Option<String>,
        pub key_ops: Option<Vec<String>>,
        pub n: Option<String>,
        pub e: Option<String>,
        pub d: Option<SecretText>,
        pub dp: Option<SecretText>,
        pub dq: Option<SecretText>,
        pub qi: Option<SecretText>,
        pub p: Option<SecretText>,
        pub q: Option<SecretText>,
        pub k: Option<SecretText>,
        pub key_hsm: Option<SecretText>,
        pub crv: Option<String>,
        pub x: Option<String>,
        pub y: Option<String>,
    }

    /// A key's attributes; times in unix seconds. `recoverableDays` is 7.1 and later,
    /// `exportable` 7.3 and later, `hsmPlatform` 7.5 and later.
    #[serde(rename_all = "camelCase")]
    pub struct KeyAttributes {
        pub enabled: Option<bool>,
        pub created: Option<i64>,
        pub updated: Option<i64>,
        pub recovery_level: Option<String>,
        pub recoverable_days: Option<i64>,
        pub exportable: Option<bool>,
        pub nbf: Option<i64>,
        pub exp: Option<i64>,
        pub hsm_platform: Option<String>,
    }

    /// A key version: KeyBundle, and DeletedKeyBundle with the deletion fields set.
    #[serde(rename_all = "camelCase")]
    pub struct KeyBundle {
        #[serde(default)]
        pub key: JsonWebKey,
        #[serde(default)]
        pub attributes: KeyAttributes,
        pub tags: Option<Tags>,
        pub managed: Option<bool>,
        #[serde(rename = "release_policy")]
        pub release_policy: Option<Value>,
        #[serde(flatten)]
        pub deletion: Deletion,
    }

    /// A deleted key's fields (DeletedKeyBundle, DeletedKeyItem); none for a key in use.
    #[serde(rename_all = "camelCase")]
    pub struct Deletion {
        pub recovery_id: Option<String>,
        pub deleted_date: Option<i64>,
        pub scheduled_purge_date: Option<i64>,
    }

    /// A listing's key: KeyItem, and DeletedKeyItem with the deletion fields set.
    #[serde(rename_all = "camelCase")]
    pub struct KeyItem {
        pub kid: Option<String>,
        #[serde(default)]
        pub attributes: KeyAttributes,
        pub tags: Option<Tags>,
        pub managed: Option<bool>,
        #[serde(flatten)]
        pub deletion: Deletion,
    }

    /// `POST /keys/{name}/create`.
    pub struct KeyCreateParameters {
        pub kty: String,
        pub key_size: Option<i64>,
        pub public_exponent: Option<i64>,
        pub key_ops: Option<Vec<String>>,
        pub attributes: Option<KeyAttributes>,
        pub tags: Option<Tags>,
        pub crv: Option<String>,
        pub release_policy: Option<Value>,
    }

    /// `PUT /keys/{name}`: a key brought in whole.
    pub struct KeyImportParameters {
        /// The spec spells it with a capital H.
        #[serde(rename = "Hsm")]
        pub hsm: Option<bool>,
        pub key: JsonWebKey,
        pub attributes: Option<KeyAttributes>,
        pub tags: Option<Tags>,
        pub release_policy: Option<Value>,
    }

    /// `PATCH /keys/{name}[/{version}]`.
    pub struct KeyUpdateParameters {
        pub key_ops: Option<Vec<String>>,
        pub attributes: Option<KeyAttributes>,
        pub tags: Option<Tags>,
        pub release_policy: Option<Value>,
    }

    /// wrapkey, unwrapkey, encrypt, decrypt (KeyOperationsParameters) and sign
    /// (KeySignParameters, the same two fields): the value may be a key.
    pub struct KeyOperationsParameters {
        pub alg: String,
        pub value: SecretText,
    }

    /// A key operation's or a signature's result; an unwrapped value is key material.
    pub struct KeyOperationResult {
        pub kid: Option<String>,
        pub value: Option<SecretText>,
    }

    /// `POST /keys/{name}[/{version}]/verify`.
    pub struct KeyVerifyParameters {
        pub alg: String,
        pub digest: String,
        /// The signature.
        pub value: String,
    }

    pub struct KeyVerifyResult {
        pub value: Option<bool>,
    }

    /// `POST /keys/{name}/backup`'s answer: the vault's opaque blob.
    pub struct BackupKeyResult {
        pub value: SecretText,
    }

    /// An answer that is not a success.
    pub struct KeyVaultError {
        pub error: Option<ErrorDetail>,
    }

    pub struct ErrorDetail {
        pub code: Option<String>,
        pub message: Option<String>,
        pub innererror: Option<Box<ErrorDetail>>,
    }
}

/// A deleted key version: a [`KeyBundle`] with its [`Deletion`] fields.
pub type DeletedKeyBundle = KeyBundle;
/// A listing's deleted key: a [`KeyItem`] with its [`Deletion`] fields.
pub type DeletedKeyItem = KeyItem;
pub type KeyListResult = ListResult<KeyItem>;
pub type DeletedKeyListResult = ListResult<DeletedKeyItem>;
/// `POST /keys/{name}[/{version}]/sign`: the same two fields.
pub type KeySignParameters = KeyOperationsParameters;
/// `POST /keys/restore`: the blob a backup gave.
pub type KeyRestoreParameters = BackupKeyResult;

/// One page of a listing; `nextLink` absent on the last page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResult<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
}
