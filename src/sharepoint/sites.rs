//! Sites and files: New-/Get-SPOSite, Add-/Get-SPOFile, and bulk site creation for the Rust
//! API. Each read unwraps the site's TIK through the vault boundary at that moment, so what
//! the service principal may do decides every read.

use super::keys::{self, service_principal};
use super::model::{check_file_name, parse_site_url, FileOut, SiteOut};
use crate::crypto::{self, Secret};
use crate::error::{Error, Result};
use crate::operations::Context;
use crate::store::sharepoint::{self as sql, FileRow, SiteRow, TikRow};
use crate::store::Tx;
use crate::vault::boundary::Caller;
use crate::vault::vaults_for;

/// Largest file Add-SPOFile takes: files are held in memory whole.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;
/// How often a write is retried when a roll moved the policy to a new TIK meanwhile.
const GENERATION_RETRIES: usize = 3;

/// The key a site key is wrapped under: the TIK of `tik`'s generation, unwrapped now through
/// the vault boundary as SharePoint, or the Microsoft-managed key when there is none.
pub(crate) fn key_encryption_key(ctx: &Context<'_>, tik: Option<&TikRow>) -> Result<Secret> {
    match tik {
        None => keys::managed_key(ctx.store()),
        Some(tik) => {
            let sp = service_principal();
            let caller = Caller {
                principal: &sp,
                clock: ctx.clock(),
                time_shift: ctx.time_shift(),
                operation: ctx.operation(),
            };
            keys::unwrap_tik(vaults_for(ctx).as_ref(), &caller, tik)
        }
    }
}

/// The TIK row of a generation, which the schema guarantees exists.
pub(crate) fn tik_of(tx: &Tx<'_>, generation: Option<i64>) -> Result<Option<TikRow>> {
    match generation {
        None => Ok(None),
        Some(g) => sql::get_tik(tx, g)?
            .map(Some)
            .ok_or_else(|| Error::internal(format!("TIK generation {g} is missing"))),
    }
}

/// The TIK new sites are wrapped under: the policy's current one, or None before registration.
fn current_tik(tx: &Tx<'_>) -> Result<Option<TikRow>> {
    tik_of(tx, sql::get_policy(tx)?.map(|p| p.generation))
}

fn site_not_found(url: &str) -> Error {
    Error::not_found(
        "SiteNotFound",
        format!("Site '{url}' does not exist; create it with New-SPOSite"),
        url,
    )
}

fn existing_site(tx: &Tx<'_>, url: &str) -> Result<SiteRow> {
    sql::get_site(tx, url)?.ok_or_else(|| site_not_found(url))
}

/// A site to create through [`new_sites`].
pub struct NewSite {
    pub url: String,
    pub title: String,
    pub owner: Option<String>,
}

fn check_new_site(site: &NewSite) -> Result<(String, SiteRow)> {
    let (tenant, url) = parse_site_url("Url", &site.url)?;
    if site.title.trim().is_empty() || site.title.chars().count() > 255 {
        return Err(Error::invalid_argument(
            "Title",
            "must be 1-255 characters, not only spaces",
        ));
    }
    if let Some(owner) = &site.owner {
        if !owner.contains('@') || owner.trim() != owner {
            return Err(Error::invalid_argument(
                "Owner",
                "must be a user principal name, like user@contoso.com",
            ));
        }
    }
    let row = SiteRow {
        id: 0,
        url,
        title: site.title.clone(),
        owner: site.owner.clone(),
        created: 0,
        generation: None,
        wrapped_site_key: Vec::new(),
    };
    Ok((tenant, row))
}

