//! The API description, generated from the handlers and types themselves; the committed
//! `openapi.yaml` is this document (a test fails when they differ).

use serde_json::{Value, json};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::problem::Problem;
use super::routes::{decisions, ops, rules};
use super::state::AppState;
use crate::request::FieldError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "aftersales",
        description = "Decides what a shop's support team does with an after-sales (refund) request during a logistics disruption, and by when. Rules: the Kuaishou shop notice for the 2023 Hangzhou Asian Games and Asian Para Games, or a rules file.",
        license(name = "MIT", identifier = "MIT"),
    ),
    components(schemas(Problem, FieldError)),
    tags(
        (name = "decisions", description = "Decide after-sales cases."),
        (name = "rules", description = "What the service decides with."),
        (name = "operations", description = "For the platform: probes, metrics, this description."),
    ),
)]
struct ApiDoc;

/// The `/v1` routes with their OpenAPI paths.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(decisions::create_decision))
        .routes(routes!(decisions::create_batch))
        .routes(routes!(rules::get_rules))
        .routes(routes!(rules::resolve_zone))
}

/// The operations routes (probes, metrics, this document).
pub fn ops_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .routes(routes!(ops::openapi_yaml))
}

/// The whole document as YAML.
pub fn yaml() -> String {
    let (_, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api_router())
        .merge(ops_router())
        .split_for_parts();
    let doc = complete(serde_json::to_value(&api).unwrap_or(Value::Null));
    yaml_serde::to_string(&doc).unwrap_or_default()
}

fn problem_response(description: &str, retry_after: bool) -> Value {
    let mut r = json!({
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    });
    if retry_after {
        r["headers"] = json!({"Retry-After": {"description": "Seconds to wait before trying again.", "required": true, "schema": {"type": "integer", "minimum": 0}}});
    }
    r
}

/// Adds what the derive cannot say: the request schemas (kept beside the parser),
/// the error responses every operation shares, and the optional bearer auth.
fn complete(mut doc: Value) -> Value {
    doc["openapi"] = json!("3.1.0");
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        for extra in [
            crate::request::json_schemas(),
            crate::kuaishou::json_schemas(),
        ] {
            if let Value::Object(extra) = extra {
                schemas.extend(extra);
            }
        }
    }
    doc["components"]["responses"] = json!({
        "BadRequest": problem_response("The body is not valid JSON, or the query string cannot be read.", false),
        "Unauthorized": problem_response("API tokens are configured and the request has no valid `Authorization: Bearer` token.", false),
        "TooLarge": problem_response("The body is larger than the limit (default 1 MiB).", false),
        "UnsupportedMediaType": problem_response("The body is not sent as `application/json`.", false),
        "Invalid": problem_response("Well-formed but invalid: `errors` lists every problem with its JSON pointer.", false),
        "RequestTimeout": problem_response("The body did not arrive in full within the body-read timeout (default 10 s).", false),
        "Unavailable": problem_response("Overloaded, timed out, draining, or the decision log cannot be written: try again after `Retry-After` seconds.", true),
        "Internal": problem_response("An unexpected failure; nothing internal is revealed. Never expected.", false),
    });
    doc["components"]["securitySchemes"] = json!({"bearer": {"type": "http", "scheme": "bearer", "description": "Only when the server is started with API tokens."}});
    let Some(paths) = doc["paths"].as_object_mut() else {
        return doc;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            let add = |op: &mut Value, status: &str, name: &str| {
                op["responses"][status] = json!({"$ref": format!("#/components/responses/{name}")});
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
                // The same grammar as request times, or epoch milliseconds as digits.
                let pattern = format!("^[0-9]{{1,14}}$|{}", crate::time::TIME_PATTERN);
                for param in op["parameters"].as_array_mut().into_iter().flatten() {
                    if param["name"] == "at" {
                        param["schema"]["pattern"] = json!(pattern);
                    }
                }
            }
            if path.starts_with("/v1/") {
                add(op, "401", "Unauthorized");
                add(op, "503", "Unavailable");
                op["security"] = json!([{}, {"bearer": []}]);
            }
            if path == "/readyz" {
                add(op, "503", "Unavailable");
            }
            add(op, "500", "Internal");
            if method == "post" {
                op["requestBody"]["content"]["application/json"]["schema"] = if path
                    .ends_with("/batch")
                {
                    json!({"$ref": "#/components/schemas/BatchRequest"})
                } else {
                    json!({"anyOf": [{"$ref": "#/components/schemas/DecisionRequest"}, {"$ref": "#/components/schemas/KuaishouRefundRequest"}]})
                };
                op["requestBody"]["required"] = json!(true);
            }
        }
    }
    doc
}
