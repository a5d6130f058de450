//! Tenant isolation.
//!
//! 1. A property test: three tenants hold a collection of the same name with
//!    nodes of the same ids and vectors but different attribute values;
//!    random statements run on random tenants, and after every step each
//!    tenant reads exactly what a model of that tenant alone predicts.
//! 2. Hostile tenant and collection names are refused with `InvalidName` by
//!    every statement that takes a name, and leave nothing on disk outside
//!    the data folder's own layout.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pql::{Engine, Value};
use proptest::prelude::*;

mod common;
use common::fast_tempdir;

const TENANTS: [&str; 3] = ["t0", "t1", "t2"];
const IDS: usize = 6;
const COLLECTION: &str = "items";

fn id_name(id: usize) -> String {
    format!("n{id}")
}

/// The vector of node `id` (the same in every tenant); `alt` is the one an
/// embedding update moves it to. Never zero, pairwise different.
fn vector(id: usize, alt: bool) -> [f64; 4] {
    let i = id as f64;
    if alt {
        [-(i + 1.0), 2.0, 0.5 * i, 1.0]
    } else {
        [i + 1.0, ((id * 3) % 5) as f64 + 1.0, 1.0, 0.25 * i]
    }
}

fn vector_literal(v: [f64; 4]) -> String {
    format!("[{}, {}, {}, {}]", v[0], v[1], v[2], v[3])
}

/// Cosine distance as the engine defines it: max(0, 1 - cos).
fn cosine(a: [f64; 4], b: [f64; 4]) -> f64 {
    let dot: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
    let na: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    (1.0 - dot / (na * nb)).max(0.0)
}

#[derive(Debug, Clone)]
enum Op {
    Create {
        t: usize,
        id: usize,
        v: i64,
    },
    CreateBatch {
        t: usize,
        ids: Vec<usize>,
        v: i64,
    },
    Upsert {
        t: usize,
        id: usize,
        v: i64,
        alt: bool,
    },
    UpdateBelow {
        t: usize,
        below: i64,
        v: i64,
    },
    UpdateVector {
        t: usize,
        id: usize,
        alt: bool,
    },
    Delete {
        t: usize,
        id: usize,
    },
    DeleteAbove {
        t: usize,
        above: i64,
    },
    DropCollection {
        t: usize,
    },
}

impl Op {
    fn tenant(&self) -> usize {
        match self {
            Op::Create { t, .. }
            | Op::CreateBatch { t, .. }
            | Op::Upsert { t, .. }
            | Op::UpdateBelow { t, .. }
            | Op::UpdateVector { t, .. }
            | Op::Delete { t, .. }
            | Op::DeleteAbove { t, .. }
            | Op::DropCollection { t } => *t,
        }
    }

    fn pql(&self) -> String {
        let tn = TENANTS[self.tenant()];
        let node = |id: usize, v: i64, alt: bool| {
            format!(
                "{{ id: \"{}\", owner: \"{tn}\", v: {v}, embedding: {} }}",
                id_name(id),
                vector_literal(vector(id, alt))
            )
        };
        let q = format!("QUERY {COLLECTION} TENANT {tn}");
        match self {
            Op::Create { id, v, .. } => format!("{q} CREATE NODE {}", node(*id, *v, false)),
            Op::CreateBatch { ids, v, .. } => {
                let nodes: Vec<String> = ids.iter().map(|id| node(*id, *v, false)).collect();
                format!("{q} CREATE NODES [{}]", nodes.join(", "))
            }
            Op::Upsert { id, v, alt, .. } => format!("{q} UPSERT NODE {}", node(*id, *v, *alt)),
            Op::UpdateBelow { below, v, .. } => format!("{q} WHERE v < {below} UPDATE SET v = {v}"),
            Op::UpdateVector { id, alt, .. } => format!(
                "{q} WHERE id = \"{}\" UPDATE SET embedding = {}",
                id_name(*id),
                vector_literal(vector(*id, *alt))
            ),
            Op::Delete { id, .. } => format!("{q} WHERE id = \"{}\" DELETE", id_name(*id)),
            Op::DeleteAbove { above, .. } => format!("{q} WHERE v > {above} DELETE"),
            Op::DropCollection { .. } => format!("DROP COLLECTION {COLLECTION} TENANT {tn}"),
        }
    }
}

/// A node of the model: its `v` and which of its two vectors it has.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ModelNode {
    v: i64,
    alt: bool,
}

