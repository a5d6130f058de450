//! What the catalog stores about a tenant: status, options, timestamps.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::parser::ast::Opt;
use crate::tenant::status::{self, Access, Storage};
use crate::tenant::{names, tiers};
use crate::value::Value;

/// A tenant as stored in the catalog (record layout 2: the status in two
/// parts, and an incarnation id). Layout 1 is [`legacy::TenantRecordV1`],
/// converted when the catalog opens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TenantRecord {
    pub(crate) name: String,
    /// This incarnation of the name: a tenant dropped and created again
    /// gets a new one, so usage is never carried over. 0 for a tenant
    /// converted from layout 1 (its usage rows are keyed by name alone).
    pub(crate) id: u64,
    /// Where the data is.
    pub(crate) storage: Storage,
    /// What the tenant may do.
    pub(crate) access: Access,
    /// Why the access is restricted (`ALTER TENANT .. SET reason = '..'`).
    pub(crate) reason: Option<String>,
    /// Options as given (`tier`, quotas, descriptive), validated.
    pub(crate) options: BTreeMap<String, Value>,
    /// Milliseconds since the Unix epoch.
    pub(crate) created_at_ms: i64,
    /// Milliseconds since the Unix epoch of the last status or option change.
    pub(crate) updated_at_ms: i64,
    /// CRC-32 of the archive file while the tenant is archived.
    pub(crate) archive_crc: Option<u32>,
    /// When the tenant entered `pending_deletion` (ms since the epoch); the
    /// retention purge counts `retention_days` from here.
    pub(crate) pending_since_ms: Option<i64>,
    /// Last access as of the last unload (ms since the epoch); the live
    /// value is kept in memory, so the query path writes nothing.
    pub(crate) last_accessed_ms: Option<i64>,
}

impl TenantRecord {
    /// A new tenant's record: active, unrestricted, a fresh incarnation.
    pub(crate) fn new(name: &str, id: u64, options: BTreeMap<String, Value>, now: i64) -> Self {
        TenantRecord {
            name: name.to_string(),
            id,
            storage: Storage::Active,
            access: Access::Normal,
            reason: None,
            options,
            created_at_ms: now,
            updated_at_ms: now,
            archive_crc: None,
            pending_since_ms: None,
            last_accessed_ms: None,
        }
    }

    /// The one-column status (SHOW TENANTS): the restriction when there is
    /// one, else where the data is.
    pub(crate) fn status(&self) -> &'static str {
        status::shown(self.storage, self.access)
    }

    /// The key of this incarnation's usage rows: the name, then `@id`
    /// (`@` cannot be part of a name). Layout-1 tenants (id 0) keep the
    /// bare name their rows were written under.
    pub(crate) fn usage_key(&self) -> String {
        match self.id {
            0 => self.name.clone(),
            id => format!("{}@{id}", self.name),
        }
    }
}

/// The tenant name of a usage key.
pub(crate) fn name_of_usage_key(key: &str) -> &str {
    key.split_once('@').map_or(key, |(name, _)| name)
}

/// Record layout 1, as PQL wrote it before the status had two parts.
pub(crate) mod legacy {
    use super::*;

