//! Unknown fields: the message names the fields expected there, and the one probably meant
//! when the field looks like a typo (`subjectregex`, `public_key`) or belongs to an older
//! Talos schema (a `hint`).

/// "unknown field `x` (expected one of: …); did you mean `y`?"
pub(super) fn unknown_field_message(key: &str, known: &[&str], hints: &[(&str, &str)]) -> String {
    if let Some((_, hint)) = hints.iter().find(|(k, _)| *k == key) {
        return format!("unknown field: {hint}");
    }
    let mut message = format!("unknown field (expected one of: {})", known.join(", "));
    if let Some(suggestion) = suggest(key, known) {
        message.push_str(&format!("; did you mean `{suggestion}`?"));
    }
    message
}

/// A known field that `key` is probably a misspelling of: equal ignoring case, `_` and `-`,
/// or within two edits.
pub(super) fn suggest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let fold = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect()
    };
    let folded = fold(key);
    known
        .iter()
        .map(|k| (*k, edit_distance(&folded, &fold(k))))
        .filter(|(_, d)| *d <= 2)
        .min_by_key(|(_, d)| *d)
        .map(|(k, _)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}
