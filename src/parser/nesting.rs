//! Bounded recursion: the grammar recurses only through brackets, so their
//! depth is checked by a linear scan before pest runs. Deep input then fails
//! with a positioned error instead of exhausting the stack.

use super::count::bytes_where;
use super::errors::Source;
use crate::error::Result;

/// Deepest nesting of `(`, `[` and `{` (and, in filters, `NOT`) accepted.
pub(crate) const MAX_NESTING: usize = 64;

enum State {
    Code,
    Str(u8),
    LineComment,
    BlockComment,
}

/// Fails at the first bracket that opens level `MAX_NESTING + 1`. Strings and
/// comments are skipped with the same rules as the grammar; where the scan
/// and the grammar could disagree (unterminated strings), pest reports the
/// real error afterwards.
pub(crate) fn check(src: &Source<'_>) -> Result<()> {
    let bytes = src.text().as_bytes();
    // The depth never exceeds the number of opening brackets, wherever they
    // are: most texts have few, and counting them is a tight loop, where
    // the scan below stops at every `-` (of negative numbers too).
    if bytes_where(bytes, |b| matches!(b, b'(' | b'[' | b'{')) <= MAX_NESTING {
        return Ok(());
    }
    let mut state = State::Code;
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        match state {
            // Skip to the next byte that can change the state or the depth.
            State::Code if !is_special(b) => {
                match bytes[i..].iter().position(|&b| is_special(b)) {
                    Some(n) => i += n,
                    None => break,
                }
                continue;
            }
            State::Code => match b {
                b'"' | b'\'' => state = State::Str(b),
                b'-' if next == Some(b'-') => {
                    state = State::LineComment;
                    i += 1;
                }
                b'/' if next == Some(b'*') => {
                    state = State::BlockComment;
                    i += 1;
                }
                b'(' | b'[' | b'{' => {
                    depth += 1;
                    if depth > MAX_NESTING {
                        return Err(
                            src.error(i, format!("nesting deeper than {MAX_NESTING} levels"))
                        );
                    }
                }
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            },
            State::Str(q) => {
                if b == b'\\' {
                    i += 1;
                } else if b == q {
                    state = State::Code;
                }
            }
            State::LineComment => {
                if b == b'\n' || b == b'\r' {
                    state = State::Code;
                }
            }
            State::BlockComment => {
                if b == b'*' && next == Some(b'/') {
                    state = State::Code;
                    i += 1;
                }
            }
        }
        i += 1;
    }
    Ok(())
}

/// The bytes `check` acts on outside strings and comments.
fn is_special(b: u8) -> bool {
    SPECIAL[usize::from(b)]
}

/// [`is_special`] as a table: one load per byte in the skipping loop.
static SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let bytes = *b"\"'-/([{)]}";
    let mut i = 0;
    while i < bytes.len() {
        table[bytes[i] as usize] = true;
        i += 1;
    }
    table
};
