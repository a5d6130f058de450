//! Usage metering through the public API: the totals of `SHOW USAGE` equal
//! what the test did, across a restart; report periods; the `pql usage`
//! export in CSV and JSON parsed back.

use std::collections::BTreeMap;
#[cfg(feature = "cli")]
use std::path::Path;
#[cfg(feature = "cli")]
use std::process::Command;

use pql::{Engine, Value};

mod common;
use common::fast_tempdir;

/// Column → value of the one `SHOW USAGE` row of tenant `t`.
fn usage(e: &Engine, stmt: &str, t: &str) -> BTreeMap<String, Value> {
    let r = e.execute(stmt).unwrap();
    let r = &r[0];
    let row = r
        .rows
        .iter()
        .find(|row| row[0] == Value::Str(t.into()))
        .unwrap_or_else(|| panic!("no row for {t} in {r:?}"));
    r.columns.iter().cloned().zip(row.iter().cloned()).collect()
}

fn int(m: &BTreeMap<String, Value>, k: &str) -> i64 {
    match &m[k] {
        Value::Int(n) => *n,
        v => panic!("{k}: {v:?}"),
    }
}

/// Runs the workload whose counts the tests expect, on tenant `a`.
fn workload(e: &Engine) {
    e.execute("CREATE TENANT a WITH (max_batch_size: 4)")
        .unwrap();
    e.execute("CREATE TENANT b").unwrap();
    let script = r#"
        QUERY items TENANT a CREATE NODES [
            { id: "1", embedding: [1.0, 0.0] }, { id: "2", embedding: [0.0, 1.0] },
            { id: "3", embedding: [1.0, 1.0] }];
        QUERY items TENANT a CREATE NODE { id: "4", embedding: [2.0, 1.0], kind: "x" };
        QUERY items TENANT a SIMILAR TO [1.0, 0.0] TOP 2;
        QUERY items TENANT a WHERE kind = "x" SIMILAR TO [1.0, 0.0] TOP 2;
        QUERY items TENANT a WHERE id = "1" UPDATE SET kind = "y";
        QUERY items TENANT a WHERE id = "2" DELETE;
        QUERY docs TENANT a CREATE NODE { id: "d", text: embed("hello world") };
    "#;
    e.execute(script).unwrap();
    // Refused by a quota, and failed otherwise.
    e.execute(
        r#"QUERY items TENANT a CREATE NODES [{id:"5"},{id:"6"},{id:"7"},{id:"8"},{id:"9"}]"#,
    )
    .unwrap_err();
    e.execute("QUERY nothing TENANT a RETURN COUNT(*)")
        .unwrap_err();
}

fn check_totals(m: &BTreeMap<String, Value>) {
    assert_eq!(int(m, "statements"), 9);
    assert_eq!(int(m, "inserts"), 5);
    assert_eq!(int(m, "searches"), 2);
    // 4 vectors for the plain search, the 1 matching the filter for the other.
    assert_eq!(int(m, "vectors_scanned"), 5);
    assert_eq!(int(m, "updates"), 1);
    assert_eq!(int(m, "deletes"), 1);
    // The lexical embedder counts words: "hello world".
    assert_eq!(int(m, "embedding_tokens"), 2);
    assert_eq!(int(m, "quota_exceeded"), 1);
    assert_eq!(int(m, "errors"), 1);
    assert_eq!(int(m, "rate_limited"), 0);
    assert!(int(m, "compute_us") > 0);
    assert!(int(m, "storage_bytes") > 0);
    assert!(matches!(m["cost"], Value::Float(c) if c > 0.0));
}

