//! Every statement form maps to the right AST.

use super::*;
use crate::parser::ast::*;
use crate::value::Value;

fn opt(key: &str, value: Value) -> Opt {
    Opt {
        key: key.into(),
        value,
    }
}

fn s(text: &str) -> Value {
    Value::Str(text.into())
}

#[test]
fn seed_000_parses_as_written() {
    let all = located(SEED_000);
    let starts: Vec<(usize, usize)> = all.iter().map(|l| (l.line, l.column)).collect();
    assert_eq!(
        starts,
        vec![(2, 1), (10, 1), (18, 1), (23, 1), (26, 1), (29, 1)]
    );
    let all: Vec<Statement> = all.into_iter().map(|l| l.statement).collect();
    assert_eq!(
        all[0],
        Statement::CreateTenant {
            name: "acme_corp".into(),
            if_not_exists: false,
            options: vec![
                opt("max_vectors", Value::Int(1_000_000)),
                opt("max_storage_gb", Value::Int(10)),
                opt("isolation_level", s("dedicated")),
            ],
        }
    );
    let node = NodeLiteral {
        fields: vec![
            ("id".into(), FieldValue::Literal(s("prod_001"))),
            ("name".into(), FieldValue::Literal(s("Widget"))),
            (
                "embedding".into(),
                FieldValue::Embed("High quality widget".into()),
            ),
        ],
    };
    assert_eq!(
        all[1],
        Statement::Query(Query {
            collection: "products".into(),
            tenant: Some("acme_corp".into()),
            op: QueryOp::CreateNode(node),
        })
    );
    assert_eq!(
        all[2],
        Statement::Query(Query {
            collection: "products".into(),
            tenant: Some("acme_corp".into()),
            op: QueryOp::Select(Select {
                filter: Some(Expr::Cmp {
                    field: "category".into(),
                    op: CmpOp::Eq,
                    value: s("tools"),
                }),
                similar: Some(Similar {
                    vector: VectorExpr::Embed("hardware tool".into()),
                    using: None,
                }),
                limit: Some(Limit::Top(10)),
                options: vec![],
                returning: None,
            }),
        })
    );
    assert_eq!(
        all[3],
        Statement::AlterTenant {
            name: "acme_corp".into(),
            set: vec![opt("status", s("inactive"))],
        }
    );
    assert_eq!(
        all[4],
        Statement::ArchiveTenant {
            name: "acme_corp".into()
        }
    );
    assert_eq!(
        all[5],
        Statement::RestoreTenant {
            name: "acme_corp".into()
        }
    );
}

#[test]
fn tenant_statements() {
    assert_eq!(
        one("create tenant if not exists t1 with (tier: 'pro', MAX_QPS: 2.5, metadata: {a: [1, 2,], 'b c': null},)"),
        Statement::CreateTenant {
            name: "t1".into(),
            if_not_exists: true,
            options: vec![
                opt("tier", s("pro")),
                opt("max_qps", Value::Float(2.5)),
                opt(
                    "metadata",
                    Value::Object(
                        [
                            ("a".to_string(), Value::Array(vec![Value::Int(1), Value::Int(2)])),
                            ("b c".to_string(), Value::Null),
                        ]
                        .into_iter()
                        .collect()
                    )
                ),
            ],
        }
    );
    assert_eq!(
        one("CREATE TENANT t WITH ()"),
        Statement::CreateTenant {
            name: "t".into(),
            if_not_exists: false,
            options: vec![],
        }
    );
    assert_eq!(
        one("ALTER TENANT t SET status = 'read_only', Max_Vectors = 10"),
        Statement::AlterTenant {
            name: "t".into(),
            set: vec![
                opt("status", s("read_only")),
                opt("max_vectors", Value::Int(10))
            ],
        }
    );
    assert_eq!(
        one("DROP TENANT IF EXISTS t"),
        Statement::DropTenant {
            name: "t".into(),
            if_exists: true
        }
    );
    assert_eq!(
        one("DROP TENANT t"),
        Statement::DropTenant {
            name: "t".into(),
            if_exists: false
        }
    );
    assert_eq!(
        one("DESCRIBE TENANT t"),
        Statement::DescribeTenant { name: "t".into() }
    );
    assert_eq!(
        one("USE TENANT t"),
        Statement::UseTenant { name: "t".into() }
    );
    assert_eq!(
        one("SHOW TENANTS"),
        Statement::ShowTenants {
            filter: None,
            limit: None
        }
    );
    assert_eq!(
        one("SHOW TENANTS WHERE status = 'active' LIMIT 5"),
        Statement::ShowTenants {
            filter: Some(Expr::Cmp {
                field: "status".into(),
                op: CmpOp::Eq,
                value: s("active"),
            }),
            limit: Some(5),
        }
    );
    assert_eq!(
        one("SHOW TENANTS LIMIT 0"),
        Statement::ShowTenants {
            filter: None,
            limit: Some(0)
        }
    );
}