/// Creates sites in one transaction, each with its own site key wrapped under the policy's
/// current TIK (or the Microsoft-managed key before registration). All or none: a bad or
/// existing URL fails the whole call. The Rust API for bulk loads; New-SPOSite is one site.
pub fn new_sites(ctx: &Context<'_>, sites: &[NewSite]) -> Result<Vec<SiteRow>> {
    let mut checked = Vec::with_capacity(sites.len());
    for site in sites {
        checked.push(check_new_site(site)?);
    }
    let target = if sites.len() == 1 {
        checked[0].1.url.clone()
    } else {
        format!("{} sites", sites.len())
    };
    let now = ctx.now();
    for attempt in 1..=GENERATION_RETRIES {
        let tik = ctx.read(current_tik)?;
        let generation = tik.as_ref().map(|t| t.generation);
        let kek = key_encryption_key(ctx, tik.as_ref())?;
        let mut rows = Vec::with_capacity(checked.len());
        for (_, row) in &checked {
            let site_key = crypto::new_aes_key()?;
            rows.push(SiteRow {
                created: now,
                generation,
                wrapped_site_key: keys::wrap(&kek, &site_key)?,
                ..row.clone()
            });
        }
        drop(kek);
        let created = ctx.transaction(&target, |tx| {
            if sql::get_policy(tx)?.map(|p| p.generation) != generation {
                return Ok(None);
            }
            let mut tenant = sql::tenant_name(tx)?;
            for ((site_tenant, _), row) in checked.iter().zip(rows.iter_mut()) {
                match &tenant {
                    Some(t) if t != site_tenant => {
                        return Err(Error::invalid_argument(
                            "Url",
                            format!("'{}' is in tenant '{site_tenant}', but this store's SharePoint tenant is '{t}'", row.url),
                        ))
                    }
                    Some(_) => {}
                    None => {
                        sql::set_tenant_name(tx, site_tenant)?;
                        tenant = Some(site_tenant.clone());
                    }
                }
                if sql::get_site(tx, &row.url)?.is_some() {
                    return Err(Error::conflict(
                        format!("A site with the URL '{}' already exists", row.url),
                        &row.url,
                    ));
                }
                row.id = sql::insert_site(tx, row)?;
            }
            Ok(Some(()))
        })?;
        if created.is_some() {
            return Ok(rows);
        }
        if attempt == GENERATION_RETRIES {
            break;
        }
    }
    Err(Error::new(
        crate::CkStatus::Busy,
        "PolicyChanging",
        "The data encryption policy changed its tenant key while the site was being created; try again",
        target,
    ))
}

arguments! {
    pub struct NewSiteArgs {
        pub url: String = "Url", String, "URL of the site, such as https://contoso.sharepoint.com/sites/finance", mandatory, pipeline;
        pub title: String = "Title", String, "Title of the site", mandatory, pipeline;
        pub owner: Option<String> = "Owner", String, "User principal name of the site's owner", pipeline;
    }
}

pub fn new_site(ctx: &Context<'_>, a: NewSiteArgs) -> Result<SiteOut> {
    let rows = new_sites(
        ctx,
        &[NewSite {
            url: a.url,
            title: a.title,
            owner: a.owner,
        }],
    )?;
    Ok(SiteOut::new(&rows[0]))
}

arguments! {
    pub struct GetSiteArgs {
        pub identity: Option<String> = "Identity", String, "URL of the site; none: every site", pipeline, pipeline_value, position(0), aliases(&["Url"]);
    }
}

pub fn get_site(ctx: &Context<'_>, a: GetSiteArgs) -> Result<Vec<SiteOut>> {
    let url = a
        .identity
        .as_deref()
        .map(|u| parse_site_url("Identity", u).map(|(_, url)| url))
        .transpose()?;
    ctx.read(|tx| match &url {
        Some(url) => Ok(vec![SiteOut::new(&existing_site(tx, url)?)]),
        None => Ok(sql::list_sites(tx)?.iter().map(SiteOut::new).collect()),
    })
}

arguments! {
    pub struct AddFileArgs {
        pub site: String = "Site", String, "URL of the site", mandatory, pipeline;
        pub name: String = "Name", String, "Name of the file (an existing file of that name is replaced)", mandatory, pipeline;
        pub value: Option<String> = "Value", String, "The file's content as text", in_set("ByValue", true);
        pub path: Option<String> = "Path", Path, "A file whose bytes become the content", in_set("ByPath", true);
    }
}

