//! Where the object-storage tier lives: an `s3://bucket/prefix` or
//! `file:///path` URL, parsed and checked before anything is opened.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};

/// The default of [`ObjectStoreConfig::download_part_bytes`]: one GET per
/// object, which was faster than ranged GETs against SeaweedFS on loopback
/// (BENCHMARKS.md, "Where a cold query's time goes").
pub(super) const DEFAULT_DOWNLOAD_PART: u64 = 0;

/// The default of [`ObjectStoreConfig::quick_object_min_bytes`]: a
/// collection file under 8 MiB onloads in a few milliseconds, and the quick
/// path, with its four requests, was slower there (BENCHMARKS.md, "The
/// quick path").
pub(super) const DEFAULT_QUICK_MIN: u64 = 8 << 20;

/// The location of the object-storage tier, from `--object-store URL`,
/// `PQL_OBJECT_STORE` or [`Config::with_object_store`](crate::Config::with_object_store).
///
/// - `s3://bucket/prefix`: an S3-compatible store. Credentials, region and
///   endpoint come from the standard variables (`AWS_ACCESS_KEY_ID`,
///   `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`,
///   `AWS_ALLOW_HTTP`) when the tier is opened. The bucket must exist.
/// - `file:///path`: a folder on a local disk or a NAS mount, which must
///   exist. Every key lives under it.
#[derive(Clone, PartialEq)]
pub struct ObjectStoreConfig {
    pub(super) location: Location,
    /// How long a request is retried (with backoff) before it fails as
    /// `StorageUnavailable`. Default 30 s.
    pub retry_timeout: Duration,
    /// How many objects move at once during an upload or download. Default 8.
    pub concurrency: usize,
    /// The S3 endpoint (`http://127.0.0.1:8333`). Default `None`: the
    /// `AWS_ENDPOINT_URL` variable, else AWS itself. Ignored for `file://`.
    pub endpoint: Option<String>,
    /// Objects larger than this are downloaded in ranged GETs of this many
    /// bytes, four at once (for stores where one stream is slow, such as S3
    /// over a WAN). Default 0: every object in one GET.
    pub download_part_bytes: u64,
    /// OFFLOAD writes a quick object, which cold similarity queries read
    /// instead of waiting for the onload (docs/object-storage.md, "The
    /// quick path"), for each `flat` collection whose file is at least this
    /// large. Default 8 MiB.
    pub quick_object_min_bytes: u64,
}

/// The parsed location.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Location {
    /// An S3 bucket and the key prefix inside it (may be empty).
    S3 { bucket: String, prefix: String },
    /// A local folder and no prefix (the folder is the prefix).
    Local { root: PathBuf },
}

impl ObjectStoreConfig {
    /// Parses `s3://bucket/prefix` (prefix optional) or `file:///absolute/path`.
    /// Anything else, an invalid bucket name, or a prefix with empty, `.` or
    /// `..` segments is an `InvalidOption` error.
    pub fn parse(url: &str) -> Result<ObjectStoreConfig> {
        let location = if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            check_bucket(url, bucket)?;
            let prefix = prefix.trim_end_matches('/');
            check_prefix(url, prefix)?;
            Location::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.to_string(),
            }
        } else if let Some(path) = url.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(bad(
                    url,
                    "a file:// URL needs an absolute path (file:///path)",
                ));
            }
            if path.split('/').any(|s| s == "..") {
                return Err(bad(url, "the path may not contain '..'"));
            }
            Location::Local {
                root: PathBuf::from(path),
            }
        } else {
            return Err(bad(url, "expected s3://bucket/prefix or file:///path"));
        };
        Ok(ObjectStoreConfig {
            location,
            retry_timeout: Duration::from_secs(30),
            concurrency: 8,
            endpoint: None,
            download_part_bytes: DEFAULT_DOWNLOAD_PART,
            quick_object_min_bytes: DEFAULT_QUICK_MIN,
        })
    }

    /// The URL, as it would be written (`s3://bucket/prefix`, `file:///path`).
    pub fn url(&self) -> String {
        match &self.location {
            Location::S3 { bucket, prefix } if prefix.is_empty() => format!("s3://{bucket}"),
            Location::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}"),
            Location::Local { root } => format!("file://{}", root.display()),
        }
    }

    /// True for `s3://` locations (which support conditional writes), false
    /// for `file://`.
    pub fn is_s3(&self) -> bool {
        matches!(self.location, Location::S3 { .. })
    }
}

