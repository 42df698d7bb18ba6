//! Get-KeyVaultKeyUsage: per key version, which policies of which workload still need it and
//! how many of their items (Exchange: mailboxes not yet moved off it), read only from
//! `key_references` and the key versions, so every workload contributes its rows without
//! code here. Its `Impact` text is the read-only impact call a -WhatIf shows before a removal,
//! a disable or the removal of a service's access policy.

use super::{active_vault, authorize};
use crate::error::{Error, Result};
use crate::operations::Context;
use crate::store::vaults::{self as sql, KeyReference};
use serde::Serialize;

/// The unit a workload's `needed_by` counts, plural.
fn unit(kind: &str) -> &'static str {
    if kind == "Exchange" {
        "mailboxes"
    } else {
        "items"
    }
}

/// "1 mailbox", "5,000 mailboxes".
fn count_of(n: i64, plural: &str) -> String {
    let singular = match plural {
        "mailboxes" => "mailbox",
        _ => "item",
    };
    if n == 1 {
        format!("1 {singular}")
    } else {
        format!("{} {plural}", thousands(n))
    }
}

fn thousands(n: i64) -> String {
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// One policy's use: its workload, name, and the items that need the key (summed over rows).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyReferrer {
    pub workload: String,
    pub policy: String,
    pub needed_by: Option<i64>,
}

