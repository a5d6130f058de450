//! `Engine` (open a data folder, execute PQL) and `Session` (`USE TENANT`).

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::cancel::CancelToken;
use crate::config::Config;
use crate::error::{Position, Result};
use crate::executor::{self, Context};
use crate::parser::ast::{Script, Statement};
use crate::planner::{self, Plan};
use crate::result::QueryResult;
use crate::script::Chunk;
use crate::storage::Layout;
use crate::tenant::keys::KeyScope;
use crate::tenant::pool::{Pool, PoolStats};
use crate::tenant::usage::Metering;
use crate::tenant::Catalog;

/// The shared state behind every clone of an [`Engine`].
pub(crate) struct EngineInner {
    pub(crate) config: Config,
    pub(crate) catalog: Catalog,
    /// Usage counters and their flush thread (dropped after the catalog's
    /// own drop work, with a final flush).
    pub(crate) metering: Metering,
    /// The onloads running behind cold queries' answers.
    #[cfg(feature = "s3")]
    behind: Arc<crate::behind::Behind>,
}

impl Drop for EngineInner {
    /// Saves graph indexes so the next open does not rebuild them. Data is
    /// durable already; a failure here only costs a rebuild later. Then
    /// waits for the files evictions are still closing.
    fn drop(&mut self) {
        for tenant in self.catalog.list() {
            let _ = tenant.flush();
        }
        crate::storage::closer::wait_all();
    }
}

/// An open data folder. Cheap to clone, `Send + Sync`: share it across threads.
/// A data folder can be open in one process at a time.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

#[cfg(feature = "s3")]
impl Drop for Engine {
    /// The application's last handle waits for the onloads running behind
    /// cold queries' answers (they hold handles of their own).
    fn drop(&mut self) {
        let inner = &self.inner;
        inner.behind.wait_if_last(|| Arc::strong_count(inner));
    }
}

impl Engine {
    /// Opens (creating if needed) the data folder `dir` with default settings.
    pub fn open(dir: impl AsRef<Path>) -> Result<Engine> {
        Engine::open_with(Config::new(dir.as_ref()))
    }

    /// Opens the engine with `config`.
    pub fn open_with(config: Config) -> Result<Engine> {
        let catalog = Catalog::open(
            Layout::new(&config.data_dir),
            Pool::new(&config),
            config.object_store.as_ref(),
        )?;
        catalog.purge_expired((config.clock)())?;
        let metering = Metering::start(catalog.db());
        Ok(Engine {
            inner: Arc::new(EngineInner {
                config,
                catalog,
                metering,
                #[cfg(feature = "s3")]
                behind: Arc::default(),
            }),
        })
    }

    /// Executes a script in a fresh session; stops at the first error.
    pub fn execute(&self, pql: &str) -> Result<Vec<QueryResult>> {
        self.session().execute(pql)
    }

    /// A new session (its own `USE TENANT`).
    pub fn session(&self) -> Session {
        Session {
            engine: self.clone(),
            tenant: None,
            cancel: CancelToken::new(),
        }
    }

    /// The shared state, for the bulk data reads (`bulk`) and the bench
    /// probes (`bench_support`).
    pub(crate) fn inner(&self) -> &EngineInner {
        &self.inner
    }

    /// Onloads the offloaded `tenant` on a thread of its own, then loads its
    /// `collection`: started by a cold query answered from the quick path
    /// (`executor::cold`), so the statements after it find the tenant
    /// local. The onload is the ordinary one (crash-safe, holding the
    /// tenant, so statements that need the data wait for it); one runs at a
    /// time per tenant. A failure is left to the next statement's lazy
    /// onload, which reports it. The thread holds the engine's shared state;
    /// the application's last handle waits for it when dropped
    /// (`behind.rs`).
    #[cfg(feature = "s3")]
    pub(crate) fn onload_behind(&self, tenant: Arc<crate::tenant::Tenant>, collection: String) {
        use std::sync::atomic::Ordering;
        if tenant.onloading_behind.swap(true, Ordering::AcqRel) {
            return;
        }
        // The shared state itself, not an `Engine`, whose drop would wait
        // for this very thread.
        let (inner, owner) = (self.inner.clone(), tenant.clone());
        let behind = self.inner.behind.clone();
        behind.start();
        let work = move || {
            if inner.catalog.onload(&tenant, &CancelToken::new()).is_ok() {
                let _ = tenant.collection(&collection, &inner.config);
                inner.catalog.after_statement(&inner.config);
            }
            tenant.onloading_behind.store(false, Ordering::Release);
            // The holds on the engine go first, so a waiting last handle
            // is the last.
            drop(tenant);
            drop(inner);
            behind.end();
        };
        // Without a thread the tenant stays offloaded: a later statement onloads it.
        let spawned = std::thread::Builder::new()
            .name("pql-onload".into())
            .spawn(work);
        if spawned.is_err() {
            owner.onloading_behind.store(false, Ordering::Release);
            self.inner.behind.end();
        }
    }