/// One tenant's collection: `None` while it does not exist.
type Model = Option<BTreeMap<usize, ModelNode>>;

/// What a statement should answer: `Ok(message)` or `Err(kind name)`.
fn apply(model: &mut Model, op: &Op) -> Result<String, &'static str> {
    let plural = |n: usize, verb: &str| format!("{n} node{} {verb}", if n == 1 { "" } else { "s" });
    match op {
        Op::Create { id, v, .. } => {
            let m = model.get_or_insert_with(BTreeMap::new);
            if m.contains_key(id) {
                return Err("NodeExists");
            }
            m.insert(*id, ModelNode { v: *v, alt: false });
            Ok(plural(1, "created"))
        }
        Op::CreateBatch { ids, v, .. } => {
            let m = model.get_or_insert_with(BTreeMap::new);
            if ids.iter().any(|id| m.contains_key(id)) {
                return Err("NodeExists");
            }
            for id in ids {
                m.insert(*id, ModelNode { v: *v, alt: false });
            }
            Ok(plural(ids.len(), "created"))
        }
        Op::Upsert { id, v, alt, .. } => {
            let m = model.get_or_insert_with(BTreeMap::new);
            m.insert(*id, ModelNode { v: *v, alt: *alt });
            Ok(plural(1, "upserted"))
        }
        Op::UpdateBelow { below, v, .. } => {
            let m = model.as_mut().ok_or("CollectionNotFound")?;
            let mut n = 0;
            for node in m.values_mut().filter(|node| node.v < *below) {
                node.v = *v;
                n += 1;
            }
            Ok(plural(n, "updated"))
        }
        Op::UpdateVector { id, alt, .. } => {
            let m = model.as_mut().ok_or("CollectionNotFound")?;
            let n = match m.get_mut(id) {
                Some(node) => {
                    node.alt = *alt;
                    1
                }
                None => 0,
            };
            Ok(plural(n, "updated"))
        }
        Op::Delete { id, .. } => {
            let m = model.as_mut().ok_or("CollectionNotFound")?;
            Ok(plural(usize::from(m.remove(id).is_some()), "deleted"))
        }
        Op::DeleteAbove { above, .. } => {
            let m = model.as_mut().ok_or("CollectionNotFound")?;
            let before = m.len();
            m.retain(|_, node| node.v <= *above);
            Ok(plural(before - m.len(), "deleted"))
        }
        Op::DropCollection { .. } => {
            model.take().ok_or("CollectionNotFound")?;
            Ok(format!(
                "Collection {COLLECTION} dropped from tenant {}",
                TENANTS[op.tenant()]
            ))
        }
    }
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let t = 0..TENANTS.len();
    let id = 0..IDS;
    let v = 0..100i64;
    let batch = proptest::sample::subsequence((0..IDS).collect::<Vec<_>>(), 1..=4);
    prop_oneof![
        4 => (t.clone(), id.clone(), v.clone()).prop_map(|(t, id, v)| Op::Create { t, id, v }),
        2 => (t.clone(), batch, v.clone()).prop_map(|(t, ids, v)| Op::CreateBatch { t, ids, v }),
        3 => (t.clone(), id.clone(), v.clone(), any::<bool>())
            .prop_map(|(t, id, v, alt)| Op::Upsert { t, id, v, alt }),
        2 => (t.clone(), v.clone(), v.clone())
            .prop_map(|(t, below, v)| Op::UpdateBelow { t, below, v }),
        2 => (t.clone(), id.clone(), any::<bool>())
            .prop_map(|(t, id, alt)| Op::UpdateVector { t, id, alt }),
        2 => (t.clone(), id).prop_map(|(t, id)| Op::Delete { t, id }),
        1 => (t.clone(), v).prop_map(|(t, above)| Op::DeleteAbove { t, above }),
        1 => t.prop_map(|t| Op::DropCollection { t }),
    ]
}

