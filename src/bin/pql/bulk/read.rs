//! The input files of `pql import`: JSON Lines, CSV and NumPy `.npy`, read
//! row by row (never the whole file) into [`Row`]s or per-line errors.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use pql::Value;

/// One node read from the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Line (JSONL, CSV: 1-based, the header is line 1) or row number + 1 (.npy).
    pub line: u64,
    /// The node id.
    pub id: String,
    /// Attributes.
    pub attrs: BTreeMap<String, Value>,
    /// The vector, if the row has one.
    pub vector: Option<Vec<f32>>,
}

/// A row that could not be read: where, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRow {
    /// As in [`Row::line`].
    pub line: u64,
    /// Why.
    pub message: String,
}

/// What one read step gave.
pub type Item = Result<Row, BadRow>;

/// A reader of rows, with how far into the file it is (for the progress bar).
pub trait Rows {
    /// The next row, `None` at the end; `Err` for a file that cannot be read on.
    fn next_row(&mut self) -> io::Result<Option<Item>>;
    /// Progress so far and the total: bytes (JSONL, CSV) or rows (.npy).
    fn progress(&self) -> (u64, u64);
}

/// Which format a file is in, from `--file-format` or the extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// JSON Lines.
    Jsonl,
    /// CSV with a header row.
    Csv,
    /// NumPy `.npy`, 2-D, f32 or f64.
    Npy,
}

impl FileFormat {
    /// `given` (`--file-format`), else the extension of `path`.
    pub fn of(path: &Path, given: Option<&str>) -> Result<FileFormat, String> {
        let ext = given.map(str::to_string).or_else(|| {
            path.extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase())
        });
        match ext.as_deref() {
            Some("jsonl" | "ndjson" | "json") => Ok(FileFormat::Jsonl),
            Some("csv") => Ok(FileFormat::Csv),
            Some("npy") => Ok(FileFormat::Npy),
            other => Err(format!(
                "cannot tell the file format of {} ({}); use --file-format jsonl, csv or npy",
                path.display(),
                other.unwrap_or("no extension")
            )),
        }
    }
}

/// A JSON value as a PQL value.
pub fn from_json(v: serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::Str(s),
        serde_json::Value::Array(a) => Value::Array(a.into_iter().map(from_json).collect()),
        serde_json::Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, v)| (k, from_json(v))).collect())
        }
    }
}

fn vector_of(v: &serde_json::Value) -> Result<Vec<f32>, String> {
    let items = v.as_array().ok_or("the vector is not an array")?;
    items
        .iter()
        .map(|x| {
            x.as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f as f32)
                .ok_or_else(|| format!("vector element {x} is not a finite number"))
        })
        .collect()
}

fn id_of(v: serde_json::Value) -> Result<String, String> {
    match v {
        serde_json::Value::String(s) if !s.is_empty() => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        _ => Err("id must be a non-empty string or a number".into()),
    }
}

/// Reads JSON Lines: one object per line with `id`, the vector field and
/// attributes.
pub struct Jsonl {
    input: BufReader<File>,
    vector_field: String,
    line: u64,
    read: u64,
    total: u64,
    buf: String,
}

impl Jsonl {
    /// Opens `path`.
    pub fn open(path: &Path, vector_field: &str) -> io::Result<Jsonl> {
        let file = File::open(path)?;
        let total = file.metadata()?.len();
        Ok(Jsonl {
            input: BufReader::with_capacity(1 << 20, file),
            vector_field: vector_field.to_string(),
            line: 0,
            read: 0,
            total,
            buf: String::new(),
        })
    }

    fn parse(&self, text: &str) -> Result<Row, String> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let serde_json::Value::Object(mut o) = v else {
            return Err("not a JSON object".into());
        };
        let id = id_of(o.remove("id").ok_or("no id")?)?;
        let vector = match o.remove(&self.vector_field) {
            Some(v) => Some(vector_of(&v)?),
            None => None,
        };
        let attrs = o.into_iter().map(|(k, v)| (k, from_json(v))).collect();
        Ok(Row {
            line: self.line,
            id,
            attrs,
            vector,
        })
    }
}

impl Rows for Jsonl {
    fn next_row(&mut self) -> io::Result<Option<Item>> {
        loop {
            self.buf.clear();
            let n = self.input.read_line(&mut self.buf)?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            self.read += n as u64;
            let text = self.buf.trim();
            if text.is_empty() {
                continue;
            }
            return Ok(Some(self.parse(text).map_err(|message| BadRow {
                line: self.line,
                message,
            })));
        }
    }

    fn progress(&self) -> (u64, u64) {
        (self.read, self.total)
    }
}

