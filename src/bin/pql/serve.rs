//! `pql serve`: the HTTP server (`pql::server`) on a tokio runtime, until
//! SIGTERM or SIGINT.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use pql::server::{serve, ServerOptions};
use pql::{Config, Engine};

/// `pql serve` flags.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port. The first line on
    /// stdout is `listening on http://HOST:PORT`.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7878")]
    listen: SocketAddr,

    /// File holding the admin key (its first line). Without an admin key
    /// (here or in PQL_ADMIN_KEY) the server runs in local development
    /// mode: loopback only, no key needed.
    #[arg(long, value_name = "FILE")]
    admin_key_file: Option<PathBuf>,

    /// Serve /metrics without the admin key (for scrapers on a private
    /// network).
    #[arg(long)]
    metrics_public: bool,

    /// Per-tenant statement series for the N busiest tenants on /metrics
    /// [default: none]
    #[arg(long, value_name = "N")]
    tenant_metrics_top: Option<usize>,

    /// Largest request body, in bytes
    #[arg(long, value_name = "BYTES", default_value_t = 32 << 20)]
    body_limit: usize,

    /// Largest upload to POST /v1/imports (a .pqlt file), in bytes; larger
    /// ones get 413
    #[arg(long, value_name = "BYTES", default_value_t = pql::server::DEFAULT_MAX_IMPORT_BYTES)]
    max_import_bytes: u64,

    /// Seconds a client may take to send its request body (then 408); for
    /// an upload to POST /v1/imports, the longest pause between its data
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    body_timeout: f64,

    /// Seconds a client may take to send a whole request head (request
    /// line and headers), also the longest idle time of a keep-alive
    /// connection; a slower client is disconnected
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    header_timeout: f64,

    #[cfg(feature = "s3")]
    #[command(flatten)]
    cluster: crate::cluster::ClusterArgs,
}

/// Runs the server; exit code 0 after a graceful shutdown, 2 when it
/// cannot start.
pub fn run(mut config: Config, args: &ServeArgs) -> ExitCode {
    match admin_key(args) {
        Ok(key) => config.admin_key = key,
        Err(msg) => return fail(&msg),
    }
    if config.admin_key.is_none() {
        if !args.listen.ip().is_loopback() {
            return fail(&format!(
                "no admin key (--admin-key-file or PQL_ADMIN_KEY): local development mode \
                 binds loopback only, not {}",
                args.listen
            ));
        }
        eprintln!(
            "pql serve: WARNING: no admin key, local development mode: a request without \
             a key is admin (one with a tenant key is bound to its tenant); set \
             --admin-key-file or PQL_ADMIN_KEY for anything else"
        );
    }
    let (body_timeout, header_timeout) = match (
        seconds("--body-timeout", args.body_timeout),
        seconds("--header-timeout", args.header_timeout),
    ) {
        (Ok(body), Ok(header)) => (body, header),
        (Err(msg), _) | (_, Err(msg)) => return fail(&msg),
    };
    #[cfg(feature = "s3")]
    let cluster_store = match crate::cluster::open_store(&args.cluster, &config) {
        Ok(store) => store,
        Err(msg) => return fail(&msg),
    };
    let options = ServerOptions {
        metrics_public: args.metrics_public,
        body_limit: args.body_limit,
        max_import_bytes: args.max_import_bytes,
        body_timeout,
        header_timeout,
        tenant_metrics_top: args.tenant_metrics_top,
        ..ServerOptions::default()
    };
    let dir = config.data_dir.clone();
    let engine = match Engine::open_with(config) {
        Ok(engine) => engine,
        Err(e) => {
            return fail(&format!(
                "cannot open data folder {}: {}",
                dir.display(),
                e.message()
            ))
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen).await?;
        let addr = listener.local_addr()?;
        #[cfg(feature = "s3")]
        let options = match cluster_store {
            Some(opened) => ServerOptions {
                cluster: Some(
                    crate::cluster::member(&args.cluster, opened, addr)
                        .map_err(std::io::Error::other)?,
                ),
                ..options
            },
            None => options,
        };
        // In the cluster before it says it listens.
        #[cfg(feature = "s3")]
        if let Some(member) = &options.cluster {
            pql::server::join_cluster(member).await?;
        }
        println!("listening on http://{addr}");
        use std::io::Write as _;
        std::io::stdout().flush()?;
        serve(engine, listener, options, shutdown_signal()).await
    });
    match served {
        Ok(()) => {
            eprintln!("pql serve: shut down");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("cannot serve on {}: {e}", args.listen)),
    }
}

/// The admin key from `--admin-key-file` (first line), else
/// `PQL_ADMIN_KEY`; `None` if neither is given.
fn admin_key(args: &ServeArgs) -> Result<Option<String>, String> {
    let key = match &args.admin_key_file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read admin key file {}: {e}", path.display()))?
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string(),
        None => match std::env::var("PQL_ADMIN_KEY") {
            Ok(key) => key.trim().to_string(),
            Err(_) => return Ok(None),
        },
    };
    if key.len() < 16 {
        return Err("the admin key must be at least 16 characters".into());
    }
    Ok(Some(key))
}

/// A positive, finite number of seconds given to flag `flag`.
fn seconds(flag: &str, value: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{flag} must be a positive number of seconds"))
}

/// Completes at SIGTERM or SIGINT.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("pql serve: {msg}");
    ExitCode::from(2)
}