    /// Layout 1's single status.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub(crate) enum StatusV1 {
        Active,
        Inactive,
        Archived,
        Suspended,
        ReadOnly,
        PendingDeletion,
    }

    /// A tenant record of layout 1.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub(crate) struct TenantRecordV1 {
        pub(crate) name: String,
        pub(crate) status: StatusV1,
        pub(crate) options: BTreeMap<String, Value>,
        pub(crate) created_at_ms: i64,
        pub(crate) updated_at_ms: i64,
        pub(crate) archive_crc: Option<u32>,
        pub(crate) pending_since_ms: Option<i64>,
        pub(crate) last_accessed_ms: Option<i64>,
    }

    impl From<TenantRecordV1> for TenantRecord {
        /// A restricted tenant's data was on the local disk, not loaded.
        fn from(r: TenantRecordV1) -> Self {
            let (storage, access) = match r.status {
                StatusV1::Active => (Storage::Active, Access::Normal),
                StatusV1::Inactive => (Storage::Inactive, Access::Normal),
                StatusV1::Archived => (Storage::Archived, Access::Normal),
                StatusV1::Suspended => (Storage::Inactive, Access::Suspended),
                StatusV1::ReadOnly => (Storage::Inactive, Access::ReadOnly),
                StatusV1::PendingDeletion => (Storage::Inactive, Access::PendingDeletion),
            };
            TenantRecord {
                name: r.name,
                id: 0,
                storage,
                access,
                reason: None,
                options: r.options,
                created_at_ms: r.created_at_ms,
                updated_at_ms: r.updated_at_ms,
                archive_crc: r.archive_crc,
                pending_since_ms: r.pending_since_ms,
                last_accessed_ms: r.last_accessed_ms,
            }
        }
    }
}

/// Kinds of option values, for validation.
enum OptKind {
    Count,
    Number,
    /// An integer from the first to the second bound.
    Range(i64, i64),
    Text(&'static [&'static str]),
    /// The name of a tier (validated like a tenant name, lower-cased);
    /// whether it exists the catalog checks.
    Tier,
    AnyText,
    Object,
}

/// Known tenant options and the kind of value each takes.
fn option_kind(key: &str) -> Option<OptKind> {
    Some(match key {
        "tier" => OptKind::Tier,
        "max_vectors"
        | "max_storage_bytes"
        | "max_api_calls_per_minute"
        | "max_concurrent_queries"
        | "max_dimension"
        | "max_results_per_query"
        | "max_batch_size"
        | "retention_days" => OptKind::Count,
        "max_storage_gb" | "max_storage_mb" | "max_qps" => OptKind::Number,
        "default_ef" => OptKind::Range(1, 4096),
        "embedder" => OptKind::AnyText,
        "isolation_level" => OptKind::Text(&["dedicated"]),
        "display_name" => OptKind::AnyText,
        "metadata" => OptKind::Object,
        _ => return None,
    })
}

/// The options a tier holds and a tenant inherits from its tier (unless
/// it sets them itself): the quotas, `retention_days`, `default_ef` and
/// `embedder`.
pub(crate) const INHERITED: [&str; 13] = [
    "max_vectors",
    "max_storage_bytes",
    "max_storage_mb",
    "max_storage_gb",
    "max_qps",
    "max_api_calls_per_minute",
    "max_concurrent_queries",
    "max_dimension",
    "max_results_per_query",
    "max_batch_size",
    "retention_days",
    "default_ef",
    "embedder",
];

/// Validates `opts` of CREATE TENANT / ALTER TENANT (except `status`, which
/// the lifecycle handles) and returns them as a map. A `null` value stays
/// in the map: it unsets the option (see [`apply`]).
pub(crate) fn validate_options(opts: &[Opt]) -> Result<BTreeMap<String, Value>> {
    validate(opts, "tenant")
}

/// Validates the settings of CREATE TIER / ALTER TIER: the [`INHERITED`]
/// options only.
pub(crate) fn validate_settings(opts: &[Opt]) -> Result<BTreeMap<String, Value>> {
    if let Some(o) = opts.iter().find(|o| !INHERITED.contains(&o.key.as_str())) {
        return Err(Error::invalid_option(format!(
            "unknown tier setting '{}'; a tier holds: {}",
            o.key,
            INHERITED.join(", ")
        ))
        .with_span(o.span));
    }
    validate(opts, "tier")
}

/// Applies validated `changes` to `options`: a `null` removes the option,
/// anything else sets it. The storage options are one setting: a change of
/// any of them replaces (or removes) all three, so the one given is the one
/// in force.
pub(crate) fn apply(options: &mut BTreeMap<String, Value>, changes: BTreeMap<String, Value>) {
    for (k, v) in changes {
        options.retain(|o, _| !tiers::same_setting(o, &k));
        if v != Value::Null {
            options.insert(k, v);
        }
    }
}

