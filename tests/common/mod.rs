//! Helpers shared by the integration tests.

use std::path::Path;

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
