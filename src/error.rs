//! The one error type of the crate: a stable kind to match, a message a person
//! understands, and (for parse and plan errors) a position in the PQL text.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::parser::ast::Span;

/// The kind of an error: what callers match on. Each kind has a stable name
/// ([`ErrorKind::name`]) and a stable dotted code ([`ErrorKind::code`]) that
/// JSON output and tests rely on.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The PQL text does not follow the grammar.
    ParseError,
    /// No tenant of that name.
    TenantNotFound,
    /// A tenant of that name exists already.
    TenantExists,
    /// The tenant is archived; restore it first.
    TenantArchived,
    /// The tenant is suspended.
    TenantSuspended,
    /// The tenant is read-only and the statement writes.
    TenantReadOnly,
    /// The tenant is pending deletion.
    TenantPendingDeletion,
    /// A lifecycle transition that is not allowed from the current status.
    InvalidTransition,
    /// No collection of that name in the tenant.
    CollectionNotFound,
    /// A collection of that name exists already.
    CollectionExists,
    /// CREATE NODE with an id that exists.
    NodeExists,
    /// A node referenced by id does not exist.
    NodeNotFound,
    /// No API key of that id for the tenant.
    KeyNotFound,
    /// No tier of that name.
    TierNotFound,
    /// A tier of that name exists already.
    TierExists,
    /// DROP TIER of a tier that tenants still name.
    TierInUse,
    /// A resource limit would be passed.
    QuotaExceeded {
        /// The limited resource, e.g. `vectors`.
        resource: String,
        /// Usage the statement would reach (or current usage).
        current: u64,
        /// The limit.
        limit: u64,
    },
    /// Too many statements in the rate window.
    RateLimited {
        /// When a retry may succeed.
        retry_after: Duration,
    },
    /// A tenant or collection name that is not allowed.
    InvalidName,
    /// A vector whose dimension differs from the collection's.
    DimensionMismatch,
    /// A value of the wrong type (e.g. a string where a number is needed).
    TypeError,
    /// A statement or option that this version does not support.
    Unsupported,
    /// An option name or value that is not valid.
    InvalidOption,
    /// No tenant given and no `USE TENANT` in effect.
    NoTenant,
    /// A file-system or storage failure.
    Io,
    /// Stored data is damaged or of an unknown format.
    Corrupt,
    /// The object store cannot be reached or refuses access: a network
    /// failure, a missing bucket or rejected credentials.
    StorageUnavailable,
    /// Cluster mode: this node no longer owns the tenant (its lease was taken
    /// over and the tenant's log fenced), so the write was refused.
    NotOwner,
    /// The statement stopped at a safe point because its session's
    /// [`CancelToken`](crate::CancelToken) was cancelled; it changed nothing.
    Cancelled,
}

impl ErrorKind {
    /// The kind's name as written in PQL.md (`TenantNotFound`).
    pub fn name(&self) -> &'static str {
        match self {
            ErrorKind::ParseError => "ParseError",
            ErrorKind::TenantNotFound => "TenantNotFound",
            ErrorKind::TenantExists => "TenantExists",
            ErrorKind::TenantArchived => "TenantArchived",
            ErrorKind::TenantSuspended => "TenantSuspended",
            ErrorKind::TenantReadOnly => "TenantReadOnly",
            ErrorKind::TenantPendingDeletion => "TenantPendingDeletion",
            ErrorKind::InvalidTransition => "InvalidTransition",
            ErrorKind::CollectionNotFound => "CollectionNotFound",
            ErrorKind::CollectionExists => "CollectionExists",
            ErrorKind::NodeExists => "NodeExists",
            ErrorKind::NodeNotFound => "NodeNotFound",
            ErrorKind::KeyNotFound => "KeyNotFound",
            ErrorKind::TierNotFound => "TierNotFound",
            ErrorKind::TierExists => "TierExists",
            ErrorKind::TierInUse => "TierInUse",
            ErrorKind::QuotaExceeded { .. } => "QuotaExceeded",
            ErrorKind::RateLimited { .. } => "RateLimited",
            ErrorKind::InvalidName => "InvalidName",
            ErrorKind::DimensionMismatch => "DimensionMismatch",
            ErrorKind::TypeError => "TypeError",
            ErrorKind::Unsupported => "Unsupported",
            ErrorKind::InvalidOption => "InvalidOption",
            ErrorKind::NoTenant => "NoTenant",
            ErrorKind::Io => "Io",
            ErrorKind::Corrupt => "Corrupt",
            ErrorKind::StorageUnavailable => "StorageUnavailable",
            ErrorKind::NotOwner => "NotOwner",
            ErrorKind::Cancelled => "Cancelled",
        }
    }

    /// A stable dotted code (`tenant.not_found`).
    pub fn code(&self) -> &'static str {
        match self {
            ErrorKind::ParseError => "parse.syntax",
            ErrorKind::TenantNotFound => "tenant.not_found",
            ErrorKind::TenantExists => "tenant.exists",
            ErrorKind::TenantArchived => "tenant.archived",
            ErrorKind::TenantSuspended => "tenant.suspended",
            ErrorKind::TenantReadOnly => "tenant.read_only",
            ErrorKind::TenantPendingDeletion => "tenant.pending_deletion",
            ErrorKind::InvalidTransition => "tenant.invalid_transition",
            ErrorKind::CollectionNotFound => "collection.not_found",
            ErrorKind::CollectionExists => "collection.exists",
            ErrorKind::NodeExists => "node.exists",
            ErrorKind::NodeNotFound => "node.not_found",
            ErrorKind::KeyNotFound => "key.not_found",
            ErrorKind::TierNotFound => "tier.not_found",
            ErrorKind::TierExists => "tier.exists",
            ErrorKind::TierInUse => "tier.in_use",
            ErrorKind::QuotaExceeded { .. } => "quota.exceeded",
            ErrorKind::RateLimited { .. } => "quota.rate_limited",
            ErrorKind::InvalidName => "name.invalid",
            ErrorKind::DimensionMismatch => "vector.dimension_mismatch",
            ErrorKind::TypeError => "value.type_error",
            ErrorKind::Unsupported => "statement.unsupported",
            ErrorKind::InvalidOption => "option.invalid",
            ErrorKind::NoTenant => "tenant.missing",
            ErrorKind::Io => "storage.io",
            ErrorKind::Corrupt => "storage.corrupt",
            ErrorKind::StorageUnavailable => "storage.unavailable",
            ErrorKind::NotOwner => "cluster.not_owner",
            ErrorKind::Cancelled => "statement.cancelled",
        }
    }
}

