//! One clock for a whole session: what the Exchange workload decides about a key's validity,
//! what the vault boundary checks for it, and the time on the audit rows all come from the
//! session's clock, so moving a manual clock moves every one of them (no part reads the
//! system clock behind the session's back).

use crate::common::*;
use crate::exchange_support::EXCHANGE;
use customer_key::time::{iso_from_unix, ManualClock};
use customer_key::SessionOptions;
use serde_json::{json, Value};
use std::time::Duration;

const DAY: Duration = Duration::from_secs(86_400);

fn call(session: &customer_key::Session, operation: &str, arguments: Value) -> Value {
    customer_key::registry()
        .call(session, operation, &arguments)
        .unwrap_or_else(|e| panic!("{operation}: {e:?}"))
}

#[test]
fn a_key_expiring_tomorrow_is_unhealthy_once_the_sessions_clock_is_two_days_on() {
    let dir = TempDir::new("session-clock");
    let manual = ManualClock::new();
    let session = customer_key::open_session_with_clock(
        SessionOptions {
            store: Some(dir.join("store")),
            user_principal_name: Some(ADMIN.to_string()),
            ..Default::default()
        },
        manual.clock(),
    )
    .unwrap();
    let mut ids = Vec::new();
    for (vault, location) in [
        ("contoso-clock-a", "westeurope"),
        ("contoso-clock-b", "northeurope"),
    ] {
        call(
            &session,
            "New-KeyVault",
            json!({"VaultName": vault, "Location": location, "EnablePurgeProtection": true}),
        );
        let key = call(
            &session,
            "Add-KeyVaultKey",
            json!({"VaultName": vault, "Name": "exo-key", "KeyOps": ["wrapKey", "unwrapKey"]}),
        );
        ids.push(
            key["Id"]
                .as_str()
                .unwrap()
                .rsplit_once('/')
                .unwrap()
                .0
                .to_string(),
        );
        call(
            &session,
            "Set-KeyVaultAccessPolicy",
            json!({"VaultName": vault, "ServicePrincipalName": EXCHANGE, "PermissionsToKeys": ["get", "wrapKey", "unwrapKey"]}),
        );
    }
    call(
        &session,
        "New-DataEncryptionPolicy",
        json!({"Name": "DEP", "AzureKeyIDs": ids}),
    );
    let tomorrow = iso_from_unix(session.clock().unix_seconds() + DAY.as_secs() as i64);
    call(
        &session,
        "Update-KeyVaultKey",
        json!({"VaultName": "contoso-clock-a", "Name": "exo-key", "Expires": tomorrow}),
    );
    let usable = |session: &customer_key::Session| -> Vec<bool> {
        call(
            session,
            "Get-DataEncryptionPolicy",
            json!({"Identity": "DEP"}),
        )[0]["KeyHealth"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["Usable"].as_bool().unwrap())
            .collect()
    };
    assert_eq!(usable(&session), [true, true]);

    manual.advance(2 * DAY);
    // Two days on by the session's clock, the system's is still today: only a workload that
    // reads the session's clock sees the key expired.
    assert_eq!(usable(&session), [false, true]);

    let rows = session.store().audit_log().unwrap();
    let (time, _, operation, _, _) = rows.last().unwrap();
    assert_eq!(operation, "Get-DataEncryptionPolicy");
    assert_eq!(
        *time,
        session.clock().unix_seconds(),
        "the audit row is stamped by the session's clock"
    );
    assert!(*time - customer_key::time::unix_now() > DAY.as_secs() as i64);
}
