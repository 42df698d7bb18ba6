//! A second client nobody here wrote: Microsoft's Rust SDK (`azure_security_keyvault_keys` 1.x
//! with `azure_identity`'s client-secret credential) against `customer-key serve`. Configured as
//! its docs allow for a custom endpoint: the vault URL, a custom cloud whose authority host is the
//! endpoint, and the reqwest transport trusting the endpoint's CA and resolving the vault host to
//! loopback; the challenge-resource check stays on.

// The SDK's models and options are #[non_exhaustive]: outside their crate they can only be
// built from Default and then assigned, which this lint would have written as a literal.
#![allow(clippy::field_reassign_with_default)]

use crate::serve_common::Endpoint;
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::Secret;
use azure_core::http::{ClientOptions, Transport};
use azure_identity::{ClientSecretCredential, ClientSecretCredentialOptions};
use azure_security_keyvault_keys::models::{
    CreateKeyParameters, EncryptionAlgorithm, KeyOperationParameters, KeyType,
};
use azure_security_keyvault_keys::{KeyClient, KeyClientOptions};
use customer_key::serve::ServeOptions;
use std::sync::Arc;

#[test]
fn microsofts_rust_sdk_creates_gets_wraps_and_unwraps() {
    let ep = Endpoint::start("azure-rust", &["vault-a"], ServeOptions::default());
    let (app, secret) = ep.principal_with("vault-a", &["all"]);
    let ca = std::fs::read(ep.server.as_ref().unwrap().info().ca_file.clone()).unwrap();
    let port = ep.port;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let http = reqwest::Client::builder()
            .tls_certs_merge([reqwest::Certificate::from_pem(&ca).unwrap()])
            .resolve("vault-a.localhost", ([127, 0, 0, 1], port).into())
            .build()
            .unwrap();
        let client_options = || {
            let mut options = ClientOptions::default();
            options.transport = Some(Transport::new(Arc::new(http.clone())));
            let mut cloud = CustomConfiguration::default();
            cloud.authority_host = format!("https://localhost:{port}");
            options.cloud = Some(Arc::new(CloudConfiguration::Custom(cloud)));
            options
        };
        let credential = ClientSecretCredential::new(
            "customerkey",
            app,
            Secret::new(secret),
            Some(ClientSecretCredentialOptions {
                client_options: client_options(),
            }),
        )
        .unwrap();
        let client = KeyClient::new(
            &format!("https://vault-a.localhost:{port}"),
            credential,
            Some(KeyClientOptions {
                client_options: client_options(),
                ..Default::default()
            }),
        )
        .unwrap();

        let mut create = CreateKeyParameters::default();
        create.kty = Some(KeyType::Rsa);
        create.key_size = Some(2048);
        let created = client
            .create_key("rust-sdk-key", create.try_into().unwrap(), None)
            .await
            .expect("create_key")
            .into_model()
            .unwrap();
        let kid = created
            .key
            .as_ref()
            .and_then(|k| k.kid.clone())
            .expect("a kid");
        assert!(
            kid.starts_with(&format!(
                "https://vault-a.localhost:{port}/keys/rust-sdk-key/"
            )),
            "{kid}"
        );
        let version = kid.rsplit('/').next().unwrap().to_string();

        let got = client
            .get_key("rust-sdk-key", None)
            .await
            .expect("get_key")
            .into_model()
            .unwrap();
        assert_eq!(
            got.key.as_ref().and_then(|k| k.kid.clone()),
            Some(kid.clone())
        );
        assert_eq!(
            got.key.as_ref().and_then(|k| k.n.clone()).map(|n| n.len()),
            Some(256)
        );

        let plain = vec![42u8; 32];
        let mut wrap = KeyOperationParameters::default();
        wrap.algorithm = Some(EncryptionAlgorithm::RsaOaep256);
        wrap.value = Some(plain.clone());
        let wrapped = client
            .wrap_key("rust-sdk-key", wrap.try_into().unwrap(), None)
            .await
            .expect("wrap_key")
            .into_model()
            .unwrap();
        let mut unwrap = KeyOperationParameters::default();
        unwrap.algorithm = Some(EncryptionAlgorithm::RsaOaep256);
        unwrap.value = wrapped.result.clone();
        let unwrapped = client
            .unwrap_key("rust-sdk-key", &version, unwrap.try_into().unwrap(), None)
            .await
            .expect("unwrap_key")
            .into_model()
            .unwrap();
        assert_eq!(unwrapped.result, Some(plain));

        let Err(missing) = client.get_key("never-made", None).await else {
            panic!("a key never made was found");
        };
        assert_eq!(missing.http_status().map(u16::from), Some(404));
    });
}
