//! The secret scan: every operation family runs with secrets this test knows (imported key
//! material, key-file and TPD passwords, a TPD's key, a service principal's client secret, an
//! endpoint token, unwrapped and decrypted values, mailbox, SharePoint and AIP content), then
//! everything the product emitted or stored in the clear is searched for each secret: every
//! JSON result and error envelope, the CLI's stdout and stderr, `customer-key serve`'s output,
//! the audit table, the SQLite files read raw (db, -wal, -shm, while sessions are open and
//! after), backups, TPD files and protected files. A secret may appear raw, in base64 or
//! base64url (at any byte alignment) or in hex (either case): none may. The only outputs not
//! scanned are those where the product is asked to hand the secret to its caller (each marked
//! `Emitted::Returned` below, with why).

use crate::aip_support;
use crate::exchange_support;
use crate::serve_common;

use crate::common::{CallError, Ck, ADMIN};
use base64::Engine;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Whether an output is scanned.
#[derive(PartialEq)]
enum Emitted {
    Scanned,
    /// The operation's purpose is to give this secret to the caller (an unwrapped value, a
    /// client secret shown once at creation, a token from the token route, content read back).
    Returned,
}

/// One form of one secret: (the secret's index, the form's name, its bytes).
type Needle = (usize, &'static str, Vec<u8>);

#[derive(Default)]
struct Scan {
    secrets: Vec<(String, Vec<u8>)>,
    haystacks: Vec<(String, Vec<u8>)>,
    returned: usize,
}

impl Scan {
    fn secret(&mut self, label: &str, bytes: &[u8]) {
        assert!(bytes.len() >= 12, "{label}: too short to search for");
        self.secrets.push((label.to_string(), bytes.to_vec()));
    }
    fn text(&mut self, label: &str, text: &str, emitted: Emitted) {
        if emitted == Emitted::Returned {
            self.returned += 1;
        } else {
            self.haystacks
                .push((label.to_string(), text.as_bytes().to_vec()));
        }
    }
    fn file(&mut self, path: &Path) {
        let bytes = std::fs::read(path).unwrap();
        self.haystacks.push((path.display().to_string(), bytes));
    }
    fn tree(&mut self, dir: &Path, tag: &str) {
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let p = entry.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Ok(bytes) = std::fs::read(&p) {
                    self.haystacks
                        .push((format!("{tag} {}", p.display()), bytes));
                }
            }
        }
    }
    /// A C ABI call whose result (or error envelope) is scanned unless `emitted` says not.
    fn call(
        &mut self,
        ck: &Ck,
        op: &str,
        args: Value,
        emitted: Emitted,
    ) -> Result<Value, CallError> {
        let r = ck.call(op, args);
        match &r {
            Ok(v) => self.text(&format!("{op} result"), &v.to_string(), emitted),
            // An error envelope is always scanned.
            Err(e) => self.text(
                &format!("{op} error"),
                &e.error.to_string(),
                Emitted::Scanned,
            ),
        }
        r
    }
    fn ok(&mut self, ck: &Ck, op: &str, args: Value) -> Value {
        self.call(ck, op, args.clone(), Emitted::Scanned)
            .unwrap_or_else(|e| panic!("{op} {args}: {e:?}"))
    }

    /// Every form a secret is searched in: raw, hex in both cases, and base64 and base64url of
    /// the secret from each of its first three bytes on (full 3-byte groups only), so the
    /// secret is found inside a longer encoded value whatever its alignment there.
    fn forms(secret: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        let mut forms = vec![
            ("raw", secret.to_vec()),
            ("hex", hex.clone().into_bytes()),
            ("HEX", hex.to_uppercase().into_bytes()),
        ];
        for shift in 0..3 {
            let rest = &secret[shift..];
            let whole = &rest[..rest.len() / 3 * 3];
            forms.push((
                "base64",
                base64::engine::general_purpose::STANDARD_NO_PAD
                    .encode(whole)
                    .into_bytes(),
            ));
            forms.push((
                "base64url",
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(whole)
                    .into_bytes(),
            ));
        }
        forms
    }

    /// Finds every (haystack, secret, form) hit, indexing the needles by their first 8 bytes
    /// so each haystack is walked once.
    fn findings(&self) -> Vec<String> {
        let mut needles: HashMap<[u8; 8], Vec<Needle>> = HashMap::new();
        for (i, (_, secret)) in self.secrets.iter().enumerate() {
            for (form, bytes) in Self::forms(secret) {
                let key: [u8; 8] = bytes[..8].try_into().unwrap();
                needles.entry(key).or_default().push((i, form, bytes));
            }
        }
        let mut found = Vec::new();
        for (label, hay) in &self.haystacks {
            for at in 0..hay.len().saturating_sub(7) {
                let key: [u8; 8] = hay[at..at + 8].try_into().unwrap();
                if let Some(list) = needles.get(&key) {
                    for (i, form, needle) in list {
                        if hay[at..].starts_with(needle) {
                            found.push(format!(
                                "{} ({form}) in {label} at byte {at}",
                                self.secrets[*i].0
                            ));
                        }
                    }
                }
            }
        }
        found.sort();
        found.dedup();
        found
    }
}

