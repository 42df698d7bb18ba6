//! Where a session's vault operations run: the store's own vaults, or Azure Key Vault through
//! the remote target. The choice is made once, when the session opens (its Environment), and
//! reaches every call through its context; each vault operation has one handler, declared in
//! `operations.rs`, that asks [`of`] for the session's backend. The registry and the call
//! machinery know nothing of where a vault is: what Azure does not offer here is refused by
//! the Azure backend itself (`NotSupportedRemotely`).
//!
//! One table declares both backends: for each operation, the store's function and Azure's (or
//! [`store_only`]). Arguments are validated once, by the registry, before either runs.

use super::backup::{BackupBytes, BackupKeyArgs, KeyBackup, RestoreKeyArgs};
use super::impact::{ChangeImpactArgs, KeyVaultChangeImpact};
use super::key_operations::{InvokeKeyOperationArgs, KeyOperationResult};
use super::keys::{AddKeyArgs, GetKeyArgs, RemoveKeyArgs, UndoKeyRemovalArgs, UpdateKeyArgs};
use super::model::{KeyVaultKeyOut, KeyVaultOut};
use super::reachability::SetKeyVaultArgs;
use super::remote::{self, RemoteVaults};
use super::role_assignments::{
    GetRoleAssignmentArgs, NewRoleAssignmentArgs, RemoveRoleAssignmentArgs, RoleAssignmentOut,
};
use super::signatures::{InvokeKeySignatureArgs, KeySignatureResult};
use super::usage::{KeyUsageArgs, KeyVaultKeyUsage};
use super::{
    backup, impact, key_operations, keys, reachability, role_assignments as roles, signatures,
    usage,
};
use super::{GetKeyVaultArgs, NewKeyVaultArgs, RemoveAccessPolicyArgs, RemoveKeyVaultArgs};
use super::{SetAccessPolicyArgs, UndoKeyVaultRemovalArgs, UpdateKeyVaultArgs};
use crate::crypto::Secret;
use crate::error::{Error, Result};
use crate::operations::Context;

/// The store's vaults.
struct StoreVaults;

/// The session's backend: Azure when the session was opened with an Azure Environment, else
/// the store.
pub fn of<'a>(ctx: &'a Context<'_>) -> &'a dyn VaultBackend {
    match remote::target::of_call(ctx) {
        Some(azure) => azure,
        None => &StoreVaults,
    }
}

/// Azure's side of an operation this target does not offer against Azure.
fn store_only<A, R>(ctx: &Context<'_>, _: A) -> Result<R> {
    Err(Error::invalid_operation(
        "NotSupportedRemotely",
        format!(
            "{} is not supported against Azure by this session's remote target; run it with Az.KeyVault, or in a session with -Environment Local",
            ctx.operation()
        ),
        ctx.operation(),
    ))
}

