//! Restore-KeyVaultKey's reader of backup files.
//!
//! Input, by its first byte: even, the rest is the backup file as is (the reader's signature,
//! header and integrity checks); odd, the rest is `header-JSON\npayload-JSON`, which the target
//! seals under the store's backup key as Backup-KeyVaultKey would (every `STORE_ID` in the
//! header replaced by the store's id), so the fuzzer also reaches the header and payload
//! readers behind the integrity check. One store per process, restoring into a vault without
//! purge protection: a restored key is read back and used, then removed and purged, so the
//! next input finds the same store.
#![no_main]

use customer_key_fuzz::{populate, scratch, Session};
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use std::sync::OnceLock;

const RESTORE_VAULT: &str = "contoso-restore";

struct Target {
    session: Session,
    store_id: String,
    file: std::path::PathBuf,
}

fn target() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| {
        let dir = scratch();
        let store = dir.join("store");
        let _ = std::fs::remove_dir_all(&store);
        let session = Session::open(&store);
        populate(&session);
        session.ok(
            "New-KeyVault",
            json!({"VaultName": RESTORE_VAULT, "Location": "westeurope"}),
        );
        let store_id = customer_key::fuzzing::store_id(session.handle());
        Target {
            session,
            store_id,
            file: dir.join("input.keybackup"),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let t = target();
    let blob = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        let split = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
        let header = String::from_utf8_lossy(&rest[..split]).replace("STORE_ID", &t.store_id);
        let payload = rest.get(split + 1..).unwrap_or_default();
        customer_key::fuzzing::seal_backup(t.session.handle(), header.as_bytes(), payload)
            .expect("sealing a backup")
    };
    std::fs::write(&t.file, &blob).unwrap();
    let restored = t.session.call(
        "Restore-KeyVaultKey",
        json!({"VaultName": RESTORE_VAULT, "InputFile": t.file}),
    );
    if let Ok(key) = restored {
        let name = key["Name"]
            .as_str()
            .expect("a restored key has a name")
            .to_string();
        let key_args = json!({"VaultName": RESTORE_VAULT, "Name": name});
        // What was restored must read back and, damaged or not, fail cleanly when used.
        let _ = t.session.call("Get-KeyVaultKey", key_args.clone());
        let _ = t.session.call(
            "Invoke-KeyVaultKeyOperation",
            json!({"VaultName": RESTORE_VAULT, "Name": name, "Operation": "Wrap",
                   "Algorithm": "RSA-OAEP-256", "ByteArrayValue": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}),
        );
        let _ = t.session.call(
            "Invoke-KeyVaultKeyOperation",
            json!({"VaultName": RESTORE_VAULT, "Name": name, "Operation": "Unwrap",
                   "Algorithm": "RSA-OAEP-256", "ByteArrayValue": "AAEC"}),
        );
        t.session.ok(
            "Remove-KeyVaultKey",
            json!({"VaultName": RESTORE_VAULT, "Name": name, "AcceptDataLoss": true}),
        );
        t.session.ok(
            "Remove-KeyVaultKey",
            json!({"VaultName": RESTORE_VAULT, "Name": name, "InRemovedState": true, "AcceptDataLoss": true}),
        );
    }
});
