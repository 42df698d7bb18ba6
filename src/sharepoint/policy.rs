//! The tenant's data encryption policy: Register- (customer keys replace the Microsoft-managed
//! key), Update- (a key roll), Get- and Restore-SPODataEncryptionPolicy (recovery with the
//! availability key). Each change validates the keys and wraps a new TIK through the vault
//! boundary first, then commits the policy, the TIK and its rewrap job in one transaction.

use super::keys::{self, resolve_key, service_principal, validate_key, KeyArgument, KeyType};
use super::model::{self as m, parse_admin_url, percent, PolicyOut, TARGET};
use super::progress::{busy, key_usage, progress, resume_if_stalled, stalled_job};
use super::rewrap::{self, Purpose};
use crate::crypto;
use crate::error::{CkStatus, Error, Result};
use crate::operations::Context;
use crate::store::sharepoint::{self as sql, PolicyRow, TikRow};
use crate::store::Tx;
use crate::vault::boundary::{Caller, KeyReference, KeyVaultBoundary};
use crate::vault::vaults_for;

pub(crate) const BY_NAME: &str = "ByKeyVaultName";
pub(crate) const BY_URI: &str = "ByKeyVaultUri";
const IDENTITY_HELP: &str = "The tenant's SharePoint admin site URL (https://<tenant>-admin.sharepoint.com), as older SharePoint Online Management Shell versions take it; accepted and ignored when it names this tenant";

/// -Identity is accepted when it names this store's tenant (or before any site names one).
fn check_identity(ctx: &Context<'_>, identity: Option<&str>) -> Result<()> {
    let Some(identity) = identity else {
        return Ok(());
    };
    let tenant = parse_admin_url(identity)?;
    match ctx.read(sql::tenant_name)? {
        Some(ours) if ours != tenant => Err(Error::invalid_argument(
            "Identity",
            format!("names tenant '{tenant}', but this store's SharePoint tenant is '{ours}' (https://{ours}-admin.sharepoint.com)"),
        )),
        _ => Ok(()),
    }
}

/// The keys of the SharePoint policy, for the setup check, when `identity` names it
/// (SPODataEncryptionPolicy, or the tenant's admin site URL); None when it names something else.
pub fn policy_keys(
    ctx: &Context<'_>,
    identity: &str,
) -> Result<Option<crate::vault::inspect::PolicyKeys>> {
    let identity = identity.trim();
    let by_url = parse_admin_url(identity).is_ok();
    if !(identity.eq_ignore_ascii_case(TARGET) || by_url) {
        return Ok(None);
    }
    if by_url {
        check_identity(ctx, Some(identity)).map_err(|e| {
            Error::invalid_argument(
                "DataEncryptionPolicy",
                e.message.trim_start_matches("Parameter 'Identity': "),
            )
        })?;
    }
    ctx.read(|tx| {
        let policy = sql::get_policy(tx)?.ok_or_else(not_registered)?;
        let tik = sql::get_tik(tx, policy.generation)?
            .ok_or_else(|| Error::internal("the policy's tenant intermediate key is missing"))?;
        Ok(Some(crate::vault::inspect::PolicyKeys {
            workload: crate::vault::rules::Workload::SharePoint,
            name: TARGET.to_string(),
            key_ids: vec![tik.primary_key_id, tik.secondary_key_id],
        }))
    })
}

fn not_registered() -> Error {
    Error::invalid_operation(
        "PolicyNotRegistered",
        "The tenant has no SharePoint data encryption policy; register one with Register-SPODataEncryptionPolicy",
        TARGET,
    )
}

/// The two keys must live in two vaults, so that losing one vault loses one key.
fn check_two_vaults(
    first: &KeyReference,
    second: &KeyReference,
    param: &str,
    first_role: &str,
) -> Result<()> {
    if crate::vault::rules::shared_vault(&[&first.vault_uri, &second.vault_uri]).is_some() {
        return Err(Error::invalid_argument(
            param,
            format!(
                "names vault '{}', which holds the {first_role} key too; the two keys of the policy must live in two different vaults",
                second.vault_name
            ),
        ));
    }
    Ok(())
}

fn service_caller<'a>(ctx: &'a Context<'_>, sp: &'a crate::Principal) -> Caller<'a> {
    Caller {
        principal: sp,
        clock: ctx.clock(),
        time_shift: ctx.time_shift(),
        operation: ctx.operation(),
    }
}

