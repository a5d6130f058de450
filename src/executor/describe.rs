//! DESCRIBE COLLECTION: what a user needs to know about one collection.

use crate::collection::meta::CollectionMeta;
use crate::config::Config;
use crate::error::Result;
use crate::executor::show::strs;
use crate::result::QueryResult;
use crate::tenant::Tenant;
use crate::value::Value;

/// One `property | value` row.
fn row(property: &str, value: Value) -> Vec<Value> {
    vec![Value::Str(property.into()), value]
}

/// Describes collection `name` of `tenant` (loading it, as a query would):
/// its options, its contents, its size on disk and its graph index.
pub(super) fn describe_collection(
    tenant: &Tenant,
    name: &str,
    config: &Config,
) -> Result<QueryResult> {
    let shared = tenant.collection(name, config)?;
    let c = shared.read();
    let meta = &c.meta;
    let int = |n: u64| Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
    let attributes = c
        .attributes()
        .field_kinds()
        .into_iter()
        .map(|(field, kinds)| format!("{field}: {}", kinds.join("|")))
        .collect::<Vec<_>>()
        .join(", ");
    let mut rows = vec![
        row("name", Value::Str(meta.name.clone())),
        row("tenant", Value::Str(tenant.name.clone())),
    ];
    rows.extend(
        CollectionMeta::DESCRIBED
            .iter()
            .zip(meta.describe())
            .map(|(p, v)| row(p, v)),
    );
    rows.extend([
        row("nodes", int(c.len())),
        row("vectors", int(c.with_vector().len())),
        row("attributes", Value::Str(attributes)),
        row(
            "storage_bytes",
            int(crate::collection::Collection::disk_bytes(&tenant.dir, name)),
        ),
        row("memory_bytes", int(c.memory_bytes() as u64)),
        row("graph", Value::Str(c.graph_origin())),
    ]);
    let (saved, pending) = match c.graph_checkpoint() {
        Some((saved, pending)) => (Value::Bool(saved), int(pending)),
        None => (Value::Null, Value::Null),
    };
    rows.extend([row("graph_saved", saved), row("graph_pending", pending)]);
    Ok(QueryResult::rows(strs(&["property", "value"]), rows))
}