macro_rules! vault_backend {
    (
        calls { $( $name:ident($args:ty) -> $out:ty = $store:path, $azure:path; )* }
        in_memory { $( $mem:ident($margs:ty, $held:ty) -> $mout:ty = $mstore:path, $mazure:path; )* }
    ) => {
        /// The vault operations, as each backend runs them.
        pub trait VaultBackend: Sync {
            $( fn $name(&self, ctx: &Context<'_>, a: $args) -> Result<$out>; )*
            $( fn $mem(&self, ctx: &Context<'_>, a: $margs, held: $held) -> Result<$mout>; )*
        }

        impl VaultBackend for StoreVaults {
            $( fn $name(&self, ctx: &Context<'_>, a: $args) -> Result<$out> { $store(ctx, a) } )*
            $( fn $mem(&self, ctx: &Context<'_>, a: $margs, held: $held) -> Result<$mout> { $mstore(ctx, a, held) } )*
        }

        impl VaultBackend for RemoteVaults {
            $( fn $name(&self, ctx: &Context<'_>, a: $args) -> Result<$out> { $azure(ctx, a) } )*
            $( fn $mem(&self, ctx: &Context<'_>, a: $margs, held: $held) -> Result<$mout> { $mazure(ctx, a, held) } )*
        }

        // The operations' handlers: the session's backend runs each.
        $( pub fn $name(ctx: &Context<'_>, a: $args) -> Result<$out> { of(ctx).$name(ctx, a) } )*
        $( pub fn $mem(ctx: &Context<'_>, a: $margs, held: $held) -> Result<$mout> { of(ctx).$mem(ctx, a, held) } )*
    };
}

vault_backend! {
    calls {
        new_key_vault(NewKeyVaultArgs) -> KeyVaultOut = super::new_key_vault, store_only;
        get_key_vault(GetKeyVaultArgs) -> Vec<KeyVaultOut> = super::get_key_vault, remote::management::get_key_vault;
        remove_key_vault(RemoveKeyVaultArgs) -> () = super::remove_key_vault, store_only;
        undo_key_vault_removal(UndoKeyVaultRemovalArgs) -> KeyVaultOut = super::undo_key_vault_removal, store_only;
        update_key_vault(UpdateKeyVaultArgs) -> KeyVaultOut = super::update_key_vault, remote::management::update_key_vault;
        new_role_assignment(NewRoleAssignmentArgs) -> RoleAssignmentOut = roles::new_role_assignment, remote::roles::new_role_assignment;
        get_role_assignment(GetRoleAssignmentArgs) -> Vec<RoleAssignmentOut> = roles::get_role_assignment, remote::roles::get_role_assignment;
        remove_role_assignment(RemoveRoleAssignmentArgs) -> RoleAssignmentOut = roles::remove_role_assignment, remote::roles::remove_role_assignment;
        set_access_policy(SetAccessPolicyArgs) -> Option<KeyVaultOut> = super::set_access_policy, remote::management::set_access_policy;
        remove_access_policy(RemoveAccessPolicyArgs) -> Option<KeyVaultOut> = super::remove_access_policy, remote::management::remove_access_policy;
        add_key(AddKeyArgs) -> KeyVaultKeyOut = keys::add_key, remote::keys::add_key;
        get_key(GetKeyArgs) -> Vec<KeyVaultKeyOut> = keys::get_key, remote::keys::get_key;
        update_key(UpdateKeyArgs) -> Option<KeyVaultKeyOut> = keys::update_key, remote::keys::update_key;
        remove_key(RemoveKeyArgs) -> Option<KeyVaultKeyOut> = keys::remove_key, remote::keys::remove_key;
        undo_key_removal(UndoKeyRemovalArgs) -> KeyVaultKeyOut = keys::undo_key_removal, remote::keys::undo_key_removal;
        invoke_key_operation(InvokeKeyOperationArgs) -> KeyOperationResult = key_operations::invoke_key_operation, remote::keys::invoke_key_operation;
        get_key_usage(KeyUsageArgs) -> Vec<KeyVaultKeyUsage> = usage::get_key_usage, store_only;
        get_change_impact(ChangeImpactArgs) -> KeyVaultChangeImpact = impact::get_change_impact, remote::management::get_change_impact;
        set_key_vault(SetKeyVaultArgs) -> () = reachability::set_key_vault, store_only;
        invoke_key_signature(InvokeKeySignatureArgs) -> KeySignatureResult = signatures::invoke_key_signature, remote::keys::invoke_key_signature;
    }
    in_memory {
        import_key(AddKeyArgs, Secret) -> KeyVaultKeyOut = keys::import_key, remote::keys::import_key;
        key_backup(BackupKeyArgs, ()) -> KeyBackup = backup::key_backup, remote::backup::key_backup;
        restore_backup(RestoreKeyArgs, BackupBytes) -> KeyVaultKeyOut = backup::restore_backup, remote::backup::restore_backup;
    }
}
