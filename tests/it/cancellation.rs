//! Calls that end: `ck_cancel` from another thread stops a call waiting on a vault that never
//! answers, `CallTimeoutSeconds` bounds a call, and `ck_close` with a refresh of 5,000 mailboxes
//! waiting on its vaults returns at once, the job resuming from its cursor on the next open.
#![deny(clippy::undocumented_unsafe_blocks)]

use crate::common::{Ck, TempDir, ADMIN};
use crate::serve_common::Endpoint;
use customer_key::ffi::ck_cancel;
use customer_key::jobs::{self, JobRecord, JobState};
use customer_key::serve::ServeOptions;
use customer_key::{CkStatus, Session, SessionOptions};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A vault host that takes connections and never says a word: each request waits for its
/// timeouts (10 s to connect, 60 s to answer, and the retries) unless something ends it.
fn stalled_endpoint() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

fn stalled_options(dir: &TempDir, port: u16) -> Value {
    json!({
        "Store": dir.join("store"),
        "UserPrincipalName": ADMIN,
        "Environment": "AzureCloud",
        "VaultDomain": format!("localhost:{port}"),
        "AccessToken": "token-for-the-stalled-vault",
    })
}

#[test]
fn ck_cancel_from_another_thread_ends_a_call_waiting_on_a_stalled_vault_within_a_second() {
    let dir = TempDir::new("cancel-stalled");
    let ck = Ck::open(stalled_options(&dir, stalled_endpoint())).unwrap();
    let cancelled_at = Mutex::new(None);
    let (answer, returned_at) = std::thread::scope(|s| {
        let call = s.spawn(|| {
            let answer = ck.call(
                "Get-KeyVaultKey",
                json!({"VaultName": "stalled-vault", "Name": "k1"}),
            );
            (answer, Instant::now())
        });
        // Long enough for the request to be on its way to the vault.
        std::thread::sleep(Duration::from_millis(300));
        assert!(!call.is_finished(), "the stalled vault answered");
        *cancelled_at.lock().unwrap() = Some(Instant::now());
        // SAFETY: the session is live (owned by `ck`, closed only when it drops after this
        // scope) and ck_cancel only reads it, as ck_call on the other thread does.
        let status = unsafe { ck_cancel(ck.raw()) };
        assert_eq!(status, 0);
        call.join().unwrap()
    });
    let took = returned_at - cancelled_at.lock().unwrap().unwrap();
    assert!(
        took < Duration::from_secs(1),
        "returned {took:?} after ck_cancel"
    );
    let e = answer.expect_err("a cancelled call fails");
    assert_eq!(e.status, CkStatus::Cancelled as i32, "{e:?}");
    assert_eq!(
        (e.code(), e.category()),
        ("OperationCancelled", "OperationStopped")
    );
    assert!(e.message().contains("cancelled"), "{e:?}");

    // Only the calls in flight: the next one runs (a read of the store, no vault involved).
    assert_eq!(ck.ok("Get-Mailbox", json!({})), json!([]));
    // SAFETY: NULL is what is tested: refused with a status, never dereferenced.
    let status = unsafe { ck_cancel(std::ptr::null()) };
    assert_eq!(status, CkStatus::InvalidArgument as i32);

    // The cancelled call has its audit row, as any failed call does (flushed by the close).
    drop(ck);
    let store = Session::open(
        SessionOptions {
            store: Some(dir.join("store")),
            ..Default::default()
        },
        Vec::new(),
        customer_key::vault::open_azure,
    )
    .unwrap();
    let audit = format!("{:?}", store.store().audit_log().unwrap());
    assert!(audit.contains("Failed: OperationCancelled"), "{audit}");
}

#[test]
fn a_call_past_call_timeout_seconds_fails_with_operation_timed_out() {
    let dir = TempDir::new("cancel-deadline");
    let mut options = stalled_options(&dir, stalled_endpoint());
    options["CallTimeoutSeconds"] = json!(1);
    // Far longer than the deadline: only the deadline can end the call in time.
    options["RequestTimeoutMilliseconds"] = json!(600_000);
    let ck = Ck::open(options.clone()).unwrap();
    let start = Instant::now();
    let e = ck.err(
        "Get-KeyVaultKey",
        json!({"VaultName": "stalled-vault", "Name": "k1"}),
    );
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(e.status, CkStatus::TimedOut as i32, "{e:?}");
    assert_eq!(
        (e.code(), e.category()),
        ("OperationTimedOut", "OperationTimeout")
    );
    assert!(e.message().contains("CallTimeoutSeconds"), "{e:?}");
    drop(ck);

    for bad in [json!(0), json!(86_401), json!("soon")] {
        options["CallTimeoutSeconds"] = bad.clone();
        let e = match Ck::open(options.clone()) {
            Ok(_) => panic!("CallTimeoutSeconds {bad} was taken"),
            Err(e) => e,
        };
        assert_eq!(e.category(), "InvalidArgument", "{bad}: {e:?}");
    }
    // Every call has a deadline, local ones too.
    let local = TempDir::new("cancel-deadline-local");
    Ck::open(json!({"Store": local.join("store"), "CallTimeoutSeconds": 30})).unwrap();
}

/// A TCP relay on 127.0.0.1 to the endpoint at the same port on 127.0.0.2 (the endpoint's key
/// ids name its own port, which must be the one the session reaches), that can be made to hold
/// every byte (both ways, on connections old and new) until released: the vaults as they are
/// when they stop answering.
struct Relay {
    port: u16,
    held: Arc<AtomicBool>,
}