/// Reads CSV with a header: `id`, attribute columns, and the vector as a
/// JSON array column (the vector field's name) or as `v0..vN` columns.
pub struct Csv {
    records: csv::StringRecordsIntoIter<File>,
    header: Vec<String>,
    id_col: usize,
    vector_col: Option<usize>,
    /// Columns of `v0..vN`, in order.
    v_cols: Vec<usize>,
    line: u64,
    rows: u64,
    total: u64,
}

impl Csv {
    /// Opens `path` and reads its header.
    pub fn open(path: &Path, vector_field: &str) -> Result<Csv, String> {
        let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let total = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(file);
        let header: Vec<String> = r
            .headers()
            .map_err(|e| format!("cannot read the CSV header: {e}"))?
            .iter()
            .map(str::to_string)
            .collect();
        let id_col = header
            .iter()
            .position(|h| h == "id")
            .ok_or("the CSV header has no id column")?;
        let vector_col = header.iter().position(|h| h == vector_field);
        let mut v_cols: Vec<(usize, usize)> = header
            .iter()
            .enumerate()
            .filter_map(|(i, h)| Some((h.strip_prefix('v')?.parse::<usize>().ok()?, i)))
            .collect();
        v_cols.sort();
        if v_cols.iter().enumerate().any(|(k, (n, _))| k != *n) {
            return Err("the v0..vN columns must be numbered from v0 without gaps".into());
        }
        Ok(Csv {
            records: r.into_records(),
            header,
            id_col,
            vector_col,
            v_cols: v_cols.into_iter().map(|(_, i)| i).collect(),
            line: 1,
            rows: 0,
            total,
        })
    }

    fn parse(&self, rec: &csv::StringRecord) -> Result<Row, String> {
        if rec.len() != self.header.len() {
            return Err(format!(
                "{} fields, the header has {}",
                rec.len(),
                self.header.len()
            ));
        }
        let id = rec.get(self.id_col).unwrap_or("").to_string();
        if id.is_empty() {
            return Err("empty id".into());
        }
        let vector = if let Some(c) = self.vector_col {
            let text = rec.get(c).unwrap_or("");
            if text.is_empty() {
                None
            } else {
                let v: serde_json::Value =
                    serde_json::from_str(text).map_err(|e| format!("vector: {e}"))?;
                Some(vector_of(&v)?)
            }
        } else if !self.v_cols.is_empty() {
            let v: Result<Vec<f32>, String> = self
                .v_cols
                .iter()
                .map(|&c| {
                    let t = rec.get(c).unwrap_or("");
                    t.trim()
                        .parse::<f32>()
                        .ok()
                        .filter(|f| f.is_finite())
                        .ok_or_else(|| format!("{} is not a number: {t:?}", self.header[c]))
                })
                .collect();
            Some(v?)
        } else {
            None
        };
        let mut attrs = BTreeMap::new();
        for (i, name) in self.header.iter().enumerate() {
            if i == self.id_col || Some(i) == self.vector_col || self.v_cols.contains(&i) {
                continue;
            }
            let text = rec.get(i).unwrap_or("");
            if !text.is_empty() {
                attrs.insert(name.clone(), cell(text));
            }
        }
        Ok(Row {
            line: self.line,
            id,
            attrs,
            vector,
        })
    }
}

/// A CSV cell: an integer, a float, `true`/`false`, else text.
fn cell(text: &str) -> Value {
    if let Ok(i) = text.parse::<i64>() {
        Value::Int(i)
    } else if let Some(f) = text.parse::<f64>().ok().filter(|f| f.is_finite()) {
        Value::Float(f)
    } else if let Ok(b) = text.parse::<bool>() {
        Value::Bool(b)
    } else {
        Value::Str(text.to_string())
    }
}

impl Rows for Csv {
    fn next_row(&mut self) -> io::Result<Option<Item>> {
        let Some(rec) = self.records.next() else {
            return Ok(None);
        };
        self.rows += 1;
        match rec {
            Ok(rec) => {
                self.line = rec.position().map_or(self.line + 1, |p| p.line());
                Ok(Some(self.parse(&rec).map_err(|message| BadRow {
                    line: self.line,
                    message,
                })))
            }
            Err(e) => match e.kind() {
                csv::ErrorKind::Io(_) => Err(io::Error::other(e.to_string())),
                _ => {
                    self.line = e.position().map_or(self.line + 1, |p| p.line());
                    Ok(Some(Err(BadRow {
                        line: self.line,
                        message: e.to_string(),
                    })))
                }
            },
        }
    }

    fn progress(&self) -> (u64, u64) {
        let at = self.records.reader().position().byte().min(self.total);
        (at, self.total)
    }
}

