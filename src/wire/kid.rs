//! Key ids: `https://{vault}.{domain}[:port]/keys/{name}[/{version}]`.

use url::Url;

/// A key id's parts. What a name, a version or a host must look like is for the caller to
/// check; this is the id's form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kid {
    /// The host, lower-cased, with the port when the id writes one other than 443.
    pub authority: String,
    pub name: String,
    pub version: Option<String>,
}

impl Kid {
    /// Parses a key id; the error says why it is not one.
    pub fn parse(text: &str) -> Result<Kid, &'static str> {
        let url = Url::parse(text).map_err(|_| "it is not a URL")?;
        if url.scheme() != "https" {
            return Err("it must start with https://");
        }
        let host = match url.host_str() {
            Some(h) if url.username().is_empty() && url.password().is_none() => h,
            _ => return Err("its host names no vault"),
        };
        let mut segments = url.path().trim_end_matches('/').split('/').skip(1);
        if segments.next() != Some("keys") {
            return Err("its path must start with /keys/");
        }
        let name = segments
            .next()
            .filter(|n| !n.is_empty())
            .ok_or("it names no key")?;
        let version = segments.next().map(str::to_string);
        let more = url.query().is_some() || url.fragment().is_some() || segments.next().is_some();
        if more || version.as_deref() == Some("") {
            return Err("it has more than /keys/<name>/<version>");
        }
        Ok(Kid {
            authority: match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_string(),
            },
            name: name.to_string(),
            version,
        })
    }

    /// The id of `name` (at `version`) in the vault at `vault_uri` (`https://{host}[:port]`).
    pub fn id(vault_uri: &str, name: &str, version: Option<&str>) -> String {
        match version {
            Some(v) => format!("{vault_uri}/keys/{name}/{v}"),
            None => format!("{vault_uri}/keys/{name}"),
        }
    }
}
