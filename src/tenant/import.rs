//! IMPORT TENANT: reads a `.pqlt` file (`storage::tenant_file`) into a
//! tenant, and the recovery that makes it crash-safe.
//!
//! Order: read the whole file once and check everything (format version,
//! every CRC, section and file names, the record's name and options, key
//! hashes that would clash) without writing; stage the files into
//! `tenants/.import-<t>-<id>` (checking every CRC again as it copies) and
//! open each collection file to count its nodes against `max_vectors`;
//! then commit the tenant record, its keys and its usage rows in one
//! catalog transaction (`<id>` is the new incarnation the record holds);
//! then swap the staging folder into place. The catalog commit is the
//! commit point: `recover` (run when the catalog opens) finishes the swap
//! of a staging folder whose id the catalog holds and removes any other,
//! so a crash at any moment leaves no tenant or the complete one. With
//! `REPLACE` the old tenant stays as it was until that commit.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use crate::cancel::CancelToken;
use crate::collection::Collection;
use crate::error::{Error, ErrorKind, Result};
use crate::parser::ast::Opt;
use crate::storage::atomic::sync_parent;
use crate::storage::keys::KeyRecord;
use crate::storage::tenant_file::{Kind, Reader};
use crate::storage::{keys as key_store, temporaries, usage_store, Layout};
use crate::tenant::export::{ExportedKey, ExportedRecord, ExportedUsage};
use crate::tenant::quota::{self, Limits};
use crate::tenant::record::{apply, validate_options, TenantRecord};
use crate::tenant::status::Storage;
use crate::tenant::{lifecycle, names, tiers, Catalog, Tenant};
use crate::value::Value;

/// What `IMPORT TENANT` was asked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ImportRequest<'a> {
    /// The file (resolved and confined already).
    pub(crate) path: &'a Path,
    /// `AS name`; `None`: the name in the file.
    pub(crate) as_name: Option<&'a str>,
    /// `REPLACE`: an existing tenant of the name is replaced.
    pub(crate) replace: bool,
    /// `WITH (status: .., tier: .., ...)`: overrides of the file's record.
    pub(crate) options: &'a [Opt],
    /// The session's cancel request: honoured after the check pass and
    /// after staging, before the commit; the staging folder is removed.
    pub(crate) cancel: &'a CancelToken,
}

/// Everything the file holds but the files' data.
struct Contents {
    record: ExportedRecord,
    files: Vec<String>,
    keys: Vec<ExportedKey>,
    usage: ExportedUsage,
}

/// Prefix of an import's staging folder in `tenants/`.
const STAGING: &str = ".import-";

fn staging(layout: &Layout, name: &str, id: u64) -> PathBuf {
    layout.tenants_dir().join(format!("{STAGING}{name}-{id}"))
}

/// Checks a file name from the file: `<collection>.<suffix>`, a plain name
/// that cannot leave the tenant folder.
fn check_file_name(path: &Path, name: &str) -> Result<()> {
    let bad = |why: &str| Error::corrupt(path.display(), format!("file entry {name:?}: {why}"));
    let (stem, suffix) = name.split_once('.').ok_or_else(|| bad("no suffix"))?;
    names::validate("collection", stem).map_err(|_| bad("not a collection's file"))?;
    let plain = suffix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    let dotted = suffix.starts_with('.') || suffix.ends_with('.') || suffix.contains("..");
    if suffix.is_empty() || !plain || dotted || temporaries::is_temporary(name) {
        return Err(bad("not a plain file name"));
    }
    Ok(())
}

fn json<T: serde::de::DeserializeOwned>(path: &Path, what: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::corrupt(path.display(), format!("damaged {what}: {e}")))
}

