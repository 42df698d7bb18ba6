//! The key operations against Azure Key Vault: the same typed arguments as the embedded
//! engine's handlers, the same output types, from Key Vault's REST answers (KeyBundle,
//! DeletedKeyBundle, KeyOperationResult, BackupKeyResult).

use super::{RemoteVaults, Replay};
use crate::error::{Error, Result};
use crate::operations::Context;
use crate::vault::key_operations::{InvokeKeyOperationArgs, KeyOperation, KeyOperationResult};
use crate::vault::keys::{
    AddKeyArgs, GetKeyArgs, RemoveKeyArgs, UndoKeyRemovalArgs, UpdateKeyArgs,
};
use crate::vault::model::KeyVaultKeyOut;
use crate::vault::signatures::{InvokeKeySignatureArgs, KeySignatureResult};
use crate::wire::keyvault::{
    DeletedKeyBundle, KeyBundle, KeyCreateParameters, KeyItem, KeyOperationResult as Answer,
    KeyOperationsParameters, KeyUpdateParameters, KeyVerifyParameters, KeyVerifyResult,
};
use crate::wire::SecretText;
use reqwest::Method;
use zeroize::Zeroizing;

use super::json::{attributes_in, unexpected};
pub use super::json::{from_base64url, key_item_out, key_out, modulus_bits, to_base64url};
use super::NO_BODY;

pub(crate) fn remote<'a>(ctx: &'a Context<'_>) -> Result<&'a RemoteVaults> {
    super::target::of_call(ctx)
        .ok_or_else(|| Error::internal("a remote handler ran in a local session"))
}

/// Path segments are names the engine checked (letters, digits, hyphens), versions hex.
fn check_version(v: &str) -> Result<()> {
    if v.len() == 32 && v.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(Error::invalid_argument(
            "Version",
            "must be 32 hexadecimal characters",
        ))
    }
}

pub(super) fn target_of(vault: &str, name: &str) -> String {
    format!("{vault}/{name}")
}

pub fn add_key(ctx: &Context<'_>, a: AddKeyArgs) -> Result<KeyVaultKeyOut> {
    if a.key_file_path.is_some() {
        return Err(Error::invalid_operation(
            "ImportNotSupportedRemotely",
            "Parameter 'KeyFilePath': importing a key file into an Azure vault is not supported by this session's remote target; import it with Add-AzKeyVaultKey -KeyFilePath, or use -Environment Local",
            "KeyFilePath",
        ));
    }
    let shape = a.shape()?;
    let body = KeyCreateParameters {
        kty: if shape.hsm { "RSA-HSM" } else { "RSA" }.into(),
        key_size: Some(shape.size),
        key_ops: Some(shape.key_ops),
        attributes: Some(attributes_in(
            Some(!a.disable),
            shape.not_before,
            shape.expires,
        )),
        tags: a.tag.clone(),
        ..KeyCreateParameters::default()
    };
    let target = target_of(&a.vault_name, &a.name);
    let bundle: KeyBundle = remote(ctx)?.call(
        Method::POST,
        &a.vault_name,
        &format!("/keys/{}/create", a.name),
        Some(&body),
        Replay::OnlyIfUnsent,
        &target,
    )?;
    let out = key_out(&a.vault_name, &bundle, &target)?;
    ctx.audit_success(
        &target,
        &format!(
            "created version {} in Azure",
            out.version.as_deref().unwrap_or_default()
        ),
    );
    Ok(out)
}

/// Each listed item as it is (one request per page, none per key, as Az lists).
fn items_out(vault: &str, items: &[KeyItem], target: &str) -> Result<Vec<KeyVaultKeyOut>> {
    items
        .iter()
        .map(|item| key_item_out(vault, item, target))
        .collect()
}

