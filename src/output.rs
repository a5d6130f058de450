//! Rendering of results (table, JSON Lines, CSV), shared by the REPL, scripts
//! and later HTTP.
//!
//! Every function returns whole lines, each ending in `\n`, or an empty string
//! when there is nothing to show; callers print the text as it is.
//!
//! - **Table** is for people: aligned columns, strings without quotes, `NULL`
//!   for null, floats with at most 4 decimals, a `(N rows)` footer.
//! - **JSON** is [JSON Lines](https://jsonlines.org): one object per
//!   statement, values at full precision.
//! - **CSV** is for spreadsheets and billing exports: a header row, then the
//!   rows, quoted as RFC 4180 says. A statement that returns only a message
//!   renders as a `# message` comment line.

use std::fmt::{self, Write as _};
use std::str::FromStr;

use serde::Serialize;
use unicode_width::UnicodeWidthStr;

use crate::error::{Error, ErrorKind};
use crate::result::QueryResult;
use crate::value::{write_key, Value};

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
        Format::Table => render_table(result),
        Format::Json => render_json(result),
        Format::Csv => render_csv(result),
    }
}

/// Renders an error in `format`: JSON gives one line
/// `{"error":{"kind":..,"code":..,"message":..,"line":..,"column":..}}`
/// (`line`/`column` null when the error has no position); table and CSV give
/// the error's rustc-style `Display`, with a caret when it has a position.
pub fn render_error(err: &Error, format: Format) -> String {
    match format {
        Format::Json => {
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
            let body = JsonError {
                kind: err.kind().name(),
                code: err.kind().code(),
                message: err.message(),
                line: err.position().map(|p| p.line),
                column: err.position().map(|p| p.column),
                resource,
                current,
                limit,
                retry_after_ms,
            };
            json_line(&JsonErrorLine { error: body })
        }
        Format::Table | Format::Csv => format!("{err}\n"),
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
    let elapsed_ms = (result.elapsed.as_secs_f64() * 1e6).round() / 1e3;
    json_line(&JsonResult {
        columns: &result.columns,
        rows: result
            .rows
            .iter()
            .map(|row| row.iter().map(Value::to_json).collect())
            .collect(),
        message: result.message.as_deref(),
        elapsed_ms,
    })
}

fn render_table(result: &QueryResult) -> String {
    let mut out = String::new();
    if !result.columns.is_empty() {
        let cells: Vec<Vec<(String, bool)>> = result
            .rows
            .iter()
            .map(|row| row.iter().map(|v| (table_cell(v), is_number(v))).collect())
            .collect();
        let mut widths: Vec<usize> = result.columns.iter().map(|c| c.width()).collect();
        for row in &cells {
            for (i, (text, _)) in row.iter().enumerate().take(widths.len()) {
                widths[i] = widths[i].max(text.width());
            }
        }
        let header: Vec<(String, bool)> =
            result.columns.iter().map(|c| (c.clone(), false)).collect();
        push_table_row(&mut out, &header, &widths);
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
        out.push_str(rule.join("+").trim_end());
        out.push('\n');
        for row in &cells {
            push_table_row(&mut out, row, &widths);
        }
        let n = result.rows.len();
        let _ = writeln!(out, "({n} row{})", if n == 1 { "" } else { "s" });
    }
    if let Some(message) = &result.message {
        out.push_str(message);
        out.push('\n');
    }
    if out.is_empty() {
        out.push_str("OK\n");
    }
    out
}

/// One line of a table: ` a | b `, numbers right-aligned, others left.
fn push_table_row(out: &mut String, row: &[(String, bool)], widths: &[usize]) {
    let mut line = String::new();
    for (i, width) in widths.iter().enumerate() {
        let (text, right) = row
            .get(i)
            .map(|(t, r)| (t.as_str(), *r))
            .unwrap_or(("", false));
        let pad = " ".repeat(width.saturating_sub(text.width()));
        if i > 0 {
            line.push('|');
        }
        line.push(' ');
        if right {
            line.push_str(&pad);
            line.push_str(text);
        } else {
            line.push_str(text);
            line.push_str(&pad);
        }
        line.push(' ');
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

fn is_number(v: &Value) -> bool {
    matches!(v, Value::Int(_) | Value::Float(_))
}

/// Arrays longer than this are shown as their first few items and a count.
const TABLE_ARRAY_ITEMS: usize = 8;

/// A table cell: strings bare, `NULL`, short floats, nested values in PQL
/// literal form; control characters escaped so that a cell stays on one line.
fn table_cell(v: &Value) -> String {
    let mut s = String::new();
    match v {
        Value::Null => s.push_str("NULL"),
        Value::Str(text) => escape_controls(&mut s, text),
        other => write_literal(&mut s, other),
    }
    s
}

fn escape_controls(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// PQL literal syntax like `Value`'s `Display`, with floats shortened and
/// long arrays elided (`[0.1, 0.2, ... (384 items)]`).
fn write_literal(out: &mut String, v: &Value) {
    match v {
        Value::Float(x) => out.push_str(&short_float(*x)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().take(TABLE_ARRAY_ITEMS).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_literal(out, item);
            }
            if items.len() > TABLE_ARRAY_ITEMS {
                let _ = write!(out, ", ... ({} items)", items.len());
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                out.push_str(if i > 0 { ", " } else { " " });
                out.push_str(&Key(k).to_string());
                out.push_str(": ");
                write_literal(out, item);
            }
            out.push_str(if map.is_empty() { "}" } else { " }" });
        }
        Value::Str(_) => escape_controls(out, &v.to_string()),
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

struct Key<'a>(&'a str);

impl fmt::Display for Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_key(f, self.0)
    }
}

/// A float for people: at most 4 decimals, trailing zeros dropped (but one
/// kept, so `2.0` still reads as a float); scientific when very small or
/// very large.
fn short_float(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    if x != 0.0 && !(1e-3..1e15).contains(&a) {
        return format!("{x:.3e}");
    }
    let mut s = format!("{x:.4}");
    while s.ends_with('0') && !s.ends_with(".0") {
        s.pop();
    }
    if s == "-0.0" {
        s.remove(0);
    }
    s
}

fn render_csv(result: &QueryResult) -> String {
    let mut out = String::new();
    if !result.columns.is_empty() {
        let header: Vec<String> = result.columns.iter().map(|c| csv_field(c)).collect();
        out.push_str(&header.join(","));
        out.push('\n');
        for row in &result.rows {
            let fields: Vec<String> = row.iter().map(csv_cell).collect();
            out.push_str(&fields.join(","));
            out.push('\n');
        }
    }
    if let Some(message) = &result.message {
        for line in message.lines() {
            let _ = writeln!(out, "# {line}");
        }
    }
    out
}

/// A CSV cell: null is an empty field, an empty string is `""` (so the two
/// stay apart), numbers at full precision, arrays and objects as JSON text.
fn csv_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Str(s) if s.is_empty() => "\"\"".to_string(),
        Value::Str(s) => csv_field(s),
        Value::Array(_) | Value::Object(_) => csv_field(&v.to_json().to_string()),
        other => csv_field(&other.to_string()),
    }
}

