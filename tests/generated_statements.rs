//! 20,000 generated statements (valid, truncated and mutated PQL with
//! extreme literals and hostile names) against a live engine, with the
//! invariants of `common/fuzz.rs` checked after each: no panic, positioned
//! errors with a kind, catalog and disk in agreement, nothing outside the
//! data folder, tenant isolation. `examples/statement_fuzz.rs` runs the same
//! generator for a million statements.

mod common;
#[path = "common/fuzz.rs"]
mod fuzz;

use fuzz::{Generator, Harness};

const STATEMENTS: usize = 20_000;

#[test]
fn twenty_thousand_generated_statements_keep_every_invariant() {
    let mut generator = Generator::new(fuzz::SEED);
    let mut harness = Harness::new(common::fast_tempdir());
    for _ in 0..STATEMENTS {
        let statement = generator.next_statement();
        harness.run(&statement);
    }
    let (ok, run) = (harness.ok, harness.statements);
    let failures = harness.finish();
    assert!(
        failures.is_empty(),
        "{} failures in {run} statements, first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The generator reaches past the parser: a good share succeeds.
    assert!(ok > run / 10, "only {ok} of {run} statements succeeded");
}

#[test]
fn the_checks_catch_what_they_look_for() {
    let mut harness = Harness::new(common::fast_tempdir());
    harness.run("SHOW TENANTS;");
    assert!(harness.failures.is_empty(), "{:?}", harness.failures);
    // A file outside the data folder.
    let stray = harness.sandbox().join("escaped");
    std::fs::write(&stray, b"x").unwrap();
    harness.run("SHOW TENANTS;");
    assert_eq!(harness.failures.len(), 1, "{:?}", harness.failures);
    std::fs::remove_file(&stray).unwrap();
    // A tenant folder the catalog does not know.
    let ghost = harness.sandbox().join("data/tenants/ghost");
    std::fs::create_dir_all(&ghost).unwrap();
    harness.run("SHOW TENANTS;");
    assert_eq!(harness.failures.len(), 2, "{:?}", harness.failures);
    std::fs::remove_dir(&ghost).unwrap();
    // An error without a position is impossible to provoke from outside;
    // a parse error carries one.
    harness.run("SHOW TENANTZ;");
    assert_eq!(harness.failures.len(), 2, "{:?}", harness.failures);
}