/// Add-KeyVaultKey's in-memory import, refused as -KeyFilePath is: the key is not sent.
pub fn import_key(
    _ctx: &Context<'_>,
    a: AddKeyArgs,
    _key_file: crate::crypto::Secret,
) -> Result<KeyVaultKeyOut> {
    crate::vault::model::check_key_name(&a.name)?;
    Err(Error::invalid_operation(
        "ImportNotSupportedRemotely",
        "Importing a key into an Azure vault is not supported by this session's remote target; import it with Add-AzKeyVaultKey, or use -Environment Local",
        &a.name,
    ))
}

pub fn get_key(ctx: &Context<'_>, a: GetKeyArgs) -> Result<Vec<KeyVaultKeyOut>> {
    let r = remote(ctx)?;
    let target = target_of(&a.vault_name, a.name.as_deref().unwrap_or("*"));
    let v = &a.vault_name;
    let get = |path: String| -> Result<KeyBundle> {
        r.call(Method::GET, v, &path, NO_BODY, Replay::Harmless, &target)
    };
    // Names and versions go into the request's path: checked first.
    if let Some(n) = &a.name {
        crate::vault::model::check_key_name(n)?;
    }
    let out = match (&a.name, &a.version) {
        (Some(n), _) if a.in_removed_state => {
            vec![key_out(v, &get(format!("/deletedkeys/{n}"))?, &target)?]
        }
        (None, _) => {
            let path = if a.in_removed_state {
                "/deletedkeys"
            } else {
                "/keys"
            };
            items_out(v, &r.list_of(v, path, &target)?, &target)?
        }
        (Some(n), _) if a.include_versions => {
            let items = r.list_of(v, &format!("/keys/{n}/versions"), &target)?;
            let mut versions = items_out(v, &items, &target)?;
            // Oldest first, as the engine lists them.
            versions.sort_by(|x, y| x.created.cmp(&y.created));
            versions
        }
        (Some(n), Some(version)) => {
            check_version(version)?;
            vec![key_out(v, &get(format!("/keys/{n}/{version}"))?, &target)?]
        }
        (Some(n), None) => vec![key_out(v, &get(format!("/keys/{n}"))?, &target)?],
    };
    ctx.audit_success(&target, "");
    Ok(out)
}

/// The workloads' policies in this store that use the key: refused unless -AcceptDataLoss, as the
/// engine refuses for its own vaults (`version`: only references to that version, or to the
/// newest, count; None: any reference).
fn refuse_if_in_use(
    ctx: &Context<'_>,
    vault: &str,
    name: &str,
    version: Option<&str>,
    accept_data_loss: bool,
    action: &str,
) -> Result<()> {
    if accept_data_loss {
        return Ok(());
    }
    let vault = vault.to_ascii_lowercase();
    ctx.read(|tx| {
        let refs = crate::store::vaults::key_references(tx, &vault, Some(name))?;
        let concerned = refs.iter().any(|r| match (version, r.version.as_deref()) {
            (None, _) | (_, None) => true,
            (Some(v), Some(used)) => v.eq_ignore_ascii_case(used),
        });
        if concerned {
            crate::vault::refuse_if_referenced(tx, &vault, Some(name), false, action)
        } else {
            Ok(())
        }
    })
}

