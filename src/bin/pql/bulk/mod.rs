//! `pql import` and `pql export`: bulk node data in and out of one
//! collection (README, "Bulk data"). Import reads the file row by row into
//! batches and runs each batch as a `CREATE NODES` statement built as a
//! syntax tree (the engine's batch path, with its quotas, without the
//! text); a refused batch is tried row by row so bad rows are reported with
//! their line numbers. Export streams the collection out in chunks.

mod progress;
mod read;
mod write;

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args as ClapArgs;
use pql::ast::{FieldValue, Located, Name, NodeLiteral, Query, QueryOp, Script, Statement};
use pql::{Engine, ErrorKind, Session, Value};

use progress::Progress;
pub use read::FileFormat;
use read::{BadRow, Row, Rows};

/// `pql import --tenant t --collection c FILE`
#[derive(Debug, ClapArgs)]
pub struct ImportArgs {
    /// The tenant (it must exist)
    #[arg(long)]
    tenant: String,
    /// The collection (created by the first batch if missing)
    #[arg(long)]
    collection: String,
    /// JSON Lines (.jsonl), CSV (.csv) or NumPy (.npy)
    file: PathBuf,
    /// jsonl, csv or npy [default: from the file's extension]
    #[arg(long, value_name = "FORMAT")]
    file_format: Option<String>,
    /// With .npy: a file of ids, one per line [default: the row numbers]
    #[arg(long, value_name = "FILE")]
    ids: Option<PathBuf>,
    /// The vector's field (JSONL key, CSV column)
    #[arg(long, default_value = "embedding")]
    vector_field: String,
    /// Rows per CREATE NODES batch (1 to 100000)
    #[arg(long, default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    batch_size: u32,
    /// Bad rows to report and skip before stopping
    #[arg(long, default_value_t = 0)]
    max_errors: u64,
    /// Skip rows whose id exists already (to finish an interrupted import)
    #[arg(long)]
    resume: bool,
}

/// `pql export --tenant t --collection c --to FILE`
#[derive(Debug, ClapArgs)]
pub struct ExportArgs {
    /// The tenant
    #[arg(long)]
    tenant: String,
    /// The collection
    #[arg(long)]
    collection: String,
    /// The file to write (.jsonl, .csv or .npy; .npy writes FILE.ids too)
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
    /// jsonl, csv or npy [default: from the file's extension]
    #[arg(long, value_name = "FORMAT")]
    file_format: Option<String>,
    /// The vector's field name in JSONL and CSV
    #[arg(long, default_value = "embedding")]
    vector_field: String,
}

/// How an import went.
#[derive(Debug, Default)]
struct Tally {
    imported: u64,
    skipped: u64,
    bad: u64,
}

/// Stops the import: why, already printed.
struct Stop;

struct Importer<'a> {
    session: Session,
    engine: &'a Engine,
    args: &'a ImportArgs,
    tally: Tally,
}

fn node(row: &Row, vector_field: &str) -> NodeLiteral {
    let mut fields = vec![(
        "id".to_string(),
        FieldValue::Literal(Value::Str(row.id.clone())),
    )];
    fields.extend(
        row.attrs
            .iter()
            .map(|(k, v)| (k.clone(), FieldValue::Literal(v.clone()))),
    );
    if let Some(v) = &row.vector {
        let values = v.iter().map(|x| Value::Float(f64::from(*x))).collect();
        fields.push((
            vector_field.to_string(),
            FieldValue::Literal(Value::Array(values)),
        ));
    }
    NodeLiteral {
        fields,
        span: Default::default(),
    }
}

