//! `customer-key serve` over real HTTPS: the challenge, tokens, principals and access
//! policies, and the keys operations in Key Vault's shapes and status codes.

use crate::serve_common;

use crate::serve_common::{Endpoint, ADMIN};
use customer_key::serve::ServeOptions;
use serde_json::{json, Value};

const VAULT: &str = "vault-a";

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn from_b64url(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

fn version_of(kid: &Value) -> String {
    kid.as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn a_request_without_token_gets_the_challenge_naming_this_endpoint() {
    let ep = Endpoint::start("challenge", &[VAULT], ServeOptions::default());
    let r = ep.send(
        "vault-a.localhost",
        "GET",
        "/keys/k1/?api-version=7.6",
        &[],
        vec![],
    );
    assert_eq!(r.status, 401);
    let port = ep.port;
    assert_eq!(
        r.header("www-authenticate"),
        format!("Bearer authorization=\"https://localhost:{port}/customerkey\", resource=\"https://localhost:{port}\"")
    );
    assert_eq!(r.error_code(), "Unauthorized");
    // A forged token gets the same challenge.
    let r = ep.call(VAULT, "forged-token", "GET", "/keys/k1", None);
    assert_eq!(r.status, 401);
    assert!(r
        .header("www-authenticate")
        .starts_with("Bearer authorization="));
}

#[test]
fn every_answer_has_an_x_ms_request_id_of_its_own() {
    let ep = Endpoint::start("request-id", &[VAULT], ServeOptions::default());
    let (app, secret) = ep.principal_with(VAULT, &["get", "create"]);
    let token = ep.token(&app, &secret);
    let answers = [
        // The challenge, a token, a success, a 404, a host that is no vault.
        ep.send(
            "vault-a.localhost",
            "GET",
            "/keys/k1/?api-version=7.6",
            &[],
            vec![],
        ),
        ep.token_response(&app, &secret, "customerkey"),
        ep.call(
            VAULT,
            &token,
            "POST",
            "/keys/k1/create",
            Some(json!({"kty": "RSA"})),
        ),
        ep.call(VAULT, &token, "GET", "/keys/missing", None),
        ep.send("localhost", "GET", "/nothing-here", &[], vec![]),
    ];
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert_eq!(statuses[..4], [401, 200, 200, 404], "{statuses:?}");
    let ids: Vec<&str> = answers
        .iter()
        .map(|r| r.header("x-ms-request-id"))
        .collect();
    for id in &ids {
        let parts: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12], "not a GUID: {id:?} in {ids:?}");
    }
    let distinct: std::collections::HashSet<&&str> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "{ids:?}");
    // Key Vault's answers have no correlation id; Resource Manager's do (remote_management.rs).
    assert_eq!(answers[3].header("x-ms-correlation-request-id"), "");
}

