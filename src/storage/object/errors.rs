//! Object-store failures as the crate's errors: unreachable stores, missing
//! buckets and rejected credentials are `StorageUnavailable`, naming the
//! store (bucket and endpoint, never a secret).

use crate::error::{Error, ErrorKind};

/// `err`, raised while trying to `what` (e.g. "write object p/x") against
/// the store described by `store`, as a `StorageUnavailable` error.
pub(crate) fn unavailable(store: &str, what: &str, err: &object_store::Error) -> Error {
    let reason = match err {
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => "the credentials were rejected",
        _ if mentions(err, &["NoSuchBucket", "bucket does not exist"]) => {
            "the bucket does not exist (PQL never creates it)"
        }
        _ if mentions(
            err,
            &[
                "InvalidAccessKeyId",
                "SignatureDoesNotMatch",
                "AccessDenied",
            ],
        ) =>
        {
            "the credentials were rejected"
        }
        _ => "the store did not answer in time or failed",
    };
    Error::new(
        ErrorKind::StorageUnavailable,
        format!("object store {store}: cannot {what}: {reason} ({err})"),
    )
}

/// True if `err` (with its sources) mentions one of `needles`.
pub(super) fn mentions(err: &object_store::Error, needles: &[&str]) -> bool {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        text.push_str(&s.to_string());
        source = s.source();
    }
    needles.iter().any(|n| text.contains(n))
}

/// True if `err` says the object is not there (and not that the bucket is
/// missing).
pub(crate) fn is_not_found(err: &object_store::Error) -> bool {
    matches!(err, object_store::Error::NotFound { .. }) && !mentions(err, &["NoSuchBucket"])
}
