//! Embedding PQL in a Rust program: one engine shared by threads, one tenant
//! per customer, typed results.
//!
//! Run it with `cargo run --release --example embed` (it uses a temporary
//! data folder, or the folder given as its first argument).

use std::thread;

use pql::{Engine, ErrorKind, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    let engine = Engine::open(&dir)?;

    // One tenant per customer; the same collection name and node ids in each.
    for customer in ["acme", "globex"] {
        engine.execute(&format!(
            "CREATE TENANT IF NOT EXISTS {customer} WITH (tier: 'pro');"
        ))?;
    }

    // The engine is Send + Sync: load both tenants from two threads at once.
    let loaders: Vec<_> = [("acme", "hammer"), ("globex", "banana")]
        .into_iter()
        .map(|(customer, product)| {
            let engine = engine.clone();
            thread::spawn(move || {
                engine.execute(&format!(
                    r#"QUERY products TENANT {customer} UPSERT NODE {{
                         id: "p1", name: "{product}", price: 12.5,
                         embedding: embed("a {product} for everyday use") }};"#
                ))
            })
        })
        .collect();
    for loader in loaders {
        loader.join().map_err(|_| "loader thread panicked")??;
    }

    // A session remembers USE TENANT; results are typed values.
    let mut session = engine.session();
    let results = session.execute(
        r#"USE TENANT acme;
           QUERY products SIMILAR TO embed("hammer") TOP 3 RETURN _id, name, _distance;"#,
    )?;
    let hits = &results[1];
    for row in &hits.rows {
        if let [Value::Str(id), Value::Str(name), Value::Float(d)] = row.as_slice() {
            println!("acme: {id} {name} (distance {d:.3})");
        }
    }
    // Isolation: acme never sees globex's banana.
    assert!(hits
        .column_values("name")
        .iter()
        .all(|v| v.as_str() != Some("banana")));

    // Errors carry a kind to match on and a message for people.
    match engine.execute("QUERY products TENANT nobody RETURN COUNT(*);") {
        Err(e) if e.kind() == &ErrorKind::TenantNotFound => println!("expected: {}", e.message()),
        other => return Err(format!("unexpected: {other:?}").into()),
    }
    Ok(())
}
