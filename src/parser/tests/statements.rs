//! Every statement form maps to the right AST.

use super::*;
use crate::parser::ast::*;
use crate::value::Value;

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
        span: Default::default(),
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
                spans: Default::default(),
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
    assert_eq!(
        one("describe collection docs TENANT acme"),
        Statement::DescribeCollection {
            name: "docs".into(),
            tenant: Some("acme".into())
        }
    );
    assert_eq!(
        one("DESCRIBE COLLECTION docs"),
        Statement::DescribeCollection {
            name: "docs".into(),
            tenant: None
        }
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
fn tier_statements() {
    assert_eq!(
        one("create tier if not exists Gold with (MAX_VECTORS: 5, max_qps: 2.5,)"),
        Statement::CreateTier {
            name: "Gold".into(),
            if_not_exists: true,
            options: vec![
                opt("max_vectors", Value::Int(5)),
                opt("max_qps", Value::Float(2.5))
            ],
        }
    );
    assert_eq!(
        one("CREATE TIER t"),
        Statement::CreateTier {
            name: "t".into(),
            if_not_exists: false,
            options: vec![],
        }
    );
    assert_eq!(
        one("ALTER TIER gold SET max_vectors = 10, max_qps = null"),
        Statement::AlterTier {
            name: "gold".into(),
            set: vec![
                opt("max_vectors", Value::Int(10)),
                opt("max_qps", Value::Null)
            ],
        }
    );
    assert_eq!(
        one("DROP TIER IF EXISTS 'gold'"),
        Statement::DropTier {
            name: "gold".into(),
            if_exists: true,
        }
    );
    assert_eq!(
        one("drop tier gold"),
        Statement::DropTier {
            name: "gold".into(),
            if_exists: false,
        }
    );
    assert_eq!(one("show tiers"), Statement::ShowTiers);
}
