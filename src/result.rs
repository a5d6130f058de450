//! What a statement returns: columns and rows of typed values, or a message.

use std::time::Duration;

use crate::value::Value;

/// The result of one statement.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// Column names; empty for statements that return only a message.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<Value>>,
    /// A short confirmation (`Tenant acme created`), if the statement has one.
    pub message: Option<String>,
    /// Wall time the statement took inside the engine.
    pub elapsed: Duration,
}

impl QueryResult {
    /// A result with only a message.
    pub fn message(message: impl Into<String>) -> Self {
        QueryResult {
            columns: Vec::new(),
            rows: Vec::new(),
            message: Some(message.into()),
            elapsed: Duration::ZERO,
        }
    }

    /// A result with columns and rows.
    pub fn rows(columns: Vec<String>, rows: Vec<Vec<Value>>) -> Self {
        QueryResult {
            columns,
            rows,
            message: None,
            elapsed: Duration::ZERO,
        }
    }

    /// The index of the column named `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// The values of column `name`, one per row.
    pub fn column_values(&self, name: &str) -> Vec<&Value> {
        match self.column(name) {
            Some(i) => self.rows.iter().filter_map(|r| r.get(i)).collect(),
            None => Vec::new(),
        }
    }
}