/// Checks that tenant `t` reads exactly its model: the node list, a
/// similarity query over every node, a filter count and a NODE query.
fn check_tenant(engine: &Engine, t: usize, model: &Model, query: [f64; 4], step: &str) {
    let tn = TENANTS[t];
    let q = format!("QUERY {COLLECTION} TENANT {tn}");
    let list = engine.execute(&format!("{q} RETURN id, owner, v"));
    let Some(m) = model else {
        let e = list.expect_err(step);
        assert_eq!(e.kind().name(), "CollectionNotFound", "{step}: {e}");
        return;
    };
    let rows = &list.unwrap_or_else(|e| panic!("{step}: list {tn}: {e}"))[0].rows;
    let expected: Vec<Vec<Value>> = m
        .iter()
        .map(|(id, n)| {
            vec![
                Value::Str(id_name(*id)),
                Value::Str(tn.into()),
                Value::Int(n.v),
            ]
        })
        .collect();
    assert_eq!(rows, &expected, "{step}: nodes of {tn}");

    let sim = engine
        .execute(&format!(
            "{q} SIMILAR TO {} TOP 100 RETURN id, owner, _distance",
            vector_literal(query)
        ))
        .unwrap_or_else(|e| panic!("{step}: similarity on {tn}: {e}"));
    let rows = &sim[0].rows;
    assert_eq!(rows.len(), m.len(), "{step}: similarity on {tn}: {rows:?}");
    let mut last = f64::NEG_INFINITY;
    for row in rows {
        let id = row[0].as_str().unwrap();
        assert_eq!(row[1], Value::Str(tn.into()), "{step}: {row:?}");
        let n: usize = id[1..].parse().unwrap();
        let node = m
            .get(&n)
            .unwrap_or_else(|| panic!("{step}: {tn} returned {id}"));
        let d = row[2].as_f64().unwrap();
        let want = cosine(query, vector(n, node.alt));
        assert!(
            (d - want).abs() < 1e-4,
            "{step}: {tn} {id}: distance {d}, want {want}"
        );
        assert!(
            d >= last - 1e-6,
            "{step}: {tn}: not ordered by distance: {rows:?}"
        );
        last = d;
    }

    let count = engine
        .execute(&format!(
            "{q} WHERE v >= 50 AND owner = \"{tn}\" RETURN COUNT(*)"
        ))
        .unwrap_or_else(|e| panic!("{step}: count on {tn}: {e}"));
    let want = m.values().filter(|n| n.v >= 50).count() as i64;
    assert_eq!(
        count[0].rows,
        [vec![Value::Int(want)]],
        "{step}: count on {tn}"
    );

    // The nearest node to a node's own vector is that node of this tenant.
    if let Some((id, node)) = m.iter().next() {
        let r = engine
            .execute(&format!(
                "{q} SIMILAR TO NODE \"{}\" TOP 1 RETURN id, owner, v",
                id_name(*id)
            ))
            .unwrap_or_else(|e| panic!("{step}: NODE query on {tn}: {e}"));
        assert_eq!(
            r[0].rows,
            [vec![
                Value::Str(id_name(*id)),
                Value::Str(tn.into()),
                Value::Int(node.v)
            ]],
            "{step}: NODE query on {tn}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 200,
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    })]

    /// No statement on one tenant returns or changes another tenant's nodes.
    #[test]
    fn tenants_with_identical_data_stay_apart(
        ops in proptest::collection::vec(op_strategy(), 1..16),
        query_id in 0..IDS,
    ) {
        let dir = fast_tempdir();
        let engine = Engine::open(dir.path()).unwrap();
        for tn in TENANTS {
            engine.execute(&format!("CREATE TENANT {tn}")).unwrap();
        }
        let mut models: Vec<Model> = vec![None; TENANTS.len()];
        let query = vector(query_id, false);
        for (i, op) in ops.iter().enumerate() {
            let text = op.pql();
            let step = format!("step {i}: {text}");
            let want = apply(&mut models[op.tenant()], op);
            match (engine.execute(&text), want) {
                (Ok(r), Ok(msg)) => {
                    prop_assert_eq!(r[0].message.as_deref(), Some(msg.as_str()), "{}", step)
                }
                (Err(e), Err(kind)) => prop_assert_eq!(e.kind().name(), kind, "{}", step),
                (got, want) => prop_assert!(false, "{}: got {:?}, want {:?}", step, got, want),
            }
            for (t, model) in models.iter().enumerate() {
                check_tenant(&engine, t, model, query, &step);
            }
        }
    }
}