pub fn update_key(ctx: &Context<'_>, a: UpdateKeyArgs) -> Result<Option<KeyVaultKeyOut>> {
    crate::vault::model::check_key_name(&a.name)?;
    if let Some(v) = &a.version {
        check_version(v)?;
    }
    let (nbf, exp) = (
        crate::vault::keys::unix(a.not_before),
        crate::vault::keys::unix(a.expires),
    );
    crate::vault::keys::check_dates(nbf, exp)?;
    // What would stop a policy's unwraps: disabled, dated out, or unwrapKey dropped.
    let now = ctx.now();
    let stops_unwrapping = a.enable == Some(false)
        || exp.is_some_and(|e| e <= now)
        || nbf.is_some_and(|n| n > now)
        || a.key_ops
            .as_ref()
            .is_some_and(|ops| !ops.iter().any(|o| o == "unwrapKey"));
    if stops_unwrapping {
        refuse_if_in_use(
            ctx,
            &a.vault_name,
            &a.name,
            a.version.as_deref(),
            a.accept_data_loss,
            "disable, date out or restrict this version of",
        )?;
    }
    if a.key_ops.as_ref().is_some_and(|ops| ops.is_empty()) {
        return Err(Error::invalid_argument(
            "KeyOps",
            "must name at least one operation",
        ));
    }
    let body = KeyUpdateParameters {
        key_ops: a.key_ops.clone(),
        attributes: Some(attributes_in(a.enable, nbf, exp)),
        tags: a.tag.clone(),
        release_policy: None,
    };
    let target = target_of(&a.vault_name, &a.name);
    // The same attributes set twice are the same attributes: repeating is harmless.
    let bundle: KeyBundle = remote(ctx)?.call(
        Method::PATCH,
        &a.vault_name,
        &format!("/keys/{}/{}", a.name, a.version.as_deref().unwrap_or("")),
        Some(&body),
        Replay::Harmless,
        &target,
    )?;
    let out = key_out(&a.vault_name, &bundle, &target)?;
    ctx.audit_success(
        &target,
        &format!(
            "updated version {} in Azure",
            out.version.as_deref().unwrap_or_default()
        ),
    );
    Ok(a.pass_thru.then_some(out))
}

pub fn remove_key(ctx: &Context<'_>, a: RemoveKeyArgs) -> Result<Option<KeyVaultKeyOut>> {
    crate::vault::model::check_key_name(&a.name)?;
    let r = remote(ctx)?;
    let target = target_of(&a.vault_name, &a.name);
    let action = if a.in_removed_state {
        "purge"
    } else {
        "delete"
    };
    refuse_if_in_use(
        ctx,
        &a.vault_name,
        &a.name,
        None,
        a.accept_data_loss,
        action,
    )?;
    let out = if a.in_removed_state {
        let shown = if a.pass_thru {
            let deleted: DeletedKeyBundle = r.call(
                Method::GET,
                &a.vault_name,
                &format!("/deletedkeys/{}", a.name),
                NO_BODY,
                Replay::Harmless,
                &target,
            )?;
            Some(key_out(&a.vault_name, &deleted, &target)?)
        } else {
            None
        };
        r.request(
            Method::DELETE,
            &a.vault_name,
            &format!("/deletedkeys/{}", a.name),
            NO_BODY,
            Replay::OnlyIfUnsent,
            &target,
        )?;
        ctx.audit_success(&target, "purged in Azure");
        shown
    } else {
        let deleted: DeletedKeyBundle = r.call(
            Method::DELETE,
            &a.vault_name,
            &format!("/keys/{}", a.name),
            NO_BODY,
            Replay::OnlyIfUnsent,
            &target,
        )?;
        ctx.audit_success(&target, "deleted in Azure");
        Some(key_out(&a.vault_name, &deleted, &target)?).filter(|_| a.pass_thru)
    };
    Ok(out)
}

pub fn undo_key_removal(ctx: &Context<'_>, a: UndoKeyRemovalArgs) -> Result<KeyVaultKeyOut> {
    crate::vault::model::check_key_name(&a.name)?;
    let target = target_of(&a.vault_name, &a.name);
    let bundle: KeyBundle = remote(ctx)?.call(
        Method::POST,
        &a.vault_name,
        &format!("/deletedkeys/{}/recover", a.name),
        NO_BODY,
        Replay::OnlyIfUnsent,
        &target,
    )?;
    ctx.audit_success(&target, "recovered in Azure");
    key_out(&a.vault_name, &bundle, &target)
}

/// Key Vault's path segment of a crypto operation.
pub fn operation_path(op: KeyOperation) -> &'static str {
    match op {
        KeyOperation::Encrypt => "encrypt",
        KeyOperation::Decrypt => "decrypt",
        KeyOperation::Wrap => "wrapkey",
        KeyOperation::Unwrap => "unwrapkey",
        KeyOperation::Sign => "sign",
        KeyOperation::Verify => "verify",
    }
}

