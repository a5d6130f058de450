//! The `pql` command: REPL, script runner, one-shot `-e`.
fn main() {}
