//! `Engine` (open a data folder, execute PQL) and `Session` (`USE TENANT`).

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::result::QueryResult;

/// An open data folder. Cheap to clone, `Send + Sync`: share it across threads.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Config>,
}

impl Engine {
    /// Opens (creating if needed) the data folder `dir` with default settings.
    pub fn open(dir: impl AsRef<Path>) -> Result<Engine> {
        Engine::open_with(Config::new(dir.as_ref()))
    }

    /// Opens the engine with `config`.
    pub fn open_with(config: Config) -> Result<Engine> {
        Ok(Engine {
            inner: Arc::new(config),
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
        }
    }

    /// The configuration the engine runs with.
    pub fn config(&self) -> &Config {
        &self.inner
    }

    /// Names of all tenants, sorted (for completion in the REPL).
    pub fn tenant_names(&self) -> Vec<String> {
        Vec::new()
    }

    /// Names of the collections of `tenant`, sorted.
    pub fn collection_names(&self, tenant: &str) -> Result<Vec<String>> {
        let _ = tenant;
        Ok(Vec::new())
    }
}

/// A sequence of statements sharing `USE TENANT` state.
pub struct Session {
    engine: Engine,
    tenant: Option<String>,
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
    pub fn execute_each<F>(&mut self, pql: &str, mut on_result: F) -> Result<()>
    where
        F: FnMut(Result<QueryResult>) -> ControlFlow<()>,
    {
        let script = crate::parser::parse(pql)?;
        for _ in script.statements {
            let r: Result<QueryResult> = Err(Error::unsupported("engine not built yet"));
            if on_result(r).is_break() {
                break;
            }
        }
        let _ = &self.engine;
        Ok(())
    }

    /// The tenant set by `USE TENANT`, if any.
    pub fn current_tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }
}