/// `USE TENANT` is per session: two sessions on different tenants write and
/// read their own tenant only, interleaved.
#[test]
fn sessions_keep_their_own_tenant() {
    let dir = fast_tempdir();
    let engine = Engine::open(dir.path()).unwrap();
    engine.execute("CREATE TENANT a; CREATE TENANT b").unwrap();
    let mut sa = engine.session();
    let mut sb = engine.session();
    sa.execute("USE TENANT a").unwrap();
    sb.execute("USE TENANT b").unwrap();
    for i in 0..5 {
        sa.execute(&format!(
            "QUERY c CREATE NODE {{ id: \"n{i}\", who: \"a\", embedding: [1, {i}] }}"
        ))
        .unwrap();
        if i % 2 == 0 {
            sb.execute(&format!(
                "QUERY c CREATE NODE {{ id: \"n{i}\", who: \"b\", embedding: [1, {i}] }}"
            ))
            .unwrap();
        }
    }
    let count = |s: &mut pql::Session, who: &str| {
        s.execute(&format!("QUERY c WHERE who = \"{who}\" RETURN COUNT(*)"))
            .unwrap()[0]
            .rows[0][0]
            .clone()
    };
    assert_eq!(count(&mut sa, "a"), Value::Int(5));
    assert_eq!(count(&mut sa, "b"), Value::Int(0));
    assert_eq!(count(&mut sb, "b"), Value::Int(3));
    assert_eq!(count(&mut sb, "a"), Value::Int(0));
    assert_eq!(sa.current_tenant(), Some("a"));
    assert_eq!(sb.current_tenant(), Some("b"));
    // A fresh session of the same engine uses no tenant.
    let e = engine.execute("QUERY c RETURN COUNT(*)").unwrap_err();
    assert_eq!(e.kind().name(), "NoTenant");
    // NODE "id" looks only in the session's tenant.
    sb.execute("QUERY c CREATE NODE { id: \"only_b\", who: \"b\", embedding: [0, 1] }")
        .unwrap();
    let e = sa
        .execute("QUERY c SIMILAR TO NODE \"only_b\" TOP 1")
        .unwrap_err();
    assert_eq!(e.kind().name(), "NodeNotFound");
    // Deleting everything in b leaves a untouched.
    sb.execute("QUERY c DELETE").unwrap();
    assert_eq!(count(&mut sa, "a"), Value::Int(5));
    let r = sa
        .execute("QUERY c SIMILAR TO [1, 0] TOP 10 RETURN who")
        .unwrap();
    assert_eq!(r[0].rows.len(), 5);
    assert!(r[0].rows.iter().all(|row| row[0] == Value::Str("a".into())));
}

/// Names that must never reach the file system.
fn hostile_names() -> Vec<String> {
    let mut names: Vec<String> = [
        "../x",
        "../../x",
        "a/b",
        "/etc",
        "/tmp/pql-escape",
        "..",
        ".",
        "",
        "a b",
        " acme",
        "acme ",
        "a\tb",
        "a\nb",
        "a\0b",
        "a\\b",
        "..\\x",
        "C:",
        "~",
        "-x",
        "_x",
        "a.b",
        "x*",
        "%2e%2e",
        "a\"b",
        "ａｃｍｅ",     // fullwidth
        "\u{430}cme",   // Cyrillic a
        "acme\u{200b}", // zero-width space
        "acme\u{301}",  // combining accent
        "caf\u{e9}",
        "\u{202e}emca", // right-to-left override
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    names.push("x".repeat(65));
    names.push(format!("{}/../x", "a".repeat(60)));
    names
}

/// `name` as a double-quoted PQL string.
fn quoted(name: &str) -> String {
    let mut s = String::from("\"");
    for c in name.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// Every file and directory under `dir`, relative to it.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let ty = e.file_type().unwrap();
            assert!(
                !ty.is_symlink(),
                "symlink in the data folder: {:?}",
                e.path()
            );
            if ty.is_dir() {
                stack.push(e.path());
            }
            out.push(e.path().strip_prefix(dir).unwrap().to_path_buf());
        }
    }
    out.sort();
    out
}

