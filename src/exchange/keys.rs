//! The key hierarchy's cryptography: content keys sealed under a policy key or the
//! Microsoft-managed key, policy keys unwrapped through either customer key, and the
//! availability key used only when every customer key's vault cannot be reached.

use super::Service;
use crate::crypto::{self, gcm_open, gcm_seal, RsaAlgorithm, Secret};
use crate::error::{CkStatus, Error, Result};
use crate::store::exchange as sql;
use crate::store::Store;
use crate::vault::boundary::KeyReference;

pub(crate) const KEY_LEN: usize = 32;

pub(crate) fn new_key() -> Result<Secret> {
    Ok(Secret::new(crypto::random_bytes(KEY_LEN)?))
}

/// A revision's policy key, and whether the availability key had to open it.
pub(crate) struct PolicyKey {
    pub key: Secret,
    pub availability_used: bool,
}

fn content_aad(mailbox_guid: &str, revision: Option<&str>) -> Vec<u8> {
    format!(
        "exo-content-key/{}/{}",
        mailbox_guid.to_ascii_lowercase(),
        revision.unwrap_or("microsoft-managed").to_ascii_lowercase()
    )
    .into_bytes()
}

pub(crate) fn availability_aad(policy_guid: &str) -> Vec<u8> {
    format!("exo-availability-key/{}", policy_guid.to_ascii_lowercase()).into_bytes()
}

pub(crate) fn policy_key_aad(revision: &str) -> Vec<u8> {
    format!("exo-policy-key/{}", revision.to_ascii_lowercase()).into_bytes()
}

fn item_aad(mailbox_guid: &str) -> Vec<u8> {
    format!("exo-item/{}", mailbox_guid.to_ascii_lowercase()).into_bytes()
}

/// Seals a content key under a revision's policy key, or under the Microsoft-managed key.
pub(crate) fn seal_content_key(
    store: &Store,
    mailbox_guid: &str,
    under: Option<(&str, &Secret)>,
    content_key: &Secret,
) -> Result<Vec<u8>> {
    match under {
        None => store
            .keys()
            .seal_exchange(content_key.expose(), &content_aad(mailbox_guid, None)),
        Some((revision, policy_key)) => gcm_seal(
            policy_key.expose(),
            content_key.expose(),
            &content_aad(mailbox_guid, Some(revision)),
        ),
    }
}

pub(crate) fn open_content_key(
    store: &Store,
    mailbox_guid: &str,
    under: Option<(&str, &Secret)>,
    wrapped: &[u8],
) -> Result<Secret> {
    match under {
        None => store
            .keys()
            .open_exchange(wrapped, &content_aad(mailbox_guid, None)),
        Some((revision, policy_key)) => gcm_open(
            policy_key.expose(),
            wrapped,
            &content_aad(mailbox_guid, Some(revision)),
        )
        .map_err(|_| {
            Error::io(
                "a mailbox content key failed its integrity check; the store may be damaged",
                mailbox_guid,
            )
        }),
    }
}

/// An item's subject and body, sealed together under the mailbox's content key.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct ItemText {
    pub subject: String,
    pub body: String,
}

const MAX_SUBJECT_BYTES: usize = 4096;
const MAX_ITEM_BYTES: usize = 1 << 20;

impl ItemText {
    /// The -Subject and -Body of an Add- cmdlet, checked; and the item's size.
    pub(crate) fn checked(subject: &str, body: &str) -> Result<(ItemText, i64)> {
        if subject.len() > MAX_SUBJECT_BYTES {
            return Err(Error::invalid_argument(
                "Subject",
                format!("must be at most {MAX_SUBJECT_BYTES} bytes"),
            ));
        }
        if body.len() > MAX_ITEM_BYTES {
            return Err(Error::invalid_argument(
                "Body",
                format!("must be at most {MAX_ITEM_BYTES} bytes"),
            ));
        }
        let text = ItemText {
            subject: subject.to_string(),
            body: body.to_string(),
        };
        Ok((text, (subject.len() + body.len()) as i64))
    }
}

pub(crate) fn seal_item(
    content_key: &Secret,
    mailbox_guid: &str,
    item: &ItemText,
) -> Result<Vec<u8>> {
    let plain = zeroize::Zeroizing::new(
        serde_json::to_vec(item).map_err(|e| Error::internal(format!("item encoding: {e}")))?,
    );
    gcm_seal(content_key.expose(), &plain, &item_aad(mailbox_guid))
}

