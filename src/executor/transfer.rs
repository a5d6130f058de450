//! EXPORT TENANT and IMPORT TENANT: the options and the path checks; the
//! work is in `tenant::export` and `tenant::import`.

use crate::error::{Error, Result};
use crate::executor::Context;
use crate::parser::ast::Opt;
use crate::result::QueryResult;
use crate::storage::export_paths::{self, Purpose};
use crate::tenant::export::ExportWhat;
use crate::tenant::import::ImportRequest;
use crate::value::Value;

/// The file `given` names, confined to the export folders.
fn confined(ctx: &Context<'_>, given: &str, purpose: Purpose) -> Result<std::path::PathBuf> {
    export_paths::resolve(
        &ctx.config.data_dir,
        &ctx.config.export_dirs,
        given,
        purpose,
    )
}

fn export_what(options: &[Opt]) -> Result<ExportWhat> {
    let mut what = ExportWhat::default();
    for o in options {
        let flag = match &o.value {
            Value::Bool(b) => *b,
            v => {
                return Err(
                    Error::type_error(format!("{} must be true or false, got {v}", o.key))
                        .with_span(o.span),
                )
            }
        };
        match o.key.as_str() {
            "usage" => what.usage = flag,
            "keys" => what.keys = flag,
            other => {
                return Err(Error::invalid_option(format!(
                    "unknown EXPORT option '{other}'; known options: usage, keys"
                ))
                .with_span(o.span))
            }
        }
    }
    Ok(what)
}

pub(super) fn export_tenant(
    ctx: &Context<'_>,
    name: &str,
    path: &str,
    options: &[Opt],
) -> Result<QueryResult> {
    let what = export_what(options)?;
    let tenant = ctx.catalog.get(name)?;
    let dest = confined(ctx, path, Purpose::Write)?;
    if what.usage {
        // Counts still in memory reach the usage table first.
        ctx.metering.flush();
    }
    let summary = ctx.catalog.export(&tenant, &dest, what)?;
    Ok(QueryResult::message(format!(
        "Tenant {name} exported to {path} ({} files, {} bytes)",
        summary.files, summary.bytes
    )))
}

pub(super) fn import_tenant(
    ctx: &Context<'_>,
    path: &str,
    as_name: Option<&str>,
    replace: bool,
    options: &[Opt],
) -> Result<QueryResult> {
    let src = confined(ctx, path, Purpose::Read)?;
    let record = ctx.catalog.import(&ImportRequest {
        path: &src,
        as_name,
        replace,
        options,
        cancel: ctx.cancel,
    })?;
    Ok(QueryResult::message(format!(
        "Tenant {} imported from {path} (status {})",
        record.name,
        record.status()
    )))
}
