//! Helpers shared by the integration tests. Each test binary uses a subset.
#![allow(dead_code)]

use std::path::Path;

pub mod proxy;
pub mod s3;

/// `QUERY items TENANT acme CREATE NODES [...]` of nodes `n<i>` for `ids`,
/// each with a `kind` (`k0`..`k2`) and a 3-d embedding from `i`.
pub fn acme_items(ids: std::ops::Range<usize>) -> String {
    let total = ids.end.max(1) as f32;
    let nodes: Vec<String> = ids
        .map(|i| {
            format!(
                "{{ id: \"n{i}\", kind: \"k{}\", embedding: [{}, {}, {}] }}",
                i % 3,
                (i as f32 * 0.37).sin(),
                (i as f32 * 0.11).cos(),
                i as f32 / total
            )
        })
        .collect();
    format!(
        "QUERY items TENANT acme CREATE NODES [{}];",
        nodes.join(", ")
    )
}

/// A temporary data folder on tmpfs when there is one: the property tests
/// commit thousands of small transactions, and fsync on a shared disk would
/// dominate their run time. (The durability test does not use this: it wants
/// a real disk.)
pub fn fast_tempdir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::Builder::new().prefix("pql-test").tempdir_in(shm) {
            return d;
        }
    }
    tempfile::tempdir().unwrap()
}

/// A seeded generator (splitmix64): the same data on every run, and a
/// parent process can replay what a child generated.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly normal (a sum of six uniforms, centred): enough for
    /// clustered test data.
    pub fn gauss(&mut self) -> f32 {
        ((0..6).map(|_| self.unit()).sum::<f64>() - 3.0) as f32
    }
}

/// Scales `v` to unit length (a zero vector stays zero).
/// `n` unit vectors of `dim` numbers scattered around `centres` random
/// centres (spread `scale`); `pick(i, rng)` chooses the centre of point `i`.
pub fn clustered(
    rng: &mut Rng,
    n: usize,
    dim: usize,
    centres: usize,
    scale: f32,
    mut pick: impl FnMut(usize, &mut Rng) -> usize,
) -> Vec<Vec<f32>> {
    let centres: Vec<Vec<f32>> = (0..centres)
        .map(|_| (0..dim).map(|_| rng.gauss() * scale).collect())
        .collect();
    (0..n)
        .map(|i| {
            let c = &centres[pick(i, rng) % centres.len()];
            let mut v: Vec<f32> = c.iter().map(|x| x + rng.gauss()).collect();
            normalise(&mut v);
            v
        })
        .collect()
}

pub fn normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

/// Every file under `root` (none if it does not exist).
pub fn files(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(root) {
        for e in entries.flatten() {
            if e.path().is_dir() {
                out.extend(files(&e.path()));
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

/// `v` as a PQL vector literal.
pub fn vector_literal(v: &[f32]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x}")).collect();
    format!("[{}]", parts.join(", "))
}

/// The `_id` column of a result.
pub fn ids(result: &pql::QueryResult) -> Vec<String> {
    result
        .column_values("_id")
        .into_iter()
        .filter_map(|v| v.as_str().map(String::from))
        .collect()
}

/// Exact top-10 by cosine distance over the rows `allowed` admits, as the
/// ids `n<row>` (ties broken by row), for unit vectors.
pub fn brute_force(data: &[Vec<f32>], q: &[f32], allowed: impl Fn(usize) -> bool) -> Vec<String> {
    let mut d: Vec<(f32, usize)> = data
        .iter()
        .enumerate()
        .filter(|(i, _)| allowed(*i))
        .map(|(i, v)| (1.0 - v.iter().zip(q).map(|(a, b)| a * b).sum::<f32>(), i))
        .collect();
    d.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    d.into_iter()
        .take(10)
        .map(|(_, i)| format!("n{i}"))
        .collect()
}

/// `property` of `DESCRIBE TENANT tenant`.
pub fn describe(engine: &pql::Engine, tenant: &str, property: &str) -> pql::Value {
    engine
        .execute(&format!("DESCRIBE TENANT {tenant};"))
        .unwrap()
        .remove(0)
        .rows
        .into_iter()
        .find(|r| r[0] == pql::Value::Str(property.into()))
        .map(|mut r| r.remove(1))
        .unwrap_or_else(|| panic!("DESCRIBE TENANT {tenant} has no {property}"))
}