#[test]
fn the_core_key_lifecycle_over_https() {
    let ep = Endpoint::start("lifecycle", &[VAULT], ServeOptions::default());
    let (app, secret) = ep.principal_with(VAULT, &["all"]);
    let token = ep.token(&app, &secret);
    let host_base = format!("https://vault-a.localhost:{}", ep.port);

    let created = ep.call(
        VAULT,
        &token,
        "POST",
        "/keys/k1/create",
        Some(json!({"kty": "RSA", "key_size": 2048, "tags": {"env": "test"}})),
    );
    assert_eq!(created.status, 200, "{:?}", created.body);
    let kid = created.body["key"]["kid"].as_str().unwrap().to_string();
    assert!(kid.starts_with(&format!("{host_base}/keys/k1/")), "{kid}");
    assert_eq!(created.body["key"]["kty"], "RSA");
    assert_eq!(created.body["key"]["e"], "AQAB");
    assert_eq!(
        from_b64url(created.body["key"]["n"].as_str().unwrap()).len(),
        256
    );
    assert_eq!(created.body["tags"]["env"], "test");
    assert_eq!(
        created.body["attributes"]["recoveryLevel"],
        "Recoverable+Purgeable"
    );
    assert!(created.body["attributes"]["created"].as_i64().unwrap() > 1_700_000_000);
    let first_version = version_of(&created.body["key"]["kid"]);

    let second = ep.call(
        VAULT,
        &token,
        "POST",
        "/keys/k1/create",
        Some(json!({"kty": "RSA"})),
    );
    assert_eq!(second.status, 200);
    let second_version = version_of(&second.body["key"]["kid"]);
    assert_ne!(first_version, second_version);

    // The SDK asks for the newest version with a trailing slash.
    let got = ep.call(VAULT, &token, "GET", "/keys/k1/", None);
    assert_eq!(got.status, 200);
    assert_eq!(version_of(&got.body["key"]["kid"]), second_version);
    let got_first = ep.call(
        VAULT,
        &token,
        "GET",
        &format!("/keys/k1/{first_version}"),
        None,
    );
    assert_eq!(got_first.body["key"]["kid"], kid);

    // Versions, one per page, following nextLink.
    let mut path = "/keys/k1/versions?maxresults=1".to_string();
    let mut seen = Vec::new();
    loop {
        let page = ep.call(VAULT, &token, "GET", &path, None);
        assert_eq!(page.status, 200, "{:?}", page.body);
        assert_eq!(page.body["value"].as_array().unwrap().len(), 1);
        seen.push(version_of(&page.body["value"][0]["kid"]));
        match page.body["nextLink"].as_str() {
            Some(next) => {
                let rest = next
                    .strip_prefix(&host_base)
                    .expect("nextLink on this host");
                // call() appends api-version again; the link carries it already.
                path = rest.replace("api-version=7.6&", "");
            }
            None => break,
        }
    }
    seen.sort();
    let mut expected = vec![first_version.clone(), second_version.clone()];
    expected.sort();
    assert_eq!(seen, expected);
    let listed = ep.call(VAULT, &token, "GET", "/keys", None);
    assert_eq!(
        listed.body["value"][0]["kid"],
        format!("{host_base}/keys/k1")
    );

    // Wrap with the newest version, unwrap with the kid the answer names.
    let aes_key = [7u8; 32];
    let wrapped = ep.call(
        VAULT,
        &token,
        "POST",
        "/keys/k1/wrapkey",
        Some(json!({"alg": "RSA-OAEP-256", "value": b64url(&aes_key)})),
    );
    assert_eq!(wrapped.status, 200, "{:?}", wrapped.body);
    assert_eq!(version_of(&wrapped.body["kid"]), second_version);
    let wrapped_value = wrapped.body["value"].as_str().unwrap().to_string();
    assert_eq!(from_b64url(&wrapped_value).len(), 256);
    let unwrapped = ep.call(
        VAULT,
        &token,
        "POST",
        &format!("/keys/k1/{second_version}/unwrapkey"),
        Some(json!({"alg": "RSA-OAEP-256", "value": wrapped_value})),
    );
    assert_eq!(unwrapped.status, 200, "{:?}", unwrapped.body);
    assert_eq!(
        from_b64url(unwrapped.body["value"].as_str().unwrap()),
        aes_key
    );
    // The first version cannot unwrap what the second wrapped.
    let wrong = ep.call(
        VAULT,
        &token,
        "POST",
        &format!("/keys/k1/{first_version}/unwrapkey"),
        Some(json!({"alg": "RSA-OAEP-256", "value": wrapped.body["value"]})),
    );
    assert_ne!(wrong.status, 200);

    let backup = ep.call(VAULT, &token, "POST", "/keys/k1/backup", None);
    assert_eq!(backup.status, 200, "{:?}", backup.body);
    let blob = backup.body["value"].as_str().unwrap().to_string();
    assert!(from_b64url(&blob).starts_with(b"CKBACKUP1\n"));

    let deleted = ep.call(VAULT, &token, "DELETE", "/keys/k1", None);
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    assert_eq!(
        deleted.body["recoveryId"],
        format!("{host_base}/deletedkeys/k1")
    );
    assert!(
        deleted.body["scheduledPurgeDate"].as_i64().unwrap()
            > deleted.body["deletedDate"].as_i64().unwrap()
    );
    let gone = ep.call(VAULT, &token, "GET", "/keys/k1/", None);
    assert_eq!((gone.status, gone.error_code()), (404, "KeyNotFound"));
    let conflict = ep.call(
        VAULT,
        &token,
        "POST",
        "/keys/k1/create",
        Some(json!({"kty": "RSA"})),
    );
    assert_eq!((conflict.status, conflict.error_code()), (409, "Conflict"));
    let deleted_one = ep.call(VAULT, &token, "GET", "/deletedkeys/k1", None);
    assert_eq!(deleted_one.status, 200);
    let deleted_list = ep.call(VAULT, &token, "GET", "/deletedkeys", None);
    assert_eq!(
        deleted_list.body["value"][0]["recoveryId"],
        format!("{host_base}/deletedkeys/k1")
    );

    let recovered = ep.call(VAULT, &token, "POST", "/deletedkeys/k1/recover", None);
    assert_eq!(recovered.status, 200, "{:?}", recovered.body);
    assert_eq!(version_of(&recovered.body["key"]["kid"]), second_version);

    assert_eq!(
        ep.call(VAULT, &token, "DELETE", "/keys/k1", None).status,
        200
    );
    let purged = ep.call(VAULT, &token, "DELETE", "/deletedkeys/k1", None);
    assert_eq!(purged.status, 204, "{:?}", purged.body);
    assert_eq!(
        ep.call(VAULT, &token, "GET", "/deletedkeys/k1", None)
            .status,
        404
    );

    // Restore brings every version back with its id, and it still unwraps the old value.
    let restored = ep.call(
        VAULT,
        &token,
        "POST",
        "/keys/restore",
        Some(json!({"value": blob})),
    );
    assert_eq!(restored.status, 200, "{:?}", restored.body);
    assert_eq!(version_of(&restored.body["key"]["kid"]), second_version);
    let again = ep.call(
        VAULT,
        &token,
        "POST",
        "/keys/k1/unwrapkey",
        Some(json!({"alg": "RSA-OAEP-256", "value": wrapped_value})),
    );
    assert_eq!(from_b64url(again.body["value"].as_str().unwrap()), aes_key);
    let restore_again = ep.call(
        VAULT,
        &token,
        "POST",
        "/keys/restore",
        Some(json!({"value": blob})),
    );
    assert_eq!(restore_again.status, 409, "{:?}", restore_again.body);

    let rotated = ep.call(VAULT, &token, "POST", "/keys/k1/rotate", None);
    assert_eq!(rotated.status, 200, "{:?}", rotated.body);
    assert_ne!(version_of(&rotated.body["key"]["kid"]), second_version);

    let updated = ep.call(
        VAULT,
        &token,
        "PATCH",
        "/keys/k1/",
        Some(json!({"attributes": {"enabled": false}, "tags": {"a": "b"}})),
    );
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["attributes"]["enabled"], false);
    assert_eq!(updated.body["tags"]["a"], "b");
    let disabled = ep.call(
        VAULT,
        &token,
        "POST",
        "/keys/k1/wrapkey",
        Some(json!({"alg": "RSA-OAEP-256", "value": b64url(&aes_key)})),
    );
    assert_eq!(
        (disabled.status, disabled.inner_code()),
        (403, "KeyDisabled")
    );
}