/// A DER element: (content, rest).
fn tlv(b: &[u8]) -> (&[u8], &[u8]) {
    let (len, head) = if b[1] < 0x80 {
        (b[1] as usize, 2)
    } else {
        let n = (b[1] & 0x7f) as usize;
        (
            b[2..2 + n].iter().fold(0usize, |a, x| a << 8 | *x as usize),
            2 + n,
        )
    };
    (&b[head..head + len], &b[head + len..])
}

/// The nine integers of the RSAPrivateKey inside a PKCS#8 key (version, n, e, d, p, q, dp, dq,
/// qi), without leading zero bytes.
fn rsa_components(pkcs8: &[u8]) -> Vec<Vec<u8>> {
    let (info, _) = tlv(pkcs8);
    let (_, rest) = tlv(info); // version
    let (_, rest) = tlv(rest); // algorithm
    let (octets, _) = tlv(rest);
    let (mut ints, _) = tlv(octets);
    let mut out = Vec::new();
    for _ in 0..9 {
        let (int, rest) = tlv(ints);
        let start = int.iter().position(|b| *b != 0).unwrap_or(int.len());
        out.push(int[start..].to_vec());
        ints = rest;
    }
    out
}

const PRIVATE: [(&str, usize); 6] = [
    ("d", 3),
    ("p", 4),
    ("q", 5),
    ("dp", 6),
    ("dq", 7),
    ("qi", 8),
];

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl is needed (tests/run-all.sh installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A new RSA key as PKCS#8 DER (and PEM), its private parts registered as secrets.
fn rsa_key(scan: &mut Scan, dir: &Path, name: &str) -> Vec<u8> {
    let pem = format!("{name}.pem");
    let der = format!("{name}.der");
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            &pem,
        ],
    );
    openssl(
        dir,
        &[
            "pkcs8", "-topk8", "-nocrypt", "-in", &pem, "-outform", "DER", "-out", &der,
        ],
    );
    let pkcs8 = std::fs::read(dir.join(&der)).unwrap();
    let parts = rsa_components(&pkcs8);
    for (label, i) in PRIVATE {
        scan.secret(&format!("{name}.{label}"), &parts[i]);
    }
    scan.secret(&format!("{name} PKCS#8"), &pkcs8);
    pkcs8
}