#[test]
fn tenant_named_like_a_keyword() {
    assert_eq!(
        one("CREATE TENANT if"),
        Statement::CreateTenant {
            name: "if".into(),
            if_not_exists: false,
            options: vec![]
        }
    );
    assert_eq!(
        one("DROP TENANT if"),
        Statement::DropTenant {
            name: "if".into(),
            if_exists: false
        }
    );
}

#[test]
fn collection_statements() {
    assert_eq!(
        one("CREATE COLLECTION IF NOT EXISTS docs TENANT acme WITH (dimension: 384, metric: 'cosine', m: 16, ef_construction: 100, ef_search: 64)"),
        Statement::CreateCollection {
            name: "docs".into(),
            tenant: Some("acme".into()),
            if_not_exists: true,
            options: vec![
                opt("dimension", Value::Int(384)),
                opt("metric", s("cosine")),
                opt("m", Value::Int(16)),
                opt("ef_construction", Value::Int(100)),
                opt("ef_search", Value::Int(64)),
            ],
        }
    );
    assert_eq!(
        one("CREATE COLLECTION docs"),
        Statement::CreateCollection {
            name: "docs".into(),
            tenant: None,
            if_not_exists: false,
            options: vec![],
        }
    );
    assert_eq!(
        one("ALTER COLLECTION docs TENANT acme SET ef_search = 128"),
        Statement::AlterCollection {
            name: "docs".into(),
            tenant: Some("acme".into()),
            set: vec![opt("ef_search", Value::Int(128))],
        }
    );
    assert_eq!(
        one("ALTER COLLECTION docs SET ef_search = 128"),
        Statement::AlterCollection {
            name: "docs".into(),
            tenant: None,
            set: vec![opt("ef_search", Value::Int(128))],
        }
    );
    assert_eq!(
        one("DROP COLLECTION IF EXISTS docs TENANT acme"),
        Statement::DropCollection {
            name: "docs".into(),
            tenant: Some("acme".into()),
            if_exists: true,
        }
    );
    assert_eq!(
        one("DROP COLLECTION docs"),
        Statement::DropCollection {
            name: "docs".into(),
            tenant: None,
            if_exists: false,
        }
    );
    assert_eq!(
        one("SHOW COLLECTIONS TENANT acme"),
        Statement::ShowCollections {
            tenant: Some("acme".into())
        }
    );
    assert_eq!(
        one("SHOW COLLECTIONS"),
        Statement::ShowCollections { tenant: None }
    );
}

