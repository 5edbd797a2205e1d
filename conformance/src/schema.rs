//! A small JSON Schema validator for the subset of draft 2020-12 that the protocol and report
//! schemas in `conformance/schema/` use.
//!
//! Why not the `jsonschema` crate: it is not in the offline registry cache of this project, it
//! pulls in a regex engine, URL resolution and an HTTP client feature set, and costs far more build
//! time than these ~150 lines. The subset is enforced: a schema keyword this validator does not
//! know is itself reported as an error (fail closed), and a test checks every shipped schema
//! against the list, so a schema can never silently be checked less strictly than it reads.

use serde_json::Value;
use std::sync::OnceLock;

/// Keywords this validator implements (or that are pure annotations).
pub const SUPPORTED_KEYWORDS: &[&str] = &[
    "$schema",
    "$id",
    "$defs",
    "$ref",
    "title",
    "description",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "minItems",
    "minLength",
    "minimum",
    "oneOf",
    "anyOf",
    "allOf",
];

/// The schemas shipped in `conformance/schema/`, by file name.
pub const SCHEMAS: &[(&str, &str)] = &[
    (
        "request.info.schema.json",
        include_str!("../schema/request.info.schema.json"),
    ),
    (
        "request.read.schema.json",
        include_str!("../schema/request.read.schema.json"),
    ),
    (
        "request.label.schema.json",
        include_str!("../schema/request.label.schema.json"),
    ),
    (
        "request.propagate.schema.json",
        include_str!("../schema/request.propagate.schema.json"),
    ),
    (
        "response.info.schema.json",
        include_str!("../schema/response.info.schema.json"),
    ),
    (
        "response.read.schema.json",
        include_str!("../schema/response.read.schema.json"),
    ),
    (
        "response.label.schema.json",
        include_str!("../schema/response.label.schema.json"),
    ),
    (
        "response.propagate.schema.json",
        include_str!("../schema/response.propagate.schema.json"),
    ),
    (
        "report.schema.json",
        include_str!("../schema/report.schema.json"),
    ),
];

/// A shipped schema by file name, parsed once.
pub fn schema(name: &str) -> Option<&'static Value> {
    static PARSED: OnceLock<Vec<(&'static str, Value)>> = OnceLock::new();
    let all = PARSED.get_or_init(|| {
        SCHEMAS
            .iter()
            // The shipped schemas are checked by a unit test; a broken one validates nothing.
            .map(|(n, text)| (*n, serde_json::from_str(text).unwrap_or(Value::Bool(false))))
            .collect()
    });
    all.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
}

/// Validate `instance` against `schema`; every violation as `path: message`.
pub fn validate(schema: &Value, instance: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, schema, instance, "$", &mut errors);
    errors
}

fn type_matches(name: &str, v: &Value) -> bool {
    match name {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "number" => v.is_number(),
        "integer" => v.as_i64().is_some() || v.as_u64().is_some(),
        _ => false,
    }
}

fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let name = reference.strip_prefix("#/$defs/")?;
    root.get("$defs")?.get(name)
}

