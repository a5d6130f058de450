//! Scripts read statement by statement, in memory bounded by the largest
//! statement rather than the script: [`StatementReader`] splits a reader's
//! text at each `;` that ends a statement (outside strings, comments and
//! brackets) and hands out one [`Chunk`] at a time, which
//! [`Chunk::parse`] and [`Session::execute_chunk`](crate::Session::execute_chunk)
//! take with positions counted in the whole script.
//!
//! The splitter is not a PQL lexer: it knows quotes (with `\` escapes),
//! `-- line` and `/* block */` comments and bracket depth, which is all it
//! takes to find where a statement ends. The parser has the last word on
//! what each chunk means.

use std::io::{self, BufRead};

use crate::error::Result;
use crate::parser::ast::Script;

/// One statement's text, cut from a script by [`StatementReader`].
///
/// The text starts at the beginning of a line of the script: when the
/// statement starts after another on the same line, that part of the line
/// is blanked (each character replaced by a space, tabs kept), so columns
/// stay those of the script. [`Chunk::first_line`] says which line it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    text: String,
    first_line: usize,
}

impl Chunk {
    /// The statement's text (see the type's docs for its first line).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The 1-based line of the script the text starts on.
    pub fn first_line(&self) -> usize {
        self.first_line
    }

    /// Lines before the chunk's first line.
    pub(crate) fn line_offset(&self) -> usize {
        self.first_line - 1
    }

    /// Parses the chunk; statement and error positions are lines and
    /// columns of the whole script.
    pub fn parse(&self) -> Result<Script> {
        let offset = self.line_offset();
        let mut script = crate::parser::parse(&self.text).map_err(|e| e.shift_lines(offset))?;
        for located in &mut script.statements {
            located.line += offset;
        }
        Ok(script)
    }
}

/// What the splitter is inside of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Code,
    Quote(char),
    LineComment,
    BlockComment,
}

/// Reads a script statement by statement: an iterator of [`Chunk`]s, each
/// one statement ending at its `;` (the last may lack one). Text with no
/// statement in it (blank lines and comments after the last `;`) gives no
/// chunk. Only the current statement and line are held in memory.
pub struct StatementReader<R> {
    input: R,
    /// Lines read so far.
    lines: usize,
    /// The current statement's text so far.
    pending: String,
    /// The line `pending` starts on.
    first_line: usize,
    /// The rest of the last line read, after a statement that ended on it
    /// (already blanked up to where it starts).
    carry: Option<String>,
    state: State,
    depth: usize,
    has_code: bool,
}

impl<R: BufRead> StatementReader<R> {
    /// A reader of the script `input`.
    pub fn new(input: R) -> Self {
        StatementReader {
            input,
            lines: 0,
            pending: String::new(),
            first_line: 1,
            carry: None,
            state: State::Code,
            depth: 0,
            has_code: false,
        }
    }

    /// Scans `line` from byte `from` on; returns the byte just past a
    /// statement-ending `;`, if there is one.
    fn scan(&mut self, line: &str, from: usize) -> Option<usize> {
        let mut chars = line[from..].char_indices().map(|(i, c)| (i + from, c));
        let mut chars = chars.by_ref().peekable();
        while let Some((i, c)) = chars.next() {
            let next = chars.peek().map(|&(_, n)| n);
            match self.state {
                State::Code => match c {
                    '\'' | '"' => {
                        self.state = State::Quote(c);
                        self.has_code = true;
                    }
                    '-' if next == Some('-') => {
                        chars.next();
                        self.state = State::LineComment;
                    }
                    '/' if next == Some('*') => {
                        chars.next();
                        self.state = State::BlockComment;
                    }
                    ';' if self.depth == 0 => return Some(i + 1),
                    '(' | '[' | '{' => {
                        self.depth += 1;
                        self.has_code = true;
                    }
                    ')' | ']' | '}' => {
                        self.depth = self.depth.saturating_sub(1);
                        self.has_code = true;
                    }
                    c if !c.is_whitespace() && c != ';' => self.has_code = true,
                    _ => {}
                },
                State::Quote(q) => {
                    if c == '\\' {
                        chars.next();
                    } else if c == q {
                        self.state = State::Code;
                    }
                }
                State::LineComment => {
                    if c == '\n' {
                        self.state = State::Code;
                    }
                }
                State::BlockComment => {
                    if c == '*' && next == Some('/') {
                        chars.next();
                        self.state = State::Code;
                    }
                }
            }
        }
        None
    }

    /// The statement gathered so far, if it holds any, and a fresh start
    /// on line `first_line`.
    fn take(&mut self, first_line: usize) -> Option<Chunk> {
        let text = std::mem::take(&mut self.pending);
        let chunk = Chunk {
            text,
            first_line: self.first_line,
        };
        let has_code = std::mem::replace(&mut self.has_code, false);
        self.first_line = first_line;
        self.depth = 0;
        has_code.then_some(chunk)
    }
}

/// `line` with its first `end` bytes blanked: each character a space, tabs
/// kept (so that a caret under a later column still lines up).
fn blanked(line: &str, end: usize) -> String {
    let mut out: String = line[..end]
        .chars()
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    out.push_str(&line[end..]);
    out
}