/// [`validate_options`] for the options of a `what` (`tenant`, `tier`).
fn validate(opts: &[Opt], what: &str) -> Result<BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    for opt in opts {
        let key = opt.key.as_str();
        let kind = option_kind(key).ok_or_else(|| {
            Error::invalid_option(format!(
                "unknown tenant option '{key}'; known options: tier, max_vectors, \
                 max_storage_gb, max_storage_mb, max_storage_bytes, max_qps, \
                 max_api_calls_per_minute, max_concurrent_queries, max_dimension, \
                 max_results_per_query, max_batch_size, default_ef, embedder, isolation_level, \
                 display_name, retention_days, metadata"
            ))
        })?;
        let v = &opt.value;
        if *v == Value::Null {
            out.insert(key.to_string(), Value::Null);
            continue;
        }
        let ok = match kind {
            OptKind::Count => matches!(v.as_i64(), Some(n) if n >= 0),
            OptKind::Number => matches!(v.as_f64(), Some(x) if x >= 0.0 && x.is_finite()),
            OptKind::Range(lo, hi) => matches!(v.as_i64(), Some(n) if (lo..=hi).contains(&n)),
            OptKind::Text(allowed) => match v.as_str() {
                Some(s) if allowed.contains(&s.to_ascii_lowercase().as_str()) => true,
                Some(s) if key == "isolation_level" && s.eq_ignore_ascii_case("shared") => {
                    return Err(Error::unsupported(
                        "isolation_level 'shared' is not supported yet; every tenant gets \
                         'dedicated' files and indexes",
                    ))
                }
                _ => false,
            },
            OptKind::Tier => match v.as_str() {
                Some(s) => {
                    names::validate("tier", s)?;
                    true
                }
                None => false,
            },
            OptKind::AnyText => v.as_str().is_some(),
            OptKind::Object => matches!(v, Value::Object(_)),
        };
        if !ok {
            let expected = match kind {
                OptKind::Count => "a non-negative integer".to_string(),
                OptKind::Number => "a non-negative number".to_string(),
                OptKind::Range(lo, hi) => format!("an integer from {lo} to {hi}"),
                OptKind::Text(allowed) => format!("one of '{}'", allowed.join("', '")),
                OptKind::Tier => "the name of a tier (SHOW TIERS lists them)".to_string(),
                OptKind::AnyText => "a string".to_string(),
                OptKind::Object => "an object { ... }".to_string(),
            };
            return Err(Error::invalid_option(format!(
                "{what} option '{key}' must be {expected}, got {v}"
            )));
        }
        let normalised = match (kind, v) {
            (OptKind::Text(_) | OptKind::Tier, Value::Str(s)) => Value::Str(s.to_ascii_lowercase()),
            (OptKind::Count | OptKind::Range(..), v) => Value::Int(v.as_i64().unwrap_or_default()),
            _ => v.clone(),
        };
        out.insert(key.to_string(), normalised);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt(k: &str, v: Value) -> Opt {
        Opt {
            span: Default::default(),
            key: k.into(),
            value: v,
        }
    }

    #[test]
    fn seed_options_validate() {
        let m = validate_options(&[
            opt("max_vectors", Value::Int(1_000_000)),
            opt("max_storage_gb", Value::Int(10)),
            opt("isolation_level", Value::Str("dedicated".into())),
        ])
        .unwrap();
        assert_eq!(m["max_vectors"], Value::Int(1_000_000));
    }

    #[test]
    fn bad_options_are_refused_with_reason() {
        let e = validate_options(&[opt("max_vectors", Value::Str("x".into()))]).unwrap_err();
        assert!(e.message().contains("non-negative integer"), "{e}");
        let e = validate_options(&[opt("colour", Value::Int(1))]).unwrap_err();
        assert!(e.message().contains("unknown tenant option 'colour'"));
        let e =
            validate_options(&[opt("isolation_level", Value::Str("shared".into()))]).unwrap_err();
        assert_eq!(e.kind(), &crate::error::ErrorKind::Unsupported);
    }
}