/// Where in the PQL text an error points: 1-based line and column, and the
/// text of that line (for the caret excerpt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The whole source line the position is on, without its newline.
    pub source_line: String,
}

/// The crate's error: a kind, a message and an optional position.
///
/// `Display` renders it rustc-style; with a position it shows the line and a
/// caret under the column:
///
/// ```text
/// error: expected TOP, LIMIT, RETURN or ';'
///  --> line 3, column 28
///   |
/// 3 |   SIMILAR TO embed("tool") TOPP 10;
///   |                            ^
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Debug, Clone)]
struct Inner {
    kind: ErrorKind,
    message: String,
    position: Option<Position>,
    /// The part of the script the error is about, until
    /// [`Session::execute_script`](crate::Session::execute_script) turns it
    /// into a position.
    span: Option<Span>,
    /// The underlying failure of an I/O error, for
    /// [`source`](std::error::Error::source).
    cause: Option<Cause>,
}

/// A shared underlying error.
type Cause = Arc<dyn std::error::Error + Send + Sync>;

impl PartialEq for Inner {
    /// Kind, message and position; the cause is told by the message.
    fn eq(&self, other: &Inner) -> bool {
        self.kind == other.kind
            && self.message == other.message
            && self.position == other.position
            && self.span == other.span
    }
}

/// The cause of an I/O error when only its text is known.
#[derive(Debug)]
struct CauseText(String);

impl fmt::Display for CauseText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CauseText {}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                position: None,
                span: None,
                cause: None,
            }),
        }
    }

    /// The same error, pointing at `position` (kept if one is set already).
    pub fn at(mut self, position: Position) -> Self {
        if self.inner.position.is_none() {
            self.inner.position = Some(position);
        }
        self
    }

    /// The same error, about the part `span` of the script (kept if one is
    /// set already; an empty span, as in a tree built by hand, is ignored).
    pub(crate) fn with_span(mut self, span: Span) -> Self {
        if self.inner.span.is_none() && span.end > span.start {
            self.inner.span = Some(span);
        }
        self
    }

    /// The same error, its position moved `lines` lines down: for text
    /// parsed or run as a part of a script that starts further down
    /// ([`Chunk`](crate::script::Chunk)).
    pub(crate) fn shift_lines(mut self, lines: usize) -> Self {
        if let Some(p) = &mut self.inner.position {
            p.line += lines;
        }
        self
    }

    /// The part of the script the error is about, if known.
    pub(crate) fn span(&self) -> Option<Span> {
        self.inner.span
    }

    /// The kind, to match on.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// The message, without position.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The position in the PQL text, if the error has one.
    pub fn position(&self) -> Option<&Position> {
        self.inner.position.as_ref()
    }

    /// An I/O error: `context` (what was being done), then `err`, which
    /// [`source`](std::error::Error::source) returns.
    pub(crate) fn io(context: impl fmt::Display, err: impl fmt::Display) -> Self {
        let cause = err.to_string();
        Error::new(ErrorKind::Io, format!("{context}: {cause}"))
            .caused_by(Arc::new(CauseText(cause)))
    }

    /// The same error, caused by `cause`.
    fn caused_by(mut self, cause: Cause) -> Self {
        self.inner.cause = Some(cause);
        self
    }

    pub(crate) fn corrupt(context: impl fmt::Display, err: impl fmt::Display) -> Self {
        Error::new(ErrorKind::Corrupt, format!("{context}: {err}"))
    }

    pub(crate) fn type_error(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::TypeError, message)
    }

    pub(crate) fn invalid_option(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidOption, message)
    }

    pub(crate) fn unsupported(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Unsupported, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.inner.message)?;
        if let Some(p) = &self.inner.position {
            let num = p.line.to_string();
            let pad = " ".repeat(num.len());
            let (text, lead) = excerpt(&p.source_line, p.column);
            write!(
                f,
                "\n{pad}--> line {}, column {}\n{pad} |\n{num} | {text}\n{pad} | {lead}^",
                p.line, p.column
            )?;
        }
        Ok(())
    }
}