fn parse_hash(path: &Path, hex: &str) -> Result<[u8; 32]> {
    let bad = || Error::corrupt(path.display(), "damaged API key hash");
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// Reads the whole file and checks it; with `stage`, writes each file
/// section into that folder as well.
fn read(path: &Path, stage: Option<&Path>) -> Result<Contents> {
    let mut r = Reader::open(path)?;
    let mut record = None;
    let mut files = Vec::new();
    let mut seen = BTreeSet::new();
    let mut keys = Vec::new();
    let mut usage = Vec::new();
    let corrupt = |why: String| Error::corrupt(path.display(), why);
    while let Some(s) = r.next_section()? {
        match s.kind {
            Kind::Record if record.is_none() => {
                record = Some(json::<ExportedRecord>(
                    path,
                    "tenant record",
                    &r.small(&s)?,
                )?)
            }
            Kind::Keys => keys = json(path, "API keys", &r.small(&s)?)?,
            Kind::Usage => usage = json(path, "usage rows", &r.small(&s)?)?,
            Kind::File if record.is_some() => {
                check_file_name(path, &s.name)?;
                if !seen.insert(s.name.to_ascii_lowercase()) {
                    return Err(corrupt(format!("file entry {:?} twice", s.name)));
                }
                match stage {
                    Some(dir) => {
                        let dest = dir.join(&s.name);
                        let file = File::create(&dest).map_err(|e| {
                            Error::io(format!("cannot create {}", dest.display()), e)
                        })?;
                        let mut out = BufWriter::with_capacity(1 << 20, file);
                        r.body(&s, &mut out)?;
                        let file = out.into_inner().map_err(|e| {
                            Error::io(format!("cannot write {}", dest.display()), e.error())
                        })?;
                        file.sync_all()
                            .map_err(|e| Error::io(format!("cannot sync {}", dest.display()), e))?;
                    }
                    None => r.body(&s, &mut io::sink())?,
                }
                files.push(s.name);
            }
            _ => return Err(corrupt(format!("unexpected section {:?}", s.name))),
        }
    }
    let record = record.ok_or_else(|| corrupt("no tenant record".into()))?;
    Ok(Contents {
        record,
        files,
        keys,
        usage,
    })
}

/// The record the import commits: the file's, renamed, with the overrides,
/// a new incarnation, and the data `inactive` (local, not loaded).
fn new_record(
    catalog: &Catalog,
    path: &Path,
    c: &Contents,
    req: &ImportRequest<'_>,
) -> Result<TenantRecord> {
    // The file's own name must be valid even when AS replaces it: a file
    // that breaks the rules is not trusted further.
    names::validate("tenant", &c.record.name)
        .map_err(|e| Error::corrupt(path.display(), e.message()))?;
    let name = req.as_name.unwrap_or(&c.record.name);
    names::validate("tenant", name)?;
    let given: Vec<Opt> = c
        .record
        .options
        .iter()
        .map(|(k, v)| Opt {
            key: k.clone(),
            value: v.clone(),
            span: Default::default(),
        })
        .collect();
    let mut options = validate_options(&given)
        .map_err(|e| Error::corrupt(path.display(), format!("its options: {}", e.message())))?;
    options.retain(|_, v| *v != Value::Null);
    let mut status = None;
    let mut others = Vec::new();
    for o in req.options {
        match (o.key.as_str(), &o.value) {
            ("status", Value::Str(s)) => status = Some(s.clone()),
            ("status", v) => {
                return Err(Error::type_error(format!(
                    "status must be a string, got {v}"
                )))
            }
            _ => others.push(o.clone()),
        }
    }
    apply(&mut options, validate_options(&others)?);
    let now = crate::clock::now_ms();
    let mut record = TenantRecord::new(name, catalog.new_incarnation(), options, now);
    record.storage = Storage::Inactive;
    record.access = c.record.access;
    record.reason = c.record.reason.clone();
    record.created_at_ms = c.record.created_at_ms;
    record.pending_since_ms = c.record.pending_since_ms;
    if let Some(s) = status {
        let target = lifecycle::altered(name, Storage::Inactive, &s)?;
        lifecycle::enter(&mut record, target, now);
        // A storage status other than inactive is not where imported data is.
        if record.storage != Storage::Inactive {
            return Err(Error::invalid_option(format!(
                "an imported tenant's data is local and not loaded: status may be \
                 'inactive', 'read_only', 'suspended' or 'pending_deletion', not {s:?}"
            )));
        }
    }
    Ok(record)
}

/// Nodes in the staged collections, checked against the effective
/// `max_vectors` (of `options`: the record's over its tier's); also proves
/// every collection file opens.
fn check_quota(
    stage: &Path,
    files: &[String],
    record: &TenantRecord,
    options: &BTreeMap<String, Value>,
) -> Result<()> {
    let mut nodes = 0u64;
    for f in files {
        if let Some(name) = f.strip_suffix(".redb") {
            let (_, n) = Collection::stored_count(stage, name)?;
            nodes = nodes.saturating_add(n);
        }
    }
    if let Some(limit) = Limits::from_options(options).max_vectors {
        if nodes > limit {
            return Err(quota::exceeded(
                "vectors",
                nodes,
                limit,
                format!(
                    "Import of tenant {} refused: it holds {nodes} nodes, its max_vectors is \
                     {limit}",
                    record.name
                ),
            ));
        }
    }
    Ok(())
}

/// Cleans up after a crash in the middle of an import or an export of an
/// archived or offloaded tenant (see the module docs).
pub(super) fn recover(layout: &Layout, records: &[TenantRecord]) -> Result<()> {
    let Ok(entries) = fs::read_dir(layout.tenants_dir()) else {
        return Ok(());
    };
    let fail = |p: &Path, e| Error::io(format!("recovering {}", p.display()), e);
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.starts_with(".export-") {
            fs::remove_dir_all(&path).map_err(|e| fail(&path, e))?;
            continue;
        }
        let Some(rest) = name.strip_prefix(STAGING) else {
            continue;
        };
        let committed = rest.rsplit_once('-').and_then(|(tenant, id)| {
            let id: u64 = id.parse().ok()?;
            records
                .iter()
                .find(|r| r.name == tenant && r.id == id)
                .map(|r| r.name.clone())
        });
        match committed {
            Some(tenant) => swap_in(&path, &layout.tenant_dir(&tenant))?,
            None => fs::remove_dir_all(&path).map_err(|e| fail(&path, e))?,
        }
    }
    Ok(())
}