pub(super) fn referrers(refs: &[&KeyReference]) -> Vec<KeyReferrer> {
    let mut out: Vec<KeyReferrer> = Vec::new();
    for r in refs {
        match out
            .iter_mut()
            .find(|o| o.workload == r.referrer_kind && o.policy == r.referrer_name)
        {
            Some(o) => {
                o.needed_by = match (o.needed_by, r.needed_by) {
                    (None, None) => None,
                    (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
                }
            }
            None => out.push(KeyReferrer {
                workload: r.referrer_kind.clone(),
                policy: r.referrer_name.clone(),
                needed_by: r.needed_by,
            }),
        }
    }
    out
}

/// "Exchange 'DEP-1' (5,000 mailboxes still need it)", one per policy, for refusals.
pub(crate) fn referrers_text(refs: &[KeyReference]) -> Vec<String> {
    let all: Vec<&KeyReference> = refs.iter().collect();
    referrers(&all)
        .iter()
        .map(|r| match r.needed_by {
            Some(n) => format!(
                "{} '{}' ({} {} it)",
                r.workload,
                r.policy,
                count_of(n, unit(&r.workload)),
                if n == 1 { "still needs" } else { "still need" }
            ),
            None => format!("{} '{}'", r.workload, r.policy),
        })
        .collect()
}

/// "3 policies, 5,000 mailboxes": what becomes unreadable without the version.
pub(super) fn impact_text(referrers: &[KeyReferrer]) -> String {
    if referrers.is_empty() {
        return "nothing".into();
    }
    let mut parts = vec![format!(
        "{} {}",
        referrers.len(),
        if referrers.len() == 1 {
            "policy"
        } else {
            "policies"
        }
    )];
    let mut units: Vec<(&'static str, i64)> = Vec::new();
    for r in referrers {
        if let Some(n) = r.needed_by {
            let u = unit(&r.workload);
            match units.iter_mut().find(|(x, _)| *x == u) {
                Some((_, total)) => *total += n,
                None => units.push((u, n)),
            }
        }
    }
    parts.extend(units.iter().map(|(u, n)| count_of(*n, u)));
    parts.join(", ")
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyVaultKeyUsage {
    pub vault_name: String,
    pub name: String,
    pub version: String,
    pub enabled: bool,
    /// "Workload 'policy'" for each policy that needs the version.
    pub policies: Vec<String>,
    pub references: Vec<KeyReferrer>,
    /// Exchange mailboxes whose content key is still under a policy revision using the version.
    pub mailboxes_needing_it: i64,
    pub in_use: bool,
    pub safe_to_disable: bool,
    /// What disabling, deleting or purging the version would make unreadable.
    pub impact: String,
}

arguments! {
    pub struct KeyUsageArgs {
        pub vault_name: String = "VaultName", String, super::model::VAULT_NAME_HELP, mandatory, pipeline, position(0);
        pub name: Option<String> = "Name", String, "Name of the key (default: every key of the vault)", pipeline;
        pub version: Option<String> = "Version", String, "Version of the key (default: every version)", pipeline;
    }
}

pub fn get_key_usage(ctx: &Context<'_>, a: KeyUsageArgs) -> Result<Vec<KeyVaultKeyUsage>> {
    if a.version.is_some() && a.name.is_none() {
        return Err(Error::invalid_argument(
            "Version",
            "needs -Name: a version belongs to one key",
        ));
    }
    ctx.read(|tx| {
        let vault = active_vault(tx, &a.vault_name)?;
        authorize(tx, &vault, ctx.principal(), "get")?;
        let keys: Vec<String> = match &a.name {
            Some(n) => match sql::get_key(tx, &vault.name, n)? {
                Some(k) if k.deleted_date.is_none() => vec![k.name],
                _ => {
                    return Err(Error::not_found(
                        "KeyNotFound",
                        format!("Key '{n}' does not exist in vault '{}'", vault.name),
                        n.clone(),
                    ))
                }
            },
            None => sql::list_keys(tx, &vault.name, false)?
                .into_iter()
                .map(|k| k.name)
                .collect(),
        };
        let mut out = Vec::new();
        for key in keys {
            let refs = sql::key_references(tx, &vault.name, Some(&key))?;
            let versions = sql::list_versions(tx, &vault.name, &key)?;
            if let Some(v) = &a.version {
                if !versions.iter().any(|r| r.version.eq_ignore_ascii_case(v)) {
                    return Err(Error::not_found(
                        "KeyNotFound",
                        format!(
                            "Version '{v}' of key '{key}' does not exist in vault '{}'",
                            vault.name
                        ),
                        v.clone(),
                    ));
                }
            }
            for row in versions {
                if a.version
                    .as_ref()
                    .is_some_and(|v| !v.eq_ignore_ascii_case(&row.version))
                {
                    continue;
                }
                let mine: Vec<&KeyReference> = refs
                    .iter()
                    .filter(|r| {
                        r.version
                            .as_deref()
                            .is_none_or(|v| v.eq_ignore_ascii_case(&row.version))
                    })
                    .collect();
                let referrers = referrers(&mine);
                let mailboxes = referrers
                    .iter()
                    .filter(|r| r.workload == "Exchange")
                    .filter_map(|r| r.needed_by)
                    .sum();
                out.push(KeyVaultKeyUsage {
                    vault_name: vault.name.clone(),
                    name: key.clone(),
                    version: row.version.clone(),
                    enabled: row.enabled,
                    policies: referrers
                        .iter()
                        .map(|r| format!("{} '{}'", r.workload, r.policy))
                        .collect(),
                    mailboxes_needing_it: mailboxes,
                    in_use: !referrers.is_empty(),
                    safe_to_disable: referrers.is_empty(),
                    impact: impact_text(&referrers),
                    references: referrers,
                });
            }
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impact_counts_policies_and_mailboxes_with_separators() {
        let r = |p: &str, n| KeyReferrer {
            workload: "Exchange".into(),
            policy: p.into(),
            needed_by: Some(n),
        };
        assert_eq!(
            impact_text(&[r("a", 4000), r("b", 1000), r("c", 0)]),
            "3 policies, 5,000 mailboxes"
        );
        assert_eq!(impact_text(&[]), "nothing");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(count_of(1, "mailboxes"), "1 mailbox");
        assert_eq!(count_of(1, "items"), "1 item");
        assert_eq!(count_of(0, "mailboxes"), "0 mailboxes");
    }
}