impl fmt::Debug for ObjectStoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStoreConfig")
            .field("url", &self.url())
            .field("retry_timeout", &self.retry_timeout)
            .field("concurrency", &self.concurrency)
            .field("endpoint", &self.endpoint)
            .field("download_part_bytes", &self.download_part_bytes)
            .field("quick_object_min_bytes", &self.quick_object_min_bytes)
            .finish()
    }
}

fn bad(url: &str, why: &str) -> Error {
    Error::new(
        ErrorKind::InvalidOption,
        format!("invalid object store URL {url:?}: {why}"),
    )
}

/// S3 bucket naming: 3-63 characters of lowercase letters, digits, '.' and
/// '-', starting and ending with a letter or digit.
fn check_bucket(url: &str, bucket: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-';
    let ok_end = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if (3..=63).contains(&bucket.len())
        && bucket.chars().all(ok_char)
        && ok_end(bucket.chars().next())
        && ok_end(bucket.chars().last())
    {
        Ok(())
    } else {
        Err(bad(
            url,
            "the bucket name must be 3-63 characters of a-z, 0-9, '.' and '-', \
             starting and ending with a letter or digit",
        ))
    }
}

/// A prefix is empty or '/'-separated segments of `[A-Za-z0-9._-]`, none of
/// them empty, `.` or `..`.
fn check_prefix(url: &str, prefix: &str) -> Result<()> {
    if prefix.is_empty() {
        return Ok(());
    }
    let ok_segment = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    };
    if prefix.split('/').all(ok_segment) {
        Ok(())
    } else {
        Err(bad(
            url,
            "each prefix segment must be non-empty, not '.' or '..', and use only \
             A-Z, a-z, 0-9, '.', '_' and '-'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_s3_and_file_urls() {
        let c = ObjectStoreConfig::parse("s3://pql-test/prod/eu").unwrap();
        assert_eq!(
            c.location,
            Location::S3 {
                bucket: "pql-test".into(),
                prefix: "prod/eu".into()
            }
        );
        assert_eq!(c.url(), "s3://pql-test/prod/eu");
        assert!(c.is_s3());
        let c = ObjectStoreConfig::parse("s3://bucket").unwrap();
        assert_eq!(c.url(), "s3://bucket");
        let c = ObjectStoreConfig::parse("s3://bucket/p/").unwrap();
        assert_eq!(c.url(), "s3://bucket/p");
        let c = ObjectStoreConfig::parse("file:///mnt/nas/pql").unwrap();
        assert_eq!(
            c.location,
            Location::Local {
                root: "/mnt/nas/pql".into()
            }
        );
        assert!(!c.is_s3());
    }

    #[test]
    fn rejects_bad_urls() {
        for url in [
            "",
            "http://bucket/x",
            "s3://",
            "s3://ab",
            "s3://Bucket",
            "s3://-bucket",
            "s3://bucket/../x",
            "s3://bucket/a//b",
            "s3://bucket/a/./b",
            "s3://bucket/a%2Fb",
            "file://relative/path",
            "file:///a/../b",
        ] {
            let e = ObjectStoreConfig::parse(url).unwrap_err();
            assert_eq!(e.kind(), &ErrorKind::InvalidOption, "{url}");
            assert!(e.message().contains("object store URL"), "{e}");
        }
    }
}