/// Replaces `live` by the staged folder.
fn swap_in(staged: &Path, live: &Path) -> Result<()> {
    let fail = |e| Error::io(format!("cannot move {} into place", staged.display()), e);
    if live.exists() {
        fs::remove_dir_all(live).map_err(fail)?;
    }
    fs::rename(staged, live).map_err(fail)?;
    sync_parent(live).map_err(fail)
}

impl Catalog {
    /// `IMPORT TENANT`: see the module docs. Returns the new record.
    pub(crate) fn import(&self, req: &ImportRequest<'_>) -> Result<TenantRecord> {
        let path = req.path;
        let contents = read(path, None)?;
        req.cancel.check()?;
        let record = new_record(self, path, &contents, req)?;
        let name = record.name.clone();
        self.may_import(&name, req.replace)?;
        tiers::check_known(&self.tiers(), &record.options).map_err(|e| {
            Error::new(
                e.kind().clone(),
                format!(
                    "{}; the tenant's tier must exist here: create it, or import \
                     WITH (tier: '...') naming another",
                    e.message()
                ),
            )
        })?;
        let effective = self.effective_options(&record.options);
        let db = self.db();
        let mut keys = Vec::with_capacity(contents.keys.len());
        for k in &contents.keys {
            let hash = parse_hash(path, &k.hash)?;
            if let Some(owner) = key_store::owner_of(&db, &hash)? {
                if owner != name {
                    return Err(Error::invalid_option(format!(
                        "an API key in the file is already bound to tenant {owner}; import \
                         without keys (export WITH (keys: false)) or into that tenant"
                    )));
                }
            }
            keys.push((
                hash,
                KeyRecord {
                    id: k.id.clone(),
                    tenant: name.clone(),
                    created_at_ms: k.created_at_ms,
                    tenant_created_ms: record.created_at_ms,
                },
            ));
        }
        let usage: Vec<(u32, i64, usage_store::Row)> = contents
            .usage
            .iter()
            .map(|(res, start, counts)| {
                let mut row = [0u64; usage_store::N + 1];
                for (slot, n) in row.iter_mut().zip(counts) {
                    *slot = *n;
                }
                (*res, *start, row)
            })
            .collect();
        let stage = staging(&self.layout, &name, record.id);
        let staged = fs::create_dir_all(&stage)
            .map_err(|e| Error::io(format!("cannot create {}", stage.display()), e))
            .and_then(|()| read(path, Some(&stage)))
            .and_then(|again| {
                if again.files != contents.files {
                    return Err(Error::corrupt(
                        path.display(),
                        "the file changed while read",
                    ));
                }
                check_quota(&stage, &again.files, &record, &effective)?;
                File::open(&stage)
                    .and_then(|d| d.sync_all())
                    .map_err(|e| Error::io(format!("cannot sync {}", stage.display()), e))?;
                req.cancel.check()
            })
            .and_then(|()| self.commit_import(&record, &stage, req.replace, &keys, &usage));
        if staged.is_err() && stage.exists() {
            let _ = fs::remove_dir_all(&stage);
        }
        staged.map(|()| record)
    }

