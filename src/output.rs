//! Rendering of results (table, JSON Lines, CSV), shared by the REPL, scripts
//! and later HTTP.
//!
//! Every function returns whole lines, each ending in `\n`, or an empty string
//! when there is nothing to show; callers print the text as it is.
//!
//! - **Table** is for people: aligned columns (numbers right-aligned),
//!   strings without quotes, `NULL` for null, floats with at most 4 decimals
//!   (`0.1235`), small ones with 4 significant digits (`0.0001`,
//!   `0.00001234`; scientific only below 1e-9 and from 1e15), arrays and
//!   objects in PQL literal
//!   form with arrays past 8 items elided, newlines and tabs in cells shown
//!   as `\n` / `\t`, and a `(N rows)` footer. A message follows the table;
//!   a result with neither columns nor message prints `OK`. Column names
//!   are escaped like cells. [`render_expanded`] shows the same cells one
//!   `column | value` line each, record after record (psql's `\x`).
//! - **JSON** is [JSON Lines](https://jsonlines.org): one object per
//!   statement, `{"columns":[..],"rows":[[..]],"message":..,"elapsed_ms":..}`,
//!   values at full precision (non-finite floats become `null`).
//! - **CSV** is for spreadsheets and billing exports: a header row, then the
//!   rows, quoted as RFC 4180 says, lines ending in `\n`. Null is an empty
//!   field and an empty string is `""`; arrays and objects are JSON text. A
//!   message renders as a `# message` comment line (after the rows, if any),
//!   which readers such as pandas skip with `comment='#'`.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::error::{Error, ErrorKind};
use crate::result::QueryResult;
use crate::value::Value;

mod csv;
mod table;

/// How results and errors are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Aligned columns with a header and a row count, for people.
    #[default]
    Table,
    /// One JSON object per statement (JSON Lines), for programs.
    Json,
    /// A header row and data rows (RFC 4180), for spreadsheets.
    Csv,
}

impl Format {
    /// The format's name as `--format` and `\format` accept it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Csv => "csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses `table`, `json` or `csv`, in any case.
impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            other => Err(format!(
                "unknown format '{other}': expected table, json or csv"
            )),
        }
    }
}

/// Renders one statement's result in `format`.
pub fn render(result: &QueryResult, format: Format) -> String {
    match format {
        Format::Table => table::render(result),
        Format::Json => render_json(result),
        Format::Csv => csv::render(result),
    }
}

/// Renders a result like the table format, but each row as a record of
/// `column | value` lines under a `-[ RECORD n ]` rule (psql's expanded
/// mode, `\x` in the shell), for rows too wide to read across.
pub fn render_expanded(result: &QueryResult) -> String {
    table::render_expanded(result)
}

/// Renders an error in `format`: JSON gives one line
/// `{"error":{"kind":..,"code":..,"message":..,"line":..,"column":..}}`
/// (`line`/`column` null when the error has no position); table and CSV give
/// the error's rustc-style `Display`, with a caret when it has a position.
pub fn render_error(err: &Error, format: Format) -> String {
    match format {
        Format::Json => json_line(&JsonErrorLine {
            error: json_error(err),
        }),
        Format::Table | Format::Csv => format!("{err}\n"),
    }
}

/// One statement's result as the object a JSON Line holds
/// (`{"columns","rows","message","elapsed_ms"}`), for the HTTP server.
pub fn result_value(result: &QueryResult) -> serde_json::Value {
    serde_json::to_value(json_result(result)).unwrap_or(serde_json::Value::Null)
}

/// An error as the object under `"error"` in a JSON Line
/// (`{"kind","code","message","line","column",...}`), for the HTTP server.
pub fn error_value(err: &Error) -> serde_json::Value {
    serde_json::to_value(json_error(err)).unwrap_or(serde_json::Value::Null)
}

fn json_error(err: &Error) -> JsonError<'_> {
    let (resource, current, limit, retry_after_ms) = match err.kind() {
        ErrorKind::QuotaExceeded {
            resource,
            current,
            limit,
        } => (Some(resource.as_str()), Some(*current), Some(*limit), None),
        ErrorKind::RateLimited { retry_after } => {
            (None, None, None, Some(retry_after.as_millis() as u64))
        }
        _ => (None, None, None, None),
    };
    JsonError {
        kind: err.kind().name(),
        code: err.kind().code(),
        message: err.message(),
        line: err.position().map(|p| p.line),
        column: err.position().map(|p| p.column),
        resource,
        current,
        limit,
        retry_after_ms,
    }
}

#[derive(Serialize)]
struct JsonResult<'a> {
    columns: &'a [String],
    rows: Vec<Vec<serde_json::Value>>,
    message: Option<&'a str>,
    elapsed_ms: f64,
}

#[derive(Serialize)]
struct JsonErrorLine<'a> {
    error: JsonError<'a>,
}

#[derive(Serialize)]
struct JsonError<'a> {
    kind: &'static str,
    code: &'static str,
    message: &'a str,
    line: Option<usize>,
    column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    current: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_ms: Option<u64>,
}

