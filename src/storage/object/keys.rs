//! Object keys: the one place a key in the bucket is built. Every name is
//! checked before it becomes part of a key, so no tenant, generation or file
//! name can reach outside `PREFIX/`.
//!
//! ```text
//! PREFIX/tenants/<tenant>/manifest.json            the tenant's latest manifest
//! PREFIX/tenants/<tenant>/<generation>/<file>      immutable snapshot objects
//! PREFIX/archive/<tenant>.tar.zst                  an archived tenant
//! PREFIX/archive/<tenant>.tar.zst.json             its size and CRC-32, written after it
//! PREFIX/leases/<tenant>                           who owns the tenant (cluster mode)
//! PREFIX/wal/<tenant>/<seq, 20 digits>             the tenant's write-ahead log (cluster mode)
//! PREFIX/nodes/<node>                              a node and its heartbeat (cluster mode)
//! PREFIX/keys/<sha256 hex>/<tenant>/<id>            a tenant API key's record (cluster mode)
//! PREFIX/registry/tenants/<tenant, lower case>     a tenant's record (cluster mode)
//! PREFIX/registry/tiers/<tier>                     a tier template (cluster mode)
//! PREFIX/usage/<node>/<day start, Unix seconds>    a node's own usage of that day (cluster mode)
//! ```

use object_store::path::Path as Key;

use crate::error::{Error, ErrorKind, Result};
use crate::tenant::names::validate;

/// What a registry record describes (cluster mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Registered {
    /// A tenant's record.
    Tenant,
    /// A tier template.
    Tier,
}

impl Registered {
    /// How names of this kind are called in errors.
    pub(crate) fn what(self) -> &'static str {
        match self {
            Registered::Tenant => "tenant",
            Registered::Tier => "tier",
        }
    }
}

/// Builds every key of the tier under one prefix.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    /// The prefix without a trailing '/'; empty for none.
    prefix: String,
}

/// What a key addresses.
pub(crate) enum Target<'a> {
    /// The folder holding all of a tenant's objects.
    TenantRoot,
    /// The tenant's manifest.
    Manifest,
    /// The folder of one generation.
    Generation(&'a str),
    /// One file of one generation.
    Object { generation: &'a str, file: &'a str },
    /// The archive of the tenant.
    Archive,
    /// The archive's size and checksum.
    ArchiveMeta,
    /// The tenant's lease (cluster mode, `crate::cluster`).
    Lease,
    /// The folder of the tenant's write-ahead log (cluster mode).
    WalRoot,
    /// One entry of the tenant's write-ahead log, by sequence number.
    WalEntry(u64),
}

impl Keys {
    pub(super) fn new(prefix: &str) -> Self {
        Keys {
            prefix: prefix.trim_matches('/').to_string(),
        }
    }

    /// The prefix itself (checked when the URL was parsed).
    pub(crate) fn root(&self) -> Key {
        Key::from_iter(self.prefix.split('/').filter(|s| !s.is_empty()))
    }

    /// The key of `target` for `tenant`. The tenant name is validated
    /// (`tenant::names`), and generation and file names are checked with
    /// [`check_file_name`], so each is one plain key segment.
    pub(crate) fn key(&self, tenant: &str, target: Target<'_>) -> Result<Key> {
        validate("tenant", tenant)?;
        let rel = match target {
            Target::TenantRoot => format!("tenants/{tenant}"),
            Target::Manifest => format!("tenants/{tenant}/manifest.json"),
            Target::Generation(g) => {
                check_file_name("generation", g)?;
                format!("tenants/{tenant}/{g}")
            }
            Target::Object { generation, file } => {
                check_file_name("generation", generation)?;
                check_file_name("file", file)?;
                format!("tenants/{tenant}/{generation}/{file}")
            }
            Target::Archive => format!("archive/{tenant}.tar.zst"),
            Target::ArchiveMeta => format!("archive/{tenant}.tar.zst.json"),
            Target::Lease => format!("leases/{tenant}"),
            Target::WalRoot => format!("wal/{tenant}"),
            Target::WalEntry(seq) => format!("wal/{tenant}/{seq:020}"),
        };
        self.under_prefix(&rel)
    }

    /// The record of cluster node `node` (`PREFIX/nodes/<node>`), the name
    /// validated like a tenant's.
    pub(crate) fn node(&self, node: &str) -> Result<Key> {
        validate("node", node)?;
        self.under_prefix(&format!("nodes/{node}"))
    }

    /// The record of the tenant API key whose SHA-256 is `hash`
    /// (`PREFIX/keys/<hash hex>/<tenant>/<id>`): the tenant name validated,
    /// the id checked as a file name. With `None` for the tenant, the
    /// folder of that hash.
    pub(crate) fn api_key(&self, hash: &[u8; 32], owner: Option<(&str, &str)>) -> Result<Key> {
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        let Some((tenant, id)) = owner else {
            return self.under_prefix(&format!("keys/{hex}"));
        };
        validate("tenant", tenant)?;
        check_file_name("key id", id)?;
        self.under_prefix(&format!("keys/{hex}/{tenant}/{id}"))
    }

