//! Which embedder serves `embed()`: all-MiniLM-L6-v2 from `--embed-model
//! DIR` / `PQL_EMBED_MODEL`, else the built-in lexical one, which says so
//! on stderr the first time it embeds (stdout stays the script's output).

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pql::{Config, Embedder, HashEmbedder};

use crate::args::Args;

/// The note printed once when `embed()` runs without a model.
pub const LEXICAL_NOTE: &str =
    "embed(): built-in lexical embedder; pass --embed-model DIR for all-MiniLM-L6-v2 \
     (scripts/fetch-minilm.sh fetches it)";

/// The engine's configuration for `args`; exit code 2 when the model
/// folder cannot be loaded, the object store URL is invalid, or
/// `--offload-idle` is given without an object store.
pub fn config(args: &Args) -> Result<Config, ExitCode> {
    let mut config = Config::new(args.data_dir());
    for dir in &args.export_dirs {
        config = config.with_export_dir(dir);
    }
    if let Some(url) = &args.object_store {
        config = config.with_object_store(url).map_err(|e| {
            eprintln!("pql: {}", e.message());
            ExitCode::from(2)
        })?;
    }
    if let Some(secs) = args.offload_idle {
        if args.object_store.is_none() {
            eprintln!("pql: --offload-idle needs --object-store URL");
            return Err(ExitCode::from(2));
        }
        config = config.with_offload_after(std::time::Duration::from_secs(secs));
    }
    match &args.embed_model {
        Some(dir) => config.with_minilm(dir).map_err(|e| {
            eprintln!("pql: cannot load the embedding model: {}", e.message());
            ExitCode::from(2)
        }),
        None => Ok(Config {
            embedder: Arc::new(Lexical::default()),
            ..config
        }),
    }
}

/// The built-in embedder, noting on stderr at its first use that it is
/// lexical.
#[derive(Default)]
struct Lexical {
    inner: HashEmbedder,
    noted: AtomicBool,
}

impl Embedder for Lexical {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn dimension(&self) -> usize {
        self.inner.dimension()
    }

    fn embed(&self, text: &str) -> pql::Result<Vec<f32>> {
        if !self.noted.swap(true, Ordering::Relaxed) {
            eprintln!("{LEXICAL_NOTE}");
        }
        self.inner.embed(text)
    }
}