/// Quotes a field when RFC 4180 requires it (comma, quote, CR or LF), or
/// when it has leading or trailing spaces that a reader might trim.
fn csv_field(s: &str) -> String {
    let needs_quotes = s.contains([',', '"', '\n', '\r'])
        || s.starts_with(char::is_whitespace)
        || s.ends_with(char::is_whitespace);
    if needs_quotes {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::error::Position;

    fn sample() -> QueryResult {
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
    fn table_aligns_columns_and_counts_rows() {
        let text = render(&sample(), Format::Table);
        let expected = concat!(
            " _id | name             | _distance | meta\n",
            "-----+------------------+-----------+-----------------\n",
            " p1  | Widget, \"deluxe\" |    0.1235 | { tags: [\"a\"] }\n",
            " p2  | Größe 日本       |       1.0 | NULL\n",
            "(2 rows)\n",
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn table_of_no_rows_has_header_and_zero_count() {
        let r = QueryResult::rows(vec!["name".into()], vec![]);
        assert_eq!(render(&r, Format::Table), " name\n------\n(0 rows)\n");
        let one = QueryResult::rows(vec!["n".into()], vec![vec![Value::Int(7)]]);
        assert!(render(&one, Format::Table).ends_with("(1 row)\n"));
    }

    #[test]
    fn table_shows_message_alone() {
        let r = QueryResult::message("Tenant acme created");
        assert_eq!(render(&r, Format::Table), "Tenant acme created\n");
        let empty = QueryResult::rows(vec![], vec![]);
        assert_eq!(render(&empty, Format::Table), "OK\n");
    }

    #[test]
    fn table_cells_stay_on_one_line_and_long_arrays_are_elided() {
        let v: Vec<Value> = (0..384).map(|i| Value::Float(i as f64 / 1000.0)).collect();
        let r = QueryResult::rows(
            vec!["text".into(), "embedding".into()],
            vec![vec![Value::Str("a\nb\tc".into()), Value::Array(v)]],
        );
        let text = render(&r, Format::Table);
        assert_eq!(text.lines().count(), 4, "{text}");
        assert!(text.contains(r"a\nb\tc"), "{text}");
        assert!(text.contains("[0.0, 0.001, 0.002,"), "{text}");
        assert!(text.contains("... (384 items)]"), "{text}");
    }

    #[test]
    fn short_floats() {
        assert_eq!(short_float(0.123456), "0.1235");
        assert_eq!(short_float(10.5), "10.5");
        assert_eq!(short_float(2.0), "2.0");
        assert_eq!(short_float(-0.00001), "-1.000e-5");
        assert_eq!(short_float(0.0), "0.0");
        assert_eq!(short_float(-0.00001_f64.abs() * 0.0), "0.0");
        assert_eq!(short_float(f64::NAN), "NaN");
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

    #[test]
    fn csv_quotes_as_rfc_4180() {
        let text = render(&sample(), Format::Csv);
        let expected = "\
_id,name,_distance,meta
p1,\"Widget, \"\"deluxe\"\"\",0.123456789,\"{\"\"tags\"\":[\"\"a\"\"]}\"
p2,Größe 日本,1.0,
";
        assert_eq!(text, expected);
    }

    #[test]
    fn csv_separates_null_from_empty_and_quotes_newlines() {
        let r = QueryResult::rows(
            vec!["a".into(), "b,c".into()],
            vec![
                vec![Value::Null, Value::Str(String::new())],
                vec![Value::Str("x\ny".into()), Value::Str(" pad".into())],
            ],
        );
        assert_eq!(
            render(&r, Format::Csv),
            "a,\"b,c\"\n,\"\"\n\"x\ny\",\" pad\"\n"
        );
        let empty = QueryResult::rows(vec!["id".into()], vec![]);
        assert_eq!(render(&empty, Format::Csv), "id\n");
    }

    #[test]
    fn csv_message_is_a_comment_line() {
        let r = QueryResult::message("Tenant acme created");
        assert_eq!(render(&r, Format::Csv), "# Tenant acme created\n");
        assert_eq!(render(&QueryResult::rows(vec![], vec![]), Format::Csv), "");
    }
}