impl<R: BufRead> Iterator for StatementReader<R> {
    type Item = io::Result<Chunk>;

    fn next(&mut self) -> Option<io::Result<Chunk>> {
        loop {
            let (line, from) = match self.carry.take() {
                Some(rest) => {
                    let from = rest.len() - rest.trim_start().len();
                    (rest, from)
                }
                None => {
                    let mut line = String::new();
                    match self.input.read_line(&mut line) {
                        Ok(0) => {
                            let line = self.lines.max(1);
                            return self.take(line).map(Ok);
                        }
                        Ok(_) => {}
                        Err(e) => return Some(Err(e)),
                    }
                    self.lines += 1;
                    // Blank lines and whole comments before a statement
                    // are dropped, not carried along.
                    if !self.has_code && self.state == State::Code {
                        self.pending.clear();
                        self.first_line = self.lines;
                    }
                    (line, 0)
                }
            };
            match self.scan(&line, from) {
                Some(end) => {
                    self.pending.push_str(&line[..end]);
                    // A rest of only whitespace starts nothing.
                    if !line[end..].trim().is_empty() {
                        self.carry = Some(blanked(&line, end));
                    }
                    if let Some(chunk) = self.take(self.lines) {
                        return Some(Ok(chunk));
                    }
                }
                None => self.pending.push_str(&line),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(text: &str) -> Vec<(usize, String)> {
        StatementReader::new(text.as_bytes())
            .map(|c| {
                let c = c.unwrap();
                (c.first_line(), c.text().to_string())
            })
            .collect()
    }

    #[test]
    fn statements_end_at_semicolons_outside_strings_comments_and_brackets() {
        let text = "SHOW TENANTS; SHOW STATS;\n\
                    -- a comment; not a statement\n\
                    QUERY c TENANT t CREATE NODE { id: \"a;b\", note: 'it''s; \\' ok' };\n\
                    /* block; */ QUERY c TENANT t\n  LIMIT 1;\n-- trailing comment\n";
        let got = chunks(text);
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[0], (1, "SHOW TENANTS;".to_string()));
        assert_eq!(got[1], (1, "              SHOW STATS;".to_string()));
        assert_eq!(got[2].0, 3);
        assert!(got[2].1.starts_with("QUERY c"), "{got:?}");
        assert!(got[2].1.ends_with("'it''s; \\' ok' };"), "{got:?}");
        assert_eq!(got[3].0, 4);
        assert!(got[3].1.starts_with("/* block; */ QUERY"), "{got:?}");
        assert!(got[3].1.ends_with("  LIMIT 1;"), "{got:?}");
    }

    #[test]
    fn a_last_statement_may_lack_its_semicolon_and_blank_text_gives_nothing() {
        assert_eq!(chunks("\n\nSHOW STATS"), [(3, "SHOW STATS".to_string())]);
        assert!(chunks("  \n-- only a comment\n/* and */\n").is_empty());
        assert!(chunks("").is_empty());
    }

    /// A script generated on the fly, statement by statement, never held.
    struct Generated {
        next: usize,
        count: usize,
        line: Vec<u8>,
    }

    impl io::Read for Generated {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.line.is_empty() && self.next < self.count {
                self.line = format!(
                    "QUERY c TENANT t CREATE NODE {{ id: \"n{}\", s: 'a;b' }}; -- ;\n",
                    self.next
                )
                .into_bytes();
                self.next += 1;
            }
            let n = buf.len().min(self.line.len());
            buf[..n].copy_from_slice(&self.line[..n]);
            self.line.drain(..n);
            Ok(n)
        }
    }

    /// The reader's memory is bounded by the largest statement: over a
    /// 100,000-statement script each chunk is one statement's line, counted.
    #[test]
    fn memory_is_bounded_by_the_largest_statement() {
        let input = Generated {
            next: 0,
            count: 100_000,
            line: Vec::new(),
        };
        let mut n = 0;
        for chunk in StatementReader::new(io::BufReader::new(input)) {
            let chunk = chunk.unwrap();
            n += 1;
            assert_eq!(chunk.first_line(), n);
            assert!(chunk.text().len() < 80, "{:?}", chunk.text());
            assert!(chunk.text().ends_with("' };"), "{:?}", chunk.text());
        }
        assert_eq!(n, 100_000);
    }

    #[test]
    fn positions_are_those_of_the_whole_script() {
        let text = "SHOW TENANTS;\nSHOW STATS; SHOW\n  TENANTZ;\n";
        let chunks: Vec<Chunk> = StatementReader::new(text.as_bytes())
            .map(|c| c.unwrap())
            .collect();
        assert_eq!(chunks.len(), 3);
        let e = chunks[2].parse().unwrap_err();
        let whole = crate::parser::parse(text).unwrap_err();
        let (p, w) = (e.position().unwrap(), whole.position().unwrap());
        assert_eq!((p.line, p.column), (w.line, w.column));
        let script = chunks[1].parse().unwrap();
        assert_eq!(
            (script.statements[0].line, script.statements[0].column),
            (2, 1)
        );
    }
}