impl Importer<'_> {
    /// Runs one CREATE NODES of `rows`.
    fn create(&mut self, rows: &[Row]) -> pql::Result<()> {
        let query = Query {
            collection: Name::new(self.args.collection.clone(), Default::default()),
            tenant: Some(Name::new(self.args.tenant.clone(), Default::default())),
            op: QueryOp::CreateNodes(
                rows.iter()
                    .map(|r| node(r, &self.args.vector_field))
                    .collect(),
            ),
        };
        let script = Script {
            statements: vec![Located {
                statement: Statement::Query(query),
                line: 1,
                column: 1,
            }],
        };
        let mut outcome = Ok(());
        self.session.execute_script(&script, "", |r| {
            outcome = r.map(drop);
            ControlFlow::Break(())
        });
        outcome
    }

    fn bad(&mut self, bad: &BadRow) -> Result<(), Stop> {
        self.tally.bad += 1;
        eprintln!("pql import: line {}: {}", bad.line, bad.message);
        if self.tally.bad > self.args.max_errors {
            eprintln!(
                "pql import: stopped after {} bad rows (--max-errors {}); {} rows imported",
                self.tally.bad, self.args.max_errors, self.tally.imported
            );
            return Err(Stop);
        }
        Ok(())
    }

    /// Imports one batch: whole, or row by row when a row is refused.
    fn batch(&mut self, mut rows: Vec<Row>) -> Result<(), Stop> {
        if self.args.resume {
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            let exists = self
                .engine
                .existing_ids(&self.args.tenant, &self.args.collection, &ids)
                .map_err(|e| self.fatal(&e, rows.first().map_or(0, |r| r.line)))?;
            let before = rows.len();
            let mut keep = exists.into_iter();
            rows.retain(|_| !keep.next().unwrap_or(false));
            self.tally.skipped += (before - rows.len()) as u64;
        }
        if rows.is_empty() {
            return Ok(());
        }
        match self.create(&rows) {
            Ok(()) => {
                self.tally.imported += rows.len() as u64;
                Ok(())
            }
            Err(e) if is_row_error(e.kind()) && rows.len() > 1 => {
                for row in rows {
                    self.batch(vec![row])?;
                }
                Ok(())
            }
            Err(e) if is_row_error(e.kind()) => self.bad(&BadRow {
                line: rows[0].line,
                message: e.message().to_string(),
            }),
            Err(e) => Err(self.fatal(&e, rows[0].line)),
        }
    }

    /// Reports an error that stops the import (a quota, a missing tenant).
    fn fatal(&self, e: &pql::Error, line: u64) -> Stop {
        eprintln!(
            "pql import: batch from line {line} refused: {}; {} rows imported before it \
             (run again with --resume to go on)",
            e.message(),
            self.tally.imported
        );
        Stop
    }
}

/// Errors that are about a row, not the whole import.
fn is_row_error(kind: &ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::NodeExists
            | ErrorKind::DimensionMismatch
            | ErrorKind::TypeError
            | ErrorKind::InvalidName
            | ErrorKind::InvalidOption
    )
}

fn open_rows(args: &ImportArgs) -> Result<Box<dyn Rows>, String> {
    let path = &args.file;
    Ok(match FileFormat::of(path, args.file_format.as_deref())? {
        FileFormat::Jsonl => Box::new(
            read::Jsonl::open(path, &args.vector_field)
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?,
        ),
        FileFormat::Csv => Box::new(read::Csv::open(path, &args.vector_field)?),
        FileFormat::Npy => Box::new(read::Npy::open(path, args.ids.as_deref())?),
    })
}

/// `pql import`: exit code 0 when every row went in, 1 when rows were bad
/// or the import stopped, 2 when the file cannot be read.
pub fn import(engine: &Engine, args: &ImportArgs) -> ExitCode {
    let mut rows = match open_rows(args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pql import: {e}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let progress = Progress::new(rows.progress().1, "rows");
    let mut imp = Importer {
        session: engine.session(),
        engine,
        args,
        tally: Tally::default(),
    };
    let batch_size = args.batch_size as usize;
    let mut batch = Vec::with_capacity(batch_size);
    let stopped = loop {
        let item = match rows.next_row() {
            Ok(item) => item,
            Err(e) => {
                eprintln!("pql import: cannot read {}: {e}", args.file.display());
                break true;
            }
        };
        let step = match item {
            Some(Ok(row)) => {
                batch.push(row);
                if batch.len() < batch_size {
                    continue;
                }
                imp.batch(std::mem::replace(
                    &mut batch,
                    Vec::with_capacity(batch_size),
                ))
            }
            Some(Err(bad)) => imp.bad(&bad),
            None => {
                let last = std::mem::take(&mut batch);
                break imp.batch(last).is_err();
            }
        };
        progress.set(rows.progress().0, imp.tally.imported);
        if step.is_err() {
            break true;
        }
    };
    progress.finish();
    let t = &imp.tally;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "pql import: {} rows imported, {} skipped (existing), {} bad, in {secs:.1} s ({:.0} rows/s)",
        t.imported,
        t.skipped,
        t.bad,
        t.imported as f64 / secs.max(1e-9)
    );
    if stopped || t.bad > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `pql export`: exit code 0, or 1 when the collection cannot be read or
/// the file written.
pub fn export(engine: &Engine, args: &ExportArgs) -> ExitCode {
    let format = match FileFormat::of(&args.to, args.file_format.as_deref()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("pql export: {e}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    match write::export(
        engine,
        &args.tenant,
        &args.collection,
        &args.to,
        format,
        &args.vector_field,
    ) {
        Ok(n) => {
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "pql export: {n} rows written to {} in {secs:.1} s ({:.0} rows/s)",
                args.to.display(),
                n as f64 / secs.max(1e-9)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pql export: {e}");
            ExitCode::from(1)
        }
    }
}
