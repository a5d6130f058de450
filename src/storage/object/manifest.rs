//! The manifest: the one object that makes a tenant snapshot visible. It
//! names the generation, every object with its size and CRC-32, and carries
//! the tenant's catalog record as an opaque blob. It is written after every
//! object it names, so a partial upload is never visible through it.

use std::collections::BTreeSet;
use std::hash::{BuildHasher, RandomState};

use serde::{Deserialize, Serialize};

use super::keys::{check_file_name, Keys, Target};
use crate::error::{Error, Result};

/// The manifest format this version writes and reads.
const FORMAT: u32 = 1;

/// One tenant snapshot in the object store, as its manifest
/// (`PREFIX/tenants/<tenant>/manifest.json`) describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version (1).
    pub format: u32,
    /// The tenant the snapshot belongs to.
    pub tenant: String,
    /// Increases by one with every upload of the tenant.
    pub generation: u64,
    /// The generation's folder name: the zero-padded generation, '-', and a
    /// random suffix, so two writers never share a folder.
    pub generation_id: String,
    /// When the manifest was written (ms since the Unix epoch).
    pub created_ms: i64,
    /// Every file of the snapshot.
    pub objects: Vec<ManifestObject>,
    /// The tenant's catalog record, opaque to the tier (hex in the JSON).
    #[serde(with = "hex_bytes")]
    pub record: Vec<u8>,
    /// CRC-32 of `record`.
    pub record_crc32: u32,
    /// The tenant's usage history, opaque to the tier (hex in the JSON;
    /// empty in manifests written before it was kept). Covered by
    /// `usage_crc32`.
    #[serde(default, with = "hex_bytes")]
    pub usage: Vec<u8>,
    /// CRC-32 of `usage`.
    #[serde(default = "empty_crc")]
    pub usage_crc32: u32,
}

/// The CRC-32 of no bytes, for manifests without usage history.
fn empty_crc() -> u32 {
    crc32fast::hash(&[])
}

/// One object of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestObject {
    /// The file name in the tenant folder (`docs.redb`).
    pub file: String,
    /// The full object key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// CRC-32 (crc32fast) of the content.
    pub crc32: u32,
}

impl Manifest {
    /// A manifest for `tenant` at `generation` (the objects are added by the
    /// upload).
    pub(super) fn new(tenant: &str, generation: u64, record: &[u8], usage: &[u8]) -> Manifest {
        Manifest {
            format: FORMAT,
            tenant: tenant.to_string(),
            generation,
            generation_id: generation_id(generation),
            created_ms: crate::clock::now_ms(),
            objects: Vec::new(),
            record: record.to_vec(),
            record_crc32: crc32fast::hash(record),
            usage: usage.to_vec(),
            usage_crc32: crc32fast::hash(usage),
        }
    }

    /// Total bytes of the snapshot's objects.
    pub fn total_bytes(&self) -> u64 {
        self.objects.iter().map(|o| o.size).sum()
    }

    /// The manifest as stored.
    pub(super) fn encode(&self) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(self).map_err(|e| Error::io("cannot encode manifest", e))
    }

    /// Parses a stored manifest of `tenant` and checks it: format, tenant,
    /// generation folder, file names, keys (each must be the one `keys`
    /// builds) and the record's CRC-32. Any failure is `Corrupt`, naming
    /// `what` (the manifest's key).
    pub(super) fn decode(bytes: &[u8], tenant: &str, keys: &Keys, what: &str) -> Result<Manifest> {
        let bad = |why: String| Error::corrupt(format!("manifest {what}"), why);
        let m: Manifest = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        if m.format != FORMAT {
            return Err(bad(format!("unknown format {}", m.format)));
        }
        if m.tenant != tenant {
            return Err(bad(format!("it names tenant {:?}", m.tenant)));
        }
        if !m
            .generation_id
            .starts_with(&format!("{:020}-", m.generation))
        {
            return Err(bad(format!(
                "generation folder {:?} does not match generation {}",
                m.generation_id, m.generation
            )));
        }
        check_file_name("generation", &m.generation_id).map_err(|e| bad(e.message().into()))?;
        let mut seen = BTreeSet::new();
        for o in &m.objects {
            let key = keys
                .key(
                    tenant,
                    Target::Object {
                        generation: &m.generation_id,
                        file: &o.file,
                    },
                )
                .map_err(|e| bad(e.message().into()))?;
            if key.as_ref() != o.key {
                return Err(bad(format!("object key {:?} is not {key}", o.key)));
            }
            if !seen.insert(o.file.as_str()) {
                return Err(bad(format!("file {:?} is listed twice", o.file)));
            }
        }
        if crc32fast::hash(&m.record) != m.record_crc32 {
            return Err(bad("the tenant record fails its CRC-32".into()));
        }
        if crc32fast::hash(&m.usage) != m.usage_crc32 {
            return Err(bad("the usage history fails its CRC-32".into()));
        }
        Ok(m)
    }
}