fn json_line(value: &impl Serialize) -> String {
    // Serializing plain structs of strings, numbers and JSON values cannot
    // fail; the fallback keeps the output one valid JSON line regardless.
    let mut line = serde_json::to_string(value).unwrap_or_else(|e| {
        format!(
            r#"{{"error":{{"kind":"Io","code":"storage.io","message":{},"line":null,"column":null}}}}"#,
            serde_json::Value::String(e.to_string())
        )
    });
    line.push('\n');
    line
}

fn render_json(result: &QueryResult) -> String {
    json_line(&json_result(result))
}

fn json_result(result: &QueryResult) -> JsonResult<'_> {
    let elapsed_ms = (result.elapsed.as_secs_f64() * 1e6).round() / 1e3;
    JsonResult {
        columns: &result.columns,
        rows: result
            .rows
            .iter()
            .map(|row| row.iter().map(Value::to_json).collect())
            .collect(),
        message: result.message.as_deref(),
        elapsed_ms,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::error::Position;

    pub(crate) fn sample() -> QueryResult {
        let mut meta = BTreeMap::new();
        meta.insert(
            "tags".to_string(),
            Value::Array(vec![Value::Str("a".into())]),
        );
        QueryResult::rows(
            vec![
                "_id".into(),
                "name".into(),
                "_distance".into(),
                "meta".into(),
            ],
            vec![
                vec![
                    Value::Str("p1".into()),
                    Value::Str("Widget, \"deluxe\"".into()),
                    Value::Float(0.123456789),
                    Value::Object(meta),
                ],
                vec![
                    Value::Str("p2".into()),
                    Value::Str("Größe 日本".into()),
                    Value::Float(1.0),
                    Value::Null,
                ],
            ],
        )
    }
    #[test]
    fn format_parses_in_any_case() {
        assert_eq!("JSON".parse::<Format>(), Ok(Format::Json));
        assert_eq!(" csv ".parse::<Format>(), Ok(Format::Csv));
        assert_eq!("table".parse::<Format>(), Ok(Format::Table));
        assert!("xml".parse::<Format>().is_err());
    }
    #[test]
    fn json_is_one_line_per_result_with_full_precision() {
        let mut r = sample();
        r.elapsed = Duration::from_micros(1500);
        let text = render(&r, Format::Json);
        assert_eq!(text.matches('\n').count(), 1);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["columns"][2], "_distance");
        assert_eq!(v["rows"][0][2], 0.123456789);
        assert_eq!(v["rows"][0][1], "Widget, \"deluxe\"");
        assert_eq!(v["rows"][1][1], "Größe 日本");
        assert_eq!(v["rows"][0][3]["tags"][0], "a");
        assert!(v["rows"][1][3].is_null());
        assert!(v["message"].is_null());
        assert_eq!(v["elapsed_ms"], 1.5);
        assert!(text.starts_with(r#"{"columns":"#), "{text}");
    }

    #[test]
    fn json_message_and_empty_result() {
        let text = render(&QueryResult::message("Tenant acme created"), Format::Json);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["message"], "Tenant acme created");
        assert_eq!(v["rows"], serde_json::json!([]));
        assert_eq!(v["columns"], serde_json::json!([]));
    }

    #[test]
    fn json_error_has_kind_code_and_position() {
        let e = Error::new(ErrorKind::ParseError, "expected TOP").at(Position {
            line: 3,
            column: 28,
            source_line: "x".into(),
        });
        let v: serde_json::Value = serde_json::from_str(&render_error(&e, Format::Json)).unwrap();
        assert_eq!(v["error"]["kind"], "ParseError");
        assert_eq!(v["error"]["code"], "parse.syntax");
        assert_eq!(v["error"]["message"], "expected TOP");
        assert_eq!(v["error"]["line"], 3);
        assert_eq!(v["error"]["column"], 28);

        let e = Error::new(ErrorKind::TenantNotFound, "Tenant not found: ghost");
        let v: serde_json::Value = serde_json::from_str(&render_error(&e, Format::Json)).unwrap();
        assert_eq!(v["error"]["code"], "tenant.not_found");
        assert!(v["error"]["line"].is_null() && v["error"]["column"].is_null());
        assert!(v["error"].get("resource").is_none());
    }

    #[test]
    fn json_quota_error_carries_numbers() {
        let kind = ErrorKind::QuotaExceeded {
            resource: "vectors".into(),
            current: 10_001,
            limit: 10_000,
        };
        let e = Error::new(kind, "Vector quota exceeded: 10000 + 1 > 10000");
        let v: serde_json::Value = serde_json::from_str(&render_error(&e, Format::Json)).unwrap();
        assert_eq!(v["error"]["resource"], "vectors");
        assert_eq!(v["error"]["limit"], 10_000);
    }

    #[test]
    fn table_and_csv_errors_use_display() {
        let e = Error::new(ErrorKind::TenantNotFound, "Tenant not found: ghost");
        assert_eq!(
            render_error(&e, Format::Table),
            "error: Tenant not found: ghost\n"
        );
        assert_eq!(
            render_error(&e, Format::Csv),
            "error: Tenant not found: ghost\n"
        );
    }
}