pub(crate) fn open_item(
    content_key: &Secret,
    mailbox_guid: &str,
    sealed: &[u8],
) -> Result<ItemText> {
    let plain = gcm_open(content_key.expose(), sealed, &item_aad(mailbox_guid)).map_err(|_| {
        Error::io(
            "a mailbox item failed its integrity check; the store may be damaged",
            mailbox_guid,
        )
    })?;
    serde_json::from_slice(plain.expose())
        .map_err(|_| Error::io("a mailbox item does not decode", mailbox_guid))
}

/// Opens a revision's policy key with the first customer key that answers. The availability
/// key is used only when every customer key failed because its vault could not be reached:
/// a removed permission, a disabled, deleted or purged key are the customer's decisions and
/// never bring it in. Nothing is cached: the next call asks the vaults again.
pub(crate) fn open_policy_key(
    service: &Service,
    store: &Store,
    revision_id: &str,
) -> Result<PolicyKey> {
    let (wraps, revision, policy) = store.read(|tx| {
        let revision = sql::get_revision(tx, revision_id)?.ok_or_else(|| {
            Error::not_found(
                "PolicyRevisionNotFound",
                format!("no policy revision '{revision_id}'"),
                revision_id,
            )
        })?;
        let policy = sql::get_policy(tx, &revision.policy)?
            .ok_or_else(|| Error::internal("a revision without its policy"))?;
        Ok((sql::revision_wraps(tx, revision_id)?, revision, policy))
    })?;
    if policy.purged {
        return Err(purged_error(&policy.name));
    }
    // The policy's own service unwraps, whichever service reads (a mailbox without a mailbox
    // policy is under the multi-workload policy's keys).
    let service = &service.acting_for(super::workload_of_policy(&policy));
    let mut failures = Vec::new();
    for wrap in &wraps {
        let reference = KeyReference::parse("AzureKeyIDs", &wrap.key_id)?;
        match service.vaults().unwrap_key(
            &service.caller(),
            &reference,
            RsaAlgorithm::OaepSha256,
            &wrap.wrapped,
        ) {
            Ok(key) => {
                return Ok(PolicyKey {
                    key,
                    availability_used: false,
                })
            }
            // Stopped, not refused: the other key and the availability key wait for no one.
            Err(e) if e.is_stop() => return Err(e),
            Err(e) => failures.push((wrap.key_id.clone(), e)),
        }
    }
    let all_unreachable = !failures.is_empty()
        && failures
            .iter()
            .all(|(_, e)| e.status == CkStatus::Unavailable);
    if all_unreachable {
        let sealed_availability = policy
            .sealed_availability_key
            .as_deref()
            .ok_or_else(|| purged_error(&policy.name))?;
        let under_availability = revision
            .policy_key_under_availability
            .as_deref()
            .ok_or_else(|| purged_error(&policy.name))?;
        let availability = store
            .keys()
            .open_exchange(sealed_availability, &availability_aad(&policy.guid))?;
        let key = gcm_open(
            availability.expose(),
            under_availability,
            &policy_key_aad(revision_id),
        )
        .map_err(|_| Error::io("a policy key failed its integrity check", revision_id))?;
        return Ok(PolicyKey {
            key,
            availability_used: true,
        });
    }
    let reasons: Vec<String> = failures
        .iter()
        .map(|(id, e)| format!("{id}: {}", e.message))
        .collect();
    let workload = service.workload();
    Err(Error::forbidden(
        format!(
            "{} cannot use either customer key of data encryption policy '{}', so the data under it cannot be read: {}. Restore the service principal {}'s get, wrapKey and unwrapKey permissions (or enable the key) on either vault.",
            workload.service_name(),
            policy.name,
            reasons.join("; "),
            workload.application_id()
        ),
        policy.name.clone(),
    ))
}

pub(crate) fn purged_error(policy_name: &str) -> Error {
    Error::invalid_operation(
        "DataPurged",
        format!("The data of this mailbox was permanently purged at the customer's request (data encryption policy '{policy_name}')."),
        policy_name,
    )
}