/// Wraps a fresh TIK under `primary` and `secondary` as the next generation.
fn new_tik(
    ctx: &Context<'_>,
    vaults: &dyn KeyVaultBoundary,
    caller: &Caller<'_>,
    primary: &KeyReference,
    secondary: &KeyReference,
) -> Result<TikRow> {
    let generation = ctx.read(sql::next_tik_generation)?;
    let tik = crypto::new_aes_key()?;
    keys::wrap_tik(
        vaults,
        caller,
        ctx.store(),
        &tik,
        (primary, secondary),
        generation,
        ctx.now(),
    )
}

/// In the operation's transaction: records the new TIK, points the policy at it and enqueues
/// the job that rewraps every site key under it.
fn start_rewrap(
    ctx: &Context<'_>,
    tx: &Tx<'_>,
    tik: &TikRow,
    state: &'static str,
    rolling: Option<KeyType>,
    purpose: Purpose,
) -> Result<()> {
    // The generation was read before the vault calls: a concurrent change took it meanwhile.
    if sql::get_tik(tx, tik.generation)?.is_some() {
        return Err(Error::new(
            CkStatus::Busy,
            "PolicyChanging",
            "Another change of the data encryption policy committed meanwhile; look at Get-SPODataEncryptionPolicy and repeat if still needed",
            TARGET,
        ));
    }
    sql::insert_tik(tx, tik)?;
    let total = sql::count_sites(tx)?;
    let job_id = rewrap::enqueue(tx, tik.generation, purpose, total, ctx.now())?;
    sql::put_policy(
        tx,
        &PolicyRow {
            state: state.to_string(),
            generation: tik.generation,
            rolling_key_type: rolling.map(|k| k.name().to_string()),
            job_id: Some(job_id),
            updated: ctx.now(),
        },
    )?;
    rewrap::record_key_references(tx)
}

struct PolicyKeys<'a> {
    primary: KeyArgument<'a>,
    secondary: KeyArgument<'a>,
}

fn register_keys(a: &RegisterPolicyArgs) -> PolicyKeys<'_> {
    PolicyKeys {
        primary: KeyArgument {
            vault_name: a.primary_key_vault_name.as_deref(),
            key_name: a.primary_key_name.as_deref(),
            key_version: a.primary_key_version.as_deref(),
            uri: a.primary_key_vault_uri.as_deref(),
            params: (
                "PrimaryKeyVaultName",
                "PrimaryKeyName",
                "PrimaryKeyVersion",
                "PrimaryKeyVaultUri",
            ),
        },
        secondary: KeyArgument {
            vault_name: a.secondary_key_vault_name.as_deref(),
            key_name: a.secondary_key_name.as_deref(),
            key_version: a.secondary_key_version.as_deref(),
            uri: a.secondary_key_vault_uri.as_deref(),
            params: (
                "SecondaryKeyVaultName",
                "SecondaryKeyName",
                "SecondaryKeyVersion",
                "SecondaryKeyVaultUri",
            ),
        },
    }
}

/// Whether the keys given are those `tik` is wrapped under (a stalled change asked again).
fn same_keys(given: &PolicyKeys<'_>, tik: &TikRow) -> bool {
    match (resolve_key(&given.primary), resolve_key(&given.secondary)) {
        (Ok(p), Ok(s)) => {
            p.id().eq_ignore_ascii_case(&tik.primary_key_id)
                && s.id().eq_ignore_ascii_case(&tik.secondary_key_id)
        }
        _ => false,
    }
}

/// Resolves and validates both keys of Register or Restore.
fn checked_pair(
    ctx: &Context<'_>,
    vaults: &dyn KeyVaultBoundary,
    caller: &Caller<'_>,
    given: &PolicyKeys<'_>,
) -> Result<(KeyReference, KeyReference)> {
    let primary = resolve_key(&given.primary)?;
    let secondary = resolve_key(&given.secondary)?;
    let secondary_param = if given.secondary.uri.is_some() {
        given.secondary.params.3
    } else {
        given.secondary.params.0
    };
    check_two_vaults(&primary, &secondary, secondary_param, "primary")?;
    let primary_param = if given.primary.uri.is_some() {
        given.primary.params.3
    } else {
        given.primary.params.2
    };
    validate_key(vaults, caller, &primary, primary_param, ctx.now())?;
    let secondary_param = if given.secondary.uri.is_some() {
        given.secondary.params.3
    } else {
        given.secondary.params.2
    };
    validate_key(vaults, caller, &secondary, secondary_param, ctx.now())?;
    Ok((primary, secondary))
}

