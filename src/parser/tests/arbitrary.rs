//! proptest strategies for syntax trees that the parser can produce.

use std::collections::BTreeMap;

use proptest::collection::vec;
use proptest::prelude::*;

use crate::parser::ast::*;
use crate::value::Value;

/// Any text, including quotes, escapes, control characters and non-ASCII.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_][a-z0-9_-]{0,8}",
        "[ -~]{0,10}",
        any::<String>().prop_map(|s| s.chars().take(10).collect()),
        Just("--".to_string()),
        Just("../x".to_string()),
        Just("select".to_string()),
    ]
}

/// Field and object keys: anything (printed quoted when needed).
fn key() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[a-z_][a-z0-9_]{0,6}", 1 => text()]
}

/// Option keys: lower case, since the parser lower-cases them.
fn opt_key() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z_][a-z0-9_]{0,8}", "[a-z ]{0,5}"]
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |x| x.is_finite()),
        (-1000i32..1000).prop_map(|i| i as f64 / 8.0),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        float().prop_map(Value::Float),
        text().prop_map(Value::Str),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(key(), inner, 0..4)
                .prop_map(|m: BTreeMap<String, Value>| Value::Object(m)),
        ]
    })
}

/// Options with distinct keys.
fn options(min: usize) -> impl Strategy<Value = Vec<Opt>> {
    proptest::collection::btree_map(opt_key(), value(), min..4).prop_map(|m| {
        m.into_iter()
            .map(|(key, value)| Opt {
                key,
                value,
                span: Span::default(),
            })
            .collect()
    })
}

fn cmp_op() -> impl Strategy<Value = CmpOp> {
    prop_oneof![
        Just(CmpOp::Eq),
        Just(CmpOp::Ne),
        Just(CmpOp::Lt),
        Just(CmpOp::Le),
        Just(CmpOp::Gt),
        Just(CmpOp::Ge),
    ]
}

/// Filters, including nested AND/OR/NOT in every shape.
pub(super) fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        (key(), cmp_op(), value()).prop_map(|(field, op, value)| Expr::Cmp { field, op, value }),
        (key(), vec(value(), 0..3), any::<bool>()).prop_map(|(field, values, negated)| Expr::In {
            field,
            values,
            negated
        }),
        (key(), value()).prop_map(|(field, value)| Expr::Contains { field, value }),
        key().prop_map(Expr::Exists),
        (key(), any::<bool>()).prop_map(|(field, negated)| Expr::IsNull { field, negated }),
    ];
    leaf.prop_recursive(5, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| Expr::Not(Box::new(a))),
        ]
    })
}

fn field_value() -> impl Strategy<Value = FieldValue> {
    prop_oneof![
        3 => value().prop_map(FieldValue::Literal),
        1 => text().prop_map(FieldValue::Embed),
    ]
}

/// Node literals with distinct field names.
fn node() -> impl Strategy<Value = NodeLiteral> {
    proptest::collection::btree_map(key(), field_value(), 0..4).prop_map(|m| NodeLiteral {
        fields: m.into_iter().collect(),
        span: Span::default(),
    })
}

fn select() -> impl Strategy<Value = Select> {
    let vector = prop_oneof![
        text().prop_map(VectorExpr::Embed),
        text().prop_map(VectorExpr::Node),
        vec(any::<f32>().prop_filter("finite", |x| x.is_finite()), 0..5)
            .prop_map(VectorExpr::Literal),
    ];
    let similar =
        (vector, proptest::option::of(key())).prop_map(|(vector, using)| Similar { vector, using });
    let limit = prop_oneof![
        any::<u64>().prop_map(Limit::Top),
        any::<u64>().prop_map(Limit::Limit)
    ];
    let returning = prop_oneof![
        Just(Returning::Count),
        vec(key(), 1..4).prop_map(Returning::Fields)
    ];
    (
        proptest::option::of(expr()),
        proptest::option::of(similar),
        proptest::option::of(limit),
        options(0),
        proptest::option::of(returning),
    )
        .prop_map(|(filter, similar, limit, options, returning)| Select {
            filter,
            similar,
            limit,
            options,
            returning,
            spans: SelectSpans::default(),
        })
}

fn query() -> impl Strategy<Value = Query> {
    let set = vec((key(), field_value()), 1..3);
    let op = prop_oneof![
        node().prop_map(QueryOp::CreateNode),
        vec(node(), 0..3).prop_map(QueryOp::CreateNodes),
        node().prop_map(QueryOp::UpsertNode),
        (proptest::option::of(expr()), set)
            .prop_map(|(filter, set)| QueryOp::Update { filter, set }),
        proptest::option::of(expr()).prop_map(|filter| QueryOp::Delete { filter }),
        select().prop_map(QueryOp::Select),
    ];
    (text(), proptest::option::of(text()), op).prop_map(|(collection, tenant, op)| Query {
        collection: collection.into(),
        tenant: tenant.map(Into::into),
        op,
    })
}

/// Any statement the parser can produce.
pub(super) fn statement() -> impl Strategy<Value = Statement> {
    let name = || text().prop_map(Name::from);
    let tenant = || proptest::option::of(name());
    let period = prop_oneof![
        text().prop_map(Period::Month),
        (text(), text()).prop_map(|(a, b)| Period::Range(a, b)),
    ];
    prop_oneof![
        (name(), any::<bool>(), options(0)).prop_map(|(name, if_not_exists, options)| {
            Statement::CreateTenant {
                name,
                if_not_exists,
                options,
            }
        }),
        (name(), options(1)).prop_map(|(name, set)| Statement::AlterTenant { name, set }),
        name().prop_map(|name| Statement::ArchiveTenant { name }),
        name().prop_map(|name| Statement::RestoreTenant { name }),
        (name(), any::<bool>())
            .prop_map(|(name, if_exists)| Statement::DropTenant { name, if_exists }),
        (
            proptest::option::of(expr()),
            proptest::option::of(any::<u64>())
        )
            .prop_map(|(filter, limit)| Statement::ShowTenants { filter, limit }),
        name().prop_map(|name| Statement::DescribeTenant { name }),
        name().prop_map(|name| Statement::UseTenant { name }),
        (name(), tenant(), any::<bool>(), options(0)).prop_map(
            |(name, tenant, if_not_exists, options)| Statement::CreateCollection {
                name,
                tenant,
                if_not_exists,
                options
            }
        ),
        (name(), tenant(), options(1)).prop_map(|(name, tenant, set)| Statement::AlterCollection {
            name,
            tenant,
            set
        }),
        (name(), tenant(), any::<bool>()).prop_map(|(name, tenant, if_exists)| {
            Statement::DropCollection {
                name,
                tenant,
                if_exists,
            }
        }),
        tenant().prop_map(|tenant| Statement::ShowCollections { tenant }),
        (name(), tenant())
            .prop_map(|(name, tenant)| Statement::DescribeCollection { name, tenant }),
        query().prop_map(Statement::Query),
        query().prop_map(Statement::Explain),
        (tenant(), proptest::option::of(period))
            .prop_map(|(tenant, period)| Statement::ShowUsage { tenant, period }),
        Just(Statement::ShowStats),
        (name(), any::<bool>(), options(0)).prop_map(|(name, if_not_exists, options)| {
            Statement::CreateTier {
                name,
                if_not_exists,
                options,
            }
        }),
        (name(), options(1)).prop_map(|(name, set)| Statement::AlterTier { name, set }),
        (name(), any::<bool>())
            .prop_map(|(name, if_exists)| Statement::DropTier { name, if_exists }),
        Just(Statement::ShowTiers),
    ]
}