    /// The configuration the engine runs with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Names of all tenants, sorted (for completion in the REPL).
    pub fn tenant_names(&self) -> Vec<String> {
        self.inner
            .catalog
            .list()
            .iter()
            .map(|t| t.name.clone())
            .collect()
    }

    /// Names of the collections of `tenant`, sorted.
    pub fn collection_names(&self, tenant: &str) -> Result<Vec<String>> {
        Ok(self.inner.catalog.get(tenant)?.collection_names())
    }

    /// The status of tenant `name` (`active`, `inactive`, ...): the same
    /// in-memory lookup every statement starts with, nothing read from disk.
    pub fn tenant_status(&self, name: &str) -> Result<&'static str> {
        Ok(self.inner.catalog.get(name)?.status())
    }

    /// What the API key `presented` may do: [`KeyScope::Admin`] for the
    /// configured admin key ([`Config::admin_key`]), [`KeyScope::Tenant`]
    /// for a live key made by `CREATE API KEY`, `None` for anything else
    /// (unknown, revoked, or its tenant dropped). Keys are compared by
    /// SHA-256, in constant time.
    pub fn key_scope(&self, presented: &str) -> Result<Option<KeyScope>> {
        self.inner
            .catalog
            .key_scope(presented, self.inner.config.admin_key.as_deref())
    }

    /// [`Engine::key_scope`] from memory alone, without I/O: `Some` for the
    /// admin key or a tenant key verified before (and neither revoked nor
    /// its tenant dropped since); `None` when only
    /// [`Engine::key_scope`] can tell.
    pub fn cached_key_scope(&self, presented: &str) -> Option<KeyScope> {
        self.inner
            .catalog
            .cached_key_scope(presented, self.inner.config.admin_key.as_deref())
    }

    /// Makes `directory` decide about tenant keys (a cluster node's shared
    /// key records); the first one set stays.
    #[cfg(all(feature = "server", feature = "s3"))]
    pub(crate) fn set_key_directory(
        &self,
        directory: std::sync::Arc<dyn crate::tenant::keys::KeyDirectory>,
    ) {
        self.inner.catalog.set_key_directory(directory);
    }

    /// Makes `registry` hold tenant records and tiers (a cluster node's
    /// shared registry); the first one set stays.
    #[cfg(all(feature = "server", feature = "s3"))]
    pub(crate) fn set_registry(
        &self,
        registry: std::sync::Arc<dyn crate::tenant::registry::Registry>,
    ) -> Result<()> {
        self.inner.catalog.set_registry(registry)?;
        self.inner.metering.count_per_node();
        Ok(())
    }

    /// Publishes the usage this process counted itself today and
    /// yesterday, per tenant name, in the registry (cluster mode).
    #[cfg(all(feature = "server", feature = "s3"))]
    pub(crate) fn publish_usage(&self) -> Result<()> {
        let Some(registry) = self.inner.catalog.registry() else {
            return Ok(());
        };
        use crate::storage::usage_store::{bucket_start, DAY};
        let today = bucket_start(chrono::Utc::now().timestamp(), DAY);
        let since = today - i64::from(DAY);
        let mut days: std::collections::BTreeMap<i64, std::collections::BTreeMap<_, _>> =
            Default::default();
        for (name, start, row) in self.inner.metering.node_days(since)? {
            days.entry(start).or_default().insert(name, row);
        }
        for (start, usage) in &days {
            registry.publish_usage(*start, usage)?;
        }
        Ok(())
    }

    /// Adopts the registry's tier templates (cluster mode).
    #[cfg(all(feature = "server", feature = "s3"))]
    pub(crate) fn sync_tiers(&self) -> Result<()> {
        self.inner.catalog.sync_tiers()
    }

    /// Statistics of the pool of loaded tenants.
    pub fn pool_stats(&self) -> PoolStats {
        self.inner.catalog.pool_stats()
    }

    /// Runs the pool's periodic pass now (it also runs every so often after
    /// a statement): unloads idle tenants, evicts while over the memory
    /// budget, purges tenants whose retention has passed.
    pub fn maintain(&self) -> Result<()> {
        self.inner.catalog.periodic(&self.inner.config)
    }

    /// Saves every loaded graph index and the usage counts now (it also
    /// happens when the last clone of the engine is dropped; usage is also
    /// flushed every second). Data itself is durable when
    /// `execute` returns; this only spares a rebuild on the next open.
    pub fn flush(&self) -> Result<()> {
        for tenant in self.inner.catalog.list() {
            tenant.flush()?;
        }
        self.inner.catalog.write_deferred()?;
        self.inner.metering.flush();
        Ok(())
    }
}

/// A sequence of statements sharing `USE TENANT` state.
pub struct Session {
    engine: Engine,
    tenant: Option<String>,
    cancel: CancelToken,
}

