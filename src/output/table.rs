//! The table format: aligned columns for people.

use std::fmt::{self, Write as _};

use unicode_width::UnicodeWidthStr;

use crate::result::QueryResult;
use crate::value::{write_key, Value};

pub(super) fn render(result: &QueryResult) -> String {
    let mut out = String::new();
    if !result.columns.is_empty() {
        let header = escaped_columns(result);
        let cells: Vec<Vec<(String, bool)>> = result
            .rows
            .iter()
            .map(|row| row.iter().map(|v| (table_cell(v), is_number(v))).collect())
            .collect();
        let mut widths: Vec<usize> = header.iter().map(|(c, _)| c.width()).collect();
        for row in &cells {
            for (i, (text, _)) in row.iter().enumerate().take(widths.len()) {
                widths[i] = widths[i].max(text.width());
            }
        }
        push_table_row(&mut out, &header, &widths);
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
        out.push_str(rule.join("+").trim_end());
        out.push('\n');
        for row in &cells {
            push_table_row(&mut out, row, &widths);
        }
        push_row_count(&mut out, result.rows.len());
    }
    push_message(&mut out, result);
    out
}

/// Expanded rows: each row a `-[ RECORD n ]` rule and one `column | value`
/// line per column, column names padded to the widest.
pub(super) fn render_expanded(result: &QueryResult) -> String {
    let mut out = String::new();
    if !result.columns.is_empty() {
        let header = escaped_columns(result);
        let width = header.iter().map(|(c, _)| c.width()).max().unwrap_or(0);
        for (i, row) in result.rows.iter().enumerate() {
            let _ = writeln!(out, "-[ RECORD {} ]{}", i + 1, "-".repeat(width.max(4)));
            for ((name, _), value) in header.iter().zip(row) {
                let pad = " ".repeat(width.saturating_sub(name.width()));
                let cell = table_cell(value);
                let _ = writeln!(out, "{name}{pad} | {cell}");
            }
        }
        push_row_count(&mut out, result.rows.len());
    }
    push_message(&mut out, result);
    out
}

/// Column names are attribute names a node chose: escaped like values, so
/// that a name holding terminal escapes cannot drive the terminal.
fn escaped_columns(result: &QueryResult) -> Vec<(String, bool)> {
    result
        .columns
        .iter()
        .map(|c| {
            let mut text = String::new();
            escape_controls(&mut text, c);
            (text, false)
        })
        .collect()
}

fn push_row_count(out: &mut String, n: usize) {
    let _ = writeln!(out, "({n} row{})", if n == 1 { "" } else { "s" });
}

/// The message after the rows; `OK` when there is nothing else to show.
fn push_message(out: &mut String, result: &QueryResult) {
    if let Some(message) = &result.message {
        out.push_str(message);
        out.push('\n');
    }
    if out.is_empty() {
        out.push_str("OK\n");
    }
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
                escape_controls(out, &Key(k).to_string());
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
/// kept, so `2.0` still reads as a float). Small amounts (a cost of
/// `0.0001`, a distance of `0.00002345`) keep 4 significant digits in plain
/// decimals; only below `1e-9` and from `1e15` up is it scientific.
fn short_float(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    if x != 0.0 && !(1e-9..1e15).contains(&a) {
        return format!("{x:.3e}");
    }
    // Decimals for 4 significant digits, at least 4.
    let decimals = if a > 0.0 && a < 1e-3 {
        (3 - a.log10().floor() as i32).max(4) as usize
    } else {
        4
    };
    let mut s = format!("{x:.decimals$}");
    while s.ends_with('0') && !s.ends_with(".0") {
        s.pop();
    }
    if s == "-0.0" {
        s.remove(0);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::tests::sample;
    use crate::output::{render, Format};

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
    fn header_escapes_terminal_controls_like_cells() {
        let name = "h\u{1b}[2Jx";
        let r = QueryResult::rows(vec![name.into()], vec![vec![Value::Str(name.into())]]);
        let text = render(&r, Format::Table);
        assert!(!text.contains('\u{1b}'), "{text:?}");
        let header = text.lines().next().unwrap_or_default();
        assert_eq!(header, " h\\u{1b}[2Jx");
        let rule = text.lines().nth(1).unwrap_or_default();
        assert_eq!(rule.len(), header.len() + 1, "{text}");
    }

    #[test]
    fn expanded_shows_one_line_per_column_and_record() {
        let text = crate::output::render_expanded(&sample());
        let expected = concat!(
            "-[ RECORD 1 ]---------\n",
            "_id       | p1\n",
            "name      | Widget, \"deluxe\"\n",
            "_distance | 0.1235\n",
            "meta      | { tags: [\"a\"] }\n",
            "-[ RECORD 2 ]---------\n",
            "_id       | p2\n",
            "name      | Größe 日本\n",
            "_distance | 1.0\n",
            "meta      | NULL\n",
            "(2 rows)\n",
        );
        assert_eq!(text, expected);
        let bad = QueryResult::rows(vec!["a\u{1b}[2J".into()], vec![vec![Value::Int(1)]]);
        assert!(!crate::output::render_expanded(&bad).contains('\u{1b}'));
        let message = QueryResult::message("Tenant acme created");
        assert_eq!(
            crate::output::render_expanded(&message),
            "Tenant acme created\n"
        );
    }

    #[test]
    fn short_floats() {
        assert_eq!(short_float(0.123456), "0.1235");
        assert_eq!(short_float(10.5), "10.5");
        assert_eq!(short_float(2.0), "2.0");
        assert_eq!(short_float(-0.00001), "-0.00001");
        assert_eq!(short_float(0.0001), "0.0001");
        assert_eq!(short_float(0.000012345), "0.00001234");
        assert_eq!(short_float(0.0009999), "0.0009999");
        assert_eq!(short_float(1e-12), "1.000e-12");
        assert_eq!(short_float(2e15), "2.000e15");
        assert_eq!(short_float(0.0), "0.0");
        assert_eq!(short_float(-0.00001_f64.abs() * 0.0), "0.0");
        assert_eq!(short_float(f64::NAN), "NaN");
    }
}