/// One crypto operation: (kid used, result bytes, wiped).
pub fn crypto(
    r: &RemoteVaults,
    vault: &str,
    name: &str,
    version: Option<&str>,
    op: KeyOperation,
    body: &KeyOperationsParameters,
    target: &str,
) -> Result<(String, Zeroizing<Vec<u8>>)> {
    crate::vault::model::check_key_name(name)?;
    if let Some(v) = version {
        check_version(v)?;
    }
    // The SDKs' form: an empty version segment asks for the newest version.
    let path = format!(
        "/keys/{name}/{}/{}",
        version.unwrap_or(""),
        operation_path(op)
    );
    let answer: Answer = r.call(
        Method::POST,
        vault,
        &path,
        Some(body),
        Replay::Harmless,
        target,
    )?;
    let value = answer
        .value
        .ok_or_else(|| unexpected("the operation's answer has no value", target))?;
    let bytes = Zeroizing::new(from_base64url("value", value.expose(), target)?);
    Ok((answer.kid.unwrap_or_default(), bytes))
}

pub fn invoke_key_operation(
    ctx: &Context<'_>,
    a: InvokeKeyOperationArgs,
) -> Result<KeyOperationResult> {
    let (op, algorithm, value) = crate::vault::key_operations::parse_key_operation(&a)?;
    let target = target_of(&a.vault_name, &a.name);
    let body = KeyOperationsParameters {
        alg: algorithm.name().into(),
        value: SecretText::of_bytes(value.expose()),
    };
    let (kid, result) = crypto(
        remote(ctx)?,
        &a.vault_name,
        &a.name,
        a.version.as_deref(),
        op,
        &body,
        &target,
    )?;
    ctx.audit_success(&kid, &format!("{op:?} {} in Azure", algorithm.name()));
    Ok(KeyOperationResult {
        key_id: kid,
        raw_result: Zeroizing::new(crate::b64::encode(&result)),
        algorithm: algorithm.name().to_string(),
    })
}

pub fn invoke_key_signature(
    ctx: &Context<'_>,
    a: InvokeKeySignatureArgs,
) -> Result<KeySignatureResult> {
    let (algorithm, digest, op, signature) = crate::vault::signatures::parse_signature(&a)?;
    let r = remote(ctx)?;
    let target = target_of(&a.vault_name, &a.name);
    crate::vault::model::check_key_name(&a.name)?;
    let result = match signature {
        None => {
            let body = KeyOperationsParameters {
                alg: algorithm.name().into(),
                value: SecretText::of_bytes(&digest),
            };
            let (kid, signature) = crypto(
                r,
                &a.vault_name,
                &a.name,
                a.version.as_deref(),
                op,
                &body,
                &target,
            )?;
            KeySignatureResult::of(kid, algorithm, Some(&signature), None)
        }
        Some(signature) => {
            let body = KeyVerifyParameters {
                alg: algorithm.name().into(),
                digest: to_base64url(&digest),
                value: to_base64url(&signature),
            };
            if let Some(v) = &a.version {
                check_version(v)?;
            }
            let path = format!(
                "/keys/{}/{}/verify",
                a.name,
                a.version.as_deref().unwrap_or("")
            );
            let answer: KeyVerifyResult = r.call(
                Method::POST,
                &a.vault_name,
                &path,
                Some(&body),
                Replay::Harmless,
                &target,
            )?;
            let valid = answer
                .value
                .ok_or_else(|| unexpected("the verify answer has no boolean value", &target))?;
            // KeyVerifyResult names no key.
            KeySignatureResult::of(target.clone(), algorithm, None, Some(valid))
        }
    };
    ctx.audit_success(
        &result.key_id,
        &format!("{op:?} {} in Azure", algorithm.name()),
    );
    Ok(result)
}