impl Relay {
    fn start() -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let held = Arc::new(AtomicBool::new(false));
        let holding = Arc::clone(&held);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(Relay::upstream(port)) else {
                    continue;
                };
                for (from, to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let holding = Arc::clone(&holding);
                    std::thread::spawn(move || pump(from, to, &holding));
                }
            }
        });
        Relay { port, held }
    }

    fn upstream(port: u16) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 2], port))
    }

    fn hold(&self, on: bool) {
        self.held.store(on, Ordering::SeqCst);
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, held: &AtomicBool) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        while held.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

const MAILBOXES: usize = 5000;

fn refresh_job(store: &customer_key::store::Store) -> JobRecord {
    jobs::list(store, Some(customer_key::exchange::APPLY_POLICY_KIND), None)
        .unwrap()
        .pop()
        .expect("the refresh enqueued its job")
}

#[test]
fn closing_with_a_5000_mailbox_refresh_waiting_on_its_vaults_returns_within_2_s_and_the_job_resumes(
) {
    let relay = Relay::start();
    let ep = Endpoint::start(
        "cancel-close",
        &[],
        ServeOptions {
            listen: Relay::upstream(relay.port),
            ..ServeOptions::default()
        },
    );
    assert_eq!(ep.port, relay.port);
    let vaults = ["contoso-close-a", "contoso-close-b"];
    // The endpoint listens behind the relay, on the relay's port (asserted above).
    let ids = ep.key_pair_for_policy(vaults);
    let permissions = ["get", "wrapKey", "unwrapKey", "update"];
    let (app, secret) = ep.principal_with(vaults[0], &permissions);
    ep.admin(
        "Set-KeyVaultAccessPolicy",
        json!({"VaultName": vaults[1], "ServicePrincipalName": app, "PermissionsToKeys": permissions}),
    );
    let token = ep.token(&app, &secret);
    let dir = TempDir::new("cancel-close-admin");
    let ca_file = ep.server.as_ref().unwrap().info().ca_file.clone();
    let options = json!({
        "Store": dir.join("store"),
        "UserPrincipalName": ADMIN,
        "Environment": "AzureCloud",
        "VaultDomain": format!("localhost:{}", relay.port),
        "CaFile": ca_file,
        "AccessToken": token,
        "RetryDelayMilliseconds": 20,
    });

    // The policy, its mailboxes and the refresh, in a session that runs no job: the job waits.
    {
        let setup: SessionOptions = serde_json::from_value(options.clone()).unwrap();
        let setup = Session::open(setup, Vec::new(), customer_key::vault::open_azure).unwrap();
        let registry = customer_key::registry();
        registry
            .call(
                &setup,
                "New-DataEncryptionPolicy",
                &json!({"Name": "DEP", "AzureKeyIDs": ids}),
            )
            .unwrap();
        customer_key::exchange::bulk::create_mailboxes(&setup, "close", MAILBOXES, Some("DEP"))
            .unwrap();
        registry
            .call(
                &setup,
                "Set-DataEncryptionPolicy",
                &json!({"Identity": "DEP", "Refresh": true}),
            )
            .unwrap();
    }
    // Watches the job without working on it (no job kinds, no vaults).
    let watch = Session::open(
        SessionOptions {
            store: Some(dir.join("store")),
            user_principal_name: Some(ADMIN.into()),
            ..Default::default()
        },
        Vec::new(),
        customer_key::vault::open_azure,
    )
    .unwrap();
    assert_eq!(refresh_job(watch.store()).state, JobState::Queued);

    // The vaults stop answering; a session opens and its runner's first batch waits on them.
    relay.hold(true);
    let ck = Ck::open(options.clone()).unwrap();
    let claimed = Instant::now();
    while refresh_job(watch.store()).state != JobState::Running {
        assert!(claimed.elapsed() < Duration::from_secs(30), "never claimed");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Well into the batch's request to the held vault.
    std::thread::sleep(Duration::from_millis(500));
    let job = refresh_job(watch.store());
    assert_eq!(job.done, 0, "a batch got through the held vaults");

    let closing = Instant::now();
    drop(ck);
    let took = closing.elapsed();
    assert!(took < Duration::from_secs(2), "ck_close took {took:?}");
    // Cut short by the close, the batch is no failure of the job.
    let job = refresh_job(watch.store());
    assert_eq!((job.done, job.attempts), (0, 0), "{job:?}");
    assert!(job.last_error.is_none(), "{job:?}");
    assert!(
        matches!(job.state, JobState::Running | JobState::Queued),
        "{job:?}"
    );

    // The vaults answer again: the next session takes the job up (the lease was released, or
    // this process's own lease would hold it for a minute) and finishes it.
    relay.hold(false);
    let ck = Ck::open(options).unwrap();
    let reopened = Instant::now();
    let job = loop {
        let job = refresh_job(watch.store());
        if job.state == JobState::Completed {
            break job;
        }
        assert!(
            !matches!(job.state, JobState::Failed | JobState::Cancelled),
            "{job:?}"
        );
        assert!(
            reopened.elapsed() < Duration::from_secs(45),
            "the job did not finish after reopening: {job:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!((job.done, job.total), (MAILBOXES as u64, MAILBOXES as u64));
    let policy = ck.ok("Get-DataEncryptionPolicy", json!({"Identity": "DEP"}));
    assert_eq!(policy[0]["RewrapState"], "Done", "{policy}");
    assert_eq!(policy[0]["MailboxesDone"], MAILBOXES, "{policy}");
}