#[test]
fn totals_equal_the_workload_before_and_after_a_restart() {
    let dir = fast_tempdir();
    {
        let e = Engine::open(dir.path()).unwrap();
        workload(&e);
        check_totals(&usage(&e, "SHOW USAGE", "a"));
        let b = usage(&e, "SHOW USAGE FOR TENANT b", "b");
        assert_eq!(int(&b, "statements"), 0);
    }
    let e = Engine::open(dir.path()).unwrap();
    check_totals(&usage(&e, "SHOW USAGE", "a"));
    // More work after the restart adds to what was stored.
    e.execute("QUERY items TENANT a SIMILAR TO [1.0, 0.0] TOP 1")
        .unwrap();
    assert_eq!(int(&usage(&e, "SHOW USAGE", "a"), "searches"), 3);
    e.flush().unwrap();
    assert_eq!(int(&usage(&e, "SHOW USAGE", "a"), "searches"), 3);
    let d = e.execute("DESCRIBE TENANT a").unwrap();
    let requests = d[0]
        .rows
        .iter()
        .find(|r| r[0] == Value::Str("requests".into()))
        .map(|r| r[1].clone());
    assert_eq!(requests, Some(Value::Int(10)));
    let stats = e.execute("SHOW STATS").unwrap();
    assert!(stats[0]
        .rows
        .iter()
        .any(|r| r[0] == Value::Str("usage_statements".into()) && r[1] == Value::Int(10)));
}

#[test]
fn periods_select_the_days() {
    let dir = fast_tempdir();
    let e = Engine::open(dir.path()).unwrap();
    workload(&e);
    let today = chrono::Utc::now().date_naive();
    let month = today.format("%Y-%m").to_string();
    let day = today.format("%Y-%m-%d").to_string();
    let m = usage(&e, &format!("SHOW USAGE PERIOD '{month}'"), "a");
    check_totals(&m);
    let r = usage(&e, &format!("SHOW USAGE FROM '{day}' TO '{day}'"), "a");
    check_totals(&r);
    assert_eq!(r["from"], Value::Str(day.clone()));
    let old = usage(&e, "SHOW USAGE PERIOD '2001-01'", "a");
    assert_eq!(int(&old, "statements"), 0);
    assert_eq!(old["to"], Value::Str("2001-01-31".into()));
    let err = e.execute("SHOW USAGE PERIOD '2026-1'").unwrap_err();
    assert!(
        err.message().contains("expected a month 'YYYY-MM'"),
        "{err}"
    );
}