    /// Refuses an existing name (or one differing only in case) unless
    /// `replace` is set and the name is the same.
    fn may_import(&self, name: &str, replace: bool) -> Result<()> {
        let tenants = self.tenants.read();
        match tenants.keys().find(|k| k.eq_ignore_ascii_case(name)) {
            Some(existing) if existing == name && replace => Ok(()),
            Some(existing) if existing == name => Err(Error::new(
                ErrorKind::TenantExists,
                format!(
                    "Tenant already exists: {name} (IMPORT TENANT ... AS {name} REPLACE replaces \
                     it, or import AS another name)"
                ),
            )),
            Some(existing) => Err(Error::new(
                ErrorKind::TenantExists,
                format!(
                    "Tenant already exists: {name} as {existing}; tenant names differing only in \
                     case are not allowed"
                ),
            )),
            None => Ok(()),
        }
    }

    /// The commit: the record, keys and usage in one catalog transaction,
    /// then the staged folder swapped in and the tenant put in the map.
    fn commit_import(
        &self,
        record: &TenantRecord,
        stage: &Path,
        replace: bool,
        keys: &[([u8; 32], KeyRecord)],
        usage: &[(u32, i64, usage_store::Row)],
    ) -> Result<()> {
        let name = record.name.as_str();
        let old = self.tenants.read().get(name).cloned();
        if let Some(old) = &old {
            // Flush the old tenant's collections before it goes.
            old.unload()?;
        }
        let tiers = self.tiers.read();
        // Checked again under the lock: a tier may have been dropped since.
        tiers::check_known(&tiers, &record.options)?;
        let mut tenants = self.tenants.write();
        // Checked again under the lock: a tenant may have been created since.
        let current = tenants.get(name).cloned();
        if current.is_some() && !replace
            || current.as_ref().map(|t| t.record().id) != old.as_ref().map(|t| t.record().id)
        {
            return Err(Error::new(
                ErrorKind::TenantExists,
                format!("Tenant {name} changed while it was imported; run the import again"),
            ));
        }
        // In cluster mode the registry and the key directory first: a new
        // name must be free in the whole cluster.
        let registry = self.registry();
        if let Some(registry) = registry {
            if current.is_some() {
                registry.publish(record)?;
            } else if !registry.claim(record)? {
                return Err(Error::new(
                    ErrorKind::TenantExists,
                    format!(
                        "Tenant already exists: {name} (on another node of the cluster; \
                         IMPORT TENANT ... AS {name} REPLACE through any node replaces it)"
                    ),
                ));
            }
        }
        let usage_key = record.usage_key();
        let committed = self.share_imported_keys(name, keys).and_then(|()| {
            self.store.put_with_also(record, |tx| {
                key_store::replace_in(tx, name, keys)?;
                usage_store::put_rows(tx, &usage_key, usage)
            })
        });
        if let (Err(_), Some(registry), None) = (&committed, registry, &current) {
            // Not imported: the name is free again.
            let _ = registry.withdraw(name);
        }
        committed?;
        if let Some(old) = &current {
            old.collections.lock().clear();
            old.slot.unloaded(name);
        }
        let live = self.layout.tenant_dir(name);
        swap_in(stage, &live)?;
        tenants.insert(
            name.to_string(),
            Tenant::new(record.clone(), &tiers, &self.layout, &self.pool),
        );
        drop(tenants);
        drop(tiers);
        if let Some(old) = current {
            let packed = self.layout.archive(name);
            if packed.exists() {
                fs::remove_file(&packed)
                    .map_err(|e| Error::io(format!("cannot remove {}", packed.display()), e))?;
            }
            if old.record().storage == Storage::Offloaded {
                self.delete_objects(name)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plain_collection_files() {
        let p = Path::new("x.pqlt");
        for ok in [
            "docs.redb",
            "docs.hnsw.data",
            "docs.ann.state",
            "a-b_c.graph",
        ] {
            assert!(check_file_name(p, ok).is_ok(), "{ok}");
        }
        for bad in [
            "../x.redb",
            "docs",
            ".redb",
            "docs/../../x",
            "/etc/passwd",
            "docs.redb.tmp",
            "docs.tmp-1-2.hnsw",
            "docs..redb",
            "do cs.redb",
            "docs.re/db",
        ] {
            assert!(check_file_name(p, bad).is_err(), "{bad}");
        }
    }
}