fn key_version(key: &Value) -> String {
    let key = if key.is_array() { &key[0] } else { key };
    key["Id"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Runs the CLI on the store; stdout is scanned unless `stdout` says it is Returned, stderr
/// always.
fn cli(scan: &mut Scan, store: &Path, args: &[&str], stdout: Emitted) -> bool {
    let out = Command::new(env!("CARGO_BIN_EXE_customer-key"))
        .args(["--store", store.to_str().unwrap(), "--upn", ADMIN])
        .args(args)
        .output()
        .unwrap();
    let label = format!("CLI {}", args[0]);
    scan.text(
        &format!("{label} stdout"),
        &String::from_utf8_lossy(&out.stdout),
        stdout,
    );
    scan.text(
        &format!("{label} stderr"),
        &String::from_utf8_lossy(&out.stderr),
        Emitted::Scanned,
    );
    out.status.success()
}

#[test]
fn no_secret_appears_in_any_output_or_stored_file() {
    let tenant = exchange_support::tenant("secret-scan");
    let ck = &tenant.ck;
    let dir = tenant.dir.0.clone();
    let store = dir.join("store");
    // Inputs hold secrets by design (key files, password files): kept apart, never scanned.
    let inputs = dir.join("inputs");
    let out = dir.join("out");
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let mut scan = Scan::default();
    let vault = exchange_support::VAULT_A;
    aip_support::grant(ck, vault);

    // --- Key material via import: PKCS#8 PEM, and a PFX with its password.
    let _ = rsa_key(&mut scan, &inputs, "pkcs8-key");
    scan.ok(ck, "Add-KeyVaultKey", json!({"VaultName": vault, "Name": "imported-pkcs8", "KeyFilePath": inputs.join("pkcs8-key.pem")}));
    let _ = rsa_key(&mut scan, &inputs, "pfx-key");
    let pfx_password = "pfx-Password-5c1e9a77d0b3";
    scan.secret("KeyFilePassword", pfx_password.as_bytes());
    openssl(
        &inputs,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "pfx-key.pem",
            "-subj",
            "/CN=Contoso BYOK",
            "-days",
            "30",
            "-out",
            "pfx-cert.pem",
        ],
    );
    openssl(
        &inputs,
        &[
            "pkcs12",
            "-export",
            "-inkey",
            "pfx-key.pem",
            "-in",
            "pfx-cert.pem",
            "-passout",
            &format!("pass:{pfx_password}"),
            "-out",
            "key.pfx",
        ],
    );
    let pfx = inputs.join("key.pfx");
    scan.ok(ck, "Add-KeyVaultKey", json!({"VaultName": vault, "Name": "imported-pfx", "KeyFilePath": pfx, "KeyFilePassword": pfx_password}));
    // A wrong password: its error must not quote either password.
    let wrong = "wrong-Password-0d9f2b6e4a18";
    scan.secret("a wrong KeyFilePassword", wrong.as_bytes());
    assert!(scan
        .call(ck, "Add-KeyVaultKey", json!({"VaultName": vault, "Name": "bad-pfx", "KeyFilePath": pfx, "KeyFilePassword": wrong}), Emitted::Scanned)
        .is_err());

    // --- Unwrap and Decrypt: the values are the callers' own results (Returned).
    let wrapped_value = b"wrapped-value:0123456789abcdef!!";
    let plaintext = b"plaintext-value:fedcba987654321";
    scan.secret("a wrapped value", wrapped_value);
    scan.secret("an encrypted plaintext", plaintext);
    for key in ["imported-pkcs8", "imported-pfx"] {
        let base = json!({"VaultName": vault, "Name": key, "Algorithm": "RSA-OAEP-256"});
        let with = |op: &str, value: String| {
            let mut a = base.clone();
            a["Operation"] = json!(op);
            a["ByteArrayValue"] = json!(value);
            a
        };
        let w = scan.ok(
            ck,
            "Invoke-KeyVaultKeyOperation",
            with("Wrap", b64(wrapped_value)),
        );
        let u = scan
            .call(
                ck,
                "Invoke-KeyVaultKeyOperation",
                with("Unwrap", w["RawResult"].as_str().unwrap().into()),
                Emitted::Returned,
            )
            .unwrap();
        assert_eq!(u["RawResult"], json!(b64(wrapped_value)));
        let e = scan.ok(
            ck,
            "Invoke-KeyVaultKeyOperation",
            with("Encrypt", b64(plaintext)),
        );
        let d = scan
            .call(
                ck,
                "Invoke-KeyVaultKeyOperation",
                with("Decrypt", e["RawResult"].as_str().unwrap().into()),
                Emitted::Returned,
            )
            .unwrap();
        assert_eq!(d["RawResult"], json!(b64(plaintext)));
        // A wrong unwrap fails without echoing what it was given.
        let _ = scan.call(
            ck,
            "Invoke-KeyVaultKeyOperation",
            with("Unwrap", b64(wrapped_value)),
            Emitted::Scanned,
        );
    }

    // --- Backups of the imported keys, into the store and out of it.
    scan.ok(
        ck,
        "Backup-KeyVaultKey",
        json!({"VaultName": vault, "Name": "imported-pkcs8"}),
    );
    scan.ok(ck, "Backup-KeyVaultKey", json!({"VaultName": vault, "Name": "imported-pfx", "OutputFile": out.join("pfx.keybackup")}));

    // --- AIP: a TPD made with a known key and password is imported, then exported again
    // under another password; content is protected and read back.
    let tpd_pkcs8 = rsa_key(&mut scan, &inputs, "tpd-key");
    let tpd_password = "tpd-Password-83be10c4f5a2";
    let export_password = "export-Password-2a7d5e09c6b1";
    scan.secret("TPD ProtectionPassword", tpd_password.as_bytes());
    scan.secret("export ProtectionPassword", export_password.as_bytes());
    let tpd = customer_key::crypto::tpd::seal(
        &[customer_key::crypto::tpd::TpdKey {
            key_identifier: "{6a0e3f71-5b2c-4d8e-9f10-2b3c4d5e6f70}".into(),
            friendly_name: "Contoso on-premises AD RMS".into(),
            creation_time: 1_700_000_000,
            pkcs8: customer_key::crypto::Secret::new(tpd_pkcs8),
        }],
        tpd_password,
    )
    .unwrap();
    std::fs::write(inputs.join("import.tpd"), tpd).unwrap();
    scan.ok(
        ck,
        "Import-AipServiceTpd",
        json!({"TpdFile": inputs.join("import.tpd"), "ProtectionPassword": tpd_password}),
    );
    let _ = scan.call(
        ck,
        "Import-AipServiceTpd",
        json!({"TpdFile": inputs.join("import.tpd"), "ProtectionPassword": wrong}),
        Emitted::Scanned,
    );
    scan.ok(ck, "Export-AipServiceTpd", json!({"OutputFile": out.join("export.tpd"), "ProtectionPassword": export_password, "KeyIdentifier": "{6a0e3f71-5b2c-4d8e-9f10-2b3c4d5e6f70}"}));
    let aip_content = "aip-content: quarterly figures 4f1c";
    scan.secret("AIP content", aip_content.as_bytes());
    scan.ok(
        ck,
        "Protect-AipContent",
        json!({"Value": aip_content, "OutputFile": out.join("doc.ckaip")}),
    );
    let opened = scan
        .call(
            ck,
            "Unprotect-AipContent",
            json!({"InputFile": out.join("doc.ckaip")}),
            Emitted::Returned,
        )
        .unwrap();
    assert_eq!(opened["Value"], json!(aip_content));

    // --- Exchange: a policy, a mailbox under it, an item (its body and subject are content).
    tenant.policy("dep-secret-scan");
    tenant.mailbox("alice", Some("dep-secret-scan"));
    let subject = "mail-subject: merger plans 9a2e";
    let body = "mail-body: the price is 41 per share 7c3b";
    scan.secret("mailbox item subject", subject.as_bytes());
    scan.secret("mailbox item body", body.as_bytes());
    // Add-MailboxItem answers with the item it stored, as Get-MailboxItem shows it: the
    // caller's own content handed back to that caller (Returned).
    scan.call(
        ck,
        "Add-MailboxItem",
        json!({"Identity": "alice", "Subject": subject, "Body": body}),
        Emitted::Returned,
    )
    .unwrap();
    let items = scan
        .call(
            ck,
            "Get-MailboxItem",
            json!({"Identity": "alice"}),
            Emitted::Returned,
        )
        .unwrap();
    assert!(items.to_string().contains(body));

    // --- The multi-workload policy: tenant data (a Teams chat message) under the assigned policy.
    for v in [exchange_support::VAULT_A, exchange_support::VAULT_B] {
        ck.ok(
            "Set-KeyVaultAccessPolicy",
            json!({"VaultName": v, "ServicePrincipalName": "c066d759-24ae-40e7-a56f-027002b5d3e4", "PermissionsToKeys": ["get", "wrapKey", "unwrapKey"]}),
        );
    }
    scan.ok(
        ck,
        "New-M365DataAtRestEncryptionPolicy",
        json!({"Name": "m365-secret-scan", "AzureKeyIDs": [tenant.key_a, tenant.key_b]}),
    );
    scan.ok(
        ck,
        "Set-M365DataAtRestEncryptionPolicyAssignment",
        json!({"DataEncryptionPolicy": "m365-secret-scan"}),
    );
    let chat = "teams-chat: the acquisition closes friday 5d1f";
    scan.secret("Teams chat message", chat.as_bytes());
    scan.call(
        ck,
        "Add-M365DataItem",
        json!({"Workload": "TeamsChat", "Subject": "deal", "Body": chat}),
        Emitted::Returned,
    )
    .unwrap();
    let chats = scan
        .call(ck, "Get-M365DataItem", json!({}), Emitted::Returned)
        .unwrap();
    assert!(chats.to_string().contains(chat));

    // --- SharePoint: a site's file content, under a registered policy.
    for v in [exchange_support::VAULT_A, exchange_support::VAULT_B] {
        ck.ok(
            "Set-KeyVaultAccessPolicy",
            json!({"VaultName": v, "ServicePrincipalName": "00000003-0000-0ff1-ce00-000000000000", "PermissionsToKeys": ["get", "wrapKey", "unwrapKey"]}),
        );
    }
    let site = "https://contoso.sharepoint.com/sites/finance";
    let file_content = "spo-file: salaries of 2027 b81d";
    scan.secret("SharePoint file content", file_content.as_bytes());
    scan.ok(ck, "New-SPOSite", json!({"Url": site, "Title": "Finance"}));
    scan.ok(
        ck,
        "Add-SPOFile",
        json!({"Site": site, "Name": "salaries.txt", "Value": file_content}),
    );
    let key_a = ck.ok(
        "Get-KeyVaultKey",
        json!({"VaultName": exchange_support::VAULT_A, "Name": "exo-key"}),
    );
    let key_b = ck.ok(
        "Get-KeyVaultKey",
        json!({"VaultName": exchange_support::VAULT_B, "Name": "exo-key"}),
    );
    scan.ok(ck, "Register-SPODataEncryptionPolicy", json!({
        "PrimaryKeyVaultName": exchange_support::VAULT_A, "PrimaryKeyName": "exo-key", "PrimaryKeyVersion": key_version(&key_a),
        "SecondaryKeyVaultName": exchange_support::VAULT_B, "SecondaryKeyName": "exo-key", "SecondaryKeyVersion": key_version(&key_b),
    }));
    let read = scan
        .call(
            ck,
            "Get-SPOFile",
            json!({"Site": site, "Name": "salaries.txt"}),
            Emitted::Returned,
        )
        .unwrap();
    assert!(read.to_string().contains(file_content));

    // --- A service principal: its secret is shown once, at creation (Returned).
    let sp = scan
        .call(
            ck,
            "New-ServicePrincipal",
            json!({"DisplayName": "automation"}),
            Emitted::Returned,
        )
        .unwrap();
    let app = sp["ApplicationId"].as_str().unwrap().to_string();
    let client_secret = sp["ClientSecret"].as_str().unwrap().to_string();
    scan.secret("ClientSecret", client_secret.as_bytes());
    scan.ok(ck, "Get-ServicePrincipal", json!({}));
    scan.ok(ck, "Set-KeyVaultAccessPolicy", json!({"VaultName": vault, "ServicePrincipalName": app, "PermissionsToKeys": ["get", "wrapKey", "unwrapKey", "import", "backup"]}));

    // --- The CLI: an import with the password from a file, a wrong password, an unwrap.
    std::fs::write(inputs.join("pw.txt"), format!("{pfx_password}\n")).unwrap();
    std::fs::write(inputs.join("wrong.txt"), wrong).unwrap();
    let pw_file = format!("@{}", inputs.join("pw.txt").display());
    let wrong_file = format!("@{}", inputs.join("wrong.txt").display());
    let pfx_path = pfx.display().to_string();
    assert!(cli(
        &mut scan,
        &store,
        &[
            "Add-KeyVaultKey",
            "-VaultName",
            vault,
            "-Name",
            "cli-pfx",
            "-KeyFilePath",
            &pfx_path,
            "-KeyFilePassword",
            &pw_file
        ],
        Emitted::Scanned
    ));
    assert!(!cli(
        &mut scan,
        &store,
        &[
            "Add-KeyVaultKey",
            "-VaultName",
            vault,
            "-Name",
            "cli-bad",
            "-KeyFilePath",
            &pfx_path,
            "-KeyFilePassword",
            &wrong_file
        ],
        Emitted::Scanned
    ));
    let w = ck.ok("Invoke-KeyVaultKeyOperation", json!({"VaultName": vault, "Name": "cli-pfx", "Operation": "Wrap", "Algorithm": "RSA-OAEP-256", "ByteArrayValue": b64(wrapped_value)}));
    std::fs::write(
        inputs.join("wrapped.bin"),
        base64::engine::general_purpose::STANDARD
            .decode(w["RawResult"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let wrapped_file = format!("@{}", inputs.join("wrapped.bin").display());
    // Its stdout is the caller's unwrapped value (Returned); stderr is scanned.
    assert!(cli(
        &mut scan,
        &store,
        &[
            "Invoke-KeyVaultKeyOperation",
            "-VaultName",
            vault,
            "-Name",
            "cli-pfx",
            "-Operation",
            "Unwrap",
            "-Algorithm",
            "RSA-OAEP-256",
            "-ByteArrayValue",
            &wrapped_file
        ],
        Emitted::Returned
    ));

    // --- customer-key serve: a token, a JWK import, wrap and unwrap over HTTPS.
    let jwk_pkcs8 = rsa_key(&mut scan, &inputs, "jwk-key");
    let served = serve_round(
        &mut scan,
        &store,
        vault,
        &app,
        &client_secret,
        &jwk_pkcs8,
        wrapped_value,
    );

    // --- What is stored, read while the C ABI session is open (so -wal and -shm exist).
    assert!(store.join("store.db-wal").exists() && store.join("store.db-shm").exists());
    scan.tree(&store, "open store:");
    let audit = audit_rows(&store);
    scan.text("the audit table", &audit, Emitted::Scanned);
    for f in ["pfx.keybackup", "export.tpd", "doc.ckaip"] {
        scan.file(&out.join(f));
    }
    // And once every session is closed: SQLite has then checkpointed the WAL into store.db.
    let exchange_support::Tenant {
        dir: temp,
        ck: session,
        ..
    } = tenant;
    drop(session);
    scan.tree(&store, "closed store:");
    let (files, bytes) = (
        scan.haystacks.len(),
        scan.haystacks.iter().map(|h| h.1.len()).sum::<usize>(),
    );
    let found = scan.findings();
    println!(
        "secret scan: {} secrets in {} forms each, searched in {files} outputs and files ({bytes} bytes; {} audit rows, serve: {served}); {} outputs not scanned because they return a secret to its caller",
        scan.secrets.len(),
        Scan::forms(&[0; 12]).len(),
        audit.lines().count(),
        scan.returned
    );
    let results = scan
        .haystacks
        .iter()
        .filter(|h| h.0.ends_with(" result"))
        .count();
    println!("  scanned {results} JSON results of C ABI calls, and:");
    for (label, hay) in &scan.haystacks {
        if !label.ends_with(" result") {
            println!("  scanned {label} ({} bytes)", hay.len());
        }
    }
    println!("found: {}", found.len());
    drop(temp);
    assert!(found.is_empty(), "secrets found:\n{}", found.join("\n"));
}

/// The audit table, every column of every row, read with SQLite directly.
fn audit_rows(store: &Path) -> String {
    let db = rusqlite::Connection::open_with_flags(
        store.join("store.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut stmt = db.prepare("SELECT * FROM audit").unwrap();
    let columns = stmt.column_count();
    let rows = stmt
        .query_map([], |row| {
            let mut line = Vec::new();
            for i in 0..columns {
                let v: rusqlite::types::Value = row.get(i)?;
                line.push(format!("{v:?}"));
            }
            Ok(line.join("|"))
        })
        .unwrap();
    rows.map(|r| r.unwrap()).collect::<Vec<_>>().join("\n")
}

/// Starts `customer-key serve` on the store, gets a token, imports a JSON Web Key, wraps and
/// unwraps; its stdout and stderr are scanned after SIGTERM. Returns what it did.
fn serve_round(
    scan: &mut Scan,
    store: &Path,
    vault: &str,
    app: &str,
    secret: &str,
    jwk_pkcs8: &[u8],
    value: &[u8],
) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_customer-key"))
        .args([
            "--store",
            store.to_str().unwrap(),
            "serve",
            "--tenant",
            "contoso",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let info: Value = serde_json::from_str(&line).expect("serve's JSON line");
    let port = info["Port"].as_u64().unwrap() as u16;
    let config = serve_common::tls_config(&PathBuf::from(info["CaFile"].as_str().unwrap()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let send = |host: &str, method: &str, path: &str, headers: &[(&str, &str)], body: Vec<u8>| {
        rt.block_on(async {
            let mut c = serve_common::Connection::open(config.clone(), port, host)
                .await
                .unwrap();
            c.send(method, path, headers, body).await
        })
    };
    let form = format!(
        "grant_type=client_credentials&client_id={app}&client_secret={}&scope=https%3A%2F%2Fvault.azure.net%2F.default",
        secret.replace('-', "%2D")
    );
    let token = send(
        "localhost",
        "POST",
        "/contoso/oauth2/v2.0/token",
        &[("content-type", "application/x-www-form-urlencoded")],
        form.into_bytes(),
    );
    assert_eq!(token.status, 200, "{:?}", token.body);
    // The token route's answer is the token, issued to its caller (Returned).
    scan.text(
        "serve token response",
        &token.body.to_string(),
        Emitted::Returned,
    );
    let token = token.body["access_token"].as_str().unwrap().to_string();
    scan.secret("access token", token.as_bytes());
    let auth = format!("Bearer {token}");
    let host = format!("{vault}.localhost");
    let call = |method: &str, path: &str, body: Value| {
        send(
            &host,
            method,
            &format!("{path}?api-version=7.6"),
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            body.to_string().into_bytes(),
        )
    };
    let c = rsa_components(jwk_pkcs8);
    let jwk = json!({"key": {"kty": "RSA", "n": b64url(&c[1]), "e": b64url(&c[2]), "d": b64url(&c[3]), "p": b64url(&c[4]),
                              "q": b64url(&c[5]), "dp": b64url(&c[6]), "dq": b64url(&c[7]), "qi": b64url(&c[8])}});
    let imported = call("PUT", "/keys/jwk-imported", jwk);
    assert_eq!(imported.status, 200, "{:?}", imported.body);
    scan.text(
        "serve import response",
        &imported.body.to_string(),
        Emitted::Scanned,
    );
    let wrapped = call(
        "POST",
        "/keys/jwk-imported/wrapkey",
        json!({"alg": "RSA-OAEP-256", "value": b64url(value)}),
    );
    assert_eq!(wrapped.status, 200, "{:?}", wrapped.body);
    scan.text(
        "serve wrapkey response",
        &wrapped.body.to_string(),
        Emitted::Scanned,
    );
    let unwrapped = call(
        "POST",
        "/keys/jwk-imported/unwrapkey",
        json!({"alg": "RSA-OAEP-256", "value": wrapped.body["value"]}),
    );
    assert_eq!(unwrapped.body["value"], json!(b64url(value)));
    // The unwrapped value is the caller's result (Returned).
    scan.text(
        "serve unwrapkey response",
        &unwrapped.body.to_string(),
        Emitted::Returned,
    );
    let bad = call(
        "POST",
        "/keys/jwk-imported/unwrapkey",
        json!({"alg": "RSA-OAEP-256", "value": b64url(value)}),
    );
    scan.text(
        "serve failed unwrapkey response",
        &bad.body.to_string(),
        Emitted::Scanned,
    );
    let backup = call("POST", "/keys/jwk-imported/backup", json!({}));
    scan.text(
        "serve backup response",
        &backup.body.to_string(),
        Emitted::Scanned,
    );
    let bad_token = send(
        &host,
        "GET",
        "/keys/jwk-imported?api-version=7.6",
        &[("authorization", &format!("Bearer {token}x"))],
        vec![],
    );
    scan.text(
        "serve bad-token response",
        &format!("{:?} {}", bad_token.headers, bad_token.body),
        Emitted::Scanned,
    );
    // SAFETY: kill(2) on the child's pid, which this function spawned and has not reaped.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let output = child.wait_with_output().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    scan.text("serve stdout", &format!("{line}{rest}"), Emitted::Scanned);
    scan.text(
        "serve stderr",
        &String::from_utf8_lossy(&output.stderr),
        Emitted::Scanned,
    );
    format!(
        "token, JWK import, wrapkey, unwrapkey, backup; exit {}",
        output.status
    )
}