#[cfg(feature = "cli")]
fn pql_usage(dir: &Path, format: &str, month: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_pql"))
        .arg("--data")
        .arg(dir)
        .args(["usage", "--period", month, "--format", format])
        .env_remove("PQL_DATA")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[cfg(feature = "cli")]
#[test]
fn cli_exports_csv_and_json() {
    let dir = fast_tempdir();
    {
        let e = Engine::open(dir.path()).unwrap();
        workload(&e);
    }
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let csv = pql_usage(dir.path(), "csv", &month);
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2, "{csv}");
    let a: BTreeMap<&str, &str> = header
        .iter()
        .copied()
        .zip(rows[0].iter().copied())
        .collect();
    assert_eq!(a["tenant"], "a");
    assert_eq!(a["inserts"], "5");
    assert_eq!(a["statements"], "9");
    assert!(a["cost"].parse::<f64>().unwrap() > 0.0);

    let json = pql_usage(dir.path(), "json", &month);
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    let cols = v["columns"].as_array().unwrap();
    let at = |name: &str| cols.iter().position(|c| c == name).unwrap();
    let row = &v["rows"][0];
    assert_eq!(row[at("tenant")], "a");
    assert_eq!(row[at("searches")], 2);
    assert_eq!(row[at("deletes")], 1);

    let bad = Command::new(env!("CARGO_BIN_EXE_pql"))
        .arg("--data")
        .arg(dir.path())
        .args(["usage", "--period", "2026-13"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid usage period"));
}

/// A process that only reads a tenant must not report its storage as 0: the
/// storage gauge of a fresh process starts from the measured folder size
/// (redb moves a file's end by a few pages as it opens and closes it, so the
/// gauge, measured while the reader had the file open, is compared with the
/// folder as it is now within 64 KiB).
#[test]
fn a_read_only_session_keeps_the_storage_gauge() {
    let dir = fast_tempdir();
    {
        let e = Engine::open(dir.path()).unwrap();
        e.execute(
            "CREATE TENANT s; QUERY items TENANT s CREATE NODE { id: \"x\", embedding: [1, 0] }",
        )
        .unwrap();
    }
    let written = int(
        &usage(&Engine::open(dir.path()).unwrap(), "SHOW USAGE", "s"),
        "storage_bytes",
    );
    assert!(written > 0, "storage after the write: {written}");
    {
        let e = Engine::open(dir.path()).unwrap();
        e.execute("QUERY items TENANT s RETURN COUNT(*)").unwrap();
    }
    let on_disk: u64 = std::fs::read_dir(dir.path().join("tenants").join("s"))
        .unwrap()
        .map(|f| f.unwrap().metadata().unwrap().len())
        .sum();
    let e = Engine::open(dir.path()).unwrap();
    let gauge = int(&usage(&e, "SHOW USAGE", "s"), "storage_bytes");
    assert!(
        gauge > 0 && (gauge - on_disk as i64).abs() <= 64 * 1024,
        "gauge {gauge}, folder {on_disk}"
    );
}

/// Storage is charged for the days a tenant existed, never for days to
/// come: the widest range costs what today alone costs, for a tenant
/// created today.
#[test]
fn storage_is_charged_only_for_days_that_exist() {
    let dir = fast_tempdir();
    {
        let e = Engine::open(dir.path()).unwrap();
        e.execute(
            "CREATE TENANT s; QUERY items TENANT s CREATE NODE { id: \"x\", embedding: [1, 0] }",
        )
        .unwrap();
    }
    let e = Engine::open(dir.path()).unwrap();
    let day = chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    let today = usage(&e, &format!("SHOW USAGE FROM '{day}' TO '{day}'"), "s");
    let all = usage(&e, "SHOW USAGE FROM '0000-01-01' TO '9999-12-31'", "s");
    assert!(int(&all, "storage_bytes") > 0, "{all:?}");
    let cost = |m: &BTreeMap<String, Value>| match m["cost"] {
        Value::Float(c) => c,
        ref v => panic!("cost: {v:?}"),
    };
    assert!(cost(&today) > 0.0, "{today:?}");
    assert_eq!(cost(&all), cost(&today), "{all:?} vs {today:?}");
    let before = usage(&e, "SHOW USAGE PERIOD '2001-01'", "s");
    assert_eq!(cost(&before), 0.0, "{before:?}");
}

/// Issue 16 item 2: usage belongs to one tenant incarnation. A tenant
/// created again after a DROP starts from zero in DESCRIBE and SHOW USAGE,
/// before and after a restart, while the export of every tenant keeps the
/// dropped incarnation's row.
#[test]
fn a_recreated_tenant_does_not_inherit_usage() {
    let dir = fast_tempdir();
    let e = Engine::open(dir.path()).unwrap();
    workload(&e);
    e.execute("DROP TENANT a;").unwrap();
    e.execute("CREATE TENANT a;").unwrap();
    assert_starts_from_zero(&e);
    drop(e);
    assert_starts_from_zero(&Engine::open(dir.path()).unwrap());
}

/// Tenant `a` (created again) shows no usage, and the export still holds
/// the dropped incarnation's totals.
fn assert_starts_from_zero(e: &Engine) {
    let mine = usage(e, "SHOW USAGE FOR TENANT a;", "a");
    for metric in ["statements", "inserts", "searches", "storage_bytes"] {
        assert_eq!(int(&mine, metric), 0, "{metric}");
    }
    let describe = e.execute("DESCRIBE TENANT a;").unwrap().remove(0);
    for metric in ["requests", "inserts", "queries"] {
        let row = describe
            .rows
            .iter()
            .find(|r| r[0] == Value::Str(metric.into()))
            .unwrap();
        assert_eq!(row[1], Value::Int(0), "{metric}");
    }
    let all = e.execute("SHOW USAGE;").unwrap().remove(0);
    let rows: Vec<&Vec<Value>> = all
        .rows
        .iter()
        .filter(|r| r[0] == Value::Str("a".into()))
        .collect();
    assert_eq!(rows.len(), 2, "the dropped and the new incarnation");
    let dropped = rows
        .into_iter()
        .max_by_key(|r| r[3].as_i64())
        .unwrap()
        .clone();
    check_totals(&all.columns.iter().cloned().zip(dropped).collect());
}
