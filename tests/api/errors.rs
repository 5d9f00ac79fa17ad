//! Every error class answers problem+json with a precise message and nothing internal.

use serde_json::{Value, json};

use crate::helpers::*;

async fn problem(r: reqwest::Response, status: u16) -> Value {
    assert_eq!(r.status().as_u16(), status);
    assert_eq!(content_type(&r), "application/problem+json");
    let p = body(r).await;
    assert_eq!(p["status"], status);
    for key in ["type", "title", "detail"] {
        assert!(
            p[key].as_str().is_some_and(|s| !s.is_empty()),
            "{key} missing: {p}"
        );
    }
    let text = p.to_string();
    for leak in [
        "src/",
        "panicked",
        "serde",
        "axum",
        "/root",
        "invalid type:",
    ] {
        assert!(!text.contains(leak), "leaks `{leak}`: {text}");
    }
    p
}

#[tokio::test]
async fn malformed_json_is_400_with_its_position() {
    let app = spawn_app().await;
    let r = app.post_raw("/v1/decisions", "{\"refund_type\": ").await;
    let p = problem(r, 400).await;
    assert!(
        p["detail"].as_str().is_some_and(|d| d.contains("line 1")),
        "{p}"
    );
}

#[tokio::test]
async fn a_wrong_or_missing_content_type_is_415() {
    let app = spawn_app().await;
    let r = app
        .client
        .post(app.url("/v1/decisions"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    problem(r, 415).await;
    let r = app
        .client
        .post(app.url("/v1/decisions"))
        .body("{}")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    problem(r, 415).await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let mut args = args();
    args.body_limit = 2048;
    let app = spawn_with(args).await;
    let big = json!({"items": vec![example("03-stalled-shangcheng.json")["request"].clone(); 10]});
    let p = problem(app.post_json("/v1/decisions/batch", &big).await, 413).await;
    assert!(
        p["detail"].as_str().is_some_and(|d| d.contains("2048")),
        "{p}"
    );
}

#[tokio::test]
async fn invalid_input_is_422_listing_every_problem_with_a_pointer() {
    let app = spawn_app().await;
    let req = json!({
        "refund_type": "refund_only",
        "requested_at": "2023-13-01 10:00:00",
        "order": {"order_id": "X"},
        "destination": {"adcode": "33010"},
        "logistics_trace": [{"at": "2023-10-01T10:00:00+08:00", "status": "teleported"}, {"status": "collected"}],
    });
    let p = problem(app.post_json("/v1/decisions", &req).await, 422).await;
    let mut pointers: Vec<String> = p["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["pointer"].as_str().unwrap_or("").to_owned())
        .collect();
    pointers.sort();
    assert_eq!(
        pointers,
        [
            "/destination/adcode",
            "/logistics_trace/0/status",
            "/logistics_trace/1/at",
            "/requested_at"
        ]
    );
    let messages = p["errors"].to_string();
    assert!(
        messages.contains("teleported") && messages.contains("in_transit"),
        "names the bad value and the good ones: {messages}"
    );
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405_as_problems() {
    let app = spawn_app().await;
    problem(app.get("/v2/decisions").await, 404).await;
    let r = app.get("/v1/decisions").await;
    assert_eq!(
        r.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("POST")
    );
    problem(r, 405).await;
    let r = app
        .client
        .delete(app.url("/healthz"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        r.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("GET,HEAD")
    );
    problem(r, 405).await;
}

#[tokio::test]
async fn every_answer_echoes_its_request_id_as_openapi_yaml_declares() {
    let app = spawn_app().await;
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    let answers = [
        app.post_json("/v1/decisions", &req).await,
        app.post_json("/v1/decisions?veiw=1", &req).await,
        app.get("/v1/rules").await,
        app.get("/healthz").await,
        app.get("/nowhere").await,
        app.get("/v1/decisions").await,
        app.client
            .get(app.url("/v1/rules"))
            .header("accept", "text/csv")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    ];
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses, [200, 400, 200, 200, 404, 405, 406]);
    for r in &answers {
        let id = r.headers().get("x-request-id").map(|v| v.len());
        assert!(id.is_some_and(|n| (1..=128).contains(&n)), "{}", r.url());
    }
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .unwrap_or_default();
    // The 405's `Allow` is in the README (no operation of the document can answer 405).
    for declared in ["  headers:\n    X-Request-Id:", "    Retry-After:"] {
        assert!(doc.contains(declared), "{declared}");
    }
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_422() {
    let app = spawn_app().await;
    for body in [json!([1, 2]), json!("text"), json!(null), json!(42)] {
        let p = problem(app.post_json("/v1/decisions", &body).await, 422).await;
        assert_eq!(p["errors"][0]["pointer"], "");
    }
}

#[tokio::test]
async fn a_panic_in_a_handler_is_a_500_problem_that_reveals_nothing() {
    use aftersales::http::middleware::app_layers;
    use tower::ServiceExt;

    let state = state_in_process();
    let boom = axum::Router::new().route(
        "/boom",
        axum::routing::get(|| async {
            let fail = true;
            if fail {
                panic!("secret internal detail at src/x.rs:1");
            }
            "unreachable"
        }),
    );
    let app = app_layers(boom).with_state(state);
    let res = app
        .oneshot(
            axum::http::Request::get("/boom")
                .body(axum::body::Body::empty())
                .unwrap_or_default(),
        )
        .await;
    let res = res.unwrap_or_else(|e| match e {});
    assert_eq!(res.status(), 500);
    assert_eq!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let bytes = http_body_util::BodyExt::collect(res.into_body())
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("secret") && !text.contains("src/"), "{text}");
}

async fn post_raw(app: &TestApp, body: String) -> reqwest::Response {
    app.post_raw("/v1/decisions", body).await
}

#[tokio::test]
async fn a_duplicated_key_is_400_with_the_pointer_of_the_duplicate() {
    let app = spawn_app().await;
    let stalled = example("03-stalled-shangcheng.json")["request"].to_string();
    for (from, to, pointer) in [
        (
            r#""refund_type":"refund_only""#,
            r#""refund_type":"bogus","refund_type":"refund_only""#,
            "/refund_type",
        ),
        (
            r#""status":"in_transit""#,
            r#""status":"in_transit","at":"2023-10-10T14:00:00+08:00""#,
            "/logistics_trace/1/at",
        ),
    ] {
        let body = stalled.replacen(from, to, 1);
        assert_ne!(body, stalled);
        let p = problem(post_raw(&app, body).await, 400).await;
        assert_eq!(p["errors"][0]["pointer"], pointer, "{p}");
        assert!(
            p["detail"].as_str().is_some_and(|d| d.contains(pointer)),
            "{p}"
        );
    }
}

#[tokio::test]
async fn an_unknown_field_is_422_naming_the_field_it_was_meant_to_be() {
    let app = spawn_app().await;
    let mut req = example("03-stalled-shangcheng.json")["request"].clone();
    let trace = req
        .as_object_mut()
        .and_then(|o| o.remove("logistics_trace"))
        .unwrap_or_default();
    req["logistics_trase"] = trace;
    let p = problem(app.post_json("/v1/decisions", &req).await, 422).await;
    assert_eq!(p["errors"][0]["pointer"], "/logistics_trase");
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("did you mean `logistics_trace`")),
        "{p}"
    );
}

#[tokio::test]
async fn trailing_characters_after_the_body_are_400() {
    let app = spawn_app().await;
    let stalled = example("03-stalled-shangcheng.json")["request"].to_string();
    let p = problem(post_raw(&app, format!("{stalled} {{}}")).await, 400).await;
    assert!(
        p["detail"].as_str().is_some_and(|d| d.contains("trailing")),
        "{p}"
    );
}

#[tokio::test]
async fn a_time_outside_the_documented_range_is_422() {
    let app = spawn_app().await;
    for as_of in [
        "9999-12-31T16:00:00Z",
        "9999-12-30T23:59:59Z",
        "9997-01-01T00:00:00Z",
        "0000-01-01T00:00:00Z",
    ] {
        let mut req = example("03-stalled-shangcheng.json")["request"].clone();
        req["as_of"] = json!(as_of);
        let p = problem(app.post_json("/v1/decisions", &req).await, 422).await;
        assert_eq!(p["errors"][0]["pointer"], "/as_of", "{p}");
    }
    let mut req = example("03-stalled-shangcheng.json")["request"].clone();
    req["as_of"] = json!("9996-12-31T23:59:59Z");
    let r = app.post_json("/v1/decisions", &req).await;
    assert_eq!(r.status(), 200);
    assert_eq!(body(r).await["as_of"], "9997-01-01T07:59:59+08:00");
}

#[tokio::test]
async fn a_bare_error_is_a_problem_even_when_its_text_was_compressed() {
    use aftersales::http::middleware::app_layers;
    use tower::ServiceExt;

    // An error status with a text body (as an extractor's rejection has), long enough
    // for the compression layer to gzip it when the caller accepts gzip.
    let text = axum::Router::new().route(
        "/text",
        axum::routing::get(|| async {
            (
                axum::http::StatusCode::BAD_REQUEST,
                "Failed to deserialize query string: a long enough explanation to compress",
            )
        }),
    );
    let app = app_layers(text).with_state(state_in_process());
    let res = app
        .oneshot(
            axum::http::Request::get("/text")
                .header("accept-encoding", "gzip")
                .body(axum::body::Body::empty())
                .unwrap_or_default(),
        )
        .await
        .unwrap_or_else(|e| match e {});
    assert_eq!(res.status(), 400);
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(
        header("content-type").as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(header("content-encoding"), None, "the problem is not gzip");
    let bytes = http_body_util::BodyExt::collect(res.into_body())
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let p: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}: {bytes:?}"));
    assert_eq!(p["status"], 400);
}

#[tokio::test]
async fn a_json_body_in_another_charset_than_utf_8_is_415_naming_it() {
    let app = spawn_app().await;
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    let one = serde_json::to_vec(&req).unwrap_or_default();
    let batch = serde_json::to_vec(&json!({"items": [req]})).unwrap_or_default();
    // 杭州 in GBK: read as UTF-8 it was "invalid unicode code point", a 400.
    let gbk = b"{\"case_id\": \"\xba\xbc\xd6\xdd\"}".to_vec();
    let send = |path: &'static str, content_type: &'static str, body: Vec<u8>| {
        app.client
            .post(app.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    for (path, content_type, body, charset) in [
        (
            "/v1/decisions",
            "application/json; charset=gbk",
            gbk.clone(),
            "`gbk`",
        ),
        (
            "/v1/decisions",
            "application/json;charset=latin1",
            one.clone(),
            "`latin1`",
        ),
        (
            "/v1/decisions/batch",
            "application/json; charset=\"ISO-8859-1\"",
            batch.clone(),
            "`\"ISO-8859-1\"`",
        ),
    ] {
        let r = send(path, content_type, body)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let p = problem(r, 415).await;
        let detail = p["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(charset) && detail.contains("UTF-8"),
            "{content_type}: {detail}"
        );
    }
    for (path, content_type, body) in [
        (
            "/v1/decisions",
            "application/json; charset=utf-8",
            one.clone(),
        ),
        ("/v1/decisions", "Application/JSON;CHARSET=\"UTF-8\"", one),
        (
            "/v1/decisions/batch",
            "application/json; charset=UTF-8",
            batch,
        ),
    ] {
        let r = send(path, content_type, body)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 200, "{path} {content_type}");
    }
}

#[tokio::test]
async fn a_number_refused_is_quoted_as_the_caller_wrote_it() {
    let app = spawn_app().await;
    for written in ["9007199254740993.0", "18446744073709551616", "1.50", "-2e3"] {
        let refund = format!("{{\"kuaishou_refund\": {{\"refundId\": {written}}}}}");
        let r = post_raw(&app, refund.clone()).await;
        let p = problem(r, 422).await;
        let batch = app
            .post_raw("/v1/decisions/batch", format!("{{\"items\": [{refund}]}}"))
            .await;
        let b = body(batch).await;
        for (errors, pointer) in [
            (&p["errors"], "/kuaishou_refund/refundId"),
            (
                &b["results"][0]["problem"]["errors"],
                "/items/0/kuaishou_refund/refundId",
            ),
        ] {
            let message = errors
                .as_array()
                .into_iter()
                .flatten()
                .find(|e| e["pointer"] == pointer)
                .and_then(|e| e["message"].as_str())
                .unwrap_or_default();
            assert!(
                message.starts_with(&format!("{written} is not a refund id")),
                "{written}: {message}"
            );
        }
    }
}

#[tokio::test]
async fn content_type_twice_with_different_values_is_415() {
    let app = spawn_app().await;
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    let one = serde_json::to_vec(&req).unwrap_or_default();
    let batch = serde_json::to_vec(&json!({"items": [req]})).unwrap_or_default();
    let send = |path: &'static str, types: &[&'static str], body: Vec<u8>| {
        let mut headers = reqwest::header::HeaderMap::new();
        for t in types {
            headers.append(
                reqwest::header::CONTENT_TYPE,
                reqwest::header::HeaderValue::from_static(t),
            );
        }
        app.client
            .post(app.url(path))
            .headers(headers)
            .body(body)
            .send()
    };
    for (path, body) in [("/v1/decisions", &one), ("/v1/decisions/batch", &batch)] {
        for types in [
            ["application/json", "application/json; charset=gbk"],
            ["application/json; charset=gbk", "application/json"],
            ["application/json", "text/plain"],
        ] {
            let r = send(path, &types, body.clone())
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let p = problem(r, 415).await;
            let detail = p["detail"].as_str().unwrap_or_default();
            assert!(detail.contains("given twice"), "{path} {types:?}: {detail}");
        }
        // The same value twice, in any case, is that value.
        for types in [
            ["application/json", "application/json"],
            [
                "application/json; charset=utf-8",
                "Application/JSON; charset=UTF-8",
            ],
        ] {
            let r = send(path, &types, body.clone())
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(r.status(), 200, "{path} {types:?}");
        }
    }
}

#[tokio::test]
async fn a_number_out_of_range_is_placed_and_minus_zero_quoted_as_written() {
    let app = spawn_app().await;
    let sent = "{\"kuaishou_refund\": {\"refundId\": 1,\n \"status\": 1e400}}";
    let p = problem(post_raw(&app, sent.to_owned()).await, 400).await;
    assert_eq!(p["errors"][0]["pointer"], "/kuaishou_refund/status", "{p}");
    let detail = p["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("/kuaishou_refund/status number out of range at line 2 column 16"),
        "{detail}"
    );
    for (raw, pointer) in [
        ("{\"items\": [{\"a\": [1, -1e999]}]}", "/items/0/a/1"),
        (
            "{\"items\": [{}, {\"x~/\\\"y\": 2e308}]}",
            "/items/1/x~0~1\"y",
        ),
    ] {
        let r = app.post_raw("/v1/decisions/batch", raw).await;
        let v = body(r).await;
        let failed = v["results"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["status"] == 400)
            .cloned()
            .unwrap_or_default();
        assert_eq!(failed["problem"]["errors"][0]["pointer"], pointer, "{v}");
    }
    let minus_zero = "{\"kuaishou_refund\": {\"refundId\": 1, \"status\": -0}}";
    let p = problem(post_raw(&app, minus_zero.to_owned()).await, 422).await;
    let message = p["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["pointer"] == "/kuaishou_refund/status")
        .and_then(|e| e["message"].as_str())
        .unwrap_or_default();
    assert!(message.starts_with("-0 is not"), "{message}");
}
