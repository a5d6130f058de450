//! `ALTER TENANT t SET node = 'n2'`: not a change of the tenant's record
//! but a move of the tenant to another node of a cluster (docs/cluster.md,
//! "Hand-over through the bucket"). The planner checks its form; the
//! executor refuses it (a single node has nowhere to move a tenant to),
//! and a cluster node's server runs it as a hand-over instead.

use crate::error::{Error, ErrorKind, Result};
use crate::parser::ast::Statement;
use crate::tenant::names;

/// The setting of `ALTER TENANT` that moves the tenant.
const NODE: &str = "node";

/// The node `stmt` moves its tenant to, if it is an `ALTER TENANT ... SET
/// node = 'n'`: `node` must be the only setting (`InvalidOption`
/// otherwise: a move is not a change of the record, so the two cannot be
/// one statement) and a valid node name (a string, `TypeError`; then
/// `InvalidName`). `None` for every other statement.
pub(crate) fn moved_to(stmt: &Statement) -> Result<Option<&str>> {
    let Statement::AlterTenant { set, .. } = stmt else {
        return Ok(None);
    };
    let Some(opt) = set.iter().find(|o| o.key == NODE) else {
        return Ok(None);
    };
    if set.len() > 1 {
        return Err(Error::invalid_option(
            "SET node moves the tenant to another node and cannot be combined with other \
             settings: use two ALTER TENANT statements",
        )
        .with_span(opt.span));
    }
    let node = opt.value.as_str().ok_or_else(|| {
        Error::type_error(format!("node must be a string, got {}", opt.value)).with_span(opt.span)
    })?;
    names::validate(NODE, node).map_err(|e| e.with_span(opt.span))?;
    Ok(Some(node))
}

/// The error of a move on an engine that is not a cluster node (embedded,
/// the CLI, `pql serve` without `--node-id`): nothing changes.
pub(crate) fn single_node() -> Error {
    Error::new(
        ErrorKind::Unsupported,
        "SET node applies only in cluster mode (pql serve --node-id): this engine is a single \
         node, so the tenant stays where it is",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::parse;

    fn moved(text: &str) -> Result<Option<String>> {
        let script = parse(text)?;
        moved_to(&script.statements[0].statement).map(|n| n.map(str::to_string))
    }

    #[test]
    fn a_move_names_one_valid_node_and_nothing_else() {
        assert_eq!(
            moved("ALTER TENANT t SET node = 'n2';").unwrap(),
            Some("n2".to_string())
        );
        assert_eq!(
            moved("ALTER TENANT t SET NODE = 'n-2_b';").unwrap(),
            Some("n-2_b".to_string())
        );
        assert_eq!(moved("ALTER TENANT t SET max_qps = 3;").unwrap(), None);
        assert_eq!(moved("DESCRIBE TENANT t;").unwrap(), None);

        let combined = moved("ALTER TENANT t SET max_qps = 3, node = 'n2';").unwrap_err();
        assert_eq!(combined.kind(), &ErrorKind::InvalidOption);
        assert!(
            combined.message().contains("two ALTER TENANT"),
            "{combined}"
        );
        for bad in ["'../n2'", "'a b'", "''", "'n/2'"] {
            let err = moved(&format!("ALTER TENANT t SET node = {bad};")).unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::InvalidName, "{bad}: {err}");
        }
        let long = format!("ALTER TENANT t SET node = '{}';", "n".repeat(65));
        assert_eq!(moved(&long).unwrap_err().kind(), &ErrorKind::InvalidName);
        for wrong in ["2", "null", "['n2']"] {
            let err = moved(&format!("ALTER TENANT t SET node = {wrong};")).unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::TypeError, "{wrong}: {err}");
        }
    }

    #[test]
    fn a_single_node_refuses_a_move_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let engine = crate::Engine::open(dir.path()).unwrap();
        engine
            .execute("CREATE TENANT t WITH (max_qps: 5);")
            .unwrap();
        let describe = || {
            engine.execute("DESCRIBE TENANT t;").unwrap()[0]
                .rows
                .clone()
        };
        let before = describe();
        for (text, kind) in [
            ("ALTER TENANT t SET node = 'n2';", ErrorKind::Unsupported),
            (
                "ALTER TENANT t SET node = 'n2', max_qps = 7;",
                ErrorKind::InvalidOption,
            ),
            ("ALTER TENANT t SET node = '../n2';", ErrorKind::InvalidName),
        ] {
            let err = engine.execute(text).unwrap_err();
            assert_eq!(err.kind(), &kind, "{text}: {err}");
        }
        let err = engine
            .execute("ALTER TENANT t SET node = 'n2';")
            .unwrap_err();
        assert!(err.message().contains("only in cluster mode"), "{err}");
        assert_eq!(describe(), before);
    }
}