arguments! {
    pub struct RegisterPolicyArgs {
        pub primary_key_vault_name: Option<String> = "PrimaryKeyVaultName", String, "Vault of the primary key", in_set(BY_NAME, true);
        pub primary_key_name: Option<String> = "PrimaryKeyName", String, "Name of the primary key", in_set(BY_NAME, true);
        pub primary_key_version: Option<String> = "PrimaryKeyVersion", String, "Version of the primary key (required: SharePoint uses only this version)", in_set(BY_NAME, false);
        pub secondary_key_vault_name: Option<String> = "SecondaryKeyVaultName", String, "Vault of the secondary key (another vault than the primary key's)", in_set(BY_NAME, true);
        pub secondary_key_name: Option<String> = "SecondaryKeyName", String, "Name of the secondary key", in_set(BY_NAME, true);
        pub secondary_key_version: Option<String> = "SecondaryKeyVersion", String, "Version of the secondary key (required: SharePoint uses only this version)", in_set(BY_NAME, false);
        pub primary_key_vault_uri: Option<String> = "PrimaryKeyVaultUri", String, "Versioned key id of the primary key (https://<vault>.vault.azure.net/keys/<name>/<version>)", in_set(BY_URI, true);
        pub secondary_key_vault_uri: Option<String> = "SecondaryKeyVaultUri", String, "Versioned key id of the secondary key", in_set(BY_URI, true);
        pub identity: Option<String> = "Identity", String, IDENTITY_HELP, position(0);
    }
}

pub fn register_policy(ctx: &Context<'_>, a: RegisterPolicyArgs) -> Result<PolicyOut> {
    check_identity(ctx, a.identity.as_deref())?;
    let refuse_existing = |policy: &PolicyRow| {
        Error::conflict(
            format!(
                "The tenant's SharePoint data encryption policy is already registered (State {}); roll a key with Update-SPODataEncryptionPolicy",
                policy.state
            ),
            TARGET,
        )
    };
    let given = register_keys(&a);
    if resume_if_stalled(ctx, m::REGISTERING, Purpose::Register, |_, tik| {
        same_keys(&given, tik)
    })? {
        return policy_out(ctx);
    }
    if let Some(policy) = ctx.read(sql::get_policy)? {
        return Err(refuse_existing(&policy));
    }
    let vaults = vaults_for(ctx);
    let sp = service_principal();
    let caller = service_caller(ctx, &sp);
    let (primary, secondary) = checked_pair(ctx, vaults.as_ref(), &caller, &given)?;
    let tik = new_tik(ctx, vaults.as_ref(), &caller, &primary, &secondary)?;
    ctx.transaction(TARGET, |tx| {
        if let Some(policy) = sql::get_policy(tx)? {
            return Err(refuse_existing(&policy));
        }
        start_rewrap(ctx, tx, &tik, m::REGISTERING, None, Purpose::Register)
    })?;
    crate::jobs::notify(ctx.store());
    policy_out(ctx)
}

arguments! {
    pub struct UpdatePolicyArgs {
        pub key_type: String = "KeyType", String, "Which key of the policy to roll", mandatory, allowed(&["Primary", "Secondary"]);
        pub key_vault_name: Option<String> = "KeyVaultName", String, "Vault of the new key version", in_set(BY_NAME, true);
        pub key_name: Option<String> = "KeyName", String, "Name of the key", in_set(BY_NAME, true);
        pub key_version: Option<String> = "KeyVersion", String, "The new key version (required: SharePoint uses only this version)", in_set(BY_NAME, false);
        pub key_vault_uri: Option<String> = "KeyVaultUri", String, "Versioned key id of the new key version", in_set(BY_URI, true);
        pub identity: Option<String> = "Identity", String, IDENTITY_HELP, position(0);
    }
}

