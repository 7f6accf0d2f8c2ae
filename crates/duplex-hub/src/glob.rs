//! `*` patterns, as Centrifugo's configuration and server API use them: allowed origins
//! (`https://*.example.com`) and the `channels` method's filter (`chat:*`).

/// Whether `text` matches `pattern`, where `*` matches any run of characters (none included)
/// and everything else matches itself.
///
/// ```
/// use duplex_hub::glob::matches;
/// assert!(matches("chat:*", "chat:room"));
/// assert!(matches("https://*.example.com", "https://a.example.com"));
/// assert!(!matches("https://*.example.com", "https://example.com.evil.net"));
/// ```
pub fn matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    // Each middle part is taken at its first occurrence: a later one cannot match more.
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn patterns() {
        assert!(matches("*", ""));
        assert!(matches("*", "x"));
        assert!(matches("a*c*e", "abcde"));
        assert!(matches("a*a", "aa"));
        assert!(!matches("a*a", "a"));
        assert!(!matches("chat:*", "news:x"));
        assert!(matches("exact", "exact"));
        assert!(!matches("exact", "exactly"));
    }
}