#[test]
fn access_policies_apply_to_the_token_principal_and_the_audit_names_it() {
    let ep = Endpoint::start("policies", &[VAULT], ServeOptions::default());
    ep.admin("Add-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    let (app, secret) = ep.principal_with(VAULT, &["get"]);
    let token = ep.token(&app, &secret);
    assert_eq!(ep.call(VAULT, &token, "GET", "/keys/k1", None).status, 200);
    let refused = ep.call(
        VAULT,
        &token,
        "POST",
        "/keys/k1/wrapkey",
        Some(json!({"alg": "RSA-OAEP-256", "value": b64url(&[1; 32])})),
    );
    assert_eq!(refused.status, 403);
    assert_eq!(
        (refused.error_code(), refused.inner_code()),
        ("Forbidden", "AccessDenied")
    );
    assert!(
        refused.message().contains("keys/wrapKey"),
        "{}",
        refused.message()
    );
    // A principal with no policy on the vault is refused too.
    let sp = ep.admin("New-ServicePrincipal", json!({"DisplayName": "stranger"}));
    let stranger = ep.token(
        sp["ApplicationId"].as_str().unwrap(),
        sp["ClientSecret"].as_str().unwrap(),
    );
    assert_eq!(
        ep.call(VAULT, &stranger, "GET", "/keys/k1", None).status,
        403
    );

    ep.session.store().flush_audit();
    let audit = ep.session.store().audit_log().unwrap();
    assert!(audit.iter().any(|(_, who, op, _, result)| who == &app
        && op == "Get-KeyVaultKey"
        && result == "Succeeded"));
    assert!(audit.iter().any(|(_, who, op, _, result)| who == &app
        && op == "Invoke-KeyVaultKeyOperation"
        && result.starts_with("Failed")));
    let _ = ADMIN;
}

#[test]
fn tokens_stop_working_when_expired_or_the_principal_is_removed() {
    let ep = Endpoint::start("tokens", &[VAULT], ServeOptions::default());
    ep.admin("Add-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    let (app, secret) = ep.principal_with(VAULT, &["get"]);
    let wrong = ep.token_response(&app, "not-the-secret", "customerkey");
    assert_eq!(
        (wrong.status, wrong.body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let other_tenant = ep.token_response(&app, &secret, "fabrikam");
    assert_eq!(other_tenant.status, 400);
    assert_eq!(other_tenant.body["error"], "invalid_request");
    let token = ep.token(&app, &secret);
    assert_eq!(ep.call(VAULT, &token, "GET", "/keys/k1", None).status, 200);
    ep.admin("Remove-ServicePrincipal", json!({"ApplicationId": app}));
    let revoked = ep.call(VAULT, &token, "GET", "/keys/k1", None);
    assert_eq!(revoked.status, 401);
    assert!(
        revoked.message().contains("removed"),
        "{}",
        revoked.message()
    );
    assert_eq!(ep.token_response(&app, &secret, "customerkey").status, 401);

    let short = Endpoint::start(
        "expired",
        &[VAULT],
        ServeOptions {
            token_lifetime_seconds: 0,
            ..ServeOptions::default()
        },
    );
    short.admin("Add-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    let (app, secret) = short.principal_with(VAULT, &["get"]);
    let expired = short.token(&app, &secret);
    let r = short.call(VAULT, &expired, "GET", "/keys/k1", None);
    assert_eq!(r.status, 401);
    assert!(r.message().contains("expired"), "{}", r.message());
    // A token of one endpoint means nothing to another.
    assert_eq!(
        ep.call(VAULT, &expired, "GET", "/keys/k1", None).status,
        401
    );
}

#[test]
fn client_secrets_are_never_stored_audited_or_listed() {
    let ep = Endpoint::start("secrets", &[VAULT], ServeOptions::default());
    let sp = ep.admin("New-ServicePrincipal", json!({"DisplayName": "automation"}));
    let secret = sp["ClientSecret"].as_str().unwrap().to_string();
    assert!(secret.len() >= 40);
    let listed = ep.admin("Get-ServicePrincipal", json!({}));
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(!listed.to_string().contains(&secret));
    assert_eq!(listed[0]["ApplicationId"], sp["ApplicationId"]);
    ep.session.store().flush_audit();
    let audit = ep.session.store().audit_log().unwrap();
    assert!(audit
        .iter()
        .any(|(_, _, op, _, _)| op == "New-ServicePrincipal"));
    assert!(!format!("{audit:?}").contains(&secret));
    let db = std::fs::read(ep.dir.0.join("store/store.db")).unwrap();
    let wal = std::fs::read(ep.dir.0.join("store/store.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the secret is in the store"
        );
    }
    let bad = customer_key::registry()
        .call(&ep.session, "New-ServicePrincipal", &json!({"DisplayName": "x", "StartDate": "2030-01-01T00:00:00Z", "EndDate": "2029-01-01T00:00:00Z"}))
        .unwrap_err();
    assert!(bad.message.contains("Parameter 'EndDate'"), "{bad}");
    let missing = customer_key::registry()
        .call(
            &ep.session,
            "Remove-ServicePrincipal",
            &json!({"ApplicationId": "not-a-guid"}),
        )
        .unwrap_err();
    assert!(
        missing.message.contains("Parameter 'ApplicationId'"),
        "{missing}"
    );
}

#[test]
fn bad_requests_get_key_vault_errors_and_the_server_keeps_serving() {
    let ep = Endpoint::start("robust", &[VAULT], ServeOptions::default());
    ep.admin("Add-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    let (app, secret) = ep.principal_with(VAULT, &["all"]);
    let token = ep.token(&app, &secret);
    let auth = format!("Bearer {token}");
    let host = "vault-a.localhost";
    let json_headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];

    let old_version = ep.send(
        host,
        "GET",
        "/keys/k1?api-version=7.9",
        &[("authorization", &auth)],
        vec![],
    );
    assert_eq!(
        (old_version.status, old_version.error_code()),
        (400, "BadParameter")
    );
    assert!(old_version.message().contains("7.9"));
    for accepted in customer_key::serve::API_VERSIONS {
        let r = ep.send(
            host,
            "GET",
            &format!("/keys/k1?api-version={accepted}"),
            &[("authorization", &auth)],
            vec![],
        );
        assert_eq!(r.status, 200, "{accepted}");
    }
    let huge = ep.raw(host, format!("POST /keys/k1/wrapkey?api-version=7.6 HTTP/1.1\r\nHost: {host}:{}\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{{", ep.port, 2 * 1024 * 1024).as_bytes());
    assert!(huge.starts_with("HTTP/1.1 413"), "{huge}");
    assert!(huge.contains("RequestTooLarge"), "{huge}");
    // Chunked, with no declared length: refused once past the limit.
    let mut chunked = format!("POST /keys/k1/wrapkey?api-version=7.6 HTTP/1.1\r\nHost: {host}:{}\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", ep.port).into_bytes();
    for _ in 0..20 {
        chunked.extend_from_slice(format!("{:x}\r\n", 64 * 1024).as_bytes());
        chunked.extend(std::iter::repeat_n(b' ', 64 * 1024));
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let huge_chunked = ep.raw(host, &chunked);
    assert!(
        huge_chunked.starts_with("HTTP/1.1 413"),
        "{}",
        &huge_chunked[..huge_chunked.len().min(200)]
    );
    let malformed = ep.send(
        host,
        "POST",
        "/keys/k1/wrapkey?api-version=7.6",
        &json_headers,
        b"{\"alg\": ".to_vec(),
    );
    assert_eq!(
        (malformed.status, malformed.error_code()),
        (400, "BadParameter")
    );
    let wrong_type = ep.send(
        host,
        "POST",
        "/keys/k1/wrapkey?api-version=7.6",
        &[
            ("authorization", auth.as_str()),
            ("content-type", "text/plain"),
        ],
        b"{}".to_vec(),
    );
    assert_eq!(wrong_type.status, 400);
    assert!(wrong_type.message().contains("Content-Type"));
    let wrong_shape = ep.call(
        VAULT,
        &token,
        "POST",
        "/keys/k1/wrapkey",
        Some(json!({"alg": 5})),
    );
    assert_eq!(wrong_shape.status, 400);
    let bad_alg = ep.call(
        VAULT,
        &token,
        "POST",
        "/keys/k1/wrapkey",
        Some(json!({"alg": "ROT13", "value": "AAAA"})),
    );
    assert_eq!(
        (bad_alg.status, bad_alg.error_code()),
        (400, "BadParameter")
    );
    let absurd_page = ep.call(
        VAULT,
        &token,
        "GET",
        "/keys?maxresults=100000000000000000000",
        None,
    );
    assert_eq!(absurd_page.status, 400);
    let absurd_size = ep.call(
        VAULT,
        &token,
        "POST",
        "/keys/k2/create",
        Some(json!({"kty": "RSA", "key_size": 1_000_000})),
    );
    assert_eq!(absurd_size.status, 400);
    let ec = ep.call(
        VAULT,
        &token,
        "POST",
        "/keys/k2/create",
        Some(json!({"kty": "EC"})),
    );
    assert_eq!(ec.status, 400);
    let bad_date = ep.call(
        VAULT,
        &token,
        "POST",
        "/keys/k2/create",
        Some(json!({"kty": "RSA", "attributes": {"exp": -5}})),
    );
    assert_eq!(bad_date.status, 400);
    // No certificate names a vault that does not exist: as a missing DNS name would in Azure.
    let unknown_vault = ep.rt.block_on(serve_common::Connection::open(
        std::sync::Arc::clone(&ep.config),
        ep.port,
        "no-such-vault.localhost",
    ));
    assert!(unknown_vault.is_err());
    // A client that stalls mid-body does not stop the others.
    let stalled = ep.stalled(host);
    assert_eq!(ep.call(VAULT, &token, "GET", "/keys/k1", None).status, 200);
    drop(stalled);
}

#[test]
fn a_vault_created_while_serving_gets_a_certificate_naming_it() {
    let ep = Endpoint::start("reissue", &[VAULT], ServeOptions::default());
    ep.admin(
        "New-KeyVault",
        json!({"VaultName": "vault-new", "Location": "westeurope"}),
    );
    let (app, secret) = ep.principal_with("vault-new", &["all"]);
    let token = ep.token(&app, &secret);
    // The TLS handshake would fail with the first certificate, which does not name the host.
    let r = ep.call(
        "vault-new",
        &token,
        "POST",
        "/keys/k1/create",
        Some(json!({"kty": "RSA"})),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(ep.call(VAULT, &token, "GET", "/keys", None).status, 403);
}

#[test]
fn throttling_answers_429_with_retry_after_once_a_vault_exceeds_its_limit() {
    let ep = Endpoint::start(
        "throttle",
        &[VAULT, "vault-b"],
        ServeOptions {
            throttle: Some(3),
            ..ServeOptions::default()
        },
    );
    ep.admin("Add-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    let (app, secret) = ep.principal_with(VAULT, &["get"]);
    let token = ep.token(&app, &secret);
    for _ in 0..3 {
        assert_eq!(ep.call(VAULT, &token, "GET", "/keys/k1", None).status, 200);
    }
    let throttled = ep.call(VAULT, &token, "GET", "/keys/k1", None);
    assert_eq!(throttled.status, 429);
    let wait: u64 = throttled.header("retry-after").parse().unwrap();
    assert!((1..=10).contains(&wait));
    // Another vault has its own budget.
    assert_eq!(
        ep.call("vault-b", &token, "GET", "/keys/k1", None).status,
        403
    );
}

#[test]
fn sign_and_verify_over_https_with_the_permissions_they_need() {
    let ep = Endpoint::start("sign", &[VAULT], ServeOptions::default());
    let (app, secret) = ep.principal_with(VAULT, &["create", "sign", "verify"]);
    let token = ep.token(&app, &secret);
    assert_eq!(
        ep.call(
            VAULT,
            &token,
            "POST",
            "/keys/k1/create",
            Some(json!({"kty": "RSA"}))
        )
        .status,
        200
    );
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"payload");
    for alg in ["RS256", "PS256"] {
        let signed = ep.call(
            VAULT,
            &token,
            "POST",
            "/keys/k1/sign",
            Some(json!({"alg": alg, "value": b64url(digest.as_ref())})),
        );
        assert_eq!(signed.status, 200, "{:?}", signed.body);
        let signature = signed.body["value"].as_str().unwrap().to_string();
        assert_eq!(from_b64url(&signature).len(), 256);
        let verified = ep.call(
            VAULT,
            &token,
            "POST",
            "/keys/k1/verify",
            Some(json!({"alg": alg, "digest": b64url(digest.as_ref()), "value": signature})),
        );
        assert_eq!(verified.body, json!({"value": true}), "{alg}");
        let other = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"other");
        let refused = ep.call(
            VAULT,
            &token,
            "POST",
            "/keys/k1/verify",
            Some(json!({"alg": alg, "digest": b64url(other.as_ref()), "value": signature})),
        );
        assert_eq!(refused.body, json!({"value": false}), "{alg}");
    }
    let short = ep.call(
        VAULT,
        &token,
        "POST",
        "/keys/k1/sign",
        Some(json!({"alg": "RS512", "value": b64url(digest.as_ref())})),
    );
    assert_eq!(short.status, 400);
    assert!(
        short.message().contains("64-byte digest"),
        "{}",
        short.message()
    );
    let (reader, reader_secret) = ep.principal_with(VAULT, &["get"]);
    let reader_token = ep.token(&reader, &reader_secret);
    let forbidden = ep.call(
        VAULT,
        &reader_token,
        "POST",
        "/keys/k1/sign",
        Some(json!({"alg": "RS256", "value": b64url(digest.as_ref())})),
    );
    assert_eq!(forbidden.status, 403);
    assert!(forbidden.message().contains("keys/sign"));
}

#[test]
fn a_client_that_stalls_in_its_headers_is_cut_off_and_the_others_are_served() {
    use std::time::Duration;
    use tokio::io::AsyncReadExt;
    let options = ServeOptions {
        header_timeout: Duration::from_millis(200),
        ..ServeOptions::default()
    };
    let ep = Endpoint::start("stall", &[VAULT], options);
    ep.admin("Add-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k1"}));
    let (app, secret) = ep.principal_with(VAULT, &["get"]);
    let token = ep.token(&app, &secret);
    let mut stalled = ep.stalled("vault-a.localhost");
    assert_eq!(ep.call(VAULT, &token, "GET", "/keys/k1", None).status, 200);
    // The server ends the stalled connection itself: reading it reaches its end (the bound
    // only keeps a regression from hanging the suite).
    let closed = ep.rt.block_on(async {
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(60), stalled.read_to_end(&mut rest)).await
    });
    assert!(closed.is_ok(), "the stalled connection was not closed");
    assert_eq!(ep.call(VAULT, &token, "GET", "/keys/k1", None).status, 200);
}

/// Every api-version Key Vault's keys API accepts, each with that version's bodies: the
/// attributes 7.1 (recoverableDays) and 7.3 (exportable) added are absent before, and rotate
/// (7.3) is refused before it exists; unknown versions keep the refusal they had.
#[test]
fn every_api_version_key_vault_accepts_answers_with_that_versions_body_shapes() {
    const VERSIONS: [&str; 9] = [
        "2016-10-01",
        "7.0",
        "7.1",
        "7.2",
        "7.3",
        "7.4",
        "7.5",
        "7.6",
        "2025-07-01",
    ];
    assert_eq!(customer_key::serve::API_VERSIONS, VERSIONS);
    let ep = Endpoint::start("versions", &[VAULT], ServeOptions::default());
    let (app, secret) = ep.principal_with(VAULT, &["all"]);
    let token = ep.token(&app, &secret);
    // Fields of `attributes` only some versions have: (name, first version).
    let later_fields = [("recoverableDays", "7.1"), ("exportable", "7.3")];
    let index = |v: &str| VERSIONS.iter().position(|x| *x == v).unwrap();
    let check_attributes = |version: &str, what: &str, attributes: &Value| {
        assert!(
            attributes["recoveryLevel"].is_string(),
            "{version} {what}: {attributes}"
        );
        assert!(
            attributes["enabled"].is_boolean(),
            "{version} {what}: {attributes}"
        );
        assert!(
            attributes["created"].is_i64(),
            "{version} {what}: {attributes}"
        );
        for (field, since) in later_fields {
            let expected = index(version) >= index(since);
            assert_eq!(
                attributes.get(field).is_some(),
                expected,
                "{version} {what}: {field} (since {since}) in {attributes}"
            );
        }
        for never in ["hsmPlatform", "attestation"] {
            assert!(
                attributes.get(never).is_none(),
                "{version} {what}: {attributes}"
            );
        }
    };
    for (i, version) in VERSIONS.iter().enumerate() {
        let name = format!("k{i}");
        let call = |method: &str, path: &str, body: Option<Value>| {
            let r = ep.call_at(version, VAULT, &token, method, path, body);
            assert_eq!(r.status, 200, "{version} {method} {path}: {:?}", r.body);
            r
        };
        let created = call(
            "POST",
            &format!("/keys/{name}/create"),
            Some(json!({"kty": "RSA", "key_size": 2048})),
        );
        check_attributes(version, "create", &created.body["attributes"]);
        assert!(created.body.get("release_policy").is_none(), "{version}");
        let kid = created.body["key"]["kid"].as_str().unwrap().to_string();

        let got = call("GET", &format!("/keys/{name}"), None);
        assert_eq!(got.body["key"]["kid"], kid.as_str(), "{version}");
        assert_eq!(got.body["key"]["e"], "AQAB", "{version}");
        check_attributes(version, "get", &got.body["attributes"]);
        // A get's KeyBundle (written from the engine's struct) is the create's (built as JSON).
        assert_eq!(got.body, created.body, "{version}");

        let value = b64url(b"thirty-two bytes of key material");
        let wrapped = call(
            "POST",
            &format!("/keys/{name}/wrapkey"),
            Some(json!({"alg": "RSA-OAEP", "value": value})),
        );
        assert_eq!(wrapped.body["kid"], kid.as_str(), "{version}");
        let unwrapped = call(
            "POST",
            &format!(
                "/keys/{name}/{}/unwrapkey",
                version_of(&wrapped.body["kid"])
            ),
            Some(json!({"alg": "RSA-OAEP", "value": wrapped.body["value"]})),
        );
        assert_eq!(unwrapped.body["value"], value.as_str(), "{version}");

        let listed = call("GET", "/keys", None);
        let item = listed.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| {
                k["kid"]
                    .as_str()
                    .is_some_and(|k| k.ends_with(&format!("/keys/{name}")))
            })
            .unwrap_or_else(|| panic!("{version}: {name} listed in {:?}", listed.body))
            .clone();
        check_attributes(version, "list", &item["attributes"]);
        let versions = call("GET", &format!("/keys/{name}/versions"), None);
        check_attributes(
            version,
            "versions",
            &versions.body["value"][0]["attributes"],
        );

        let rotated = ep.call_at(
            version,
            VAULT,
            &token,
            "POST",
            &format!("/keys/{name}/rotate"),
            None,
        );
        if index(version) >= index("7.3") {
            assert_eq!(rotated.status, 200, "{version}: {:?}", rotated.body);
            check_attributes(version, "rotate", &rotated.body["attributes"]);
        } else {
            assert_eq!(
                (rotated.status, rotated.error_code()),
                (400, "BadParameter"),
                "{version}"
            );
            assert!(rotated.message().contains(version), "{}", rotated.message());
            assert!(rotated.message().contains("7.3"), "{}", rotated.message());
        }

        let deleted = call("DELETE", &format!("/keys/{name}"), None);
        check_attributes(version, "delete", &deleted.body["attributes"]);
        assert!(deleted.body["recoveryId"].is_string(), "{version}");
        let deleted_list = call("GET", "/deletedkeys", None);
        check_attributes(
            version,
            "deleted list",
            &deleted_list.body["value"][0]["attributes"],
        );
        let gone = call("GET", &format!("/deletedkeys/{name}"), None);
        check_attributes(version, "get deleted", &gone.body["attributes"]);
        let purged = ep.call_at(
            version,
            VAULT,
            &token,
            "DELETE",
            &format!("/deletedkeys/{name}"),
            None,
        );
        assert_eq!(purged.status, 204, "{version}: {:?}", purged.body);
    }

    // The 7.6 body has what 2016-10-01's has not.
    let newest = ep.call_at(
        "7.6",
        VAULT,
        &token,
        "POST",
        "/keys/shape/create",
        Some(json!({"kty": "RSA"})),
    );
    let oldest = ep.call_at("2016-10-01", VAULT, &token, "GET", "/keys/shape", None);
    assert_eq!(newest.body["attributes"]["recoverableDays"], 90);
    assert_eq!(newest.body["attributes"]["exportable"], false);
    assert!(oldest.body["attributes"].get("recoverableDays").is_none());
    assert!(oldest.body["attributes"].get("exportable").is_none());
    assert_eq!(oldest.body["key"], newest.body["key"]);

    // Unknown versions: the refusal they always had.
    for unknown in ["7.7", "2015-06-01", "2016-10-02", "7", ""] {
        let r = ep.call_at(unknown, VAULT, &token, "GET", "/keys/shape", None);
        assert_eq!(
            (r.status, r.error_code()),
            (400, "BadParameter"),
            "{unknown}"
        );
        assert_eq!(
            r.message(),
            format!("The specified version ({unknown}) is not recognized. Consider using the latest supported version (2025-07-01)."),
        );
    }
}
