//! `pql serve` child processes for the cluster benchmarks
//! (`cluster_wal_bench`, `cluster_scale_bench`): started with an admin key,
//! their URL read from the first line they print, killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// A `pql serve` child process, killed when dropped.
pub struct Serve {
    pub child: Child,
    pub url: String,
}

impl Serve {
    /// `pql --data DIR/data serve` with `admin` as its admin key and
    /// `extra` flags.
    pub fn start(pql: &str, dir: &Path, admin: &str, extra: &[&str]) -> Res<Serve> {
        let mut child = Command::new(pql)
            .arg("--data")
            .arg(dir.join("data"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("PQL_ADMIN_KEY", admin)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .ok_or_else(|| format!("first line: {line:?}"))?
            .to_string();
        Ok(Serve { child, url })
    }

    /// Node `id` of the cluster in `store` (lease 2 s), sharing `secret`.
    pub fn cluster(
        pql: &str,
        dir: &Path,
        admin: &str,
        secret: &str,
        store: &str,
        id: &str,
    ) -> Res<Serve> {
        let file = dir.join("secret");
        std::fs::write(&file, format!("{secret}\n"))?;
        let file = file.to_string_lossy().to_string();
        let flags = [
            "--object-store",
            store,
            "--node-id",
            id,
            "--lease-ms",
            "2000",
            "--cluster-secret-file",
            &file,
        ];
        Serve::start(pql, dir, admin, &flags)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
