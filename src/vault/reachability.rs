//! Set-KeyVault -Unreachable: a project extension to rehearse an outage. A vault marked
//! unreachable answers every workload call with a ConnectionError, as a vault that is down
//! would; nothing else about it changes.

use super::boundary::KeyReference;
use super::{active_vault, require_owner};
use crate::error::{CkStatus, Error, Result};
use crate::operations::Context;
use crate::store::vaults as sql;
use crate::store::Store;

/// The error a workload gets from a vault that cannot be reached.
pub(crate) fn refuse_if_unreachable(store: &Store, key: &KeyReference) -> Result<()> {
    if store.read(|tx| sql::vault_unreachable(tx, &key.vault_name))? {
        return Err(Error::new(
            CkStatus::Unavailable,
            "VaultUnreachable",
            format!(
                "vault '{}' ({}) cannot be reached",
                key.vault_name, key.vault_uri
            ),
            key.id(),
        ));
    }
    Ok(())
}

arguments! {
    pub struct SetKeyVaultArgs {
        pub vault_name: String = "VaultName", String, super::model::VAULT_NAME_HELP, mandatory, pipeline, position(0);
        pub unreachable: bool = "Unreachable", Bool, "Make the vault answer every workload call as if it were down ($true), or end the rehearsal ($false)", mandatory;
    }
}

pub fn set_key_vault(ctx: &Context<'_>, a: SetKeyVaultArgs) -> Result<()> {
    ctx.transaction(&a.vault_name.clone(), |tx| {
        let vault = active_vault(tx, &a.vault_name)?;
        require_owner(&vault, ctx.principal().name(), "rehearse an outage")?;
        sql::set_vault_unreachable(tx, &vault.name, a.unreachable)
    })
}
