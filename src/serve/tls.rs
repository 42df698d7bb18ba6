//! The endpoint's certificates: a local CA kept in the store (its key 0600), and a server
//! certificate that names `localhost` and every vault host explicitly, because OpenSSL refuses
//! a `*.localhost` wildcard for `v1.localhost`. When a client asks for a vault host the current
//! certificate does not name (a vault created while serving), the certificate is issued again.

use engine::error::{Error, Result};
use engine::store::{create_private_dir, write_private_file, Store};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;

const CA_CERT_FILE: &str = "ca.pem";
const CA_KEY_FILE: &str = "ca.key";
const CA_NAME: &str = "CustomerKey local CA";

fn tls_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::internal(format!("TLS setup: {what}: {e}"))
}

/// The store's local CA: its key persists, so a client that trusts `ca.pem` once keeps
/// trusting the endpoint across restarts.
pub struct LocalCa {
    key: KeyPair,
    cert: rcgen::Certificate,
    cert_file: PathBuf,
}

fn ca_params() -> Result<CertificateParams> {
    let mut params =
        CertificateParams::new(Vec::<String>::new()).map_err(|e| tls_error("CA parameters", e))?;
    params.distinguished_name.push(DnType::CommonName, CA_NAME);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    // Fixed dates: the same key and the same fields give the same CA identity on every start.
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2049, 12, 31);
    Ok(params)
}

impl LocalCa {
    /// Loads the CA of `dir` (the store's `serve/` folder), creating it on first use.
    pub fn load_or_create(dir: &Path) -> Result<LocalCa> {
        create_private_dir(dir)?;
        let key_file = dir.join(CA_KEY_FILE);
        let cert_file = dir.join(CA_CERT_FILE);
        let key = match std::fs::read_to_string(&key_file) {
            Ok(pem) => KeyPair::from_pem(&pem).map_err(|e| tls_error("the CA key in ca.key", e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = KeyPair::generate().map_err(|e| tls_error("CA key generation", e))?;
                write_private_file(&key_file, key.serialize_pem().as_bytes(), false)?;
                key
            }
            Err(e) => {
                return Err(Error::io(
                    format!("cannot read {}: {e}", key_file.display()),
                    key_file.display().to_string(),
                ))
            }
        };
        let cert = ca_params()?
            .self_signed(&key)
            .map_err(|e| tls_error("CA certificate", e))?;
        if !cert_file.exists() {
            write_private_file(&cert_file, cert.pem().as_bytes(), false)?;
        }
        Ok(LocalCa {
            key,
            cert,
            cert_file,
        })
    }

    pub fn cert_file(&self) -> &Path {
        &self.cert_file
    }

    /// A server certificate for `names`, signed by the CA, with a fresh key.
    fn issue(&self, names: &BTreeSet<String>) -> Result<CertifiedKey> {
        let mut params = CertificateParams::new(names.iter().cloned().collect::<Vec<_>>())
            .map_err(|e| tls_error("server certificate names", e))?;
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress(std::net::IpAddr::V4(
                std::net::Ipv4Addr::LOCALHOST,
            )));
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        // A day back for clock skew; 397 days, the longest validity browsers accept.
        let today = chrono::Utc::now().date_naive();
        params.not_before = ymd(today - chrono::Days::new(1));
        params.not_after = ymd(today + chrono::Days::new(397));
        let key = KeyPair::generate().map_err(|e| tls_error("server key generation", e))?;
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .map_err(|e| tls_error("server certificate", e))?;
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let signing_key = provider
            .key_provider
            .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
                key.serialize_der(),
            )))
            .map_err(|e| tls_error("server key", e))?;
        Ok(CertifiedKey::new(
            vec![
                CertificateDer::from(cert.der().to_vec()),
                CertificateDer::from(self.cert.der().to_vec()),
            ],
            signing_key,
        ))
    }
}

fn ymd(date: chrono::NaiveDate) -> time::OffsetDateTime {
    use chrono::Datelike;
    // Months and days fit u8 by construction.
    rcgen::date_time_ymd(date.year(), date.month() as u8, date.day() as u8)
}

/// The host names a certificate for these vaults must carry.
fn host_names(vaults: &[String]) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = vaults
        .iter()
        .map(|v| format!("{}.localhost", v.to_ascii_lowercase()))
        .collect();
    names.insert("localhost".into());
    names
}

/// Picks the certificate for each TLS handshake, issuing a new one when a client names a vault
/// host the current one lacks and that vault now exists.
pub struct VaultCertResolver {
    ca: LocalCa,
    store: Arc<Store>,
    current: RwLock<(BTreeSet<String>, Arc<CertifiedKey>)>,
}

impl std::fmt::Debug for VaultCertResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultCertResolver")
    }
}

fn vault_names(store: &Store) -> Result<Vec<String>> {
    store.read(|tx| {
        Ok(engine::store::vaults::list_vaults(tx, false)?
            .into_iter()
            .map(|v| v.name)
            .collect())
    })
}

impl VaultCertResolver {
    pub fn new(ca: LocalCa, store: Arc<Store>) -> Result<VaultCertResolver> {
        let names = host_names(&vault_names(&store)?);
        let cert = Arc::new(ca.issue(&names)?);
        Ok(VaultCertResolver {
            ca,
            store,
            current: RwLock::new((names, cert)),
        })
    }

    /// The certificate for `server_name`, issued again when it names a vault the current one
    /// does not.
    fn certificate_for(&self, server_name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let current = self.current.read().unwrap_or_else(|p| p.into_inner());
        let wanted = server_name.map(str::to_ascii_lowercase);
        match &wanted {
            Some(name) if !current.0.contains(name) && name.ends_with(".localhost") => {}
            _ => return Some(Arc::clone(&current.1)),
        }
        drop(current);
        let names = host_names(&vault_names(&self.store).ok()?);
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        if names != current.0 {
            if let Ok(cert) = self.ca.issue(&names) {
                *current = (names, Arc::new(cert));
            }
        }
        Some(Arc::clone(&current.1))
    }
}

impl ResolvesServerCert for VaultCertResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.certificate_for(client_hello.server_name())
    }
}

/// The rustls server configuration: TLS 1.2 and 1.3 from aws-lc-rs, HTTP/1.1 only.
pub fn server_config(resolver: Arc<VaultCertResolver>) -> Result<Arc<rustls::ServerConfig>> {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| tls_error("protocol versions", e))?
    .with_no_client_auth()
    .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
