//! # PQL — an embedded, multi-tenant vector database
//!
//! PQL stores each tenant's vectors and attributes in its own folder and
//! answers a SQL-like language, PQL, through [`Engine::execute`]:
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let engine = pql::Engine::open(dir.path()).unwrap();
//! engine.execute("CREATE TENANT acme;").unwrap();
//! engine
//!     .execute(r#"QUERY products TENANT acme CREATE NODE { id: "p1", name: "Widget",
//!                 embedding: embed("High quality widget") };"#)
//!     .unwrap();
//! let results = engine
//!     .execute(r#"QUERY products TENANT acme SIMILAR TO embed("widget") TOP 1;"#)
//!     .unwrap();
//! assert_eq!(results[0].rows.len(), 1);
//! ```
//!
//! A statement travels `parser` (pest grammar → AST) → `planner` (tenant,
//! filter, index choice) → `executor` → `tenant` / `index` / `storage`.

#![warn(missing_docs)]

// The pest parser is generated without pest's `std` feature (Cargo.toml
// says why), and that code names `alloc` at the crate root.
extern crate alloc;

#[cfg(feature = "s3")]
mod behind;
mod bulk;
mod cancel;
mod clock;
#[cfg(feature = "s3")]
pub mod cluster;
mod collection;
mod config;
mod embed;
mod engine;
mod error;
mod executor;
mod index;
mod parser;
mod planner;
mod result;
mod storage;
mod tenant;
#[cfg(test)]
mod test_rng;
mod value;

#[cfg(feature = "bench")]
#[doc(hidden)]
pub mod bench_support;
pub mod output;
pub mod script;
#[cfg(feature = "server")]
pub mod server;

pub use bulk::ScannedNode;
pub use cancel::CancelToken;
pub use config::Config;
#[cfg(feature = "minilm")]
pub use embed::MiniLmEmbedder;
pub use embed::{CachedEmbedder, Embedder, Embedding, HashEmbedder};
pub use engine::{Engine, Session};
pub use error::{Error, ErrorKind, Position, Result};
pub use index::Metric;
pub use parser::ast;
pub use parser::{parse, parse_filter};
pub use planner::{Access, Plan};
pub use result::QueryResult;
pub use storage::object::ObjectStoreConfig;
#[cfg(feature = "s3")]
pub use storage::object::{Manifest, ManifestObject, ObjectTier};
pub use tenant::billing::Prices;
pub use tenant::keys::KeyScope;
pub use tenant::pool::PoolStats;
pub use value::Value;
