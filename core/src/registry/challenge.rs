//! `WWW-Authenticate` challenges: `Basic realm="…"` and
//! `Bearer realm="…",service="…",scope="…"`.

/// What a registry asked for on a 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// Parse the first usable challenge of a `WWW-Authenticate` value. Unknown schemes give None.
pub fn parse(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, params) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut realm = None;
    let mut service = None;
    for (key, value) in params_of(params) {
        match key.to_ascii_lowercase().as_str() {
            "realm" => realm = Some(value),
            "service" => service = Some(value),
            _ => {}
        }
    }
    Some(Challenge::Bearer {
        realm: realm.filter(|r| !r.is_empty())?,
        service,
    })
}

/// Split `k="v", k2=v2` into pairs, honouring quotes (a scope may contain commas).
fn params_of(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().trim_start_matches(',').trim().to_owned();
        rest = rest[eq + 1..].trim_start();
        let value;
        if let Some(stripped) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = stripped.char_indices();
            let mut end = stripped.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, next)) = chars.next() {
                            out.push(next);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => out.push(c),
                }
            }
            value = out;
            rest = stripped[end.min(stripped.len())..].trim_start();
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_owned();
            rest = &rest[end..];
        }
        rest = rest.trim_start_matches(',').trim_start();
        pairs.push((key, value));
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_with_scope_commas() {
        let c = parse(
            r#"Bearer realm="http://127.0.0.1:1/token",service="reg",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "http://127.0.0.1:1/token".into(),
                service: Some("reg".into())
            })
        );
    }

    #[test]
    fn parses_basic_and_rejects_unknown() {
        assert_eq!(
            parse(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse("Negotiate abc"), None);
        assert_eq!(parse("Bearer service=\"x\""), None, "bearer without realm");
        assert_eq!(
            parse("bearer realm=https://auth.example/token"),
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: None
            })
        );
    }

    #[test]
    fn multi_byte_text_is_split_on_character_boundaries() {
        // Every index params_of slices at comes from find('=') / find(',') or follows a one-byte
        // quote, so multi-byte characters around them cannot split a character.
        assert_eq!(
            parse("Bearer réalm=\"x\",realm=\"https://é.example/tok\\\"én\",service=ü"),
            Some(Challenge::Bearer {
                realm: "https://é.example/tok\"én".into(),
                service: Some("ü".into())
            })
        );
        assert_eq!(
            parse("Bearer realm=\"ü"),
            Some(Challenge::Bearer {
                realm: "ü".into(),
                service: None
            })
        );
        for text in [
            "Bearer =é,=",
            "Bearer é=\"",
            "Bearer realm=é\\",
            "Bearer ,,é=,ü",
        ] {
            let _ = parse(text);
        }
    }
}