fn check(root: &Value, schema: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    let obj = match schema {
        Value::Bool(true) => return,
        Value::Bool(false) => {
            errors.push(format!("{path}: not allowed here"));
            return;
        }
        Value::Object(o) => o,
        _ => {
            errors.push(format!("{path}: schema is not an object"));
            return;
        }
    };
    for key in obj.keys() {
        if !SUPPORTED_KEYWORDS.contains(&key.as_str()) {
            errors.push(format!(
                "{path}: schema keyword {key:?} is not supported by this validator"
            ));
        }
    }
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        match resolve(root, r) {
            Some(target) => check(root, target, v, path, errors),
            None => errors.push(format!("{path}: unresolvable $ref {r}")),
        }
    }
    if let Some(t) = obj.get("type") {
        let ok = match t {
            Value::String(s) => type_matches(s, v),
            Value::Array(list) => list
                .iter()
                .any(|s| s.as_str().is_some_and(|s| type_matches(s, v))),
            _ => false,
        };
        if !ok {
            errors.push(format!("{path}: expected type {t}, got {}", short(v)));
            return;
        }
    }
    if let Some(c) = obj.get("const") {
        if c != v {
            errors.push(format!("{path}: expected {c}, got {}", short(v)));
        }
    }
    if let Some(Value::Array(options)) = obj.get("enum") {
        if !options.contains(v) {
            errors.push(format!(
                "{path}: {} is not one of {}",
                short(v),
                Value::Array(options.clone())
            ));
        }
    }
    if let (Some(min), Value::String(s)) = (obj.get("minLength").and_then(Value::as_u64), v) {
        if (s.chars().count() as u64) < min {
            errors.push(format!("{path}: shorter than {min} characters"));
        }
    }
    if let (Some(min), Some(n)) = (obj.get("minimum").and_then(Value::as_f64), v.as_f64()) {
        if n < min {
            errors.push(format!("{path}: {n} is less than {min}"));
        }
    }
    if let Value::Array(items) = v {
        if let Some(min) = obj.get("minItems").and_then(Value::as_u64) {
            if (items.len() as u64) < min {
                errors.push(format!("{path}: fewer than {min} items"));
            }
        }
        if let Some(item_schema) = obj.get("items") {
            for (i, item) in items.iter().enumerate() {
                check(root, item_schema, item, &format!("{path}[{i}]"), errors);
            }
        }
    }
    if let Value::Object(map) = v {
        if let Some(Value::Array(req)) = obj.get("required") {
            for key in req.iter().filter_map(Value::as_str) {
                if !map.contains_key(key) {
                    errors.push(format!("{path}: missing required property {key:?}"));
                }
            }
        }
        let props = obj.get("properties").and_then(Value::as_object);
        for (key, value) in map {
            let child = format!("{path}.{key}");
            match props.and_then(|p| p.get(key)) {
                Some(s) => check(root, s, value, &child, errors),
                None => {
                    if let Some(extra) = obj.get("additionalProperties") {
                        check(root, extra, value, &child, errors)
                    }
                }
            }
        }
    }
    if let Some(Value::Array(all)) = obj.get("allOf") {
        for s in all {
            check(root, s, v, path, errors);
        }
    }
    if let Some(Value::Array(any)) = obj.get("anyOf") {
        if !any.iter().any(|s| validate_in(root, s, v, path).is_empty()) {
            errors.push(format!("{path}: matches none of the anyOf alternatives"));
        }
    }
    if let Some(Value::Array(one)) = obj.get("oneOf") {
        let results: Vec<Vec<String>> = one.iter().map(|s| validate_in(root, s, v, path)).collect();
        let matching = results.iter().filter(|e| e.is_empty()).count();
        if matching != 1 {
            if matching == 0 {
                // Show the errors of the closest alternative: the one with the fewest errors.
                let best = results
                    .iter()
                    .min_by_key(|e| e.len())
                    .cloned()
                    .unwrap_or_default();
                errors.push(format!(
                    "{path}: matches none of the oneOf alternatives (closest: {})",
                    best.join("; ")
                ));
            } else {
                errors.push(format!(
                    "{path}: matches {matching} oneOf alternatives, exactly one allowed"
                ));
            }
        }
    }
}

fn validate_in(root: &Value, schema: &Value, v: &Value, path: &str) -> Vec<String> {
    let mut e = Vec::new();
    check(root, schema, v, path, &mut e);
    e
}

/// A value shortened for messages (adapter output can be huge).
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        format!("{}...", s.chars().take(77).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shipped_schemas_parse_and_use_only_supported_keywords() {
        fn walk(v: &Value, name: &str) {
            if let Value::Object(o) = v {
                for (k, child) in o {
                    // Inside these the keys are property or definition names, not keywords.
                    if k == "properties" || k == "$defs" {
                        for s in child.as_object().into_iter().flat_map(|m| m.values()) {
                            walk(s, name);
                        }
                        continue;
                    }
                    assert!(SUPPORTED_KEYWORDS.contains(&k.as_str()), "{name}: {k}");
                    match child {
                        Value::Array(a) => a.iter().for_each(|s| walk(s, name)),
                        Value::Object(_) if k != "const" => walk(child, name),
                        _ => {}
                    }
                }
            }
        }
        for (name, text) in SCHEMAS {
            let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            walk(&v, name);
        }
    }

    #[test]
    fn read_response_shapes() {
        let s = schema("response.read.schema.json").unwrap();
        assert!(validate(s, &json!({"status":"ok","labels":[],"verdict":"unlabeled"})).is_empty());
        assert!(validate(s, &json!({"status":"rejected","message":"bad"})).is_empty());
        assert!(!validate(s, &json!({"status":"ok","labels":[]})).is_empty());
        assert!(!validate(s, &json!({"status":"ok","labels":[],"verdict":"maybe"})).is_empty());
        assert!(!validate(s, &json!({"status":"error"})).is_empty());
        assert!(!validate(s, &json!([1])).is_empty());
    }

    #[test]
    fn unknown_keyword_fails_closed() {
        let e = validate(&json!({"pattern": "^a"}), &json!("b"));
        assert!(e[0].contains("not supported"), "{e:?}");
    }
}
