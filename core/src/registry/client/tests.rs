use super::*;
use crate::registry::address;
use crate::registry::challenge::Challenge;
use crate::registry::token::{AuthScope, Identity, Secret};

#[tokio::test]
async fn the_authorization_sent_to_the_registry_is_marked_sensitive() {
    // HTTP/2 (HPACK) never indexes a sensitive value, so a credential cannot be probed for
    // through the connection's header compression.
    let client = RegistryClient::new(RegistryConfig::default());
    let scope = AuthScope {
        host: "registry.test",
        repository: "app",
        plain_http: false,
        reach: address::Reach::Public,
    };
    let header = client
        .auth
        .negotiate(
            &client.realms,
            &scope,
            Identity::Secret(crate::credentials::Fingerprint::of(
                "registry.test",
                "user",
                "pw",
            )),
            Secret::Basic {
                username: "user",
                password: "pw",
            },
            &Challenge::Basic,
        )
        .await
        .unwrap();
    let http = client.http[0].get();
    let request = client
        .request(
            &http,
            &Method::GET,
            "https://registry.test/v2/app/manifests/v1",
            Target::Manifest("v1"),
            Some(&header),
        )
        .build()
        .unwrap();
    let sent = &request.headers()[header::AUTHORIZATION];
    assert!(sent.is_sensitive());
    assert!(format!("{sent:?}").eq("Sensitive"), "{sent:?}");
}
