//! Throughput of `customer-key serve` over HTTPS against the same operations called in-process
//! (the registry call `ck_call` makes), on loopback.
//!
//! For 1, 8 and 64 concurrent keep-alive clients: unwrap (RSA-OAEP-256, 32 bytes), wrap and
//! get-key over HTTPS, each client one TLS connection sending its next request when the answer
//! arrives; then unwrap and get-key through the registry from 1, 8 and 64 threads. Prints
//! requests/s, p50/p99 latency and, over HTTPS, the process's CPU time per request (client and
//! server share the machine) and the share of the machine's CPU its virtual machine host stole
//! meanwhile (`host steal`: at 20% or more, the rates say more about the host than about this
//! code). Nothing asserts on speed.
//!
//! A shared 2-core machine moves one measurement by 20% or more from run to run, so each is
//! taken `CK_BENCH_ROUNDS` times (default 3), the HTTPS and in-process unwrap in alternation,
//! and the round with the median rate is printed; the unwrap ratio is of the two medians.
//!
//! Run: `cargo bench --bench serve`. `CK_BENCH_SECONDS` (default 1.5) sets the time per
//! measurement; for profiling, `CK_BENCH_ONLY` runs only the measurements whose label starts
//! with it (`CK_BENCH_ONLY="get-key over"`), `CK_BENCH_CLIENTS=8` (a comma-separated list)
//! picks the client counts, and `CK_BENCH_CLIENT_THREADS` the client runtime's threads (default
//! 2; 0 is a current-thread runtime).

#[path = "../tests/serve_common/mod.rs"]
mod serve_common;

use customer_key::serve::ServeOptions;
use serde_json::json;
use serve_common::Endpoint;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::pki_types::ServerName;

/// A keep-alive HTTP/1.1 client as lean as a load generator (wrk, h2load): each request's
/// bytes are made once and written at once, and the answer is read up to its Content-Length,
/// all in the client's own task. (hyper's client connection runs as a second task, woken on
/// every request, and that CPU would be taken from the server on these shared cores.)
struct RawConnection {
    tls: tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    buf: Vec<u8>,
}

impl RawConnection {
    async fn open(ep: &Endpoint, host: &str) -> RawConnection {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", ep.port))
            .await
            .unwrap();
        tcp.set_nodelay(true).unwrap();
        let name = ServerName::try_from(host.to_string()).unwrap();
        let tls = tokio_rustls::TlsConnector::from(Arc::clone(&ep.config))
            .connect(name, tcp)
            .await
            .unwrap();
        RawConnection {
            tls,
            buf: Vec::with_capacity(16 * 1024),
        }
    }

    /// Sends `request` (a whole HTTP/1.1 request) and reads the answer: (status, body).
    async fn round_trip(&mut self, request: &[u8]) -> (u16, Vec<u8>) {
        self.tls.write_all(request).await.unwrap();
        self.tls.flush().await.unwrap();
        self.buf.clear();
        let (head_end, length) = loop {
            let mut chunk = [0u8; 8192];
            let n = self.tls.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..i]).unwrap();
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .expect("answers carry a Content-Length");
                break (i + 4, length);
            }
        };
        while self.buf.len() < head_end + length {
            let mut chunk = [0u8; 8192];
            let n = self.tls.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
        let status = std::str::from_utf8(&self.buf[9..12])
            .unwrap()
            .parse()
            .unwrap();
        (status, self.buf[head_end..head_end + length].to_vec())
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn seconds() -> Duration {
    Duration::from_secs_f64(env_or("CK_BENCH_SECONDS", 1.5f64).max(0.1))
}

/// CPU time of the whole process (server and client threads alike) so far.
fn process_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given, which lives on this stack.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// The machine's (steal, total) CPU ticks so far, from /proc/stat's `cpu` line: the share a
/// virtual machine's host took from it, which no software here can win back.
fn steal_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    (ticks.get(7).copied().unwrap_or(0), ticks.iter().sum())
}

/// One measurement's figures.
struct Measurement {
    rate: f64,
    p50: Duration,
    p99: Duration,
    /// Over HTTPS: the process's CPU time per request.
    cpu_per_request: Option<Duration>,
    /// Over HTTPS: the share of the machine's CPU time its host stole meanwhile.
    steal: Option<f64>,
}

impl Measurement {
    fn of(elapsed: Duration, mut latencies: Vec<Duration>, cpu: Option<Duration>) -> Self {
        latencies.sort();
        let n = latencies.len().max(1);
        let pct = |p: f64| {
            latencies
                .get(((n as f64 * p) as usize).min(n - 1))
                .copied()
                .unwrap_or_default()
        };
        Measurement {
            rate: latencies.len() as f64 / elapsed.as_secs_f64(),
            p50: pct(0.50),
            p99: pct(0.99),
            cpu_per_request: cpu.map(|c| c / n as u32),
            steal: None,
        }
    }

