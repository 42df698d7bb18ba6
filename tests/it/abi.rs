//! The C ABI's promises: NULL pointers, bad UTF-8, bad JSON, unknown operations and arguments
//! are errors with envelopes; outputs are written only on success; the registry describes every
//! operation; the header matches what cbindgen generates. (Panics: tests/panic_boundary.rs.)
#![deny(clippy::undocumented_unsafe_blocks)]

use crate::common::*;
use customer_key::ffi::{ck_call, ck_close, ck_describe, ck_free_string, ck_open, ck_version};
use serde_json::{json, Value};
use std::ffi::{c_char, CStr, CString};
use std::ptr::{null, null_mut};

/// # Safety
/// As `take_json`: `p` is a string from `out_json`, not yet released.
unsafe fn envelope_of(p: *mut c_char) -> Value {
    // SAFETY: this function's contract is take_json's.
    let v = unsafe { take_json(p) };
    assert!(
        v["error"]["code"].is_string()
            && v["error"]["category"].is_string()
            && v["error"]["message"].is_string(),
        "{v}"
    );
    v
}

#[test]
fn null_pointers_and_bad_text_are_errors_never_crashes() {
    let dir = TempDir::new("abi-null");
    let options = CString::new(json!({"Store": dir.join("s")}).to_string()).unwrap();
    let mut session = null_mut();
    let mut out = null_mut();
    // SAFETY: every pointer passed is NULL (which is what is tested), a live NUL-terminated
    // CString of this function, a session from ck_open not yet closed, or a local output
    // pointer; every string taken from `out` is one the call just wrote, released once.
    unsafe {
        // NULL out_session.
        assert_eq!(ck_open(options.as_ptr(), null_mut(), &mut out), 1);
        let v = envelope_of(out);
        assert!(v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("out_session"));
        // NULL out_json on every function that needs it: the status still says what happened.
        assert_eq!(ck_describe(null_mut()), 1);
        assert_eq!(ck_call(null(), null(), null(), null_mut()), 1);
        // Malformed options.
        let bad = CString::new("{not json").unwrap();
        out = null_mut();
        assert_eq!(ck_open(bad.as_ptr(), &mut session, &mut out), 1);
        assert!(session.is_null(), "out_session is written only on success");
        envelope_of(out);
        let unknown = CString::new(r#"{"Colour": "red"}"#).unwrap();
        assert_eq!(ck_open(unknown.as_ptr(), &mut session, &mut out), 1);
        envelope_of(out);

        assert_eq!(ck_open(options.as_ptr(), &mut session, &mut out), 0);
        let info = take_json(out);
        assert_eq!(info["Version"], customer_key::VERSION);
        assert!(info["Store"].as_str().unwrap().ends_with("/s"));

        let op = CString::new("Get-KeyVault").unwrap();
        // NULL session.
        out = null_mut();
        assert_eq!(ck_call(null(), op.as_ptr(), null(), &mut out), 1);
        assert!(envelope_of(out)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("session"));
        // NULL operation.
        assert_eq!(ck_call(session, null(), null(), &mut out), 1);
        envelope_of(out);
        // NULL arguments means {}.
        assert_eq!(ck_call(session, op.as_ptr(), null(), &mut out), 0);
        assert_eq!(take_json(out), json!([]));
        // Invalid UTF-8 in the operation and in the arguments.
        let bad_utf8 = CString::new(vec![b'{', b'"', 0xff, 0xfe, b'"', b'}']).unwrap();
        assert_eq!(ck_call(session, bad_utf8.as_ptr(), null(), &mut out), 1);
        assert!(envelope_of(out)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("UTF-8"));
        assert_eq!(
            ck_call(session, op.as_ptr(), bad_utf8.as_ptr(), &mut out),
            1
        );
        envelope_of(out);
        // Malformed JSON, a JSON array, a mistyped and an unknown argument.
        for args in [
            "{\"VaultName\": ",
            "[1,2]",
            r#"{"VaultName": 5}"#,
            r#"{"Nonsense": true}"#,
            r#"{"InRemovedState": "yes"}"#,
        ] {
            let a = CString::new(args).unwrap();
            out = null_mut();
            assert_eq!(
                ck_call(session, op.as_ptr(), a.as_ptr(), &mut out),
                1,
                "{args}"
            );
            assert_eq!(
                envelope_of(out)["error"]["category"],
                "InvalidArgument",
                "{args}"
            );
        }
        // Unknown operation.
        let unknown_op = CString::new("Remove-Everything").unwrap();
        assert_eq!(ck_call(session, unknown_op.as_ptr(), null(), &mut out), 1);
        envelope_of(out);

        ck_close(session);
        ck_close(null_mut());
        ck_free_string(null_mut());
    }
}

#[test]
fn version_is_static_and_describe_lists_every_operation() {
    // SAFETY: ck_version returns a static NUL-terminated string.
    let v = unsafe { CStr::from_ptr(ck_version()) }.to_str().unwrap();
    assert_eq!(v, customer_key::VERSION);
    let mut out = null_mut();
    // SAFETY: `out` is a local pointer for ck_describe to write.
    assert_eq!(unsafe { ck_describe(&mut out) }, 0);
    // SAFETY: ck_describe just wrote `out`; it is released once here.
    let registry = unsafe { take_json(out) };
    let ops = registry["Operations"].as_array().unwrap();
    let names: Vec<&str> = ops.iter().map(|o| o["Name"].as_str().unwrap()).collect();
    for expected in [
        "New-KeyVault",
        "Get-KeyVault",
        "Remove-KeyVault",
        "Undo-KeyVaultRemoval",
        "Set-KeyVaultAccessPolicy",
        "Remove-KeyVaultAccessPolicy",
        "Add-KeyVaultKey",
        "Get-KeyVaultKey",
        "Update-KeyVaultKey",
        "Remove-KeyVaultKey",
        "Undo-KeyVaultKeyRemoval",
        "Backup-KeyVaultKey",
        "Restore-KeyVaultKey",
        "Invoke-KeyVaultKeyOperation",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from the registry"
        );
    }
    let add = ops.iter().find(|o| o["Name"] == "Add-KeyVaultKey").unwrap();
    let vault_name = add["Parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["Name"] == "VaultName")
        .unwrap();
    assert_eq!(vault_name["Mandatory"], true);
    assert_eq!(vault_name["Type"], "string");
    let remove = ops
        .iter()
        .find(|o| o["Name"] == "Remove-KeyVaultKey")
        .unwrap();
    assert_eq!(remove["ConfirmImpact"], "High");
}

/// What each operation answers, per parameter set, to a call naming every parameter of the set
/// with the placeholder values below: each is a check the handler makes after the typed
/// arguments were built, so reaching it proves the table and the argument struct agree. Each
/// entry is (operation, parameter set, error code, what the message must say).
const PLACEHOLDER_OUTCOMES: &[(&str, Option<&str>, &str, &str)] = &[
    (
        "Update-KeyVault",
        None,
        "SubscriptionNotFound",
        "The subscription 'x' could not be found",
    ),
    // Both -RoleDefinitionName and -RoleDefinitionId are given.
    (
        "New-RoleAssignment",
        None,
        "BadParameter",
        "Parameter 'RoleDefinitionName'",
    ),
    (
        "Get-RoleAssignment",
        None,
        "BadParameter",
        "Parameter 'RoleDefinitionName'",
    ),
    (
        "Remove-RoleAssignment",
        None,
        "BadParameter",
        "Parameter 'RoleDefinitionName'",
    ),
    (
        "New-KeyVault",
        None,
        "BadParameter",
        "Parameter 'VaultName'",
    ),
    (
        "Get-KeyVault",
        None,
        // The placeholder subscription is not the store's.
        "SubscriptionNotFound",
        "The subscription 'x' could not be found",
    ),
    (
        "Remove-KeyVault",
        None,
        "VaultNotFound",
        "Vault 'x' does not exist",
    ),
    (
        "Undo-KeyVaultRemoval",
        None,
        "VaultNotFound",
        "Vault 'x' does not exist",
    ),
    (
        "Set-KeyVaultAccessPolicy",
        Some("ByUserPrincipalName"),
        "BadParameter",
        "Parameter 'UserPrincipalName'",
    ),
    (
        "Set-KeyVaultAccessPolicy",
        Some("ByObjectId"),
        "BadParameter",
        "Parameter 'ObjectId'",
    ),
    (
        "Set-KeyVaultAccessPolicy",
        Some("ByServicePrincipalName"),
        // The placeholder subscription is not the store's.
        "SubscriptionNotFound",
        "The subscription 'x' could not be found",
    ),
    (
        "Remove-KeyVaultAccessPolicy",
        Some("ByUserPrincipalName"),
        "BadParameter",
        "Parameter 'UserPrincipalName'",
    ),
    (
        "Remove-KeyVaultAccessPolicy",
        Some("ByObjectId"),
        "BadParameter",
        "Parameter 'ObjectId'",
    ),
    (
        "Remove-KeyVaultAccessPolicy",
        Some("ByServicePrincipalName"),
        // The placeholder subscription is not the store's.
        "SubscriptionNotFound",
        "The subscription 'x' could not be found",
    ),
    (
        "Add-KeyVaultKey",
        Some("InteractiveCreate"),
        "BadParameter",
        "Parameter 'Expires'",
    ),
    (
        "Add-KeyVaultKey",
        Some("InteractiveImport"),
        "BadParameter",
        "Parameter 'Expires'",
    ),
    (
        "Get-KeyVaultKey",
        Some("ByVaultName"),
        "VaultNotFound",
        "Vault 'x' does not exist",
    ),
    (
        "Get-KeyVaultKey",
        Some("ByKeyVersion"),
        "VaultNotFound",
        "Vault 'x' does not exist",
    ),
    (
        "Get-KeyVaultKey",
        Some("ByKeyVersions"),
        "VaultNotFound",
        "Vault 'x' does not exist",
    ),
    (
        "Update-KeyVaultKey",
        None,
        "VaultNotFound",
        "Vault 'x' does not exist",
    ),
    (
        "Remove-KeyVaultKey",
        None,
        "VaultNotFound",
        "Vault 'x' does not exist",
    ),
    (
        "Undo-KeyVaultKeyRemoval",
        None,
        "VaultNotFound",
        "Vault 'x' does not exist",
    ),
    (
        "Backup-KeyVaultKey",
        None,
        "BadParameter",
        "Parameter 'OutputFile'",
    ),
    (
        "Restore-KeyVaultKey",
        Some("ByVaultName"),
        "FileNotReadable",
        "Parameter 'InputFile'",
    ),
    (
        "Invoke-KeyVaultKeyOperation",
        None,
        "VaultNotFound",
        "Vault 'x' does not exist",
    ),
    // AIP. An empty code: the call succeeds (an operation without parameters).
    ("Get-AipServiceKeys", None, "", ""),
    (
        "Use-AipServiceKeyVaultKey",
        None,
        "BadParameter",
        "Parameter 'KeyVaultKeyUrl'",
    ),
    (
        "Set-AipServiceKeyProperties",
        None,
        "BadParameter",
        "Parameter 'Active'",
    ),
    (
        "Import-AipServiceTpd",
        None,
        "BadParameter",
        "Parameter 'KeyVaultKeyUrl'",
    ),
    (
        "Export-AipServiceTpd",
        None,
        "BadParameter",
        "Parameter 'ProtectionPassword'",
    ),
    ("Get-AipServiceTenantKeyLifecycle", None, "", ""),
    (
        "Protect-AipContent",
        Some("ByValue"),
        "BadParameter",
        "Parameter 'OutputFile'",
    ),
    (
        "Protect-AipContent",
        Some("ByPath"),
        "BadParameter",
        "Parameter 'Path'",
    ),
    (
        "Unprotect-AipContent",
        None,
        "BadParameter",
        "Parameter 'InputFile'",
    ),
    ("New-SPOSite", None, "BadParameter", "Parameter 'Url'"),
    ("Get-SPOSite", None, "BadParameter", "Parameter 'Identity'"),
    (
        "Add-SPOFile",
        Some("ByValue"),
        "BadParameter",
        "Parameter 'Site'",
    ),
    (
        "Add-SPOFile",
        Some("ByPath"),
        "BadParameter",
        "Parameter 'Site'",
    ),
    ("Get-SPOFile", None, "BadParameter", "Parameter 'Site'"),
    (
        "Register-SPODataEncryptionPolicy",
        Some("ByKeyVaultName"),
        "BadParameter",
        "Parameter 'Identity'",
    ),
    (
        "Register-SPODataEncryptionPolicy",
        Some("ByKeyVaultUri"),
        "BadParameter",
        "Parameter 'Identity'",
    ),
    (
        "Update-SPODataEncryptionPolicy",
        Some("ByKeyVaultName"),
        "BadParameter",
        "Parameter 'Identity'",
    ),
    (
        "Update-SPODataEncryptionPolicy",
        Some("ByKeyVaultUri"),
        "BadParameter",
        "Parameter 'Identity'",
    ),
    (
        "Get-SPODataEncryptionPolicy",
        None,
        "BadParameter",
        "Parameter 'Identity'",
    ),
    (
        "Restore-SPODataEncryptionPolicy",
        Some("ByKeyVaultName"),
        "BadParameter",
        "Parameter 'Identity'",
    ),
    (
        "Restore-SPODataEncryptionPolicy",
        Some("ByKeyVaultUri"),
        "BadParameter",
        "Parameter 'Identity'",
    ),
    // Exchange (and the vault's Set-KeyVault outage rehearsal).
    (
        "Get-KeyVaultChangeImpact",
        Some("ByVaultName"),
        "BadParameter",
        "give at most one of -ServicePrincipalName, -ObjectId and -UserPrincipalName",
    ),
    (
        "Get-KeyVaultKeyUsage",
        None,
        "VaultNotFound",
        "Vault 'x' does not exist",
    ),
    (
        "Set-KeyVault",
        None,
        "VaultNotFound",
        "Vault 'x' does not exist",
    ),
    (
        "New-Mailbox",
        None,
        "BadParameter",
        "Parameter 'PrimarySmtpAddress'",
    ),
    (
        "New-MailUser",
        None,
        "BadParameter",
        "Parameter 'PrimarySmtpAddress'",
    ),
    (
        "Get-Mailbox",
        None,
        "MailboxNotFound",
        "Identity: no mailbox or mail user",
    ),
    (
        "Set-Mailbox",
        None,
        "MailboxNotFound",
        "Identity: no mailbox or mail user",
    ),
    (
        "Set-MailUser",
        None,
        "MailboxNotFound",
        "Identity: no mailbox or mail user",
    ),
    (
        "Get-MailboxStatistics",
        None,
        "MailboxNotFound",
        "Identity: no mailbox or mail user",
    ),
    (
        "Add-MailboxItem",
        None,
        "MailboxNotFound",
        "Identity: no mailbox or mail user",
    ),
    (
        "Get-MailboxItem",
        None,
        "MailboxNotFound",
        "Identity: no mailbox or mail user",
    ),
    (
        "New-MoveRequest",
        None,
        "MailboxNotFound",
        "Identity: no mailbox or mail user",
    ),
    (
        "Get-MoveRequest",
        None,
        "MailboxNotFound",
        "Identity: no mailbox or mail user",
    ),
    (
        "Get-MoveRequestStatistics",
        None,
        "MailboxNotFound",
        "Identity: no mailbox or mail user",
    ),
    (
        "New-DataEncryptionPolicy",
        None,
        "BadParameter",
        "Parameter 'AzureKeyIDs': needs at least two key ids",
    ),
    (
        "Get-DataEncryptionPolicy",
        None,
        "DataEncryptionPolicyNotFound",
        "Identity: no data encryption policy",
    ),
    (
        "Set-DataEncryptionPolicy",
        Some("Refresh"),
        "DataEncryptionPolicyNotFound",
        "Identity: no data encryption policy",
    ),
    (
        "Set-DataEncryptionPolicy",
        Some("Settings"),
        "DataEncryptionPolicyNotFound",
        "Identity: no data encryption policy",
    ),
    (
        "Set-DataEncryptionPolicy",
        Some("PermanentDataPurge"),
        "DataEncryptionPolicyNotFound",
        "Identity: no data encryption policy",
    ),
    (
        "Set-DataEncryptionPolicy",
        Some("AzureKeyIDs"),
        "DataEncryptionPolicyNotFound",
        "Identity: no data encryption policy",
    ),
    (
        "Invoke-KeyVaultKeySignature",
        None,
        "BadParameter",
        "Parameter 'Signature'",
    ),
    (
        "New-ServicePrincipal",
        None,
        "BadParameter",
        "Parameter 'EndDate'",
    ),
    (
        "Get-ServicePrincipal",
        None,
        "BadParameter",
        "Parameter 'ApplicationId'",
    ),
    (
        "Remove-ServicePrincipal",
        None,
        "BadParameter",
        "Parameter 'ApplicationId'",
    ),
    // The ResourceId sets: "x" is no vault's resource ID.
    (
        "Set-KeyVaultAccessPolicy",
        Some("ResourceIdByUserPrincipalName"),
        "BadParameter",
        "Parameter 'ResourceId'",
    ),
    (
        "Set-KeyVaultAccessPolicy",
        Some("ResourceIdByObjectId"),
        "BadParameter",
        "Parameter 'ResourceId'",
    ),
    (
        "Set-KeyVaultAccessPolicy",
        Some("ResourceIdByServicePrincipalName"),
        "BadParameter",
        "Parameter 'ResourceId'",
    ),
    (
        "Remove-KeyVaultAccessPolicy",
        Some("ResourceIdByUserPrincipalName"),
        "BadParameter",
        "Parameter 'ResourceId'",
    ),
    (
        "Remove-KeyVaultAccessPolicy",
        Some("ResourceIdByObjectId"),
        "BadParameter",
        "Parameter 'ResourceId'",
    ),
    (
        "Remove-KeyVaultAccessPolicy",
        Some("ResourceIdByServicePrincipalName"),
        "BadParameter",
        "Parameter 'ResourceId'",
    ),
    (
        "Add-KeyVaultKey",
        Some("ResourceIdCreate"),
        "BadParameter",
        "Parameter 'ResourceId'",
    ),
    (
        "Add-KeyVaultKey",
        Some("ResourceIdImport"),
        "BadParameter",
        "Parameter 'ResourceId'",
    ),
    (
        "Get-KeyVaultKey",
        Some("ByResourceIdVaultName"),
        "BadParameter",
        "Parameter 'ResourceId'",
    ),
    (
        "Get-KeyVaultKey",
        Some("ByResourceIdKeyVersion"),
        "BadParameter",
        "Parameter 'ResourceId'",
    ),
    (
        "Get-KeyVaultKey",
        Some("ByResourceIdKeyVersions"),
        "BadParameter",
        "Parameter 'ResourceId'",
    ),
    (
        "Restore-KeyVaultKey",
        Some("ByResourceId"),
        "BadParameter",
        "Parameter 'ResourceId'",
    ),
    (
        "Get-KeyVaultChangeImpact",
        Some("ByResourceId"),
        "BadParameter",
        "Parameter 'ResourceId'",
    ),
    // The placeholder is one key id, where two are needed.
    (
        "Test-CustomerKeySetup",
        Some("ByWorkload"),
        "BadParameter",
        "Parameter 'AzureKeyIDs'",
    ),
    (
        "Test-CustomerKeySetup",
        Some("ByPolicy"),
        "DataEncryptionPolicyNotFound",
        "DataEncryptionPolicy: no Exchange or multi-workload data encryption policy",
    ),
    (
        "New-M365DataAtRestEncryptionPolicy",
        None,
        "BadParameter",
        "Parameter 'AzureKeyIDs': needs at least two key ids",
    ),
    (
        "Get-M365DataAtRestEncryptionPolicy",
        None,
        "DataEncryptionPolicyNotFound",
        "Identity: no multi-workload data encryption policy",
    ),
    (
        "Set-M365DataAtRestEncryptionPolicy",
        Some("Refresh"),
        "DataEncryptionPolicyNotFound",
        "Identity: no multi-workload data encryption policy",
    ),
    (
        "Set-M365DataAtRestEncryptionPolicy",
        Some("Settings"),
        "DataEncryptionPolicyNotFound",
        "Identity: no multi-workload data encryption policy",
    ),
    (
        "Set-M365DataAtRestEncryptionPolicy",
        Some("AzureKeyIDs"),
        "DataEncryptionPolicyNotFound",
        "Identity: no multi-workload data encryption policy",
    ),
    (
        "Set-M365DataAtRestEncryptionPolicyAssignment",
        None,
        "DataEncryptionPolicyNotFound",
        "DataEncryptionPolicy: no multi-workload data encryption policy",
    ),
    ("Get-M365DataAtRestEncryptionPolicyAssignment", None, "", ""),
    ("Add-M365DataItem", None, "", ""),
    ("Get-M365DataItem", None, "", ""),
    (
        "Test-M365DataAtRestEncryptionPolicy",
        None,
        "DataEncryptionPolicyNotFound",
        "Identity: no multi-workload data encryption policy",
    ),
];

#[test]
fn every_registered_parameter_reaches_its_operation() {
    // For each operation and each of its parameter sets, a call naming every parameter of the
    // set must get past argument checking to the handler: the table and the typed argument
    // structs agree (a mismatch is an InternalError, a set violation a BadParameter from the
    // table's checks, which `validate` below would already refuse).
    use customer_key::operations::ParamType as T;
    let (_dir, ck) = store_with_vaults("registry", &[("vault-a", "westeurope")]);
    let mut checked = 0;
    for op in customer_key::registry().operations() {
        let mut sets: Vec<Option<&str>> = op.parameter_sets().into_iter().map(Some).collect();
        if sets.is_empty() {
            sets.push(None);
        }
        for set in sets {
            let mut args = serde_json::Map::new();
            for p in &op.params {
                if set.is_some_and(|s| p.in_parameter_set(s).is_none()) {
                    continue;
                }
                let value = match p.ty {
                    T::Switch | T::Bool => json!(false),
                    T::Int => json!(p.range.map_or(1, |r| r.0)),
                    T::StringArray => json!([p.allowed.first().copied().unwrap_or("x")]),
                    T::DateTime => json!("2030-01-01T00:00:00Z"),
                    T::Hashtable => json!({"a": "b"}),
                    T::Bytes => json!("AAEC"),
                    T::Path => json!("/nonexistent/ck-registry-check"),
                    _ => json!(p.allowed.first().copied().unwrap_or("x")),
                };
                args.insert(p.name.to_string(), value);
            }
            let given = Value::Object(args.clone());
            let validated = customer_key::operations::validate(op, &given);
            assert!(validated.is_ok(), "{} {set:?}: {validated:?}", op.name);
            let expected = PLACEHOLDER_OUTCOMES
                .iter()
                .find(|(name, s, _, _)| *name == op.name && *s == set)
                .map(|(_, _, code, message)| (*code, *message))
                .unwrap_or_else(|| {
                    panic!(
                        "{} {set:?}: add its expected outcome to PLACEHOLDER_OUTCOMES",
                        op.name
                    )
                });
            if expected.0.is_empty() {
                ck.ok(op.name, Value::Object(args));
                checked += 1;
                continue;
            }
            let e = ck.err(op.name, Value::Object(args));
            assert_eq!(e.code(), expected.0, "{} {set:?}: {e:?}", op.name);
            assert!(
                e.message().contains(expected.1),
                "{} {set:?}: {e:?}",
                op.name
            );
            checked += 1;
        }
    }
    assert_eq!(
        checked,
        PLACEHOLDER_OUTCOMES.len(),
        "an expected outcome names no operation"
    );
}

#[test]
fn committed_header_matches_cbindgen_output() {
    let generated = include_str!(concat!(env!("OUT_DIR"), "/customer_key.h"));
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/include/customer_key.h"
    ))
    .unwrap();
    assert!(
        generated == committed,
        "include/customer_key.h is out of date: run `CK_BLESS_HEADER=1 cargo build` and commit it"
    );
}