impl Session {
    /// Executes a script; returns every statement's result, or the first error.
    /// A script that does not parse runs nothing.
    pub fn execute(&mut self, pql: &str) -> Result<Vec<QueryResult>> {
        let mut out = Vec::new();
        let mut failure = None;
        self.execute_each(pql, |r| match r {
            Ok(q) => {
                out.push(q);
                ControlFlow::Continue(())
            }
            Err(e) => {
                failure = Some(e);
                ControlFlow::Break(())
            }
        })?;
        match failure {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// Executes a script statement by statement, handing each outcome to
    /// `on_result` as soon as it is known (and durable); `on_result` decides
    /// whether to go on. Returns `Err` only when the script does not parse,
    /// in which case nothing runs.
    pub fn execute_each<F>(&mut self, pql: &str, on_result: F) -> Result<()>
    where
        F: FnMut(Result<QueryResult>) -> ControlFlow<()>,
    {
        let script = crate::parser::parse(pql)?;
        self.execute_script(&script, pql, on_result);
        Ok(())
    }

    /// Executes the statements of `script`, parsed from `pql` (whose lines
    /// error excerpts quote), one by one, handing each outcome to
    /// `on_result` as soon as it is known (and durable); `on_result`
    /// decides whether to go on.
    pub fn execute_script<F>(&mut self, script: &Script, pql: &str, on_result: F)
    where
        F: FnMut(Result<QueryResult>) -> ControlFlow<()>,
    {
        self.run_statements(script, pql, 0, on_result);
    }

    /// Parses and executes one [`Chunk`] of a script read by
    /// [`StatementReader`](crate::script::StatementReader), like
    /// [`Session::execute_each`]: error positions are lines and columns of
    /// the whole script. Returns `Err` only when the chunk does not parse,
    /// in which case nothing runs.
    pub fn execute_chunk<F>(&mut self, chunk: &Chunk, on_result: F) -> Result<()>
    where
        F: FnMut(Result<QueryResult>) -> ControlFlow<()>,
    {
        let script = chunk.parse()?;
        self.run_statements(&script, chunk.text(), chunk.line_offset(), on_result);
        Ok(())
    }

    /// [`Session::execute_script`] for `pql`, the text of a script's part
    /// that starts `line_offset` lines down (whose statements' lines are
    /// counted in the whole script already).
    fn run_statements<F>(
        &mut self,
        script: &Script,
        pql: &str,
        line_offset: usize,
        mut on_result: F,
    ) where
        F: FnMut(Result<QueryResult>) -> ControlFlow<()>,
    {
        for located in &script.statements {
            let start = Instant::now();
            let inner = &self.engine.inner;
            let mut ctx = Context {
                catalog: &inner.catalog,
                config: &inner.config,
                metering: &inner.metering,
                session_tenant: &mut self.tenant,
                cancel: &self.cancel,
                #[cfg(feature = "s3")]
                engine: Some(&self.engine),
            };
            let outcome = planner::plan(&located.statement, ctx.session_tenant.as_deref())
                .and_then(|plan| executor::execute(&mut ctx, plan))
                .map(|mut r| {
                    r.elapsed = start.elapsed();
                    r
                })
                .map_err(|e| {
                    // The name or literal the error is about, else the
                    // statement's start.
                    let position = match e.span() {
                        Some(span) => {
                            let mut p = crate::parser::position(pql, span.start);
                            p.line += line_offset;
                            p
                        }
                        None => Position {
                            line: located.line,
                            column: located.column,
                            source_line: pql
                                .lines()
                                .nth(located.line.saturating_sub(line_offset + 1))
                                .map(|l| l.to_string())
                                .unwrap_or_default(),
                        },
                    };
                    e.at(position)
                });
            // A cancel request applies to one statement: stopped by it or not.
            self.cancel.reset();
            // The statement has released its collections: evict if needed.
            self.engine
                .inner
                .catalog
                .after_statement(&self.engine.inner.config);
            if on_result(outcome).is_break() {
                break;
            }
        }
    }

    /// Resolves and authorises `statement` without running it or reading
    /// anything: the tenants it touches (the one it names, else this
    /// session's `USE TENANT`) and the [`Access`](crate::Access) it needs.
    /// An invalid tenant name, or a statement that needs a tenant when none
    /// is in use, is an error.
    pub fn plan<'s>(&self, statement: &'s Statement) -> Result<Plan<'s>> {
        planner::plan(statement, self.tenant.as_deref())
    }

    /// [`Session::plan`] for every statement of `script`, in order, as the
    /// session would see them: a `USE TENANT` in the script applies to the
    /// statements after it. Nothing runs; the session is unchanged.
    pub fn plan_script<'s>(&self, script: &'s Script) -> Result<Vec<Plan<'s>>> {
        let mut tenant = self.tenant.clone();
        let mut plans = Vec::with_capacity(script.statements.len());
        for located in &script.statements {
            let plan = planner::plan(&located.statement, tenant.as_deref())?;
            if let Statement::UseTenant { name } = &located.statement {
                tenant = Some(name.text.clone());
            }
            plans.push(plan);
        }
        Ok(plans)
    }

    /// The token that cancels this session's running statement from
    /// another thread: it stops at its next safe point with
    /// [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled) and changes
    /// nothing (see [`CancelToken`]).
    pub fn cancel_token(&self) -> CancelToken {
        self.cancel.clone()
    }

    /// The tenant set by `USE TENANT`, if any.
    pub fn current_tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }
}