pub fn update_policy(ctx: &Context<'_>, a: UpdatePolicyArgs) -> Result<PolicyOut> {
    check_identity(ctx, a.identity.as_deref())?;
    let key_type = KeyType::parse(&a.key_type)
        .ok_or_else(|| Error::invalid_argument("KeyType", "must be Primary or Secondary"))?;
    let given = KeyArgument {
        vault_name: a.key_vault_name.as_deref(),
        key_name: a.key_name.as_deref(),
        key_version: a.key_version.as_deref(),
        uri: a.key_vault_uri.as_deref(),
        params: ("KeyVaultName", "KeyName", "KeyVersion", "KeyVaultUri"),
    };
    let param = if given.uri.is_some() {
        "KeyVaultUri"
    } else {
        "KeyVersion"
    };
    let new_key = resolve_key(&given)?;
    let resumed = resume_if_stalled(ctx, m::ROLLING, Purpose::Roll, |policy, tik| {
        let target = match key_type {
            KeyType::Primary => &tik.primary_key_id,
            KeyType::Secondary => &tik.secondary_key_id,
        };
        policy.rolling_key_type.as_deref() == Some(key_type.name())
            && target.eq_ignore_ascii_case(&new_key.id())
    })?;
    if resumed {
        return policy_out(ctx);
    }
    let (policy, tik) = registered_policy(ctx, false)?;
    let (current_id, other_id) = match key_type {
        KeyType::Primary => (&tik.primary_key_id, &tik.secondary_key_id),
        KeyType::Secondary => (&tik.secondary_key_id, &tik.primary_key_id),
    };
    if new_key.id().eq_ignore_ascii_case(current_id) {
        return Err(Error::invalid_argument(
            param,
            format!(
                "{} is already the policy's {} key; add a new version with Add-KeyVaultKey and give that version",
                new_key.id(),
                key_type.name()
            ),
        ));
    }
    let other = KeyReference::parse("KeyId", other_id)?;
    check_two_vaults(
        &other,
        &new_key,
        if given.uri.is_some() {
            "KeyVaultUri"
        } else {
            "KeyVaultName"
        },
        match key_type {
            KeyType::Primary => "secondary",
            KeyType::Secondary => "primary",
        },
    )?;
    let vaults = vaults_for(ctx);
    let sp = service_principal();
    let caller = service_caller(ctx, &sp);
    validate_key(vaults.as_ref(), &caller, &new_key, param, ctx.now())?;
    // The roll reads every site through the current TIK: refuse now rather than leave a job
    // that cannot run.
    keys::unwrap_tik(vaults.as_ref(), &caller, &tik).map_err(|e| {
        Error::new(
            e.status,
            "TenantKeyUnavailable",
            format!("Cannot roll: {} If both keys are lost, recover with Restore-SPODataEncryptionPolicy.", e.message),
            TARGET,
        )
    })?;
    let (primary, secondary) = match key_type {
        KeyType::Primary => (new_key, other),
        KeyType::Secondary => (other, new_key),
    };
    let next = new_tik(ctx, vaults.as_ref(), &caller, &primary, &secondary)?;
    ctx.transaction(TARGET, |tx| {
        require_unchanged(tx, &policy, false)?;
        start_rewrap(ctx, tx, &next, m::ROLLING, Some(key_type), Purpose::Roll)
    })?;
    crate::jobs::notify(ctx.store());
    policy_out(ctx)
}

/// The policy and its TIK, refused unless the policy is Registered (or, with `or_stalled`,
/// its change stopped: recovery must be possible when both keys were lost mid-roll).
fn registered_policy(ctx: &Context<'_>, or_stalled: bool) -> Result<(PolicyRow, TikRow)> {
    ctx.read(|tx| {
        let policy = sql::get_policy(tx)?.ok_or_else(not_registered)?;
        if !may_change(tx, &policy, or_stalled)? {
            return Err(busy(tx, &policy)?);
        }
        let tik = super::sites::tik_of(tx, Some(policy.generation))?
            .ok_or_else(|| Error::internal("the policy has no TIK"))?;
        Ok((policy, tik))
    })
}

fn may_change(tx: &Tx<'_>, policy: &PolicyRow, or_stalled: bool) -> Result<bool> {
    Ok(policy.state == m::REGISTERED || (or_stalled && stalled_job(tx, policy)?.is_some()))
}

/// Inside the change's transaction: still the policy read before the vault calls.
fn require_unchanged(tx: &Tx<'_>, before: &PolicyRow, or_stalled: bool) -> Result<()> {
    let now = sql::get_policy(tx)?.ok_or_else(not_registered)?;
    if !may_change(tx, &now, or_stalled)?
        || now.generation != before.generation
        || now.job_id != before.job_id
    {
        return Err(busy(tx, &now)?);
    }
    Ok(())
}