/// `<generation, 20 digits>-<16 random hex digits>`: sorts by generation,
/// and two uploads of the same generation still get different folders.
fn generation_id(generation: u64) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let random = RandomState::new().hash_one((nanos, std::process::id()));
    format!("{generation:020}-{random:016x}")
}

/// Bytes as a lowercase hex string in JSON.
mod hex_bytes {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        s.serialize_str(&hex)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let hex = String::deserialize(d)?;
        if hex.len() % 2 != 0 {
            return Err(D::Error::custom("odd number of hex digits"));
        }
        (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .ok_or_else(|| D::Error::custom("invalid hex digit"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn sample(keys: &Keys) -> Manifest {
        let mut m = Manifest::new("acme", 7, b"\x00record\xff", b"usage");
        let key = keys
            .key(
                "acme",
                Target::Object {
                    generation: &m.generation_id,
                    file: "docs.redb",
                },
            )
            .unwrap();
        m.objects.push(ManifestObject {
            file: "docs.redb".into(),
            key: key.to_string(),
            size: 3,
            crc32: crc32fast::hash(b"abc"),
        });
        m
    }

    #[test]
    fn round_trips_and_generations_differ() {
        let keys = Keys::new("p");
        let m = sample(&keys);
        let back = Manifest::decode(&m.encode().unwrap(), "acme", &keys, "m").unwrap();
        assert_eq!(back, m);
        assert_eq!(back.record, b"\x00record\xff");
        assert!(m.generation_id.starts_with("00000000000000000007-"));
        assert_ne!(generation_id(7), generation_id(7));
    }

    #[test]
    fn tampered_manifests_are_corrupt() {
        let keys = Keys::new("p");
        let good = sample(&keys);
        let mut cases = Vec::new();
        let mut m = good.clone();
        m.objects[0].key = "p/tenants/other/x/docs.redb".into();
        cases.push(m.encode().unwrap());
        let mut m = good.clone();
        m.objects[0].file = "../docs.redb".into();
        cases.push(m.encode().unwrap());
        let mut m = good.clone();
        m.record[0] ^= 1;
        cases.push(m.encode().unwrap());
        let mut m = good.clone();
        m.usage[0] ^= 1;
        cases.push(m.encode().unwrap());
        let mut m = good.clone();
        m.generation += 1;
        cases.push(m.encode().unwrap());
        let mut m = good.clone();
        m.objects.push(m.objects[0].clone());
        cases.push(m.encode().unwrap());
        let bytes = good.encode().unwrap();
        cases.push(bytes[..bytes.len() / 2].to_vec());
        for bytes in cases {
            let e = Manifest::decode(&bytes, "acme", &keys, "p/tenants/acme/manifest.json")
                .unwrap_err();
            assert_eq!(e.kind(), &ErrorKind::Corrupt);
            assert!(e.message().contains("p/tenants/acme/manifest.json"), "{e}");
        }
        assert!(Manifest::decode(&good.encode().unwrap(), "other", &keys, "m").is_err());
    }
}
