use super::*;

fn bearer_key(repository: &str) -> Key {
    Key {
        host: "registry.test".to_owned(),
        scope: Some(repository.to_owned()),
        identity: Identity::Anonymous,
    }
}

fn token(n: usize) -> HeaderValue {
    sensitive(HeaderValue::try_from(format!("Bearer {}", "t".repeat(n))).unwrap())
}

#[test]
fn a_token_is_cached_for_at_most_an_hour_whatever_the_server_claims() {
    let cache = AuthCache::default();
    let before = Instant::now();
    cache.store(
        bearer_key("a"),
        token(8),
        Some(Duration::from_secs(1_000_000_000_000)),
    );
    let headers = lock(&cache.headers);
    let expires = headers
        .entries_for_test()
        .map(|c| c.expires.unwrap())
        .next()
        .unwrap();
    assert!(
        expires <= Instant::now() + MAX_TOKEN_LIFETIME,
        "{expires:?}"
    );
    assert!(expires > before + MAX_TOKEN_LIFETIME - EXPIRY_MARGIN * 2);
}

#[test]
fn the_token_cache_is_bounded_by_entries() {
    let cache = AuthCache::default();
    for i in 0..MAX_CACHED_HEADERS + 500 {
        cache.store(
            bearer_key(&format!("repo{i}")),
            token(16),
            Some(Duration::from_secs(3600)),
        );
    }
    assert_eq!(lock(&cache.headers).len(), MAX_CACHED_HEADERS);
    // The newest is kept, the oldest went first.
    let newest = format!("repo{}", MAX_CACHED_HEADERS + 499);
    assert!(lock(&cache.headers).get(&bearer_key(&newest)).is_some());
    assert!(lock(&cache.headers).get(&bearer_key("repo0")).is_none());
}

#[test]
fn the_token_cache_is_bounded_by_bytes() {
    let cache = AuthCache::default();
    for i in 0..1000 {
        cache.store(
            bearer_key(&format!("repo{i}")),
            token(MAX_TOKEN_BYTES),
            Some(Duration::from_secs(3600)),
        );
    }
    let headers = lock(&cache.headers);
    assert!(
        headers.size() <= MAX_CACHED_HEADER_BYTES,
        "{}",
        headers.size()
    );
    assert!(headers.len() >= MAX_CACHED_HEADER_BYTES / (MAX_TOKEN_BYTES * 2));
}

#[test]
fn every_credential_header_is_marked_sensitive() {
    assert!(basic_header("user", "pw").unwrap().is_sensitive());
    let grant = parse_token_answer(br#"{"token":"abc"}"#).unwrap();
    assert!(grant.header().is_sensitive());
    assert_eq!(grant.header().to_str().unwrap(), "Bearer abc");
}

#[test]
fn token_answers_are_bounded_and_checked() {
    let max = format!(r#"{{"access_token":"a","expires_in":{}}}"#, u64::MAX);
    assert_eq!(
        parse_token_answer(max.as_bytes()).unwrap().lifetime(),
        MAX_TOKEN_LIFETIME
    );
    assert_eq!(
        parse_token_answer(br#"{"token":"a"}"#).unwrap().lifetime(),
        DEFAULT_TOKEN_LIFETIME
    );
    assert_eq!(
        parse_token_answer(br#"{"token":"a","expires_in":300}"#)
            .unwrap()
            .lifetime(),
        Duration::from_secs(300)
    );
    let fits = format!(r#"{{"token":"{}"}}"#, "t".repeat(MAX_TOKEN_BYTES));
    parse_token_answer(fits.as_bytes()).unwrap();
    let over = format!(r#"{{"token":"{}"}}"#, "t".repeat(MAX_TOKEN_BYTES + 1));
    let why = parse_token_answer(over.as_bytes()).unwrap_err();
    assert!(why.contains("limit"), "{why}");
    let why = parse_token_answer(br#"{"token":"a\nb"}"#).unwrap_err();
    assert!(why.contains("HTTP header"), "{why}");
    assert!(parse_token_answer(br#"{"token":""}"#).is_err());
}

#[test]
fn a_malformed_token_answer_is_described_without_its_values() {
    let why = parse_token_answer(br#"{"token":"t","expires_in":"s3cret-value"}"#).unwrap_err();
    assert!(why.contains("malformed JSON"), "{why}");
    assert!(!why.contains("s3cret"), "{why}");
}

#[tokio::test]
async fn an_http_realm_is_refused_for_an_https_registry_even_anonymously() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = tokio::spawn(async move { listener.accept().await.is_ok() });
    let realms = RealmClients::new(
        Duration::from_secs(2),
        super::super::realm::HostLookup::default(),
    );
    let scope = AuthScope {
        host: "127.0.0.1:443",
        repository: "app",
        plain_http: false,
        reach: Reach::Loopback,
    };
    let cause = fetch_token(
        &realms,
        &format!("http://127.0.0.1:{port}/token"),
        None,
        &scope,
        Secret::None,
    )
    .await
    .unwrap_err();
    assert_eq!(cause.kind, CauseKind::Unauthorized, "{cause}");
    assert!(cause.detail.contains("not HTTPS"), "{cause}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!accepted.is_finished(), "the realm was connected to");
    accepted.abort();
}
