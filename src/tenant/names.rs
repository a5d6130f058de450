//! Validation of tenant and collection names: the security boundary between
//! PQL text and the file system. A name that passes is a single, plain path
//! component: 1–64 ASCII characters of `[A-Za-z0-9_-]`, starting with a
//! letter or digit, so it can never be `..`, contain a separator, hide
//! unicode look-alikes, or be empty.

use crate::error::{Error, ErrorKind, Result};

/// The longest name allowed.
pub(crate) const MAX_NAME_LEN: usize = 64;

/// Checks `name` as a tenant or collection name; `what` ("tenant",
/// "collection") goes into the error message.
pub(crate) fn validate(what: &str, name: &str) -> Result<()> {
    let problem = if name.is_empty() {
        Some("it is empty".to_string())
    } else if name.chars().count() > MAX_NAME_LEN {
        Some(format!(
            "it is {} characters long (at most {MAX_NAME_LEN})",
            name.chars().count()
        ))
    } else if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        Some(format!("it contains {c:?}"))
    } else if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        Some("it must start with a letter or digit".to_string())
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(why) => Err(Error::new(
            ErrorKind::InvalidName,
            format!(
                "invalid {what} name {name:?}: {why}; use 1-{MAX_NAME_LEN} characters of \
                 A-Z, a-z, 0-9, '_' and '-', starting with a letter or digit"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_names() {
        for n in [
            "acme",
            "customer-123",
            "a",
            "9lives",
            "A_b-C",
            &"x".repeat(64),
        ] {
            assert!(validate("tenant", n).is_ok(), "{n}");
        }
    }

    #[test]
    fn rejects_hostile_names() {
        let long = "x".repeat(65);
        for n in [
            "",
            "..",
            ".",
            "../x",
            "a/b",
            "a\\b",
            "-a",
            "_a",
            "a b",
            "a\0b",
            "ａｃｍｅ",
            "café",
            "a.b",
            "/etc",
            "~",
            &long,
        ] {
            let e = validate("tenant", n).unwrap_err();
            assert_eq!(e.kind(), &ErrorKind::InvalidName, "{n:?}");
        }
    }
}