/// Reads a 2-D little-endian f32 or f64 `.npy`; ids from a sidecar file
/// (one per line) or the row numbers.
pub struct Npy {
    input: BufReader<File>,
    ids: Option<io::Lines<BufReader<File>>>,
    rows: u64,
    dim: usize,
    f64: bool,
    row: u64,
    buf: Vec<u8>,
}

/// The largest header a `.npy` file may have.
const MAX_NPY_HEADER: usize = 1 << 16;

impl Npy {
    /// Opens `path` (and `ids`, if given) and reads the header.
    pub fn open(path: &Path, ids: Option<&Path>) -> Result<Npy, String> {
        let bad = |why: &str| format!("{}: {why}", path.display());
        let file = File::open(path).map_err(|e| bad(&e.to_string()))?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut input = BufReader::with_capacity(1 << 20, file);
        let mut magic = [0u8; 8];
        input
            .read_exact(&mut magic)
            .map_err(|_| bad("not a .npy file"))?;
        if &magic[..6] != b"\x93NUMPY" {
            return Err(bad("not a .npy file"));
        }
        let header_len = if magic[6] == 1 {
            let mut b = [0u8; 2];
            input
                .read_exact(&mut b)
                .map_err(|_| bad("truncated header"))?;
            usize::from(u16::from_le_bytes(b))
        } else {
            let mut b = [0u8; 4];
            input
                .read_exact(&mut b)
                .map_err(|_| bad("truncated header"))?;
            usize::try_from(u32::from_le_bytes(b)).unwrap_or(usize::MAX)
        };
        if header_len > MAX_NPY_HEADER {
            return Err(bad("header too large"));
        }
        let mut header = vec![0u8; header_len];
        input
            .read_exact(&mut header)
            .map_err(|_| bad("truncated header"))?;
        let header = String::from_utf8_lossy(&header).into_owned();
        let f64 = if header.contains("'<f8'") {
            true
        } else if header.contains("'<f4'") {
            false
        } else {
            return Err(bad(
                "only little-endian float32 (<f4) or float64 (<f8) data is read",
            ));
        };
        if header.contains("'fortran_order': True") {
            return Err(bad("Fortran-order arrays are not read; save with C order"));
        }
        let shape = header
            .split("'shape':")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .map(|s| s.trim().trim_start_matches('(').to_string())
            .ok_or_else(|| bad("no shape in the header"))?;
        let dims: Vec<u64> = shape
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<u64>().map_err(|_| bad("bad shape")))
            .collect::<Result<_, _>>()?;
        let [rows, dim] = dims[..] else {
            return Err(bad("the array must be 2-D (rows, dimension)"));
        };
        let width = if f64 { 8 } else { 4 };
        let data = rows
            .checked_mul(dim)
            .and_then(|n| n.checked_mul(width))
            .ok_or_else(|| bad("absurd shape"))?;
        let start = 10 + header_len as u64 + if magic[6] == 1 { 0 } else { 2 };
        if start + data > len || dim == 0 || dim > 1 << 16 {
            return Err(bad(
                "the shape does not fit the file (or the dimension is 0 or over 65536)",
            ));
        }
        let ids = match ids {
            Some(p) => Some(
                BufReader::new(File::open(p).map_err(|e| format!("{}: {e}", p.display()))?).lines(),
            ),
            None => None,
        };
        Ok(Npy {
            input,
            ids,
            rows,
            dim: usize::try_from(dim).unwrap_or(0),
            f64,
            row: 0,
            buf: vec![0u8; usize::try_from(dim * width).unwrap_or(0)],
        })
    }
}

impl Rows for Npy {
    fn next_row(&mut self) -> io::Result<Option<Item>> {
        if self.row >= self.rows {
            return Ok(None);
        }
        self.input.read_exact(&mut self.buf)?;
        self.row += 1;
        let line = self.row;
        let id = match &mut self.ids {
            None => (self.row - 1).to_string(),
            Some(lines) => match lines.next().transpose()? {
                Some(id) if !id.trim().is_empty() => id.trim().to_string(),
                _ => {
                    return Ok(Some(Err(BadRow {
                        line,
                        message: "no id on this line of the ids file".into(),
                    })))
                }
            },
        };
        let vector: Vec<f32> = if self.f64 {
            self.buf
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32)
                .collect()
        } else {
            self.buf
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap_or([0; 4])))
                .collect()
        };
        if vector.iter().any(|x| !x.is_finite()) || vector.len() != self.dim {
            return Ok(Some(Err(BadRow {
                line,
                message: "the vector holds a NaN or an infinity".into(),
            })));
        }
        Ok(Some(Ok(Row {
            line,
            id,
            attrs: BTreeMap::new(),
            vector: Some(vector),
        })))
    }

    fn progress(&self) -> (u64, u64) {
        (self.row, self.rows)
    }
}
