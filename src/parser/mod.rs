//! PQL text → AST ([`ast`]), with pest errors turned into positioned errors.

pub mod ast;

use crate::error::{Error, Result};

/// Parses a PQL script (any number of `;`-separated statements).
pub fn parse(text: &str) -> Result<ast::Script> {
    let _ = text;
    Err(Error::unsupported("parser not built yet"))
}
