//! The API description, generated from the handlers and types themselves; the committed
//! `openapi.yaml` is this document (a test fails when they differ).

mod yaml;

use axum::handler::Handler;
use axum::routing::MethodFilter;
use serde_json::json;
use utoipa::OpenApi;
use utoipa::openapi::path::Paths;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yaml_serde::{Mapping, Value};

use super::middleware::Layers;
use super::problem::Problem;
use super::routes::decisions::{BatchResult, BatchView, CompactBatchResult, CompactBatchView};
use super::routes::{decisions, ops, rules};
use super::state::AppState;
use crate::render::{CompactDecisionView, View};
use crate::request::FieldError;
use crate::rules::Rules;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "aftersales",
        description = "Decides what a shop's support team does with an after-sales (refund) request during a logistics disruption, and by when. Rules: the Kuaishou shop notice for the 2023 Hangzhou Asian Games and Asian Para Games, or a rules file.\n\nEvery time in a response is RFC 3339 with the rules' offset (`+08:00`). Every error is `application/problem+json` (RFC 9457); invalid input lists each problem with a JSON pointer.",
        license(name = "MIT", identifier = "MIT"),
    ),
    components(schemas(Problem, FieldError, CompactDecisionView, CompactBatchView)),
    tags(
        (name = "decisions", description = "Decide after-sales cases."),
        (name = "rules", description = "What the service decides with."),
        (name = "operations", description = "For the platform: probes, metrics, this description."),
    ),
)]
struct ApiDoc;

/// `routes!($handler)`, the handler put behind `$layers` (an `Option` of the layers for
/// a route, by its path, and the state: none for the document alone) on the methods its
/// `#[utoipa::path]` declares.
///
/// The layers are put around the handler once, as a service: `Handler::layer` put them
/// around it anew for every request (each layer made, the service built, a future of its
/// own around the whole).
macro_rules! behind {
    ($layers:expr, $handler:path) => {{
        let (schemas, paths, router) = routes!($handler);
        let router = match ($layers, declared_methods(&paths)) {
            (Some((layers, state)), Some(methods)) => axum::routing::on_service(
                methods,
                tower::Layer::layer(&layers(route_of(&paths)), $handler.with_state(state)),
            ),
            // None declared (there is one at least): no method served, none unguarded.
            (Some(_), None) => axum::routing::MethodRouter::new(),
            (None, _) => router,
        };
        (schemas, paths, router)
    }};
}

/// The path a handler's `paths` are routed at, as `OpenApiRouter::routes` routes them.
fn route_of(paths: &Paths) -> &str {
    match paths.paths.keys().next().map(String::as_str) {
        None | Some("") => "/",
        Some(path) => path,
    }
}

/// The methods `paths` (one handler's) declare.
fn declared_methods(paths: &Paths) -> Option<MethodFilter> {
    let declared = paths.paths.values().flat_map(|item| {
        [
            (&item.get, MethodFilter::GET),
            (&item.put, MethodFilter::PUT),
            (&item.post, MethodFilter::POST),
            (&item.delete, MethodFilter::DELETE),
            (&item.options, MethodFilter::OPTIONS),
            (&item.head, MethodFilter::HEAD),
            (&item.patch, MethodFilter::PATCH),
            (&item.trace, MethodFilter::TRACE),
        ]
    });
    declared
        .filter_map(|(operation, method)| operation.as_ref().map(|_| method))
        .reduce(MethodFilter::or)
}

/// The `/v1` routes with their OpenAPI paths, each handler behind `layers` (the app's;
/// none for the document alone).
pub fn api_router(layers: Option<&Layers>) -> OpenApiRouter<AppState> {
    let layers = || layers.map(|l| (|route: &str| l.api(route), l.state()));
    OpenApiRouter::new()
        .routes(behind!(layers(), decisions::create_decision))
        .routes(behind!(layers(), decisions::create_batch))
        .routes(behind!(layers(), rules::get_rules))
        .routes(behind!(layers(), rules::resolve_zone))
}

/// The operations routes (probes, metrics, this document), each handler behind `layers`
/// (the app's; none for the document alone).
pub fn ops_router(layers: Option<&Layers>) -> OpenApiRouter<AppState> {
    let layers = || layers.map(|l| (|route: &str| l.every(route), l.state()));
    OpenApiRouter::new()
        .routes(behind!(layers(), ops::healthz))
        .routes(behind!(layers(), ops::readyz))
        .routes(behind!(layers(), ops::metrics))
        .routes(behind!(layers(), ops::openapi_yaml))
}

