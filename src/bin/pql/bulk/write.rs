//! The output files of `pql export`: JSON Lines, CSV (attribute columns
//! found in a first pass, the vector as a JSON array column) and NumPy
//! `.npy` (f32, rows × dimension; ids in `FILE.ids`, one per line).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use pql::{Engine, ScannedNode, Value};

use super::FileFormat;

/// Nodes read from the engine at a time.
const CHUNK: usize = 4096;

fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Value::from(*f),
        Value::Str(s) => serde_json::Value::String(s.clone()),
        Value::Array(a) => serde_json::Value::Array(a.iter().map(to_json).collect()),
        Value::Object(o) => {
            serde_json::Value::Object(o.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

fn vector_json(v: &[f32]) -> serde_json::Value {
    serde_json::Value::Array(v.iter().map(|x| serde_json::Value::from(*x)).collect())
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Str(s) => s.clone(),
        other => to_json(other).to_string(),
    }
}

/// Where the ids of a `.npy` export go.
pub fn ids_path(npy: &Path) -> PathBuf {
    let mut p = npy.as_os_str().to_owned();
    p.push(".ids");
    PathBuf::from(p)
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("cannot write {}: {e}", path.display())
}

/// Writes the collection to `to`; returns the rows written.
pub fn export(
    engine: &Engine,
    tenant: &str,
    collection: &str,
    to: &Path,
    format: FileFormat,
    vector_field: &str,
) -> Result<u64, String> {
    let scan = |each: &mut dyn FnMut(&[ScannedNode]) -> Result<(), String>| {
        let mut failed = None;
        engine
            .scan_nodes(tenant, collection, CHUNK, |nodes| {
                each(nodes).map_err(|e| {
                    failed = Some(e);
                    pql::Error::from(std::io::Error::other("stopped"))
                })
            })
            .map_err(|e| failed.take().unwrap_or_else(|| e.message().to_string()))
    };
    let file = File::create(to).map_err(io(to))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let n = match format {
        FileFormat::Jsonl => scan(&mut |nodes| {
            for n in nodes {
                let mut o = serde_json::Map::new();
                o.insert("id".into(), serde_json::Value::String(n.id.clone()));
                for (k, v) in &n.attributes {
                    o.insert(k.clone(), to_json(v));
                }
                if let Some(v) = &n.vector {
                    o.insert(vector_field.to_string(), vector_json(v));
                }
                writeln!(out, "{}", serde_json::Value::Object(o)).map_err(io(to))?;
            }
            Ok(())
        })?,
        FileFormat::Csv => {
            let mut columns = BTreeSet::new();
            scan(&mut |nodes| {
                columns.extend(nodes.iter().flat_map(|n| n.attributes.keys().cloned()));
                Ok(())
            })?;
            columns.remove(vector_field);
            columns.remove("id");
            let mut w = csv::Writer::from_writer(&mut out);
            let mut header = vec!["id".to_string()];
            header.extend(columns.iter().cloned());
            header.push(vector_field.to_string());
            w.write_record(&header).map_err(|e| e.to_string())?;
            let n = scan(&mut |nodes| {
                for n in nodes {
                    let mut rec = vec![n.id.clone()];
                    rec.extend(
                        columns
                            .iter()
                            .map(|c| n.attributes.get(c).map(cell).unwrap_or_default()),
                    );
                    rec.push(
                        n.vector
                            .as_deref()
                            .map(|v| vector_json(v).to_string())
                            .unwrap_or_default(),
                    );
                    w.write_record(&rec).map_err(|e| e.to_string())?;
                }
                Ok(())
            })?;
            w.flush().map_err(io(to))?;
            n
        }
        FileFormat::Npy => {
            let (mut rows, mut dim) = (0u64, None);
            scan(&mut |nodes| {
                for v in nodes.iter().filter_map(|n| n.vector.as_ref()) {
                    rows += 1;
                    if *dim.get_or_insert(v.len()) != v.len() {
                        return Err("vectors of different dimensions cannot form one .npy".into());
                    }
                }
                Ok(())
            })?;
            let dim = dim.unwrap_or(0);
            let mut header =
                format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {dim}), }}");
            // Magic (6) + version (2) + length (2) + header + '\n', to a multiple of 64.
            while (10 + header.len() + 1) % 64 != 0 {
                header.push(' ');
            }
            header.push('\n');
            out.write_all(b"\x93NUMPY\x01\x00").map_err(io(to))?;
            out.write_all(&(header.len() as u16).to_le_bytes())
                .map_err(io(to))?;
            out.write_all(header.as_bytes()).map_err(io(to))?;
            let ids_to = ids_path(to);
            let mut ids = BufWriter::new(File::create(&ids_to).map_err(io(&ids_to))?);
            let mut written = 0u64;
            scan(&mut |nodes| {
                for n in nodes {
                    let Some(v) = &n.vector else { continue };
                    if written == rows {
                        return Err("the collection grew during the export".into());
                    }
                    for x in v {
                        out.write_all(&x.to_le_bytes()).map_err(io(to))?;
                    }
                    writeln!(ids, "{}", n.id).map_err(io(&ids_to))?;
                    written += 1;
                }
                Ok(())
            })?;
            if written != rows {
                return Err("the collection shrank during the export".into());
            }
            ids.flush().map_err(io(&ids_to))?;
            written
        }
    };
    out.flush().map_err(io(to))?;
    Ok(n)
}
