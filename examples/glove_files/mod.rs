//! Files of the GloVe benchmarks, shared by `ann_bench` and `pql_bench`:
//! raw `u32 rows, u32 dim, f32...` vector files, and the load average to
//! print next to every measurement.
#![allow(dead_code)]

use std::fs;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// `/proc/loadavg` as one line (empty elsewhere).
pub fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Reads a `u32 rows, u32 dim, f32...` file: the values and the dimension.
pub fn read_f32(path: &str) -> Res<(Vec<f32>, usize)> {
    let b = fs::read(path)?;
    if b.len() < 8 {
        return Err(format!("{path}: too short").into());
    }
    let rows = u32::from_le_bytes(b[0..4].try_into()?) as usize;
    let dim = u32::from_le_bytes(b[4..8].try_into()?) as usize;
    if b.len() != 8 + rows * dim * 4 {
        return Err(format!("{path}: size does not match {rows} x {dim}").into());
    }
    let v = b[8..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok((v, dim))
}

/// Writes `v` (rows of `dim` values) in the format `read_f32` reads.
pub fn write_f32(path: &str, v: &[f32], dim: usize) -> Res<()> {
    let mut b = Vec::with_capacity(8 + v.len() * 4);
    b.extend_from_slice(&((v.len() / dim) as u32).to_le_bytes());
    b.extend_from_slice(&(dim as u32).to_le_bytes());
    v.iter().for_each(|x| b.extend_from_slice(&x.to_le_bytes()));
    fs::write(path, b)?;
    Ok(())
}
