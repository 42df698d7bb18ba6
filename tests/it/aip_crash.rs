//! kill -9 of CLI processes importing TPDs, adding BYOK keys and switching the Active key, at
//! any moment: afterwards exactly one key is Active, every TPD is imported whole or not at all,
//! the AIP rows of key_references match the BYOK keys, and every document opens.

use crate::aip_support::*;
use crate::common::{Ck, ADMIN};
use customer_key::crypto::tpd::{self, TpdKey};

#[test]
fn kill_9_during_aip_operations_leaves_one_active_key_and_whole_imports() {
    let (dir, ck) = tenant("aip-kill9");
    let store = dir.join("store");
    let cli = env!("CARGO_BIN_EXE_customer-key");

    // Three TPDs of two keys each, written with the library's TPD writer.
    let mut tpds = Vec::new();
    for t in 0..3 {
        let entries: Vec<TpdKey> = (0..2)
            .map(|k| TpdKey {
                key_identifier: format!("00000000-0000-4000-8000-0000000000{t}{k}"),
                friendly_name: format!("TPD {t} key {k}"),
                creation_time: 1_600_000_000,
                pkcs8: customer_key::crypto::generate_rsa(2048).unwrap().pkcs8,
            })
            .collect();
        let ids: Vec<String> = entries.iter().map(|e| e.key_identifier.clone()).collect();
        let file = dir.join(&format!("t{t}.tpd"));
        std::fs::write(&file, tpd::seal(&entries, PASSWORD).unwrap()).unwrap();
        tpds.push((file, ids));
    }
    let password_file = dir.join("password.txt");
    std::fs::write(&password_file, PASSWORD).unwrap();

    let first = id(&active(&ck));
    let byok = use_and_activate(&ck, &vault_key(&ck, VAULT, "tenant-key"));
    let mut documents = vec![protect(&ck, &dir, "under BYOK")];
    activate(&ck, &first);
    documents.push(protect(&ck, &dir, "under Microsoft-managed"));
    drop(ck);

    let mut seed = [0u8; 32];
    aws_lc_rs::rand::fill(&mut seed).unwrap();
    for round in 0..18usize {
        let target = if round % 2 == 0 { &first } else { &byok };
        let (args, max_delay_ms): (Vec<String>, u64) = match round % 3 {
            // The 600,000-iteration derivation takes about a second here: kills land before,
            // during and after the import's transaction.
            0 => {
                let (file, _) = &tpds[(round / 3) % 3];
                (
                    vec![
                        "Import-AipServiceTpd".into(),
                        "-TpdFile".into(),
                        file.display().to_string(),
                        "-ProtectionPassword".into(),
                        format!("@{}", password_file.display()),
                    ],
                    2500,
                )
            }
            1 => (
                vec![
                    "Set-AipServiceKeyProperties".into(),
                    "-KeyIdentifier".into(),
                    target.clone(),
                    "-Active".into(),
                    "true".into(),
                ],
                150,
            ),
            _ => (
                vec![
                    "Use-AipServiceKeyVaultKey".into(),
                    "-KeyVaultKeyUrl".into(),
                    {
                        let ck = Ck::at(&store, ADMIN);
                        vault_key(&ck, VAULT, "tenant-key")
                    },
                ],
                400,
            ),
        };
        let mut child = std::process::Command::new(cli)
            .arg("--store")
            .arg(&store)
            .arg("--upn")
            .arg(ADMIN)
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let delay_ms = (u64::from(seed[round % 32]) * 977) % max_delay_ms;
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }

    let db = rusqlite::Connection::open(store.join("store.db")).unwrap();
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let (byok_keys, aip_references): (i64, i64) = db
        .query_row(
            "SELECT (SELECT COUNT(*) FROM aip_tenant_keys WHERE key_vault_key_url IS NOT NULL),
                    (SELECT COUNT(*) FROM key_references WHERE referrer_kind = 'AIP')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        byok_keys, aip_references,
        "key_references in step with the BYOK tenant keys"
    );
    drop(db);

    let ck = Ck::at(&store, ADMIN);
    let listed: Vec<String> = keys(&ck).iter().map(id).collect();
    let _ = active(&ck);
    for (file, ids) in &tpds {
        let present = ids.iter().filter(|i| listed.contains(i)).count();
        assert!(
            present == 0 || present == ids.len(),
            "{} imported by halves",
            file.display()
        );
    }
    for ((doc, _), text) in documents
        .iter()
        .zip(["under BYOK", "under Microsoft-managed"])
    {
        assert_eq!(unprotect(&ck, doc).unwrap(), text);
    }
    let (doc, _) = protect(&ck, &dir, "after the kills");
    assert_eq!(unprotect(&ck, &doc).unwrap(), "after the kills");
    // Whatever the rounds left, a complete import still works or is refused as a duplicate.
    for (file, _) in &tpds {
        match import(&ck, file, PASSWORD) {
            Ok(imported) => assert_eq!(imported.as_array().unwrap().len(), 2),
            Err(e) => assert_eq!(e.category(), "ResourceExists", "{}", e.message()),
        }
    }
}