/// Characters of the source line shown on each side of the caret: a long
/// line (a 12 MB vector literal) is cut to a window, marked with `…`.
const EXCERPT_SIDE: usize = 60;

/// The part of `line` shown around 1-based `column`, and the lead that puts
/// a caret under that column (tabs copied so the caret lines up).
fn excerpt(line: &str, column: usize) -> (String, String) {
    let caret = column.saturating_sub(1);
    let first = caret.saturating_sub(EXCERPT_SIDE);
    let mut text = String::new();
    let mut lead = String::new();
    if first > 0 {
        text.push('…');
        lead.push(' ');
    }
    let mut chars = line.chars().skip(first);
    for (i, c) in chars
        .by_ref()
        .take(caret - first + EXCERPT_SIDE)
        .enumerate()
    {
        text.push(c);
        if first + i < caret {
            lead.push(if c == '\t' { '\t' } else { ' ' });
        }
    }
    if chars.next().is_some() {
        text.push('…');
    }
    (text, lead)
}

impl std::error::Error for Error {
    /// The underlying failure of an I/O error (the `std::io::Error` itself
    /// when the error came from one).
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let cause: &(dyn std::error::Error + 'static) = self.inner.cause.as_deref()?;
        Some(cause)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::new(ErrorKind::Io, e.to_string()).caused_by(Arc::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_stays_one_pointer_wide() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn io_errors_keep_their_cause() {
        use std::error::Error as _;
        let e = Error::from(std::io::Error::new(std::io::ErrorKind::NotFound, "no file"));
        let io = e.source().and_then(|s| s.downcast_ref::<std::io::Error>());
        assert_eq!(
            io.map(std::io::Error::kind),
            Some(std::io::ErrorKind::NotFound)
        );

        let e = Error::io("reading tenant.redb", "disk on fire");
        assert_eq!(e.message(), "reading tenant.redb: disk on fire");
        assert_eq!(
            e.source().map(|s| s.to_string()).as_deref(),
            Some("disk on fire")
        );

        assert!(Error::type_error("not a number").source().is_none());
    }

    #[test]
    fn renders_caret_under_column() {
        let e = Error::new(ErrorKind::ParseError, "expected TOP").at(Position {
            line: 3,
            column: 5,
            source_line: "abc TOPP 10".into(),
        });
        let text = e.to_string();
        assert!(text.contains("--> line 3, column 5"), "{text}");
        assert!(text.ends_with("  |     ^"), "{text:?}");
    }

    #[test]
    fn a_huge_line_renders_as_a_window_around_the_caret() {
        let line = format!("{}TOPP{}", "x".repeat(6_000_000), "y".repeat(6_000_000));
        let e = Error::new(ErrorKind::ParseError, "expected TOP").at(Position {
            line: 1,
            column: 6_000_001,
            source_line: line,
        });
        let text = e.to_string();
        assert!(text.len() < 400, "{} bytes", text.len());
        let lines: Vec<&str> = text.lines().collect();
        let shown = lines[3].trim_start_matches("1 | ");
        let under = lines[4].trim_start_matches("  | ");
        // The caret sits under the T of TOPP.
        let at = under.chars().count() - 1;
        assert_eq!(shown.chars().nth(at), Some('T'), "{text}");
        assert!(shown.starts_with('…') && shown.ends_with('…'), "{text}");
    }

    #[test]
    fn a_short_line_is_shown_whole() {
        let (text, lead) = excerpt("ab\tc TOPP", 7);
        assert_eq!(text, "ab\tc TOPP");
        assert_eq!(lead, "  \t   ");
    }
}
