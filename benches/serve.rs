//! Throughput of `customer-key serve` over HTTPS against the same operations called in-process
//! (the registry call `ck_call` makes), on loopback.
//!
//! For 1, 8 and 64 concurrent keep-alive clients: unwrap (RSA-OAEP-256, 32 bytes), wrap and
//! get-key over HTTPS, each client one TLS connection sending its next request when the answer
//! arrives; then unwrap and get-key through the registry from 1, 8 and 64 threads. Prints
//! requests/s and p50/p99 latency. Nothing asserts on speed. Run: `cargo bench --bench serve`;
//! `CK_BENCH_SECONDS` (default 1.5) sets the time per measurement.

#[path = "../tests/serve_common/mod.rs"]
mod serve_common;

use customer_key::serve::ServeOptions;
use serde_json::json;
use serve_common::{Connection, Endpoint};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn seconds() -> Duration {
    let s: f64 = std::env::var("CK_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.5);
    Duration::from_secs_f64(s.max(0.1))
}

fn report(what: &str, clients: usize, elapsed: Duration, mut latencies: Vec<Duration>) -> f64 {
    latencies.sort();
    let n = latencies.len().max(1);
    let pct = |p: f64| {
        latencies
            .get(((n as f64 * p) as usize).min(n - 1))
            .copied()
            .unwrap_or_default()
    };
    let rate = latencies.len() as f64 / elapsed.as_secs_f64();
    println!(
        "{what:<34} {clients:>3} clients {rate:>10.0} req/s   p50 {:>8.2} ms   p99 {:>8.2} ms",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3
    );
    rate
}

struct Request {
    method: &'static str,
    path: String,
    body: Vec<u8>,
}

fn https(ep: &Endpoint, token: &str, what: &str, clients: usize, request: &Request) -> f64 {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let duration = seconds();
    let auth = format!("Bearer {token}");
    let (elapsed, latencies) = rt.block_on(async {
        let mut connections = Vec::new();
        for _ in 0..clients {
            connections.push(
                Connection::open(Arc::clone(&ep.config), ep.port, "vault-a.localhost")
                    .await
                    .unwrap(),
            );
        }
        let start = Instant::now();
        let mut tasks = Vec::new();
        for mut c in connections {
            let auth = auth.clone();
            let path = request.path.clone();
            let body = request.body.clone();
            let method = request.method;
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                while start.elapsed() < duration {
                    let t = Instant::now();
                    let r = c
                        .send(
                            method,
                            &path,
                            &[
                                ("authorization", &auth),
                                ("content-type", "application/json"),
                            ],
                            body.clone(),
                        )
                        .await;
                    assert_eq!(r.status, 200, "{:?}", r.body);
                    latencies.push(t.elapsed());
                }
                latencies
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        (start.elapsed(), all)
    });
    report(what, clients, elapsed, latencies)
}

fn in_process(
    ep: &Endpoint,
    what: &str,
    clients: usize,
    operation: &str,
    args: &serde_json::Value,
) -> f64 {
    let duration = seconds();
    let start = Instant::now();
    let latencies: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                s.spawn(|| {
                    let mut latencies = Vec::new();
                    while start.elapsed() < duration {
                        let t = Instant::now();
                        customer_key::registry()
                            .call_json(&ep.session, operation, args)
                            .unwrap();
                        latencies.push(t.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    report(what, clients, start.elapsed(), latencies)
}

fn main() {
    let ep = Endpoint::start("bench", &["vault-a"], ServeOptions::default());
    ep.admin(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k1"}),
    );
    ep.admin("Set-KeyVaultAccessPolicy", json!({"VaultName": "vault-a", "UserPrincipalName": serve_common::ADMIN, "PermissionsToKeys": ["all"]}));
    let (app, secret) = ep.principal_with("vault-a", &["all"]);
    let token = ep.token(&app, &secret);
    let wrapped = ep.call(
        "vault-a",
        &token,
        "POST",
        "/keys/k1/wrapkey",
        Some(
            json!({"alg": "RSA-OAEP-256", "value": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}),
        ),
    );
    let wrapped_value = wrapped.body["value"].as_str().unwrap().to_string();
    let unwrap = Request {
        method: "POST",
        path: "/keys/k1/unwrapkey?api-version=7.6".into(),
        body: json!({"alg": "RSA-OAEP-256", "value": wrapped_value})
            .to_string()
            .into_bytes(),
    };
    let wrap = Request {
        method: "POST",
        path: "/keys/k1/wrapkey?api-version=7.6".into(),
        body:
            json!({"alg": "RSA-OAEP-256", "value": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})
                .to_string()
                .into_bytes(),
    };
    let get = Request {
        method: "GET",
        path: "/keys/k1/?api-version=7.6".into(),
        body: Vec::new(),
    };
    let raw_wrapped = {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&wrapped_value)
            .unwrap();
        customer_key::b64::encode(&bytes)
    };
    let unwrap_args = json!({"VaultName": "vault-a", "Name": "k1", "Operation": "Unwrap", "Algorithm": "RSA-OAEP-256", "ByteArrayValue": raw_wrapped});
    let get_args = json!({"VaultName": "vault-a", "Name": "k1"});
    for clients in [1, 8, 64] {
        let over_https = https(&ep, &token, "unwrap over HTTPS", clients, &unwrap);
        let direct = in_process(
            &ep,
            "unwrap in process (ck_call's path)",
            clients,
            "Invoke-KeyVaultKeyOperation",
            &unwrap_args,
        );
        println!(
            "{:<34} {clients:>3} clients {:>10.2} (HTTPS / in process)",
            "unwrap ratio",
            over_https / direct.max(1e-9)
        );
        https(&ep, &token, "wrap over HTTPS", clients, &wrap);
        https(&ep, &token, "get-key over HTTPS", clients, &get);
        in_process(
            &ep,
            "get-key in process",
            clients,
            "Get-KeyVaultKey",
            &get_args,
        );
    }
}
