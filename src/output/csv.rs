//! The CSV format: RFC 4180, a header row, messages as `# comment` lines.

use std::fmt::Write as _;

use crate::result::QueryResult;
use crate::value::Value;

pub(super) fn render(result: &QueryResult) -> String {
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
    use super::*;
    use crate::output::tests::sample;
    use crate::output::{render, Format};

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
