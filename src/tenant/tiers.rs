//! Tier templates: `CREATE/ALTER/DROP TIER`, `SHOW TIERS`, and how a
//! tenant's effective settings are resolved from its own options and its
//! tier's.
//!
//! A tier holds [`INHERITED`] settings. A tenant naming it (`tier: 'gold'`)
//! inherits each of them unless it sets the option itself, so the effective
//! value of a setting comes from the tenant (`override`), else its tier
//! (`tier`), else nowhere (`default`: no limit, or the engine's default).
//! The storage options are one setting: a tenant giving any of
//! `max_storage_bytes/_mb/_gb` overrides all three of its tier's.
//!
//! The built-in `free`, `pro` and `unlimited` tiers are rows like any
//! other, stored in every catalog when it opens if missing. They may be
//! altered but not dropped.
//!
//! Tiers are in the catalog (`storage::tiers`) and in memory. Lock order:
//! the tiers, then the tenant map, then a tenant's record; so a tenant is
//! never given a tier that a concurrent `DROP TIER` removes, and an
//! `ALTER TIER` reaches every tenant that names the tier when it commits.

use std::collections::BTreeMap;

use crate::error::{Error, ErrorKind, Result};
use crate::parser::ast::Opt;
use crate::storage::tiers::{self as store, TierRecord};
use crate::tenant::record::{apply, validate_settings, INHERITED};
use crate::tenant::{names, Catalog};
use crate::value::Value;

/// The tiers by name.
pub(crate) type Tiers = BTreeMap<String, TierRecord>;

/// The built-in tiers, never dropped.
pub(crate) const BUILTIN: [&str; 3] = ["free", "pro", "unlimited"];

/// The storage options, one setting.
const STORAGE: [&str; 3] = ["max_storage_bytes", "max_storage_mb", "max_storage_gb"];

/// The built-in tiers as first stored: free and pro as PQL.md gives them,
/// unlimited without limits.
pub(crate) fn seeds(now_ms: i64) -> Vec<TierRecord> {
    let int = |k: &str, n: i64| (k.to_string(), Value::Int(n));
    let preset = |vectors, mb, qps, concurrent, dimension, results, batch| {
        BTreeMap::from([
            int("max_vectors", vectors),
            int("max_storage_mb", mb),
            ("max_qps".to_string(), Value::Float(qps)),
            int("max_concurrent_queries", concurrent),
            int("max_dimension", dimension),
            int("max_results_per_query", results),
            int("max_batch_size", batch),
        ])
    };
    [
        ("free", preset(10_000, 100, 10.0, 2, 1536, 100, 100)),
        (
            "pro",
            preset(1_000_000, 10 * 1024, 100.0, 20, 4096, 1_000, 1_000),
        ),
        ("unlimited", BTreeMap::new()),
    ]
    .into_iter()
    .map(|(name, settings)| TierRecord {
        name: name.to_string(),
        settings,
        created_at_ms: now_ms,
        updated_at_ms: now_ms,
    })
    .collect()
}

/// Where an effective setting comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The tenant sets it itself.
    Override,
    /// The tenant's tier sets it.
    Tier,
    /// Neither: no limit, or the engine's default.
    Default,
}

impl Source {
    /// `override`, `tier` or `default`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Source::Override => "override",
            Source::Tier => "tier",
            Source::Default => "default",
        }
    }
}

/// The tier `options` name, if any.
pub(crate) fn tier_of(options: &BTreeMap<String, Value>) -> Option<&str> {
    options.get("tier").and_then(Value::as_str)
}

/// Whether options `a` and `b` give the same setting: the same option, or
/// two storage options.
pub(crate) fn same_setting(a: &str, b: &str) -> bool {
    a == b || STORAGE.contains(&a) && STORAGE.contains(&b)
}