pub fn add_file(ctx: &Context<'_>, a: AddFileArgs) -> Result<FileOut> {
    let (_, url) = parse_site_url("Site", &a.site)?;
    check_file_name(&a.name)?;
    let content = match (&a.value, &a.path) {
        (Some(v), None) => Secret::new(v.as_bytes().to_vec()),
        (None, Some(p)) => read_content(p)?,
        _ => {
            return Err(Error::invalid_argument(
                "Value",
                "give exactly one of -Value and -Path",
            ))
        }
    };
    if content.expose().len() > MAX_FILE_BYTES {
        return Err(Error::invalid_argument(
            if a.path.is_some() { "Path" } else { "Value" },
            format!(
                "holds {} bytes; a file takes at most {MAX_FILE_BYTES}",
                content.expose().len()
            ),
        ));
    }
    let (site, tik) = ctx.read(|tx| {
        let site = existing_site(tx, &url)?;
        let tik = tik_of(tx, site.generation)?;
        Ok((site, tik))
    })?;
    let kek = key_encryption_key(ctx, tik.as_ref())?;
    let site_key = keys::unwrap(&kek, &site.wrapped_site_key)?;
    drop(kek);
    let (wrapped_file_key, sealed_content) =
        keys::seal_file(&site_key, site.id, &a.name, content.expose())?;
    let now = ctx.now();
    let row = FileRow {
        site_id: site.id,
        name: a.name.clone(),
        length: i64::try_from(content.expose().len()).unwrap_or(i64::MAX),
        wrapped_file_key,
        sealed_content,
        created: now,
    };
    // The site key does not change when a roll rewraps it, so the file key wrapped above stays
    // valid whatever the roll did meanwhile.
    ctx.transaction(&format!("{url}/{}", a.name), |tx| {
        existing_site(tx, &url)?;
        sql::put_file(tx, &row)
    })?;
    Ok(FileOut {
        site: site.url,
        name: row.name,
        length: row.length,
        created: crate::time::iso_from_unix(now),
        value: None,
        output_file: None,
    })
}

fn read_content(path: &str) -> Result<Secret> {
    let p = std::path::Path::new(path);
    if !p.is_absolute() {
        return Err(Error::invalid_argument("Path", "must be an absolute path"));
    }
    let meta = std::fs::metadata(p)
        .map_err(|e| Error::io(format!("cannot read '{path}': {e}"), "Path"))?;
    if !meta.is_file() || meta.len() > MAX_FILE_BYTES as u64 {
        return Err(Error::invalid_argument(
            "Path",
            format!("must name a file of at most {MAX_FILE_BYTES} bytes"),
        ));
    }
    std::fs::read(p)
        .map(Secret::new)
        .map_err(|e| Error::io(format!("cannot read '{path}': {e}"), "Path"))
}

arguments! {
    pub struct GetFileArgs {
        pub site: String = "Site", String, "URL of the site", mandatory, pipeline;
        pub name: Option<String> = "Name", String, "Name of the file; none: every file of the site", pipeline;
        pub output_file: Option<String> = "OutputFile", Path, "Write the file's bytes here instead of returning them as Value (needs -Name)";
        pub force: bool = "Force", Switch, "Overwrite an existing OutputFile";
    }
}

pub fn get_file(ctx: &Context<'_>, a: GetFileArgs) -> Result<Vec<FileOut>> {
    let (_, url) = parse_site_url("Site", &a.site)?;
    if a.output_file.is_some() && a.name.is_none() {
        return Err(Error::invalid_argument(
            "OutputFile",
            "needs -Name: one file is written to one output file",
        ));
    }
    let (site, tik, files) = ctx.read(|tx| {
        let site = existing_site(tx, &url)?;
        let tik = tik_of(tx, site.generation)?;
        let files = sql::list_files(tx, site.id, a.name.as_deref())?;
        Ok((site, tik, files))
    })?;
    if let (Some(name), true) = (&a.name, files.is_empty()) {
        return Err(Error::not_found(
            "FileNotFound",
            format!("Site '{}' has no file named '{name}'", site.url),
            name.as_str(),
        ));
    }
    let kek = key_encryption_key(ctx, tik.as_ref())?;
    let site_key = keys::unwrap(&kek, &site.wrapped_site_key)?;
    drop(kek);
    let mut out = Vec::with_capacity(files.len());
    for f in &files {
        let content = keys::open_file(
            &site_key,
            site.id,
            &f.name,
            &f.wrapped_file_key,
            &f.sealed_content,
        )?;
        let (value, output_file) = match &a.output_file {
            Some(path) => {
                crate::store::write_private_file(
                    std::path::Path::new(path),
                    content.expose(),
                    a.force,
                )?;
                (None, Some(path.clone()))
            }
            None => (
                std::str::from_utf8(content.expose())
                    .ok()
                    .map(str::to_string),
                None,
            ),
        };
        out.push(FileOut {
            site: site.url.clone(),
            name: f.name.clone(),
            length: f.length,
            created: crate::time::iso_from_unix(f.created),
            value,
            output_file,
        });
    }
    Ok(out)
}