#[test]
fn hostile_names_are_refused_everywhere_and_touch_nothing() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    let engine = Engine::open(&data).unwrap();
    engine
        .execute("CREATE TENANT good; QUERY items TENANT good CREATE NODE { id: \"a\", embedding: [1, 0] }")
        .unwrap();
    let before_outside = walk(parent.path())
        .into_iter()
        .filter(|p| !p.starts_with("data"))
        .collect::<Vec<_>>();
    let mut session = engine.session();
    let mut checked = 0;
    for name in hostile_names() {
        let n = quoted(&name);
        let node = "{ id: \"h\", embedding: [1, 0] }";
        let statements = [
            format!("CREATE TENANT {n}"),
            format!("CREATE TENANT IF NOT EXISTS {n} WITH (tier: 'free')"),
            format!("ALTER TENANT {n} SET status = 'active'"),
            format!("DROP TENANT {n}"),
            format!("DROP TENANT IF EXISTS {n}"),
            format!("DESCRIBE TENANT {n}"),
            format!("USE TENANT {n}"),
            format!("SHOW COLLECTIONS TENANT {n}"),
            format!("CREATE COLLECTION c TENANT {n}"),
            format!("QUERY items TENANT {n} CREATE NODE {node}"),
            format!("QUERY items TENANT {n} RETURN COUNT(*)"),
            format!("EXPLAIN QUERY items TENANT {n} RETURN COUNT(*)"),
            format!("CREATE COLLECTION {n} TENANT good"),
            format!("CREATE COLLECTION IF NOT EXISTS {n} TENANT good WITH (dimension: 2)"),
            format!("ALTER COLLECTION {n} TENANT good SET ef_search = 10"),
            format!("DROP COLLECTION {n} TENANT good"),
            format!("DROP COLLECTION IF EXISTS {n} TENANT good"),
            format!("QUERY {n} TENANT good CREATE NODE {node}"),
            format!("QUERY {n} TENANT good CREATE NODES [{node}]"),
            format!("QUERY {n} TENANT good UPSERT NODE {node}"),
            format!("QUERY {n} TENANT good RETURN COUNT(*)"),
            format!("QUERY {n} TENANT good SIMILAR TO [1, 0] TOP 1"),
            format!("QUERY {n} TENANT good WHERE id = \"a\" UPDATE SET x = 1"),
            format!("QUERY {n} TENANT good WHERE id = \"a\" DELETE"),
        ];
        for text in statements {
            let e = session
                .execute(&text)
                .expect_err(&format!("accepted: {text:?}"));
            assert_eq!(e.kind().name(), "InvalidName", "{text:?}: {e}");
            checked += 1;
        }
        // The session's tenant was never set to the hostile name.
        assert_eq!(session.current_tenant(), None);
    }
    assert!(checked > 500);

    // The good tenant is intact and the only one.
    assert_eq!(engine.tenant_names(), ["good"]);
    assert_eq!(engine.collection_names("good").unwrap(), ["items"]);
    let r = engine.execute("QUERY items TENANT good RETURN id").unwrap();
    assert_eq!(r[0].rows, [vec![Value::Str("a".into())]]);
    engine.flush().unwrap();
    drop(session);
    drop(engine);

    // Inside the data folder: catalog.redb and tenants/good/items.* only.
    for p in walk(&data) {
        let parts: Vec<String> = p
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let allowed = match parts.as_slice() {
            [f] => f == "catalog.redb" || f == "tenants",
            [t, g] => t == "tenants" && g == "good",
            [t, g, f] => t == "tenants" && g == "good" && f.starts_with("items."),
            _ => false,
        };
        assert!(allowed, "unexpected path in the data folder: {p:?}");
    }
    // Outside the data folder: nothing new.
    let after_outside = walk(parent.path())
        .into_iter()
        .filter(|p| !p.starts_with("data"))
        .collect::<Vec<_>>();
    assert_eq!(before_outside, after_outside);
    assert!(!Path::new("/tmp/pql-escape").exists());
}

/// `Session::plan_script` names every statement's tenant and access before
/// anything runs, following the script's own `USE TENANT`, and runs nothing.
#[test]
fn plan_script_resolves_tenants_without_running() {
    let dir = tempfile::tempdir().unwrap();
    let engine = pql::Engine::open(dir.path()).unwrap();
    let session = engine.session();
    let script = pql::parse(
        "USE TENANT a; QUERY c WHERE x = 1; QUERY c TENANT b CREATE NODE { id: \"n\" }; \
         CREATE TENANT z;",
    )
    .unwrap();
    let plans = session.plan_script(&script).unwrap();
    let seen: Vec<(Vec<String>, pql::Access)> = plans
        .iter()
        .map(|p| (p.tenants().to_vec(), p.access()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (vec!["a".to_string()], pql::Access::Read),
            (vec!["a".to_string()], pql::Access::Read),
            (vec!["b".to_string()], pql::Access::Write),
            (vec!["z".to_string()], pql::Access::Admin),
        ]
    );
    // Nothing ran: no tenant exists, and the session has no tenant.
    assert!(engine.tenant_names().is_empty());
    assert_eq!(session.current_tenant(), None);
}
