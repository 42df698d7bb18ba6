//! Key Vault's bodies ([`crate::wire::keyvault`]) as our types: KeyBundle, DeletedKeyBundle and
//! a listing's items as the engine's key output.

use crate::error::{Error, Result};
use crate::store::vaults::Tags;
use crate::vault::model::{JsonWebKeyOut, KeyAttributesOut, KeyVaultKeyOut};
use crate::wire::keyvault::{Deletion, JsonWebKey, KeyAttributes, KeyBundle, KeyItem};
use crate::wire::Kid;

pub use crate::wire::to_base64url;

/// Key Vault's base64url (padded or not, standard alphabet tolerated).
pub fn from_base64url(field: &str, text: &str, target: &str) -> Result<Vec<u8>> {
    crate::wire::from_base64url(text)
        .ok_or_else(|| unexpected(&format!("its '{field}' is not base64url"), target))
}

pub(crate) fn unexpected(why: &str, target: &str) -> Error {
    super::errors::not_as_documented("Key Vault", why, target)
}

fn iso(unix: Option<i64>) -> Option<String> {
    unix.map(crate::time::iso_from_unix)
}

/// The RSA public key of a JWK: (modulus, exponent), big-endian.
pub fn rsa_public_key(jwk: &JsonWebKey, target: &str) -> Result<(Vec<u8>, Vec<u8>)> {
    let n = jwk.n.as_deref();
    let n = n.ok_or_else(|| unexpected("the key has no modulus (n)", target))?;
    let e = jwk.e.as_deref();
    let e = e.ok_or_else(|| unexpected("the key has no exponent (e)", target))?;
    Ok((
        from_base64url("n", n, target)?,
        from_base64url("e", e, target)?,
    ))
}

/// Bits of a big-endian modulus.
pub fn modulus_bits(n: &[u8]) -> i64 {
    let significant = n.iter().skip_while(|b| **b == 0).count();
    (significant * 8) as i64
}

/// The kid and its parts; `what` names the body in the error ("the key", "a listed key").
pub(crate) fn kid_of(kid: Option<&String>, what: &str, target: &str) -> Result<(String, Kid)> {
    let kid = kid.ok_or_else(|| unexpected(&format!("{what} has no kid"), target))?;
    let parsed = Kid::parse(kid)
        .map_err(|_| unexpected(&format!("{what}'s kid is not a key id"), target))?;
    Ok((kid.clone(), parsed))
}

/// A KeyBundle or DeletedKeyBundle as our key output.
pub fn key_out(vault_name: &str, bundle: &KeyBundle, target: &str) -> Result<KeyVaultKeyOut> {
    let jwk = &bundle.key;
    let (kid, parsed) = kid_of(jwk.kid.as_ref(), "the key", target)?;
    let (n, e) = rsa_public_key(jwk, target)?;
    let key_ops = jwk.key_ops.clone().unwrap_or_default();
    let kty = jwk.kty.clone().unwrap_or_else(|| "RSA".into());
    let (attributes, tags) = (&bundle.attributes, &bundle.tags);
    let mut out = key_of(vault_name, kid, parsed, attributes, tags, &bundle.deletion);
    out.key = Some(JsonWebKeyOut {
        kid: out.id.clone(),
        kty: kty.clone(),
        key_ops: key_ops.clone(),
        n: crate::b64::encode(&n),
        e: crate::b64::encode(&e),
    });
    out.key_type = Some(kty);
    out.key_size = Some(modulus_bits(&n));
    out.attributes.key_ops = Some(key_ops);
    Ok(out)
}

/// A listing's item (KeyItem, DeletedKeyItem) as our key output: what the item carries, as
/// Get-AzKeyVaultKey's identity items; the key itself, its type, size and operations, which
/// listings do not carry, are None, and so is the version when the kid names none (the keys
/// of a vault, as against the versions of a key).
pub fn key_item_out(vault_name: &str, item: &KeyItem, target: &str) -> Result<KeyVaultKeyOut> {
    let (kid, parsed) = kid_of(item.kid.as_ref(), "a listed key", target)?;
    Ok(key_of(
        vault_name,
        kid,
        parsed,
        &item.attributes,
        &item.tags,
        &item.deletion,
    ))
}

/// What a key bundle and a listing's item share: the key's identity, attributes, tags and
/// deletion dates; the key material and its operations are the bundle's to add.
fn key_of(
    vault_name: &str,
    kid: String,
    parsed: Kid,
    attributes: &KeyAttributes,
    tags: &Option<Tags>,
    deletion: &Deletion,
) -> KeyVaultKeyOut {
    let level = attributes.recovery_level.clone().unwrap_or_default();
    let days = attributes.recoverable_days.unwrap_or(0);
    let enabled = attributes.enabled.unwrap_or(true);
    let created = iso(attributes.created).unwrap_or_default();
    let updated = iso(attributes.updated).unwrap_or_default();
    KeyVaultKeyOut {
        vault_name: vault_name.to_string(),
        name: parsed.name,
        version: parsed.version,
        id: kid,
        enabled,
        expires: iso(attributes.exp),
        not_before: iso(attributes.nbf),
        created: created.clone(),
        updated: updated.clone(),
        recovery_level: level.clone(),
        recoverable_days: days,
        tags: tags.clone().unwrap_or_default(),
        key: None,
        key_type: None,
        key_size: None,
        attributes: KeyAttributesOut {
            enabled,
            not_before: iso(attributes.nbf),
            expires: iso(attributes.exp),
            created,
            updated,
            recovery_level: level,
            recoverable_days: days,
            exportable: attributes.exportable.unwrap_or(false),
            key_ops: None,
        },
        deleted_date: iso(deletion.deleted_date),
        scheduled_purge_date: iso(deletion.scheduled_purge_date),
    }
}

/// The attributes a request sets (create, update): only those given.
pub(crate) fn attributes_in(
    enabled: Option<bool>,
    nbf: Option<i64>,
    exp: Option<i64>,
) -> KeyAttributes {
    KeyAttributes {
        enabled,
        nbf,
        exp,
        ..KeyAttributes::default()
    }
}