#[test]
fn usage_statements() {
    assert_eq!(
        one("SHOW USAGE"),
        Statement::ShowUsage {
            tenant: None,
            period: None
        }
    );
    assert_eq!(
        one("SHOW USAGE FOR TENANT acme PERIOD '2026-11'"),
        Statement::ShowUsage {
            tenant: Some("acme".into()),
            period: Some(Period::Month("2026-11".into())),
        }
    );
    assert_eq!(
        one("show usage from '2026-11-01' to \"2026-11-30\""),
        Statement::ShowUsage {
            tenant: None,
            period: Some(Period::Range("2026-11-01".into(), "2026-11-30".into())),
        }
    );
    assert_eq!(one("SHOW STATS"), Statement::ShowStats);
}

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
                fields: vec![
                    ("id".into(), FieldValue::Literal(s("a"))),
                    (
                        "v".into(),
                        FieldValue::Literal(Value::Array(vec![Value::Float(0.5), Value::Int(1)]))
                    ),
                ]
            },
            NodeLiteral {
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

#[test]
fn keywords_are_case_insensitive() {
    let a = stmts("QUERY p TENANT a WHERE x IS NOT NULL AND y IN [1] SIMILAR TO EMBED('q') TOP 3 RETURN COUNT(*)");
    let b = stmts("query p tenant a where x is not null and y in [1] similar to embed('q') top 3 return count(*)");
    let c = stmts("QuErY p TeNaNt a WhErE x Is NoT nUlL aNd y In [1] SiMiLaR tO eMbEd('q') ToP 3 rEtUrN cOuNt(*)");
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(
        one("create tenant x with (flag: TRUE, other: False, nothing: NULL)"),
        one("CREATE TENANT x WITH (flag: true, other: false, nothing: null)")
    );
}

#[test]
fn keywords_do_not_match_prefixes_of_identifiers() {
    // `TOPP`, `nodes2`, `limitless` are names, not keywords.
    assert_eq!(query("QUERY topp TENANT limitless").collection, "topp");
    let sel = select("QUERY p TENANT a WHERE nodes2 = 1 AND orx = 2 AND notable = 3");
    let printed = sel.filter.map(|e| e.to_string());
    assert_eq!(
        printed.as_deref(),
        Some("nodes2 = 1 AND orx = 2 AND notable = 3")
    );
}

#[test]
fn comments_and_whitespace_anywhere() {
    let text = "/* lead */ QUERY -- c1\n p /* c2 */ TENANT\t/* c3 */a -- c4\n WHERE /* c5 */ x /* c6 */ = /* c7 */ 1 -- c8\n AND y IN /* c9 */ [ /* c10 */ 1 , -- c11\n 2 ] TOP /* c12 */ 3 /* c13 */ ; -- tail";
    assert_eq!(
        stmts(text),
        stmts("QUERY p TENANT a WHERE x = 1 AND y IN [1, 2] TOP 3")
    );
    let obj =
        "CREATE TENANT t WITH ( -- c\n a /* c */ : /* c */ { b /* c */ : [ 1 /* c */ ] } /* c */ )";
    assert_eq!(stmts(obj), stmts("CREATE TENANT t WITH (a: {b: [1]})"));
}

#[test]
fn empty_scripts_and_separators() {
    for text in [
        "",
        "   \n\t",
        "-- only a comment",
        "/* block */ -- line\n",
        ";",
        " ; ;; ",
    ] {
        assert_eq!(stmts(text), vec![], "{text:?}");
    }
    assert_eq!(stmts("SHOW STATS; SHOW STATS").len(), 2);
    assert_eq!(stmts("SHOW STATS;;SHOW STATS;").len(), 2);
}

#[test]
fn located_statements_point_at_their_first_character() {
    let all = located("SHOW STATS;\n  -- x\n  SHOW TENANTS;  USE TENANT 'é'; DESCRIBE TENANT t");
    let at: Vec<(usize, usize)> = all.iter().map(|l| (l.line, l.column)).collect();
    assert_eq!(at, vec![(1, 1), (3, 3), (3, 18), (3, 34)]);
}

#[test]
fn names_with_dashes_and_hostile_quoted_names_pass_through_raw() {
    assert_eq!(
        query("QUERY products-v2 TENANT customer-123")
            .tenant
            .as_deref(),
        Some("customer-123")
    );
    assert_eq!(query("QUERY 2024_q1 TENANT 42").collection, "2024_q1");
    for raw in ["../x", "", "a/b", "..", "with space", "é", "x\0y", "DROP"] {
        let quoted = format!("{}", Value::Str(raw.into()));
        let text = format!("CREATE TENANT {quoted}; QUERY {quoted} TENANT {quoted}");
        let all = stmts(&text);
        assert_eq!(
            all[0],
            Statement::CreateTenant {
                name: raw.into(),
                if_not_exists: false,
                options: vec![]
            }
        );
        match &all[1] {
            Statement::Query(q) => {
                assert_eq!(q.collection, raw);
                assert_eq!(q.tenant.as_deref(), Some(raw));
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        one("USE TENANT '../../etc'"),
        Statement::UseTenant {
            name: "../../etc".into()
        }
    );
    // `--` starts a comment even right after a name.
    assert_eq!(
        one("USE TENANT a--b"),
        Statement::UseTenant { name: "a".into() }
    );
}

#[test]
fn literals() {
    let v = |text: &str| match one(&format!("CREATE TENANT t WITH (v: {text})")) {
        Statement::CreateTenant { mut options, .. } => options.remove(0).value,
        other => panic!("{other:?}"),
    };
    assert_eq!(v("42"), Value::Int(42));
    assert_eq!(v("-7"), Value::Int(-7));
    assert_eq!(v("-9223372036854775808"), Value::Int(i64::MIN));
    assert_eq!(v("9223372036854775807"), Value::Int(i64::MAX));
    assert_eq!(v("0.5"), Value::Float(0.5));
    assert_eq!(v("-1.5"), Value::Float(-1.5));
    assert_eq!(v("1e-3"), Value::Float(1e-3));
    assert_eq!(v("2E+5"), Value::Float(2e5));
    assert_eq!(v("'it\\'s'"), s("it's"));
    assert_eq!(
        v(r#""\\ \' \" \n \t \r \0 \u{1F600} \u{e9}""#),
        s("\\ ' \" \n \t \r \0 \u{1F600} \u{e9}")
    );
    assert_eq!(v("\"multi\nline\""), s("multi\nline"));
    assert_eq!(v("[]"), Value::Array(vec![]));
    assert_eq!(v("{}"), Value::Object(Default::default()));
    assert_eq!(
        v("[1, 'a', [true], {k: false}]"),
        Value::Array(vec![
            Value::Int(1),
            s("a"),
            Value::Array(vec![Value::Bool(true)]),
            Value::Object(
                [("k".to_string(), Value::Bool(false))]
                    .into_iter()
                    .collect()
            ),
        ])
    );
}