arguments! {
    pub struct GetPolicyArgs {
        pub identity: Option<String> = "Identity", String, IDENTITY_HELP, position(0);
    }
}

pub fn get_policy(ctx: &Context<'_>, a: GetPolicyArgs) -> Result<PolicyOut> {
    check_identity(ctx, a.identity.as_deref())?;
    policy_out(ctx)
}

/// The policy as Get-SPODataEncryptionPolicy shows it, with each key tried on the TIK now.
pub fn policy_out(ctx: &Context<'_>) -> Result<PolicyOut> {
    let (policy, tik, (done, total), key_usage) = ctx.read(|tx| {
        let policy = sql::get_policy(tx)?;
        let tik = super::sites::tik_of(tx, policy.as_ref().map(|p| p.generation))?;
        let progress = progress(tx, policy.as_ref())?;
        Ok((policy, tik, progress, key_usage(tx)?))
    })?;
    let (Some(policy), Some(tik)) = (policy, tik) else {
        return Ok(PolicyOut {
            primary_key_vault_uri: None,
            secondary_key_vault_uri: None,
            state: m::UNREGISTERED,
            percent_complete: None,
            sites_total: total,
            sites_done: 0,
            rolling_key_type: None,
            key_health: Vec::new(),
            key_usage,
            last_error: None,
            job_state: None,
        });
    };
    let sp = service_principal();
    let caller = service_caller(ctx, &sp);
    let key_health = keys::key_health(vaults_for(ctx).as_ref(), &caller, &tik);
    // The job keeps its last error after a retry succeeded: only a change still under way
    // shows it.
    let job = match policy.job_id {
        Some(id) if policy.state != m::REGISTERED => crate::jobs::get(ctx.store(), id)?,
        _ => None,
    };
    let job_state = job.as_ref().map(|j| j.state.as_str());
    let last_error = job.and_then(|j| j.last_error);
    let state = match policy.state.as_str() {
        m::REGISTERING => m::REGISTERING,
        m::ROLLING => m::ROLLING,
        m::RECOVERING => m::RECOVERING,
        _ => m::REGISTERED,
    };
    Ok(PolicyOut {
        primary_key_vault_uri: Some(tik.primary_key_id),
        secondary_key_vault_uri: Some(tik.secondary_key_id),
        state,
        percent_complete: (state != m::REGISTERED).then(|| percent(done, total)),
        sites_total: total,
        sites_done: done,
        rolling_key_type: policy.rolling_key_type,
        key_health,
        key_usage,
        last_error,
        job_state,
    })
}

pub fn restore_policy(ctx: &Context<'_>, a: RegisterPolicyArgs) -> Result<PolicyOut> {
    check_identity(ctx, a.identity.as_deref())?;
    let given = register_keys(&a);
    if resume_if_stalled(ctx, m::RECOVERING, Purpose::Recover, |_, tik| {
        same_keys(&given, tik)
    })? {
        return policy_out(ctx);
    }
    let (policy, tik) = registered_policy(ctx, true)?;
    let vaults = vaults_for(ctx);
    let sp = service_principal();
    let caller = service_caller(ctx, &sp);
    if let Some(working) = keys::key_health(vaults.as_ref(), &caller, &tik)
        .into_iter()
        .find(|h| h.healthy)
    {
        return Err(Error::invalid_operation(
            "KeyStillAvailable",
            format!(
                "Refusing to recover: the {} key {} still unwraps the tenant intermediate key. Restore-SPODataEncryptionPolicy is for when both registered keys are lost; to replace a key, roll it with Update-SPODataEncryptionPolicy",
                working.key_type.name(),
                working.key_id
            ),
            TARGET,
        ));
    }
    let (primary, secondary) = checked_pair(ctx, vaults.as_ref(), &caller, &given)?;
    let next = new_tik(ctx, vaults.as_ref(), &caller, &primary, &secondary)?;
    ctx.transaction(TARGET, |tx| {
        require_unchanged(tx, &policy, true)?;
        start_rewrap(ctx, tx, &next, m::RECOVERING, None, Purpose::Recover)
    })?;
    crate::jobs::notify(ctx.store());
    policy_out(ctx)
}
