//! Running a request's statements: parse (for PQL text), prepend
//! `USE TENANT` for `X-Tenant-ID`, plan and authorise every statement,
//! then execute them in order, stopping at the first error. All of it on
//! the blocking pool.

use std::ops::ControlFlow;

use serde_json::Value as Json;

use super::auth;
use super::errors::ApiError;
use super::state::{AppState, Shared};
use crate::ast::{Located, Script, Statement};
use crate::{output, ErrorKind, KeyScope, QueryResult};

/// What a request runs.
pub(crate) enum Input {
    /// PQL text (`POST /v1/query`).
    Text(String),
    /// Statements built by a JSON endpoint.
    Statements(Vec<Statement>),
}

/// A request's statements and who asks.
pub(crate) struct Run {
    /// The key's scope.
    pub(crate) scope: KeyScope,
    /// `USE TENANT` before the first statement.
    pub(crate) use_tenant: Option<String>,
    /// The statements.
    pub(crate) input: Input,
}

impl Run {
    /// Statements built by an endpoint, run with `scope`.
    pub(crate) fn statements(scope: KeyScope, statements: Vec<Statement>) -> Run {
        Run {
            scope,
            use_tenant: None,
            input: Input::Statements(statements),
        }
    }
}

/// Runs `run` and returns the results of its statements; on an error, the
/// error with the results of the statements before it (which are durable).
pub(crate) async fn run(state: &Shared, run: Run) -> Result<Vec<QueryResult>, ApiError> {
    if state.is_shutting_down() {
        return Err(ApiError::shutting_down());
    }
    match state.blocking(move |s| execute(s, run)).await? {
        Ran::Results(results) => Ok(results),
        #[cfg(feature = "s3")]
        Ran::Move { tenant, node } => super::cluster::move_statement(state, &tenant, &node)
            .await
            .map(|result| vec![result])
            .map_err(|e| e.in_script(Some(0), Vec::new())),
    }
}

/// What running a request's statements gave.
enum Ran {
    /// Their results.
    Results(Vec<QueryResult>),
    /// On a cluster node, `ALTER TENANT tenant SET node = 'node'`, the
    /// request's only statement: a move, which runs outside the blocking
    /// pool (it waits for the tenant's requests) and is not logged.
    #[cfg(feature = "s3")]
    Move { tenant: String, node: String },
}

/// [`run`], for one statement, its result.
pub(crate) async fn run_one(
    state: &Shared,
    scope: KeyScope,
    statement: Statement,
) -> Result<QueryResult, ApiError> {
    let mut results = run(state, Run::statements(scope, vec![statement])).await?;
    results
        .pop()
        .ok_or_else(|| ApiError::internal("the statement gave no result"))
}

/// The results as JSON objects, as the CLI's JSON Lines print them.
pub(crate) fn results_json(results: &[QueryResult]) -> Vec<Json> {
    results.iter().map(output::result_value).collect()
}

/// Puts `USE TENANT name` (`X-Tenant-ID`) before the first statement.
pub(crate) fn use_tenant_first(script: &mut Script, name: &str) {
    let located = Located {
        statement: Statement::UseTenant {
            name: name.to_string().into(),
        },
        line: 1,
        column: 1,
    };
    script.statements.insert(0, located);
}

fn execute(state: &AppState, run: Run) -> Result<Ran, ApiError> {
    #[cfg(feature = "s3")]
    let from_text = matches!(run.input, Input::Text(_));
    let (mut script, text) = match run.input {
        Input::Text(text) => (crate::parse(&text)?, text),
        Input::Statements(statements) => (
            Script {
                statements: statements
                    .into_iter()
                    .map(|statement| Located {
                        statement,
                        line: 1,
                        column: 1,
                    })
                    .collect(),
            },
            String::new(),
        ),
    };
    let offset = usize::from(run.use_tenant.is_some());
    if let Some(name) = &run.use_tenant {
        use_tenant_first(&mut script, name);
    }
    let mut session = state.engine.session();
    let plans = session.plan_script(&script)?;
    auth::authorize(&run.scope, &plans)?;
    #[cfg(feature = "s3")]
    if let Some((tenant, node)) = super::cluster::planned_move(state, &plans, offset, from_text)? {
        return Ok(Ran::Move { tenant, node });
    }
    for plan in &plans[offset..] {
        state.metrics.statement(plan.access(), plan.tenants());
    }
    // Cluster mode: each write goes to its tenant's log in the bucket
    // after its commit, before the next statement and the answer.
    #[cfg(feature = "s3")]
    let writes = super::cluster::log::Writes::of(state, &plans)?;
    #[cfg(feature = "s3")]
    let mut logs = writes.lock();
    let mut results = Vec::with_capacity(script.statements.len());
    let mut failure = None;
    session.execute_script(&script, &text, |outcome| match outcome {
        Ok(result) => {
            #[cfg(feature = "s3")]
            if let (Some(plan), Some(located)) = (
                plans.get(results.len()),
                script.statements.get(results.len()),
            ) {
                if let Err(e) = logs.append(plan, &located.statement) {
                    failure = Some(e);
                    return ControlFlow::Break(());
                }
            }
            results.push(result);
            ControlFlow::Continue(())
        }
        Err(e) => {
            failure = Some(e);
            ControlFlow::Break(())
        }
    });
    let done = results.split_off(offset.min(results.len()));
    let Some(err) = failure else {
        return Ok(Ran::Results(done));
    };
    let index = results.len() + done.len();
    match err.kind() {
        ErrorKind::QuotaExceeded { resource, .. } => state.metrics.quota_refusal(resource),
        ErrorKind::RateLimited { .. } => state.metrics.quota_refusal("rate"),
        _ => {}
    }
    if let Some(tenant) = plans.get(index).and_then(|p| p.tenants().first()) {
        if !matches!(err.kind(), ErrorKind::TenantNotFound) {
            state.record_error(tenant, err.message());
        }
    }
    Err(ApiError::engine(&err).in_script(index.checked_sub(offset), results_json(&done)))
}
