//! The object-storage tier (docs/object-storage.md): tenant snapshots and
//! archives in an S3-compatible bucket or a local folder.
//!
//! ```text
//! PREFIX/tenants/<tenant>/manifest.json            latest snapshot: written last
//! PREFIX/tenants/<tenant>/<generation>/<file>      immutable, CRC-32 in the manifest
//! PREFIX/archive/<tenant>.tar.zst                  an archived tenant
//! PREFIX/archive/<tenant>.tar.zst.json             its size and CRC-32, written after it
//! ```
//!
//! [`url`] parses the location and is always built; the rest needs the
//! cargo feature `s3` (on by default).

mod url;

#[cfg(feature = "s3")]
mod errors;
#[cfg(feature = "s3")]
mod keys;
#[cfg(feature = "s3")]
mod manifest;
#[cfg(feature = "s3")]
pub(crate) mod quick;
#[cfg(feature = "s3")]
mod snapshot;
#[cfg(feature = "s3")]
mod tier;
#[cfg(feature = "s3")]
mod transfer;

#[cfg(feature = "s3")]
pub(crate) use errors::{is_not_found, unavailable};
#[cfg(feature = "s3")]
pub(crate) use keys::{Keys, Registered, Target};
#[cfg(feature = "s3")]
pub use manifest::{Manifest, ManifestObject};
#[cfg(feature = "s3")]
pub use tier::ObjectTier;
pub use url::ObjectStoreConfig;

#[cfg(all(test, feature = "s3"))]
mod tests;
