//! What the SharePoint operations return, under the property names SharePoint Online
//! Management Shell uses where it has them, and the URL rules for sites and the admin site.

use super::keys::KeyHealth;
use crate::error::{Error, Result};
use crate::store::sharepoint::SiteRow;
use serde::Serialize;

/// The policy states (CSOM's CustomerKeyStatus).
pub const UNREGISTERED: &str = "Unregistered";
pub const REGISTERING: &str = "Registering";
pub const REGISTERED: &str = "Registered";
pub const ROLLING: &str = "Rolling";
pub const RECOVERING: &str = "Recovering";

/// What errors about the policy, and its jobs, name as their target.
pub const TARGET: &str = "SPODataEncryptionPolicy";

/// The name SharePoint's rows of `key_references` carry, as key removal errors show it.
pub const REFERRER_NAME: &str = "SPODataEncryptionPolicy";

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SiteOut {
    pub url: String,
    pub title: String,
    pub owner: Option<String>,
    pub created: String,
    /// `MicrosoftManagedKey` before registration, `CustomerKey` once under the tenant's keys.
    pub encryption: &'static str,
}

impl SiteOut {
    pub fn new(row: &SiteRow) -> Self {
        SiteOut {
            url: row.url.clone(),
            title: row.title.clone(),
            owner: row.owner.clone(),
            created: crate::time::iso_from_unix(row.created),
            encryption: if row.generation.is_some() {
                "CustomerKey"
            } else {
                "MicrosoftManagedKey"
            },
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FileOut {
    pub site: String,
    pub name: String,
    pub length: i64,
    pub created: String,
    /// The decrypted content as text; None when not asked for, written to OutputFile, or not
    /// UTF-8 text (then use -OutputFile).
    pub value: Option<String>,
    pub output_file: Option<String>,
}

/// Get-SPODataEncryptionPolicy's answer: what a -Wait loop needs (State, PercentComplete,
/// SitesDone, SitesTotal) and whether each key works.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyOut {
    pub primary_key_vault_uri: Option<String>,
    pub secondary_key_vault_uri: Option<String>,
    pub state: &'static str,
    /// Sites done of all sites, while Registering, Rolling or Recovering.
    pub percent_complete: Option<u64>,
    pub sites_total: u64,
    pub sites_done: u64,
    pub rolling_key_type: Option<String>,
    pub key_health: Vec<KeyHealth>,
    /// Every key version a TIK still in use is wrapped under, with the sites depending on it:
    /// during a roll the old version still protects the sites not yet moved; once the roll is
    /// done it is no longer listed (nor recorded in key_references).
    pub key_usage: Vec<KeyVersionUsage>,
    /// The background job's last error, while it is being retried or once it failed.
    pub last_error: Option<String>,
    /// The background job's state (Queued, Running, Failed, Cancelled) while a change is
    /// under way; a -Wait ends with an error on Failed or Cancelled.
    pub job_state: Option<&'static str>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct KeyVersionUsage {
    pub key_id: String,
    /// Sites whose site key is wrapped under a TIK this version protects.
    pub sites: u64,
}

/// "1,234": counts in progress messages.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Whole percent of `done` over `total` (100 when there is nothing to do).
pub fn percent(done: u64, total: u64) -> u64 {
    (done.min(total) * 100).checked_div(total).unwrap_or(100)
}

fn is_tenant_name(s: &str) -> bool {
    (1..=27).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// A site URL: `https://<tenant>.sharepoint.com[/sites/<name>|/teams/<name>]` or
/// `https://<tenant>-my.sharepoint.com/personal/<name>`. Returns (tenant, canonical URL).
pub fn parse_site_url(param: &str, url: &str) -> Result<(String, String)> {
    let bad = |why: &str| {
        Error::invalid_argument(
            param,
            format!("'{url}' is not a site URL of the form https://<tenant>.sharepoint.com/sites/<name>, /teams/<name> or https://<tenant>-my.sharepoint.com/personal/<name>: {why}"),
        )
    };
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| bad("it must start with https://"))?;
    let rest = rest.trim_end_matches('/');
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.to_ascii_lowercase();
    let prefix = host
        .strip_suffix(".sharepoint.com")
        .ok_or_else(|| bad("its host must end with .sharepoint.com"))?;
    let (tenant, personal) = match prefix.strip_suffix("-my") {
        Some(t) => (t, true),
        None => (prefix, false),
    };
    if !is_tenant_name(tenant) {
        return Err(bad(
            "the tenant name must be 1-27 lowercase letters and digits",
        ));
    }
    let mut parts = path.split('/');
    let kind = parts.next().unwrap_or("").to_ascii_lowercase();
    let kind = kind.as_str();
    let name = parts.next();
    if parts.next().is_some() {
        return Err(bad("it has more than /<kind>/<name>"));
    }
    let expected_kinds: &[&str] = if personal {
        &["personal"]
    } else {
        &["", "sites", "teams"]
    };
    if !expected_kinds.contains(&kind) {
        return Err(bad(if personal {
            "OneDrive sites are under /personal/"
        } else {
            "sites are under /sites/ or /teams/"
        }));
    }
    let path = match (kind, name) {
        ("", None) => String::new(),
        (_, Some(n))
            if (1..=128).contains(&n.len())
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) =>
        {
            format!("/{kind}/{n}")
        }
        _ => {
            return Err(bad(
                "the site name must be 1-128 letters, digits, '-', '_' and '.'",
            ))
        }
    };
    Ok((tenant.to_string(), format!("https://{host}{path}")))
}

/// The tenant an admin site URL (`https://<tenant>-admin.sharepoint.com`) names.
pub fn parse_admin_url(url: &str) -> Result<String> {
    let tenant = url
        .strip_prefix("https://")
        .map(|r| r.trim_end_matches('/').to_ascii_lowercase())
        .and_then(|host| {
            host.strip_suffix("-admin.sharepoint.com")
                .map(str::to_string)
        })
        .filter(|t| is_tenant_name(t));
    tenant.ok_or_else(|| {
        Error::invalid_argument(
            "Identity",
            format!("'{url}' is not a SharePoint admin site URL of the form https://<tenant>-admin.sharepoint.com"),
        )
    })
}

/// File names: 1-255 characters, none of SharePoint's forbidden ones.
pub fn check_file_name(name: &str) -> Result<()> {
    let ok = (1..=255).contains(&name.chars().count())
        && name.trim() == name
        && !name
            .chars()
            .any(|c| c.is_control() || "\\/:*?\"<>|#%".contains(c))
        && name != "."
        && name != "..";
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_argument(
            "Name",
            format!("'{name}' is not a valid file name: 1-255 characters, no leading or trailing spaces, none of \\ / : * ? \" < > | # % or control characters"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_urls_parse_to_their_tenant_and_canonical_form() {
        assert_eq!(
            parse_site_url("Url", "https://Contoso.sharepoint.com/sites/Finance/").unwrap(),
            (
                "contoso".into(),
                "https://contoso.sharepoint.com/sites/Finance".into()
            )
        );
        assert_eq!(
            parse_site_url(
                "Url",
                "https://contoso-my.sharepoint.com/personal/alice_contoso_com"
            )
            .unwrap()
            .0,
            "contoso"
        );
        for bad in [
            "http://contoso.sharepoint.com/sites/a",
            "https://contoso.example.com/sites/a",
            "https://contoso.sharepoint.com/other/a",
            "https://contoso.sharepoint.com/sites/a/b",
            "https://contoso-my.sharepoint.com/sites/a",
            "https://con_toso.sharepoint.com/sites/a",
            "https://contoso.sharepoint.com/sites/a b",
        ] {
            assert_eq!(
                parse_site_url("Url", bad).unwrap_err().target,
                "Url",
                "{bad}"
            );
        }
    }

    #[test]
    fn admin_urls_name_their_tenant() {
        assert_eq!(
            parse_admin_url("https://contoso-admin.sharepoint.com/").unwrap(),
            "contoso"
        );
        assert!(parse_admin_url("https://contoso.sharepoint.com").is_err());
    }

    #[test]
    fn counts_get_thousands_separators_and_percentages_floor() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(percent(1234, 3000), 41);
        assert_eq!(percent(0, 0), 100);
        assert_eq!(percent(5, 3), 100);
    }
}
