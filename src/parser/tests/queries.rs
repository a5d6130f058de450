//! QUERY and EXPLAIN statements map to the right AST.

use super::*;
use crate::parser::ast::*;
use crate::value::Value;

#[test]
fn node_writes() {
    let q = query(
        r#"QUERY products TENANT acme CREATE NODES [ { id: "a", v: [0.5, 1] }, { "id": 'b', tags: ["x"], }, ]"#,
    );
    assert_eq!(q.collection, "products");
    assert_eq!(
        q.op,
        QueryOp::CreateNodes(vec![
            NodeLiteral {
                span: Default::default(),
                fields: vec![
                    ("id".into(), FieldValue::Literal(s("a"))),
                    (
                        "v".into(),
                        FieldValue::Literal(Value::Array(vec![Value::Float(0.5), Value::Int(1)]))
                    ),
                ]
            },
            NodeLiteral {
                span: Default::default(),
                fields: vec![
                    ("id".into(), FieldValue::Literal(s("b"))),
                    (
                        "tags".into(),
                        FieldValue::Literal(Value::Array(vec![s("x")]))
                    ),
                ]
            },
        ])
    );
    assert_eq!(
        query("QUERY p TENANT a CREATE NODES []").op,
        QueryOp::CreateNodes(vec![])
    );
    assert_eq!(
        query(r#"QUERY p TENANT a UPSERT NODE { id: "p1", embedding: EMBED('x') }"#).op,
        QueryOp::UpsertNode(NodeLiteral {
            span: Default::default(),
            fields: vec![
                ("id".into(), FieldValue::Literal(s("p1"))),
                ("embedding".into(), FieldValue::Embed("x".into())),
            ]
        })
    );
}

#[test]
fn update_and_delete() {
    assert_eq!(
        query(
            r#"QUERY p TENANT a WHERE id = "p1" UPDATE SET price = 10, embedding = embed("new")"#
        )
        .op,
        QueryOp::Update {
            filter: Some(Expr::Cmp {
                field: "id".into(),
                op: CmpOp::Eq,
                value: s("p1"),
            }),
            set: vec![
                ("price".into(), FieldValue::Literal(Value::Int(10))),
                ("embedding".into(), FieldValue::Embed("new".into())),
            ],
        }
    );
    assert_eq!(
        query("QUERY p TENANT a UPDATE SET x = null").op,
        QueryOp::Update {
            filter: None,
            set: vec![("x".into(), FieldValue::Literal(Value::Null))],
        }
    );
    assert_eq!(
        query("QUERY p TENANT a WHERE category = \"old\" DELETE").op,
        QueryOp::Delete {
            filter: Some(Expr::Cmp {
                field: "category".into(),
                op: CmpOp::Eq,
                value: s("old"),
            })
        }
    );
    assert_eq!(
        query("QUERY p TENANT a DELETE").op,
        QueryOp::Delete { filter: None }
    );
}

#[test]
fn select_clauses() {
    let sel = select(
        r#"QUERY p TENANT a WHERE x > 1 SIMILAR TO [0.1, -2, 3e-1,] USING vec LIMIT 5 WITH (ef: 200, exact: true) RETURN id, "name x""#,
    );
    assert_eq!(
        sel.similar,
        Some(Similar {
            vector: VectorExpr::Literal(vec![0.1, -2.0, 0.3]),
            using: Some("vec".into()),
        })
    );
    assert_eq!(sel.limit, Some(Limit::Limit(5)));
    assert_eq!(
        sel.options,
        vec![opt("ef", Value::Int(200)), opt("exact", Value::Bool(true))]
    );
    assert_eq!(
        sel.returning,
        Some(Returning::Fields(vec!["id".into(), "name x".into()]))
    );
    let sel = select(r#"QUERY p TENANT a SIMILAR TO NODE "p1" TOP 3 RETURN COUNT(*)"#);
    assert_eq!(
        sel.similar.map(|s| s.vector),
        Some(VectorExpr::Node("p1".into()))
    );
    assert_eq!(sel.limit, Some(Limit::Top(3)));
    assert_eq!(sel.returning, Some(Returning::Count));
    // A field may be called `count`.
    let sel = select("QUERY p TENANT a RETURN count, top");
    assert_eq!(
        sel.returning,
        Some(Returning::Fields(vec!["count".into(), "top".into()]))
    );
}

#[test]
fn query_with_nothing_after_the_tenant_selects_all() {
    for text in ["QUERY p TENANT a", "QUERY p TENANT a;", "QUERY p"] {
        let q = query(text);
        assert_eq!(q.op, QueryOp::Select(Select::default()), "{text}");
    }
    assert_eq!(query("QUERY p").tenant, None);
}

#[test]
fn explain_wraps_a_query() {
    match one("EXPLAIN QUERY p TENANT a SIMILAR TO embed('x') TOP 2") {
        Statement::Explain(q) => {
            assert_eq!(q.collection, "p");
            assert!(matches!(
                q.op,
                QueryOp::Select(Select {
                    limit: Some(Limit::Top(2)),
                    ..
                })
            ));
        }
        other => panic!("{other:?}"),
    }
}

/// The concrete statements of PQL.md, as written there.
const PQL_MD: &str = r#"
QUERY products TENANT acme CREATE NODE { id: "p1", name: "Widget", embedding: embed("High quality widget") };
QUERY products TENANT acme WHERE id = "p1" UPDATE SET price = 10;   -- attribute or embedding
QUERY products TENANT acme WHERE category = "old" DELETE;
CREATE COLLECTION name TENANT t WITH (dimension: 384, metric: 'cosine', m: 16, ef_construction: 100, ef_search: 64);
ALTER COLLECTION name TENANT t SET ef_search = 128;
DROP COLLECTION name TENANT t;
SHOW COLLECTIONS TENANT t;
USE TENANT t;
SHOW USAGE FOR TENANT t PERIOD '2026-11';
SHOW USAGE FROM '2026-11-01' TO '2026-11-30';
SHOW STATS;   -- aggregate: tenants by status, vectors, requests, pool hits/misses/evictions
CREATE TENANT customer-123 WITH (tier: 'pro', max_storage_mb: 100, max_api_calls_per_minute: 60, metadata: { plan: "gold" });
QUERY products TENANT acme WHERE price >= 10 AND tags CONTAINS "sale" SIMILAR TO [0.1, 0.2] USING embedding LIMIT 5 WITH (ef: 128, exact: true) RETURN id, name;
EXPLAIN QUERY products TENANT acme SIMILAR TO NODE "p1" TOP 3 RETURN COUNT(*);
"#;

#[test]
fn pql_md_examples_parse() {
    let all = stmts(PQL_MD);
    assert_eq!(all.len(), 14);
    assert!(matches!(
        &all[11],
        Statement::CreateTenant { name, options, .. }
            if name == "customer-123" && options.len() == 4
    ));
}