    /// The registry record of tenant `name` (`PREFIX/registry/tenants/`,
    /// the name validated and in lower case, so that names differing only
    /// in case share one record) or of tier `name` (`.../tiers/`); with
    /// `None`, the folder of all of them.
    pub(crate) fn registered(&self, kind: Registered, name: Option<&str>) -> Result<Key> {
        let folder = match kind {
            Registered::Tenant => "registry/tenants",
            Registered::Tier => "registry/tiers",
        };
        let Some(name) = name else {
            return self.under_prefix(folder);
        };
        validate(kind.what(), name)?;
        self.under_prefix(&format!("{folder}/{}", name.to_ascii_lowercase()))
    }

    /// The usage object of node `node` for the day starting at `day`
    /// (Unix seconds): `PREFIX/usage/<node>/<day>`.
    pub(crate) fn usage(&self, node: &str, day: i64) -> Result<Key> {
        validate("node", node)?;
        self.under_prefix(&format!("usage/{node}/{day}"))
    }

    /// A folder of the cluster layer directly under the prefix (`nodes`,
    /// `leases`): a fixed name, never user input.
    pub(crate) fn folder(&self, name: &'static str) -> Result<Key> {
        self.under_prefix(name)
    }

    /// `rel` (already checked) under the prefix.
    fn under_prefix(&self, rel: &str) -> Result<Key> {
        let full = if self.prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{}/{rel}", self.prefix)
        };
        Key::parse(&full).map_err(|e| Error::new(ErrorKind::InvalidName, e.to_string()))
    }
}

/// A file or generation name that may become one key segment: 1-255 ASCII
/// characters of `[A-Za-z0-9._-]`, not starting with '.'.
pub(super) fn check_file_name(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::InvalidName,
            format!(
                "invalid {what} name {name:?} for the object store: use 1-255 characters \
                 of A-Z, a-z, 0-9, '.', '_' and '-', not starting with '.'"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_documented_layout() {
        let k = Keys::new("prod/eu");
        let key = |t| k.key("acme", t).unwrap().to_string();
        assert_eq!(key(Target::Manifest), "prod/eu/tenants/acme/manifest.json");
        assert_eq!(
            key(Target::Object {
                generation: "00000000000000000001-ab",
                file: "docs.redb"
            }),
            "prod/eu/tenants/acme/00000000000000000001-ab/docs.redb"
        );
        assert_eq!(key(Target::Archive), "prod/eu/archive/acme.tar.zst");
        assert_eq!(key(Target::Lease), "prod/eu/leases/acme");
        assert_eq!(
            key(Target::WalEntry(7)),
            "prod/eu/wal/acme/00000000000000000007"
        );
        assert_eq!(k.node("n1").unwrap().to_string(), "prod/eu/nodes/n1");
        let hash = [0xab; 32];
        assert_eq!(
            k.api_key(&hash, Some(("acme", "0f1e")))
                .unwrap()
                .to_string(),
            format!("prod/eu/keys/{}/acme/0f1e", "ab".repeat(32))
        );
        assert_eq!(
            k.api_key(&hash, None).unwrap().to_string(),
            format!("prod/eu/keys/{}", "ab".repeat(32))
        );
        assert!(k.api_key(&hash, Some(("../x", "1"))).is_err());
        assert!(k.api_key(&hash, Some(("acme", "../1"))).is_err());
        assert!(k.node("../n1").is_err());
        assert_eq!(
            Keys::new("")
                .key("acme", Target::TenantRoot)
                .unwrap()
                .to_string(),
            "tenants/acme"
        );
    }

    #[test]
    fn hostile_names_never_leave_the_prefix() {
        let k = Keys::new("p");
        let long = "x".repeat(65);
        let tenants = [
            "",
            "..",
            ".",
            "a/b",
            "../x",
            "%2F",
            "a%2Fb",
            "ａｃｍｅ",
            "café",
            "a b",
            "a\0b",
            "/abs",
            &long,
        ];
        for t in tenants {
            for target in [
                Target::Manifest,
                Target::Archive,
                Target::TenantRoot,
                Target::Lease,
                Target::WalEntry(1),
            ] {
                let e = k.key(t, target).unwrap_err();
                assert_eq!(e.kind(), &ErrorKind::InvalidName, "{t:?}");
            }
        }
        for f in ["", "..", ".", ".hidden", "a/b", "../x", "%2F", "a\\b", "é"] {
            let obj = Target::Object {
                generation: "g1",
                file: f,
            };
            assert_eq!(
                k.key("acme", obj).unwrap_err().kind(),
                &ErrorKind::InvalidName,
                "{f:?}"
            );
            assert!(k.key("acme", Target::Generation(f)).is_err(), "{f:?}");
        }
        // Every accepted key stays under the prefix and the tenant's folder.
        let key = k
            .key(
                "a-b_9",
                Target::Object {
                    generation: "g..1",
                    file: "x..redb",
                },
            )
            .unwrap();
        assert!(key.as_ref().starts_with("p/tenants/a-b_9/"), "{key}");
        assert_eq!(key.parts().count(), 5);
    }
}
