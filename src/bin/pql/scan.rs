//! Where statements end in REPL input: a `;` outside strings and comments.
//!
//! This is deliberately not a PQL lexer: it only knows quotes (with `\`
//! escapes), `-- line` and `/* block */` comments, so that the REPL can tell
//! a finished statement from one that goes on to the next line. The engine's
//! parser still has the last word on what the text means.

/// What the scanner is inside of at the end of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Plain statement text.
    Code,
    /// Inside `'...'`.
    SingleQuote,
    /// Inside `"..."`.
    DoubleQuote,
    /// Inside `-- ...` (ends at the newline).
    LineComment,
    /// Inside `/* ... */`.
    BlockComment,
}

/// The result of scanning a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// The state at the end of the text.
    pub state: State,
    /// The byte offset just past the last `;` that ends a statement.
    pub last_end: Option<usize>,
    /// Whether the text holds anything besides whitespace and comments.
    pub has_code: bool,
}

/// Scans `text` from the start.
pub fn scan(text: &str) -> Scan {
    let mut state = State::Code;
    let mut last_end = None;
    let mut has_code = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let was_code = state == State::Code;
        match state {
            State::Code => match c {
                '\'' => state = State::SingleQuote,
                '"' => state = State::DoubleQuote,
                '-' if chars.peek().map(|&(_, n)| n) == Some('-') => {
                    chars.next();
                    state = State::LineComment;
                }
                '/' if chars.peek().map(|&(_, n)| n) == Some('*') => {
                    chars.next();
                    state = State::BlockComment;
                }
                ';' => last_end = Some(i + 1),
                _ => {}
            },
            State::SingleQuote | State::DoubleQuote => {
                let quote = if state == State::SingleQuote {
                    '\''
                } else {
                    '"'
                };
                if c == '\\' {
                    chars.next();
                } else if c == quote {
                    state = State::Code;
                }
            }
            State::LineComment => {
                if c == '\n' {
                    state = State::Code;
                }
            }
            State::BlockComment => {
                if c == '*' && chars.peek().map(|&(_, n)| n) == Some('/') {
                    chars.next();
                    state = State::Code;
                }
            }
        }
        // Text outside comments that is not whitespace is code; a `--` or
        // `/*` that opens a comment is not.
        let opened_comment = matches!(state, State::LineComment | State::BlockComment);
        if was_code && !opened_comment && !c.is_whitespace() {
            has_code = true;
        }
    }
    Scan {
        state,
        last_end,
        has_code,
    }
}

/// Whether `text` holds only whitespace and finished comments (a trailing
/// `-- comment` counts as finished; an open `/*` does not).
pub fn is_blank(text: &str) -> bool {
    let s = scan(text);
    !s.has_code && s.state != State::BlockComment
}

/// Splits `text` after its last statement-ending `;`: the statements that
/// are complete, and what follows them (an unfinished statement, or blank).
/// `None` when no statement is complete yet.
pub fn split_complete(text: &str) -> Option<(&str, &str)> {
    scan(text).last_end.map(|end| text.split_at(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(text: &str) -> bool {
        split_complete(text).is_some()
    }

    #[test]
    fn semicolon_ends_a_statement() {
        assert!(complete("SHOW TENANTS;"));
        assert!(complete("SHOW\nTENANTS\n;"));
        assert!(!complete("SHOW TENANTS"));
        assert_eq!(
            split_complete("CREATE TENANT a; SHOW"),
            Some(("CREATE TENANT a;", " SHOW"))
        );
    }

    #[test]
    fn semicolons_in_strings_do_not_count() {
        assert!(!complete("QUERY p TENANT t WHERE name = 'a;b'"));
        assert!(!complete(r#"QUERY p TENANT t WHERE name = "a;b"#));
        assert!(complete("QUERY p TENANT t WHERE name = 'a;b';"));
        assert_eq!(scan("x = 'a;").state, State::SingleQuote);
        assert_eq!(scan("x = \"a;").state, State::DoubleQuote);
    }

    #[test]
    fn escaped_quotes_stay_inside_the_string() {
        assert!(!complete(r"x = 'it\'s; fine"));
        assert!(complete(r"x = 'it\'s'; "));
        assert!(!complete(r#"x = "say \"hi;\" "#));
        assert!(complete(r#"x = "a\\";"#));
        assert!(complete(r#"x = "multi-line \n text";"#));
        // The other quote is plain text inside a string.
        assert!(complete(r#"x = "it's";"#));
        assert!(complete("x = 'say \"hi\"';"));
    }

    #[test]
    fn semicolons_in_comments_do_not_count() {
        assert!(!complete("SHOW TENANTS -- done;"));
        assert!(complete("SHOW TENANTS -- done;\n;"));
        assert!(!complete("SHOW /* ; */ TENANTS"));
        assert!(!complete("SHOW /* ;\n ; */ TENANTS"));
        assert_eq!(scan("SHOW /* open").state, State::BlockComment);
        assert_eq!(scan("SHOW -- x").state, State::LineComment);
        assert!(complete("SHOW /* ; */ TENANTS;"));
    }

    #[test]
    fn quotes_in_comments_and_comments_in_strings_are_text() {
        assert!(complete("-- it's\nSHOW TENANTS;"));
        assert!(complete("/* \"x */ SHOW TENANTS;"));
        assert!(complete("x = '-- not a comment';"));
        assert!(complete("x = '/* not a comment';"));
    }

    #[test]
    fn minus_numbers_are_not_comments() {
        assert!(complete("x = -7;"));
        assert!(complete("x = 5 - 3;"));
    }

    #[test]
    fn blank_is_whitespace_and_finished_comments() {
        assert!(is_blank(""));
        assert!(is_blank("  \n\t"));
        assert!(is_blank(" -- trailing comment"));
        assert!(is_blank("/* done */ -- and more"));
        assert!(!is_blank("/* still open"));
        assert!(!is_blank("SHOW"));
        assert!(!is_blank("/"));
        assert!(!is_blank(";"));
    }

    #[test]
    fn unicode_text_scans() {
        let (done, rest) = split_complete("x = 'Größe 日本'; y").unwrap_or_default();
        assert_eq!(done, "x = 'Größe 日本';");
        assert_eq!(rest, " y");
    }
}