/// A tenant's effective options: `own` over the [`INHERITED`] settings of
/// its tier (`None` if it names none, or one this catalog lacks).
pub(crate) fn effective(
    own: &BTreeMap<String, Value>,
    tier: Option<&TierRecord>,
) -> BTreeMap<String, Value> {
    let mut out: BTreeMap<String, Value> = tier
        .map(|t| {
            t.settings
                .iter()
                .filter(|(k, _)| INHERITED.contains(&k.as_str()))
                .filter(|(k, _)| !own.keys().any(|o| same_setting(o, k)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    out.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

/// Where the setting of option `key` (any storage option for storage)
/// comes from for a tenant with options `own` on `tier`.
pub(crate) fn source(
    own: &BTreeMap<String, Value>,
    tier: Option<&TierRecord>,
    key: &str,
) -> Source {
    if own.keys().any(|o| same_setting(o, key)) {
        Source::Override
    } else if tier.is_some_and(|t| t.settings.keys().any(|s| same_setting(s, key))) {
        Source::Tier
    } else {
        Source::Default
    }
}

/// The error of a tier that does not exist.
fn not_found(name: &str, tiers: &Tiers) -> Error {
    let known: Vec<&str> = tiers.keys().map(String::as_str).collect();
    Error::new(
        ErrorKind::TierNotFound,
        format!(
            "Tier not found: {name} (tiers: {}; CREATE TIER {name} WITH (...) makes it)",
            known.join(", ")
        ),
    )
}

/// Refuses `options` naming a tier that `tiers` lacks.
pub(crate) fn check_known(tiers: &Tiers, options: &BTreeMap<String, Value>) -> Result<()> {
    match tier_of(options) {
        Some(t) if !tiers.contains_key(t) => Err(not_found(t, tiers)),
        _ => Ok(()),
    }
}

/// A tier name as stored: validated, lower case.
fn tier_name(name: &str) -> Result<String> {
    names::validate("tier", name)?;
    Ok(name.to_ascii_lowercase())
}

impl Catalog {
    /// The tiers, for resolving a tenant's settings (see the lock order).
    pub(crate) fn tiers(&self) -> parking_lot::RwLockReadGuard<'_, Tiers> {
        self.tiers.read()
    }

    /// A tenant's effective options: its own over its tier's.
    pub(crate) fn effective_options(
        &self,
        options: &BTreeMap<String, Value>,
    ) -> BTreeMap<String, Value> {
        let tiers = self.tiers.read();
        effective(options, tier_of(options).and_then(|t| tiers.get(t)))
    }

    /// `CREATE TIER`; `Ok(false)` if it exists and `if_not_exists` is set.
    pub(crate) fn create_tier(
        &self,
        name: &str,
        settings: &[Opt],
        if_not_exists: bool,
        now_ms: i64,
    ) -> Result<bool> {
        let name = tier_name(name)?;
        let mut settings = validate_settings(settings)?;
        settings.retain(|_, v| *v != Value::Null);
        let mut tiers = self.tiers.write();
        let record = TierRecord {
            name: name.clone(),
            settings,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
        };
        // In cluster mode the registry decides: this node may not know yet
        // a tier created elsewhere, or may still know one dropped.
        let exists = match self.registry() {
            Some(registry) => !registry.create_tier(&record)?,
            None => tiers.contains_key(&name),
        };
        if exists {
            if if_not_exists {
                return Ok(false);
            }
            return Err(Error::new(
                ErrorKind::TierExists,
                format!("Tier already exists: {name} (ALTER TIER {name} SET ... changes it)"),
            ));
        }
        store::put(&self.db(), &record)?;
        // Tenants stored naming a tier this catalog lacked inherit from now.
        self.refresh(&record);
        tiers.insert(name, record);
        Ok(true)
    }

    /// `ALTER TIER`: a `null` removes a setting. Every tenant on the tier
    /// gets its new effective limits at once; returns how many there are.
    pub(crate) fn alter_tier(&self, name: &str, set: &[Opt], now_ms: i64) -> Result<usize> {
        let name = tier_name(name)?;
        let changes = validate_settings(set)?;
        let mut tiers = self.tiers.write();
        let mut change = |record: &mut TierRecord| -> Result<()> {
            apply(&mut record.settings, changes.clone());
            record.updated_at_ms = now_ms;
            Ok(())
        };
        let record = match self.registry() {
            // Changed in the registry first, on its latest version.
            Some(registry) => registry.alter_tier(&name, &mut change)?,
            None => tiers
                .get(&name)
                .cloned()
                .map(|mut record| change(&mut record).map(|()| record))
                .transpose()?,
        };
        let record = record.ok_or_else(|| not_found(&name, &tiers))?;
        store::put(&self.db(), &record)?;
        let inheriting = self.refresh(&record);
        tiers.insert(name, record);
        Ok(inheriting)
    }

    /// Recomputes the limits of every tenant naming tier `record` (called
    /// holding the tiers lock); returns how many there are.
    pub(super) fn refresh(&self, record: &TierRecord) -> usize {
        let mut inheriting = 0;
        for tenant in self.list() {
            let own = tenant.record.read();
            if tier_of(&own.options) == Some(record.name.as_str()) {
                tenant
                    .quota
                    .set_options(&effective(&own.options, Some(record)));
                inheriting += 1;
            }
        }
        inheriting
    }

    /// `DROP TIER`: refused for a built-in tier and while a tenant names
    /// it; `Ok(false)` if it does not exist and `if_exists` is set.
    pub(crate) fn drop_tier(&self, name: &str, if_exists: bool) -> Result<bool> {
        let name = tier_name(name)?;
        let mut tiers = self.tiers.write();
        let known = match self.registry() {
            Some(registry) => registry.tiers()?.iter().any(|t| t.name == name),
            None => tiers.contains_key(&name),
        };
        if !known {
            return if if_exists {
                Ok(false)
            } else {
                Err(not_found(&name, &tiers))
            };
        }
        if BUILTIN.contains(&name.as_str()) {
            return Err(Error::unsupported(format!(
                "Tier {name} is built in and cannot be dropped (ALTER TIER {name} SET ... \
                 changes it)"
            )));
        }
        let users = self.users_of(&name)?;
        if !users.is_empty() {
            const SHOWN: usize = 5;
            let more = match users.len().saturating_sub(SHOWN) {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            return Err(Error::new(
                ErrorKind::TierInUse,
                format!(
                    "Tier {name} is in use by {} tenant(s): {}{more}; move them to another \
                     tier first (ALTER TENANT t SET tier = '...')",
                    users.len(),
                    users[..users.len().min(SHOWN)].join(", ")
                ),
            ));
        }
        if let Some(registry) = self.registry() {
            registry.drop_tier(&name)?;
        }
        store::delete(&self.db(), &name)?;
        tiers.remove(&name);
        Ok(true)
    }

    /// The tenants of this catalog naming tier `name`, sorted.
    pub(super) fn local_users_of(&self, name: &str) -> Vec<String> {
        self.list()
            .into_iter()
            .filter(|t| tier_of(&t.record.read().options) == Some(name))
            .map(|t| t.name.clone())
            .collect()
    }

    /// Every tier with the number of tenants naming it, by name.
    pub(crate) fn list_tiers(&self) -> Result<Vec<(TierRecord, usize)>> {
        self.sync_tiers()?;
        let records = self.listed_records()?;
        let tiers = self.tiers.read();
        Ok(tiers
            .values()
            .map(|t| {
                let users = records
                    .iter()
                    .filter(|r| tier_of(&r.options) == Some(t.name.as_str()))
                    .count();
                (t.clone(), users)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn own_options_win_over_the_tier_and_storage_is_one_setting() {
        let gold = TierRecord {
            name: "gold".into(),
            settings: map(&[
                ("max_vectors", Value::Int(100)),
                ("max_qps", Value::Float(10.0)),
                ("max_storage_bytes", Value::Int(1000)),
            ]),
            created_at_ms: 0,
            updated_at_ms: 0,
        };
        let own = map(&[
            ("tier", Value::Str("gold".into())),
            ("max_qps", Value::Int(50)),
            ("max_storage_gb", Value::Int(1)),
        ]);
        let e = effective(&own, Some(&gold));
        assert_eq!(e["max_vectors"], Value::Int(100));
        assert_eq!(e["max_qps"], Value::Int(50));
        assert!(!e.contains_key("max_storage_bytes"), "{e:?}");
        assert_eq!(e["max_storage_gb"], Value::Int(1));
        assert_eq!(source(&own, Some(&gold), "max_vectors"), Source::Tier);
        assert_eq!(source(&own, Some(&gold), "max_qps"), Source::Override);
        assert_eq!(
            source(&own, Some(&gold), "max_storage_bytes"),
            Source::Override
        );
        assert_eq!(source(&own, Some(&gold), "max_dimension"), Source::Default);
        assert_eq!(source(&own, None, "max_vectors"), Source::Default);
        assert_eq!(effective(&own, None), own);
    }
}