/// The whole document as YAML.
pub fn yaml() -> String {
    let (_, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api_router(None))
        .merge(ops_router(None))
        .split_for_parts();
    let doc = yaml_serde::to_value(&api).unwrap_or(Value::Null);
    yaml::to_string(&complete(doc))
}

/// A `json!` value as a node of the document.
fn node(v: serde_json::Value) -> Value {
    yaml_serde::to_value(v).unwrap_or(Value::Null)
}

/// A mapping whose keys keep the given order (`json!` sorts them).
fn ordered<const N: usize>(pairs: [(&str, serde_json::Value); N]) -> Value {
    Value::Mapping(
        pairs
            .into_iter()
            .map(|(k, v)| (Value::String(k.to_owned()), node(v)))
            .collect(),
    )
}

/// A problem response; `header` names the header it carries besides `X-Request-Id`
/// (`Retry-After`), declared in `components.headers`. (A 405, with its `Allow`, answers a
/// method no operation lists, so no operation can declare it, and an unused component
/// fails the lint: the README says what it carries.)
fn problem_response(description: &str, header: Option<&str>) -> Value {
    let mut headers = json!({"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}});
    if let Some(name) = header {
        headers[name] = json!({"$ref": format!("#/components/headers/{name}")});
    }
    let content =
        json!({"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}});
    ordered([
        ("description", json!(description)),
        ("headers", headers),
        ("content", content),
    ])
}

/// The response headers the document declares, by name.
fn response_headers() -> Value {
    let header = |description: &str, required: bool, schema: serde_json::Value| {
        ordered([
            ("description", json!(description)),
            ("required", json!(required)),
            ("schema", schema),
        ])
    };
    Value::Mapping(Mapping::from_iter([
        (
            Value::String("X-Request-Id".into()),
            header(
                "The request's id, on every response: the caller's `X-Request-Id` when it is 1 to 128 visible ASCII characters, else one made (a UUIDv7). The service log and the decision log carry it.",
                true,
                json!({"type": "string", "minLength": 1, "maxLength": 128}),
            ),
        ),
        (
            Value::String("Retry-After".into()),
            header(
                "Seconds to wait before trying again.",
                true,
                json!({"type": "integer", "minimum": 0}),
            ),
        ),
        (
            Value::String("WWW-Authenticate".into()),
            header(
                "The challenge: `Bearer realm=\"aftersales\"`.",
                true,
                json!({"type": "string"}),
            ),
        ),
    ]))
}

/// The paths every client may call without a token, whatever the server's configuration.
const OPEN_PATHS: [&str; 4] = ["/healthz", "/readyz", "/metrics", "/openapi.yaml"];

/// Adds what the derive cannot say: the request schemas (kept beside the parser), the
/// error responses every operation shares, the optional bearer auth, the servers, and
/// examples that are what the embedded rules really answer. Then orders the document as
/// people read it.
fn complete(mut doc: Value) -> Value {
    doc["openapi"] = node(json!("3.1.0"));
    if let Some(schemas) = doc["components"]["schemas"].as_mapping_mut() {
        for extra in [
            crate::request::json_schemas(),
            crate::kuaishou::json_schemas(),
        ] {
            if let Value::Mapping(extra) = node(extra) {
                schemas.extend(extra);
            }
        }
    }
    let rules = Rules::embedded().ok();
    if let Some(rules) = &rules {
        add_examples(&mut doc, rules);
        doc["components"]["schemas"]["Language"] = language_schema(rules);
    }
    let responses = [
        (
            "BadRequest",
            "The body is not valid JSON (or repeats a key), or the query string names a parameter the operation does not take (`?veiw=`: no guess is made) or gives one twice with different values: `errors` points at each (`/veiw`), with the parameter probably meant.",
            None,
        ),
        (
            "Unauthorized",
            "API tokens are configured and the request has no valid `Authorization: Bearer` token.",
            Some("WWW-Authenticate"),
        ),
        (
            "NotAcceptable",
            "`Accept` admits none of the types the operation answers in (`application/json`; `text/plain` too for `POST /v1/decisions`): `*/*`, `application/*` or no `Accept` always do.",
            None,
        ),
        (
            "TooLarge",
            "The body is larger than the limit (default 1 MiB).",
            None,
        ),
        (
            "UnsupportedMediaType",
            "The body is not sent as `application/json`, or is said to be in another charset than UTF-8 (JSON is UTF-8).",
            None,
        ),
        (
            "Invalid",
            "Well-formed but invalid: `errors` lists every problem with its JSON pointer.",
            None,
        ),
        (
            "RequestTimeout",
            "The body did not arrive in full within the body-read timeout (default 10 s).",
            None,
        ),
        (
            "Unavailable",
            "Overloaded, timed out, draining, or the decision log cannot be written: try again after `Retry-After` seconds.",
            Some("Retry-After"),
        ),
        (
            "Internal",
            "An unexpected failure; nothing internal is revealed. Never expected.",
            None,
        ),
    ];
    doc["components"]["responses"] = Value::Mapping(
        responses
            .into_iter()
            .map(|(name, text, header)| {
                (Value::String(name.into()), problem_response(text, header))
            })
            .collect(),
    );
    doc["components"]["headers"] = response_headers();
    doc["components"]["securitySchemes"] = ordered([("bearer", json!(null))]);
    doc["components"]["securitySchemes"]["bearer"] = ordered([
        ("type", json!("http")),
        ("scheme", json!("bearer")),
        (
            "description",
            json!(
                "One of the service's API tokens. The server asks for it only when it is started with tokens (`--api-tokens`, `--api-tokens-file`); without them every request is served without one, and a token sent anyway is ignored."
            ),
        ),
    ]);
    if let Some(schemas) = doc["components"]["schemas"].as_mapping_mut() {
        for schema in schemas.values_mut() {
            order_enum_descriptions(schema);
        }
    }
    tidy(&mut doc);
    // Schemas from the derive, the request side and here, in one alphabetical list.
    if let Some(schemas) = doc["components"]["schemas"].as_mapping_mut() {
        sort_by_key(schemas);
    }
    if let Some(paths) = doc["paths"].as_mapping_mut() {
        for (path, item) in paths.iter_mut() {
            let path = path.as_str().unwrap_or_default();
            let Some(item) = item.as_mapping_mut() else {
                continue;
            };
            for (method, op) in item.iter_mut() {
                complete_operation(path, method.as_str().unwrap_or_default(), op);
            }
        }
    }
    let servers = Value::Sequence(vec![ordered([
        ("url", json!("/")),
        (
            "description",
            json!(
                "The service itself: this document is served at `GET /openapi.yaml`, so the paths are relative to where it came from (`http://localhost:8080` for a local `cargo run`)."
            ),
        ),
    ])]);
    // A token is optional for the document as a whole (`{}`): the operations never
    // require one by themselves, so generated clients work with or without it.
    let security = node(json!([{}, {"bearer": []}]));
    let mut ordered = Mapping::new();
    let mut take = |key: &str, default: Option<Value>| {
        let v = doc.as_mapping_mut().and_then(|m| m.remove(key)).or(default);
        if let Some(v) = v {
            ordered.insert(Value::String(key.to_owned()), v);
        }
    };
    for key in ["openapi", "info"] {
        take(key, None);
    }
    take("servers", Some(servers));
    take("security", Some(security));
    for key in ["tags", "paths", "components"] {
        take(key, None);
    }
    // Anything utoipa adds later still comes out, after what people read first.
    if let Value::Mapping(rest) = doc {
        ordered.extend(rest);
    }
    Value::Mapping(ordered)
}

fn complete_operation(path: &str, method: &str, op: &mut Value) {
    let add = |op: &mut Value, status: &str, name: &str| {
        op["responses"][status] = node(json!({"$ref": format!("#/components/responses/{name}")}));
    };
    if method == "post" {
        add(op, "400", "BadRequest");
        add(op, "408", "RequestTimeout");
        add(op, "413", "TooLarge");
        add(op, "415", "UnsupportedMediaType");
        add(op, "422", "Invalid");
    }
    if path == "/v1/zones/resolve" {
        add(op, "400", "BadRequest");
        add(op, "422", "Invalid");
        // The same grammar as request times, or epoch milliseconds as digits: from 10^11
        // (a smaller number is epoch seconds, refused), leading zeros allowed.
        let pattern = format!("^0*[1-9][0-9]{{11,13}}$|{}", crate::time::TIME_PATTERN);
        for param in params(op) {
            if param["name"].as_str() == Some("at") {
                param["schema"]["pattern"] = node(json!(pattern));
            }
        }
    }
    if path.starts_with("/v1/") {
        // Every /v1 operation refuses a query parameter it does not take.
        add(op, "400", "BadRequest");
        add(op, "401", "Unauthorized");
        add(op, "406", "NotAcceptable");
        // Every /v1 operation refuses a `?lang=` the rules do not have.
        add(op, "422", "Invalid");
        add(op, "503", "Unavailable");
    }
    for param in params(op) {
        if param["name"].as_str() == Some("lang") && param["in"].as_str() == Some("query") {
            param["description"] = node(json!(
                "The language of the texts, exactly as the rules name it; wins over `Accept-Language`. Any other value is refused (422), two different ones too (400): never replaced by the default."
            ));
            param["schema"] = node(json!({"$ref": "#/components/schemas/Language"}));
        }
    }
    for param in params(op) {
        if param["name"].as_str() == Some("pretty") && param["in"].as_str() == Some("query") {
            // The values `pretty` takes (extract::PRETTY_VALUES): any other is a 422.
            param["schema"] =
                node(json!({"type": "string", "enum": crate::http::extract::PRETTY_VALUES}));
        }
    }
    for param in params(op) {
        if param["name"].as_str() == Some("view") && param["in"].as_str() == Some("query") {
            param["schema"] =
                node(json!({"type": "string", "enum": ["full", "compact"], "default": "full"}));
        }
    }
    // `?view=compact` answers the compact schema; the answer's `view` says which came
    // back, so generated clients narrow on it.
    if method == "post" && path.starts_with("/v1/decisions") {
        let (full, compact) = if path.ends_with("/batch") {
            ("BatchView", "CompactBatchView")
        } else {
            ("DecisionView", "CompactDecisionView")
        };
        let full = format!("#/components/schemas/{full}");
        let compact = format!("#/components/schemas/{compact}");
        op["responses"]["200"]["content"]["application/json"]["schema"] = node(json!({
            "oneOf": [{"$ref": full}, {"$ref": compact}],
            "discriminator": {"propertyName": "view", "mapping": {"full": full, "compact": compact}},
        }));
    }
    if OPEN_PATHS.contains(&path) {
        op["security"] = node(json!([]));
    }
    if path == "/readyz" {
        add(op, "503", "Unavailable");
    }
    add(op, "500", "Internal");
    if method == "post" {
        op["requestBody"]["content"]["application/json"]["schema"] = node(
            if path.ends_with("/batch") {
                json!({"$ref": "#/components/schemas/BatchRequest"})
            } else {
                json!({"oneOf": [{"$ref": "#/components/schemas/DecisionRequest"}, {"$ref": "#/components/schemas/KuaishouRefundRequest"}]})
            },
        );
        op["requestBody"]["required"] = node(json!(true));
    }
    if let Some(responses) = op["responses"].as_mapping_mut() {
        sort_by_key(responses);
        // Every answer carries its request's id (the shared ones declare it themselves).
        for response in responses.values_mut() {
            if response.get("$ref").is_none() {
                response["headers"]["X-Request-Id"] =
                    node(json!({"$ref": "#/components/headers/X-Request-Id"}));
            }
        }
    }
    // A header or query parameter is absent or a string; it is never JSON null.
    for param in params(op) {
        let Some(schema) = param.get_mut("schema") else {
            continue;
        };
        if let Some(types) = schema.get_mut("type").and_then(Value::as_sequence_mut) {
            types.retain(|t| t.as_str() != Some("null"));
            if let [one] = types.as_slice() {
                schema["type"] = one.clone();
            }
        }
    }
}

fn sort_by_key(m: &mut Mapping) {
    let mut entries: Vec<(Value, Value)> = std::mem::take(m).into_iter().collect();
    entries.sort_by(|a, b| a.0.as_str().cmp(&b.0.as_str()));
    *m = entries.into_iter().collect();
}

/// An operation's parameters (indexing would add an empty list to those without).
fn params(op: &mut Value) -> impl Iterator<Item = &mut Value> {
    op.get_mut("parameters")
        .and_then(Value::as_sequence_mut)
        .into_iter()
        .flatten()
}

/// Descriptions as Markdown paragraphs (doc comments come with their line breaks), and
/// each nullable property's description beside it rather than inside its `oneOf`.
fn tidy(v: &mut Value) {
    match v {
        Value::Mapping(m) => {
            if let Some(Value::String(text)) = m.get_mut("description") {
                *text = unwrap_lines(text);
            }
            for (key, value) in m.iter_mut() {
                // Examples are data, not prose: they stay exactly as written.
                if !matches!(key.as_str(), Some("examples" | "example")) {
                    tidy(value);
                }
            }
            if m.get("description").is_none()
                && let Some(Value::Sequence(members)) = m.get_mut("oneOf")
            {
                let hoisted = members
                    .iter_mut()
                    .filter(|s| s.get("$ref").is_some())
                    .find_map(|s| s.as_mapping_mut()?.remove("description"));
                if let Some(d) = hoisted {
                    m.insert(Value::String("description".into()), d);
                }
            }
        }
        Value::Sequence(s) => s.iter_mut().for_each(tidy),
        _ => {}
    }
}

/// Joins the lines of each paragraph and list item; keeps blank lines and list starts.
fn unwrap_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev_blank = true;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            out.push_str("\n\n");
            prev_blank = true;
            continue;
        }
        if !prev_blank {
            out.push(if line.starts_with("- ") { '\n' } else { ' ' });
        }
        out.push_str(line);
        prev_blank = false;
    }
    // `lines` drops a trailing break; paragraphs in a row collapse to one blank line.
    while out.contains("\n\n\n") {
        out = out.replace("\n\n\n", "\n\n");
    }
    out.trim_end().to_owned()
}

/// `x-enumDescriptions` in the order of `enum` (a JSON map comes out sorted).
fn order_enum_descriptions(schema: &mut Value) {
    let (Some(values), Some(texts)) = (
        schema["enum"].as_sequence().cloned(),
        schema["x-enumDescriptions"].as_mapping().cloned(),
    ) else {
        return;
    };
    schema["x-enumDescriptions"] = Value::Mapping(
        values
            .into_iter()
            .filter_map(|v| texts.get(&v).map(|t| (v.clone(), t.clone())))
            .collect(),
    );
}

/// The languages of the embedded rules (a rules file may name others: `GET /v1/rules`
/// lists those in force).
fn language_schema(rules: &Rules) -> Value {
    let name = |tag: &str| match tag {
        "zh-CN" => "Simplified Chinese.".to_owned(),
        "en" => "English.".to_owned(),
        other => format!("The rules' texts in {other}."),
    };
    let schema = crate::codes::enum_schema(
        "A language of the rules' texts, as the rules name it; the first is the default. These are the embedded rules' languages; with a rules file, `GET /v1/rules` lists its own.",
        rules.languages.iter().map(|l| (l.as_str(), name(l))),
    );
    yaml_serde::to_value(schema).unwrap_or(Value::Null)
}

/// A decision id for the examples (the server makes a new UUIDv7 for every decision).
const EXAMPLE_ID: &str = "0192f1c4-7a1e-7cc0-a6f5-3e1f5b2c9d10";

/// The examples of `DecisionView`, `BatchView`, their compact forms and `Problem`: what
/// the embedded rules
/// answer to `examples/stalled.json` and to a request without `requested_at`, so they
/// can never disagree with the server.
fn add_examples(doc: &mut Value, rules: &Rules) {
    let good = include_bytes!("../../examples/stalled.json");
    let bad = br#"{"case_id": "AS-1008", "refund_type": "refund_only", "order": {"order_id": "KS-1008"}, "destination": {"adcode": "330106"}}"#;
    let now = chrono::DateTime::UNIX_EPOCH;
    let lang = crate::rules::Lang::default();
    let Ok(decided) = crate::decide_json(rules, good, now, lang, EXAMPLE_ID.into()) else {
        return;
    };
    let Err(refused) = crate::decide_json(rules, bad, now, lang, EXAMPLE_ID.into()) else {
        return;
    };
    let errors = refused.errors;
    let in_batch = errors
        .iter()
        .map(|e| FieldError {
            pointer: format!("/items/1{}", e.pointer),
            message: e.message.clone(),
        })
        .collect();
    let batch = BatchView {
        batch_id: "0192f1c4-7a1e-7cc0-a6f5-3e1f5b2c9d0f".into(),
        succeeded: 1,
        failed: 1,
        view: View::Full,
        results: vec![
            BatchResult {
                status: 200,
                decision: Some(decided.view.clone()),
                problem: None,
            },
            BatchResult {
                status: 422,
                decision: None,
                problem: Some(Problem::invalid(in_batch)),
            },
        ],
    };
    let compact = CompactDecisionView::from(&decided.view);
    let compact_batch = CompactBatchView {
        batch_id: batch.batch_id.clone(),
        succeeded: 1,
        failed: 1,
        view: View::Compact,
        results: vec![
            CompactBatchResult {
                status: 200,
                decision: Some(compact.clone()),
                problem: None,
            },
            CompactBatchResult {
                status: 422,
                decision: None,
                problem: batch.results.get(1).and_then(|r| r.problem.clone()),
            },
        ],
    };
    let schemas = &mut doc["components"]["schemas"];
    // Each view's `view` is its one value: the discriminator of the 200 answers.
    for (name, value) in [
        ("DecisionView", View::Full),
        ("BatchView", View::Full),
        ("CompactDecisionView", View::Compact),
        ("CompactBatchView", View::Compact),
    ] {
        if let Some(property) = schemas
            .get_mut(name)
            .and_then(|s| s.get_mut("properties"))
            .and_then(|p| p.get_mut("view"))
        {
            let description = property.get("description").cloned();
            *property = node(json!({"type": "string", "enum": [value.as_str()]}));
            if let Some(description) = description {
                property["description"] = description;
            }
        }
    }
    if let Some(schemas) = schemas.as_mapping_mut() {
        schemas.remove("View");
    }
    // Serialized straight to YAML, so fields keep their declaration order.
    for (name, example) in [
        ("DecisionView", yaml_serde::to_value(&decided.view)),
        ("BatchView", yaml_serde::to_value(&batch)),
        ("CompactDecisionView", yaml_serde::to_value(&compact)),
        ("CompactBatchView", yaml_serde::to_value(&compact_batch)),
        ("Problem", yaml_serde::to_value(Problem::invalid(errors))),
    ] {
        if let (Ok(example), Some(schema)) = (example, schemas.get_mut(name)) {
            schema["examples"] = Value::Sequence(vec![example]);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value as Json;

    use super::*;

    fn doc() -> Json {
        yaml_serde::from_str(&yaml()).unwrap_or_else(|e| panic!("the document is not YAML: {e}"))
    }

    /// The component names the request side (request.rs, kuaishou.rs) writes.
    fn request_side() -> Vec<String> {
        [
            crate::request::json_schemas(),
            crate::kuaishou::json_schemas(),
        ]
        .iter()
        .filter_map(Json::as_object)
        .flat_map(|m| m.keys().cloned())
        .collect()
    }

    fn schemas(doc: &Json) -> Vec<(String, Json)> {
        doc["components"]["schemas"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    #[test]
    fn the_document_reads_in_order_with_a_server_and_optional_auth() {
        let doc = doc();
        let keys: Vec<&str> = doc
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let text = yaml();
        let at = |k: &str| text.find(&format!("\n{k}:")).unwrap_or(0);
        assert!(text.starts_with("openapi: "), "{keys:?}");
        assert!(
            at("info") < at("servers")
                && at("servers") < at("paths")
                && at("paths") < at("components"),
            "top-level order: {keys:?}"
        );
        assert_eq!(doc["servers"][0]["url"], "/");
        assert_eq!(doc["security"], serde_json::json!([{}, {"bearer": []}]));
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                let security = op.get("security");
                if OPEN_PATHS.contains(&path.as_str()) {
                    assert_eq!(security, Some(&serde_json::json!([])), "{method} {path}");
                } else {
                    // Per-operation security would make generated clients insist on a
                    // token; the document's optional one applies instead.
                    assert_eq!(security, None, "{method} {path}");
                    let statuses: Vec<&String> = op["responses"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(s, _)| s)
                        .collect();
                    assert!(
                        statuses.iter().any(|s| s.starts_with('4')),
                        "{method} {path} documents no 4xx: {statuses:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_schema_and_property_of_the_responses_is_described() {
        let doc = doc();
        let request_side = request_side();
        let mut missing = Vec::new();
        for (name, schema) in schemas(&doc) {
            if request_side.contains(&name) {
                continue;
            }
            if schema["description"].as_str().is_none_or(str::is_empty) {
                missing.push(name.clone());
            }
            for (prop, s) in schema["properties"].as_object().into_iter().flatten() {
                if s["description"].as_str().is_none_or(str::is_empty) {
                    missing.push(format!("{name}.{prop}"));
                }
            }
        }
        assert!(missing.is_empty(), "undescribed: {missing:?}");
    }

    /// Walks a schema and every schema inside it, with the keyword path that led there.
    fn walk<'a>(
        schema: &'a Json,
        path: &mut Vec<String>,
        visit: &mut dyn FnMut(&'a Json, &[String]),
    ) {
        visit(schema, path);
        let Some(m) = schema.as_object() else {
            return;
        };
        for (key, value) in m {
            let children: Vec<(String, &Json)> = match key.as_str() {
                "properties" => value
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (format!("properties/{k}"), v))
                    .collect(),
                "anyOf" | "oneOf" | "allOf" => value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .map(|(i, v)| (format!("{key}/{i}"), v))
                    .collect(),
                "items" | "not" | "if" | "then" | "else" | "additionalProperties" => {
                    vec![(key.clone(), value)]
                }
                _ => vec![],
            };
            for (step, child) in children {
                path.push(step);
                walk(child, path, visit);
                path.pop();
            }
        }
    }

    #[test]
    fn the_request_schemas_are_typed_and_described_for_client_generators() {
        let doc = doc();
        let request_side = request_side();
        let mut problems = Vec::new();
        for (name, schema) in schemas(&doc) {
            let ours = request_side.contains(&name);
            walk(&schema, &mut Vec::new(), &mut |s, path| {
                let at = format!("{name}/{}", path.join("/"));
                // Inside `not`, `if` and `then` a schema only constrains; it types nothing.
                let constraint = path.iter().any(|p| p == "not" || p == "if" || p == "then");
                let Some(m) = s.as_object() else {
                    // `additionalProperties: false` (or `true` on a mirror) is a plain
                    // switch every generator reads; elsewhere a boolean schema is refused.
                    let switch = path.last().is_some_and(|p| p == "additionalProperties");
                    if !switch && (s.as_bool() == Some(true) || !constraint) {
                        problems.push(format!("{at}: a boolean schema"));
                    }
                    return;
                };
                if m.contains_key("enum") && !m.contains_key("type") {
                    problems.push(format!("{at}: an enum without a type"));
                }
                let typed = ["type", "$ref", "anyOf", "oneOf", "allOf", "const"]
                    .iter()
                    .any(|k| m.contains_key(*k));
                let in_combinator = path
                    .last()
                    .is_some_and(|p| p.starts_with("anyOf/") || p.starts_with("oneOf/"))
                    || path.last().is_some_and(|p| p == "not");
                if let Some(required) = m.get("required").and_then(Json::as_array) {
                    for key in required.iter().filter_map(Json::as_str) {
                        if m.get("properties").and_then(|p| p.get(key)).is_none() {
                            problems.push(format!(
                                "{at}: `{key}` is required with no property beside it"
                            ));
                        }
                    }
                }
                if constraint || in_combinator && m.contains_key("required") {
                    return;
                }
                if !typed && path.last().is_none_or(|p| p != "additionalProperties") {
                    problems.push(format!("{at}: no type"));
                }
                let described = m
                    .get("description")
                    .and_then(Json::as_str)
                    .is_some_and(|d| !d.is_empty());
                let is_property = path.last().is_some_and(|p| p.starts_with("properties/"));
                if ours && (path.is_empty() || is_property) && !described {
                    problems.push(format!("{at}: no description"));
                }
            });
        }
        assert!(problems.is_empty(), "{problems:#?}");
        let text = Json::Object(
            schemas(&doc)
                .into_iter()
                .filter(|(name, _)| request_side.contains(name))
                .collect(),
        )
        .to_string();
        let internal =
            regex::Regex::new(r"[a-z_]+::[A-Za-z_]|policy\.md|\.rs\b|\.csv\b|TIME_PATTERN")
                .unwrap_or_else(|e| panic!("{e}"));
        assert!(!internal.is_match(&text), "{:?}", internal.find(&text));
    }

    #[test]
    fn every_value_of_every_code_says_what_it_means() {
        let doc = doc();
        let request_side = request_side();
        let mut checked = 0;
        for (name, schema) in schemas(&doc) {
            let Some(values) = schema["enum"].as_array() else {
                continue;
            };
            if request_side.contains(&name) {
                continue;
            }
            let description = schema["description"].as_str().unwrap_or_default();
            for v in values {
                let v = v.as_str().unwrap_or_default();
                let meaning = schema["x-enumDescriptions"][v].as_str().unwrap_or_default();
                assert!(!meaning.is_empty(), "{name}: `{v}` has no description");
                assert!(
                    description.contains(&format!("- `{v}`: {meaning}")),
                    "{name}: the description does not list `{v}`"
                );
            }
            checked += 1;
        }
        assert!(checked >= 14, "only {checked} enums");
    }

    #[test]
    fn closed_sets_are_enums_and_every_time_is_a_date_time() {
        let doc = doc();
        let s = &doc["components"]["schemas"];
        for (schema, prop, code) in [
            ("AreaView", "level", "AreaLevel"),
            ("ReloadStatus", "result", "ReloadResult"),
            ("Health", "status", "HealthStatus"),
            ("RulesView", "source", "RulesSource"),
            ("NoticeView", "scope", "NoticeScope"),
            ("RulesWarningView", "code", "RulesWarningCode"),
            ("DecisionView", "scenario", "Scenario"),
            ("DeadlineView", "kind", "DeadlineKind"),
        ] {
            assert_eq!(
                s[schema]["properties"][prop]["$ref"],
                format!("#/components/schemas/{code}"),
                "{schema}.{prop}"
            );
        }
        let lang = &doc["paths"]["/v1/rules"]["get"]["parameters"];
        assert!(
            lang.as_array()
                .into_iter()
                .flatten()
                .any(|p| p["name"] == "lang"
                    && p["schema"]["$ref"] == "#/components/schemas/Language"),
            "{lang}"
        );
        let request_side = request_side();
        let mut times = 0;
        for (name, schema) in schemas(&doc) {
            if request_side.contains(&name) {
                continue;
            }
            for (prop, p) in schema["properties"].as_object().into_iter().flatten() {
                let is_time = prop.ends_with("_at")
                    || prop.ends_with("_from")
                    || prop.ends_with("_until")
                    || ["as_of", "at", "from", "until", "serving_since"].contains(&prop.as_str());
                if is_time {
                    assert_eq!(p["format"], "date-time", "{name}.{prop}");
                    times += 1;
                }
            }
        }
        assert!(times >= 12, "only {times} times");
    }

    #[test]
    fn the_examples_are_what_the_embedded_rules_answer() {
        let doc = doc();
        let s = &doc["components"]["schemas"];
        let decision = &s["DecisionView"]["examples"][0];
        assert_eq!(decision["scenario"], "stalled");
        assert_eq!(
            decision["deadlines"][0]["due_at"],
            "2023-10-15T14:00:00+08:00"
        );
        assert_eq!(
            s["BatchView"]["examples"][0]["results"][0]["decision"],
            *decision
        );
        let problem = &s["Problem"]["examples"][0];
        assert_eq!(problem["status"], 422);
        assert_eq!(problem["errors"][0]["pointer"], "/requested_at");
        assert_eq!(
            s["BatchView"]["examples"][0]["results"][1]["problem"]["errors"][0]["pointer"],
            "/items/1/requested_at"
        );
    }

    #[test]
    fn no_internal_names_and_no_bare_timestamps() {
        let doc = doc();
        let request_side = request_side();
        let mut ours = doc.clone();
        if let Some(m) = ours["components"]["schemas"].as_object_mut() {
            m.retain(|k, _| !request_side.contains(k));
        }
        let text = ours.to_string();
        let internal = regex::Regex::new(r"[a-z_]+::[A-Za-z_]|policy\.md|\.rs\b|TIME_PATTERN")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!internal.is_match(&text), "{:?}", internal.find(&text));
        // A YAML 1.1 reader (PyYAML) would read an unquoted date as a timestamp.
        let bare = regex::Regex::new(r"^\s*(- )*([^:]+: )?[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")
            .unwrap_or_else(|e| panic!("{e}"));
        // Lines of a block scalar (`|-`) are text, whatever they start with.
        let mut block: Option<usize> = None;
        for (i, line) in yaml().lines().enumerate() {
            let indent = line.len() - line.trim_start().len();
            if block.is_some_and(|b| indent > b) {
                continue;
            }
            block = (line.ends_with('|') || line.ends_with("|-")).then_some(indent);
            assert!(!bare.is_match(line), "line {}: {line}", i + 1);
        }
        assert!(yaml().contains(r#"as_of: "2023-10-14T09:00:00+08:00""#));
    }
}