    fn print(&self, what: &str, clients: usize) {
        let cpu = self
            .cpu_per_request
            .map(|c| format!("   CPU {:>6.1} us/req", c.as_secs_f64() * 1e6))
            .unwrap_or_default();
        let steal = self
            .steal
            .map(|s| format!("   host steal {:>3.0}%", s * 100.0))
            .unwrap_or_default();
        println!(
            "{what:<34} {clients:>3} clients {:>10.0} req/s   p50 {:>8.2} ms   p99 {:>8.2} ms{cpu}{steal}",
            self.rate,
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3
        );
    }
}

/// The round with the median rate.
fn median(mut rounds: Vec<Measurement>) -> Measurement {
    rounds.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    let middle = rounds.len() / 2;
    rounds.swap_remove(middle)
}

fn rounds() -> usize {
    env_or("CK_BENCH_ROUNDS", 3usize).max(1)
}

struct Request {
    method: &'static str,
    path: String,
    body: Vec<u8>,
}

fn https(ep: &Endpoint, token: &str, clients: usize, request: &Request) -> Measurement {
    let client_threads = env_or("CK_BENCH_CLIENT_THREADS", 2usize);
    let rt = if client_threads == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(client_threads)
            .enable_all()
            .build()
            .unwrap()
    };
    let duration = seconds();
    let auth = format!("Bearer {token}");
    let (elapsed, latencies, cpu, steal) = rt.block_on(async {
        let mut connections = Vec::new();
        for _ in 0..clients {
            connections.push(RawConnection::open(ep, "vault-a.localhost").await);
        }
        let mut bytes = format!(
            "{} {} HTTP/1.1\r\nhost: vault-a.localhost:{}\r\nauthorization: {auth}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            request.method,
            request.path,
            ep.port,
            request.body.len()
        )
        .into_bytes();
        bytes.extend_from_slice(&request.body);
        let bytes = Arc::new(bytes);
        let cpu_before = process_cpu();
        let steal_before = steal_ticks();
        let start = Instant::now();
        let mut tasks = Vec::new();
        for mut c in connections {
            let bytes = Arc::clone(&bytes);
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                while start.elapsed() < duration {
                    let t = Instant::now();
                    // Status and bytes only, as a load generator reads them: the client's
                    // JSON parsing would be charged to the server's share of the machine.
                    let (status, answer) = c.round_trip(&bytes).await;
                    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
                    latencies.push(t.elapsed());
                }
                latencies
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let steal_after = steal_ticks();
        let stolen = steal_after.0.saturating_sub(steal_before.0) as f64;
        let total = steal_after.1.saturating_sub(steal_before.1).max(1) as f64;
        (start.elapsed(), all, process_cpu() - cpu_before, stolen / total)
    });
    let mut m = Measurement::of(elapsed, latencies, Some(cpu));
    m.steal = Some(steal);
    m
}

fn in_process(
    ep: &Endpoint,
    clients: usize,
    operation: &str,
    args: &serde_json::Value,
) -> Measurement {
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
    Measurement::of(start.elapsed(), latencies, None)
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
    let only = std::env::var("CK_BENCH_ONLY").unwrap_or_default();
    let wanted = |label: &str| label.starts_with(only.as_str());
    let client_counts: Vec<usize> = std::env::var("CK_BENCH_CLIENTS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 8, 64]);
    const UNWRAP_HTTPS: &str = "unwrap over HTTPS";
    const UNWRAP_DIRECT: &str = "unwrap in process (ck_call's path)";
    for clients in client_counts {
        let (mut over_https, mut direct) = (Vec::new(), Vec::new());
        for _ in 0..rounds() {
            if wanted(UNWRAP_HTTPS) {
                over_https.push(https(&ep, &token, clients, &unwrap));
            }
            if wanted(UNWRAP_DIRECT) {
                direct.push(in_process(
                    &ep,
                    clients,
                    "Invoke-KeyVaultKeyOperation",
                    &unwrap_args,
                ));
            }
        }
        let over_https = (!over_https.is_empty()).then(|| median(over_https));
        let direct = (!direct.is_empty()).then(|| median(direct));
        if let Some(m) = &over_https {
            m.print(UNWRAP_HTTPS, clients);
        }
        if let Some(m) = &direct {
            m.print(UNWRAP_DIRECT, clients);
        }
        if let (Some(h), Some(d)) = (&over_https, &direct) {
            println!(
                "{:<34} {clients:>3} clients {:>10.2} (HTTPS / in process, medians)",
                "unwrap ratio",
                h.rate / d.rate.max(1e-9)
            );
        }
        let measure = |what: &str, run: &dyn Fn() -> Measurement| {
            if wanted(what) {
                median((0..rounds()).map(|_| run()).collect()).print(what, clients);
            }
        };
        measure("wrap over HTTPS", &|| https(&ep, &token, clients, &wrap));
        measure("get-key over HTTPS", &|| https(&ep, &token, clients, &get));
        measure("get-key in process", &|| {
            in_process(&ep, clients, "Get-KeyVaultKey", &get_args)
        });
    }
}
