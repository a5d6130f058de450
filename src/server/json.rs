//! JSON values of request bodies as PQL values (the JSON endpoints build
//! the AST directly; nothing is spliced into PQL text).

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::errors::ApiError;
use crate::ast::{Opt, Span};
use crate::value::Value;

/// A JSON value as a PQL value: integers that fit `i64` stay integers,
/// other numbers are floats.
pub(crate) fn to_value(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::Str(s.clone()),
        Json::Array(a) => Value::Array(a.iter().map(to_value).collect()),
        Json::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), to_value(v)))
                .collect::<BTreeMap<_, _>>(),
        ),
    }
}

/// `{"key": value, ...}` as options (`WITH (...)` / `SET ...`), keys
/// lower-cased as the parser does; a key given twice is an error.
pub(crate) fn options(map: &serde_json::Map<String, Json>) -> Result<Vec<Opt>, ApiError> {
    let mut out: Vec<Opt> = Vec::with_capacity(map.len());
    for (k, v) in map {
        let key = k.to_lowercase();
        if out.iter().any(|o| o.key == key) {
            return Err(ApiError::bad_request(format!("option {key} given twice")));
        }
        out.push(Opt {
            key,
            value: to_value(v),
            span: Span::default(),
        });
    }
    Ok(out)
}

/// The options of a PATCH body, as `ALTER ... SET` takes them: at least one.
pub(crate) fn assignments(map: &serde_json::Map<String, Json>) -> Result<Vec<Opt>, ApiError> {
    if map.is_empty() {
        return Err(ApiError::bad_request(
            "nothing to change: the body sets no option",
        ));
    }
    options(map)
}
