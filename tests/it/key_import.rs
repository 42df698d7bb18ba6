//! Bring your own key: importing from PKCS#8 (plain or encrypted, PEM or DER) and .pfx files,
//! and the imported key kept encrypted at rest.

use crate::common::*;
use serde_json::json;

#[test]
fn imports_a_pkcs8_key_and_keeps_it_encrypted_at_rest() {
    use aws_lc_rs::encoding::AsDer;
    let (dir, ck) = store_with_vaults("import", &[("vault-a", "westeurope")]);
    let private =
        aws_lc_rs::rsa::PrivateDecryptingKey::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der = private.as_der().unwrap().as_ref().to_vec();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        customer_key::b64::encode(&der)
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let file = dir.join("key.pem");
    std::fs::write(&file, pem).unwrap();
    let k = ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "byok", "KeyFilePath": file}),
    );
    assert_eq!(k["KeySize"], 2048);
    // Something wrapped by the vault opens with the original private key.
    let wrapped = wrap(&ck, "vault-a", "byok", None, b"tenant key check");
    let ct = customer_key::b64::decode(wrapped["RawResult"].as_str().unwrap()).unwrap();
    let oaep = aws_lc_rs::rsa::OaepPrivateDecryptingKey::new(private).unwrap();
    let mut out = vec![0u8; 256];
    let pt = oaep
        .decrypt(&aws_lc_rs::rsa::OAEP_SHA256_MGF1SHA256, &ct, &mut out, None)
        .unwrap();
    assert_eq!(pt, b"tenant key check");
    drop(ck);
    // The private key is nowhere in the store's files in the clear.
    let secret_part = &der[der.len() - 64..];
    for entry in std::fs::read_dir(dir.join("store")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(secret_part.len()).any(|w| w == secret_part),
                "{} holds private key bytes",
                path.display()
            );
        }
    }
    let e = Ck::at(&dir.join("store"), ADMIN).err(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "bad", "KeyFilePath": dir.join("missing.pem")}),
    );
    assert!(e.message().contains("KeyFilePath"));
}

/// Makes key files as an admin would, with the openssl command line (installed by the test
/// command), so the import is tested against files no code of ours wrote.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect(
            "the openssl command is needed for the key-file tests (tests/run-all.sh installs it)",
        );
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn imports_pfx_and_encrypted_pkcs8_with_their_password() {
    let (dir, ck) = store_with_vaults("pfx", &[("vault-a", "westeurope")]);
    let d = dir.path();
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "key.pem",
        ],
    );
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "key.pem",
            "-subj",
            "/CN=Contoso BYOK",
            "-days",
            "30",
            "-out",
            "cert.pem",
        ],
    );
    openssl(
        d,
        &[
            "pkcs12",
            "-export",
            "-inkey",
            "key.pem",
            "-in",
            "cert.pem",
            "-passout",
            "pass:Pa55 wörd",
            "-out",
            "key.pfx",
        ],
    );
    openssl(
        d,
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "key.pem",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:Pa55 wörd",
            "-out",
            "key-enc.pem",
        ],
    );
    openssl(
        d,
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "key.pem",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:Pa55 wörd",
            "-outform",
            "DER",
            "-out",
            "key-enc.der",
        ],
    );
    let modulus_of = |k: &serde_json::Value| k["Key"]["N"].as_str().unwrap().to_string();
    let plain = ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "plain", "KeyFilePath": dir.join("key.pem")}),
    );
    for (name, file) in [
        ("pfx", "key.pfx"),
        ("encpem", "key-enc.pem"),
        ("encder", "key-enc.der"),
    ] {
        let k = ck.ok("Add-KeyVaultKey", json!({"VaultName": "vault-a", "Name": name, "KeyFilePath": dir.join(file), "KeyFilePassword": "Pa55 wörd"}));
        assert_eq!(
            modulus_of(&k),
            modulus_of(&plain),
            "{file} imported another key"
        );
        let wrapped = wrap(&ck, "vault-a", name, None, b"byok");
        let version = k["Version"].as_str().unwrap();
        assert_eq!(
            unwrap(
                &ck,
                "vault-a",
                name,
                version,
                wrapped["RawResult"].as_str().unwrap()
            )
            .unwrap()["RawResult"],
            b64(b"byok")
        );
        let wrong = ck.err("Add-KeyVaultKey", json!({"VaultName": "vault-a", "Name": "x", "KeyFilePath": dir.join(file), "KeyFilePassword": "Tr0ub4dor-x"}));
        assert!(
            wrong.message().contains("KeyFilePassword"),
            "{file}: {wrong:?}"
        );
        assert!(
            !wrong.message().contains("Tr0ub4dor"),
            "the password is never echoed"
        );
        let missing = ck.err(
            "Add-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "x", "KeyFilePath": dir.join(file)}),
        );
        assert!(
            missing.message().contains("KeyFilePassword"),
            "{file}: {missing:?}"
        );
    }
    let garbage = dir.join("garbage.pfx");
    std::fs::write(&garbage, [0x30u8, 0x82, 1, 2, 3, 4, 5]).unwrap();
    let e = ck.err("Add-KeyVaultKey", json!({"VaultName": "vault-a", "Name": "x", "KeyFilePath": garbage, "KeyFilePassword": "p"}));
    assert_eq!(e.category(), "InvalidArgument");
    assert_eq!(
        ck.err(
            "Get-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "x"})
        )
        .code(),
        "KeyNotFound"
    );
}
