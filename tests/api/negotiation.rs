//! What people with curl get: text, languages, pretty JSON, compression.

use crate::helpers::*;

#[tokio::test]
async fn accept_text_plain_gives_a_readable_summary() {
    let app = spawn_app().await;
    let r = app
        .client
        .post(app.url("/v1/decisions"))
        .header("accept", "text/plain")
        .header("accept-language", "en")
        .json(&example("03-stalled-shangcheng.json")["request"])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(content_type(&r), "text/plain; charset=utf-8");
    let text = r.text().await.unwrap_or_default();
    assert!(
        text.starts_with("case AS-1003: stalled → intercept_and_refund"),
        "{text}"
    );
    assert!(
        text.contains("intercept_and_refund_by: 2023-10-15T14:00:00+08:00 (1d 5h left)"),
        "{text}"
    );
    assert!(text.contains("  1. Contact the buyer"), "{text}");
    assert!(text.contains("[3.1.3]"), "{text}");
}

#[tokio::test]
async fn the_text_view_in_chinese_has_no_english_label() {
    let app = spawn_app().await;
    let english = [
        "case ",
        "notice:",
        "applies",
        "as of",
        "zone:",
        "controlled",
        " to ",
        "further notice",
        "deadlines:",
        " left",
        "OVERDUE",
        "actions:",
        "evidence:",
        " or ",
        "why:",
        "warnings:",
        "decision id:",
        "1d 5h",
    ];
    // Chinese by default, and when asked for.
    for how in ["", "zh-CN", "zh"] {
        let mut req = app
            .client
            .post(app.url("/v1/decisions"))
            .header("accept", "text/plain")
            .json(&example("03-stalled-shangcheng.json")["request"]);
        if !how.is_empty() {
            req = req.header("accept-language", how);
        }
        let r = req.send().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 200, "{how}");
        let text = r.text().await.unwrap_or_default();
        for heading in [
            "售后单 AS-1003：",
            "（适用），判定时间 ",
            "截止时间：",
            "（剩余 1天5小时）",
            "操作：",
            "依据：",
            "判定编号：",
        ] {
            assert!(text.contains(heading), "{how}: {heading} in {text}");
        }
        for word in english {
            assert!(!text.contains(word), "{how}: `{word}` in {text}");
        }
    }
}

#[tokio::test]
async fn texts_follow_accept_language_with_chinese_by_default() {
    let app = spawn_app().await;
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    let text_of = |v: serde_json::Value| {
        v["actions"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let zh = text_of(body(app.post_json("/v1/decisions", &req).await).await);
    assert!(zh.contains("联系买家"), "{zh}");
    for header in ["en", "en-US,en;q=0.9", "fr;q=1, en;q=0.5"] {
        let r = app
            .client
            .post(app.url("/v1/decisions"))
            .header("accept-language", header)
            .json(&req)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            text_of(body(r).await).starts_with("Contact the buyer"),
            "{header}"
        );
    }
    let r = app
        .client
        .post(app.url("/v1/decisions?lang=en"))
        .header("accept-language", "zh-CN")
        .json(&req)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        text_of(body(r).await).starts_with("Contact the buyer"),
        "?lang= wins"
    );
}

#[tokio::test]
async fn pretty_indents_the_json() {
    let app = spawn_app().await;
    let req = example("01-not-shipped-binjiang.json")["request"].clone();
    let plain = app
        .post_json("/v1/decisions", &req)
        .await
        .text()
        .await
        .unwrap_or_default();
    let pretty = app
        .post_json("/v1/decisions?pretty", &req)
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(!plain.contains('\n'));
    assert!(
        pretty.contains("\n  \"scenario\": \"not_shipped\""),
        "{pretty}"
    );
}

#[tokio::test]
async fn responses_are_gzipped_when_asked_for() {
    let app = spawn_app().await;
    let raw = reqwest::Client::builder()
        .no_gzip()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let r = raw
        .get(app.url("/openapi.yaml"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        r.headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("gzip")
    );
}

#[tokio::test]
async fn a_lang_the_rules_do_not_have_is_refused_on_every_endpoint_not_replaced() {
    let app = spawn_app().await;
    for lang in ["fr", "english", "EN", "en-US", ""] {
        refused_at_lang_everywhere(&app, &format!("lang={lang}"), "zh-CN, en").await;
    }
    // Each of the rules' languages is taken as written; Accept-Language stays a
    // preference whose unknown tags fall back.
    for lang in ["zh-CN", "en"] {
        let r = app.get(&format!("/v1/rules?lang={lang}")).await;
        assert_eq!(r.status(), 200, "{lang}");
    }
    let r = app
        .client
        .get(app.url("/v1/rules"))
        .header("accept-language", "fr")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn two_different_langs_at_once_are_a_400_and_the_same_one_twice_is_that_language() {
    let app = spawn_app().await;
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    refused_everywhere(&app, "lang=en&lang=zh-CN", 400, "/lang", "(`en`, `zh-CN`)").await;
    let r = app.post_json("/v1/decisions?lang=en&lang=en", &req).await;
    assert_eq!(r.status(), 200);
    let v = body(r).await;
    assert!(
        v["event"]["name"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Hangzhou"),
        "{v}"
    );
}

/// Every endpoint that takes `?lang=` answers `query` with a 422 at `/lang` whose message
/// holds `says`.
async fn refused_at_lang_everywhere(app: &TestApp, query: &str, says: &str) {
    refused_everywhere(app, query, 422, "/lang", says).await;
}

/// Every `/v1` endpoint answers `query` with `status`, its first error at `pointer`, its
/// message holding `says`.
async fn refused_everywhere(app: &TestApp, query: &str, status: u16, pointer: &str, says: &str) {
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    let batch = serde_json::json!({"items": [req.clone()]});
    for r in [
        app.post_json(&format!("/v1/decisions?{query}"), &req).await,
        app.post_json(&format!("/v1/decisions/batch?{query}"), &batch)
            .await,
        app.get(&format!("/v1/rules?{query}")).await,
        app.get(&format!("/v1/zones/resolve?adcode=330108&{query}"))
            .await,
    ] {
        let url = r.url().to_string();
        assert_eq!(r.status(), status, "{url}");
        assert_eq!(content_type(&r), "application/problem+json", "{url}");
        let p = body(r).await;
        assert_eq!(p["errors"][0]["pointer"], pointer, "{url}: {p}");
        let message = p["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{url}: {message}");
    }
}

#[tokio::test]
async fn a_query_parameter_an_endpoint_does_not_take_is_a_400_naming_the_one_meant() {
    let app = spawn_app().await;
    // Taken by every `/v1` endpoint: a slip of one is named and never ignored.
    refused_everywhere(&app, "lnag=en", 400, "/lnag", "did you mean `lang`?").await;
    refused_everywhere(&app, "prety", 400, "/prety", "did you mean `pretty`?").await;
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    let batch = serde_json::json!({"items": [req.clone()]});
    for r in [
        app.post_json("/v1/decisions?veiw=compact", &req).await,
        app.post_json("/v1/decisions/batch?pretty&veiw=compact", &batch)
            .await,
    ] {
        let url = r.url().to_string();
        assert_eq!(r.status(), 400, "{url}");
        let p = body(r).await;
        assert_eq!(p["type"], "urn:aftersales:problem:bad-query", "{url}: {p}");
        assert_eq!(p["errors"][0]["pointer"], "/veiw", "{url}: {p}");
        let message = p["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("did you mean `view`?")
                && message.contains("`view`, `lang` and `pretty`"),
            "{url}: {message}"
        );
        let detail = p["detail"].as_str().unwrap_or_default();
        assert!(
            detail.starts_with("The query parameter `veiw` "),
            "{detail}"
        );
    }
    // `/v1/rules` takes no `view`; a name near none is listed with what it takes.
    for (path, pointer, says) in [
        (
            "/v1/rules?view=compact",
            "/view",
            "which takes `lang` and `pretty`",
        ),
        (
            "/v1/rules?bogus=1",
            "/bogus",
            "which takes `lang` and `pretty`",
        ),
        (
            "/v1/zones/resolve?adcode=330108&as_of=2023-10-02T10:00:00%2B08:00",
            "/as_of",
            "did you mean `at`?",
        ),
        ("/v1/zones/resolve?adcod=330108", "/adcode", ""),
        (
            "/v1/zones/resolve?adcode=330108&a%2Fb=1",
            "/a~1b",
            "`address`, `at`",
        ),
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 400, "{path}");
        assert_eq!(content_type(&r), "application/problem+json", "{path}");
        let p = body(r).await;
        if says.is_empty() {
            // `adcod`: the pointer is the parameter given, the hint the one meant.
            assert_eq!(p["errors"][0]["pointer"], "/adcod", "{path}: {p}");
            let message = p["errors"][0]["message"].as_str().unwrap_or_default();
            assert!(
                message.contains(&format!("`{}`", &pointer[1..])),
                "{message}"
            );
            continue;
        }
        assert_eq!(p["errors"][0]["pointer"], pointer, "{path}: {p}");
        let message = p["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{path}: {message}");
    }
    // Every problem at once, each parameter once.
    let p = body(app.get("/v1/rules?x=1&y=2&x=3&pretty").await).await;
    assert_eq!(p["errors"].as_array().map(Vec::len), Some(2), "{p}");
    // What each endpoint takes still works, an empty query too.
    for path in [
        "/v1/rules?lang=en&pretty",
        "/v1/rules?",
        "/v1/zones/resolve?adcode=330108&at=2023-10-02T10:00:00%2B08:00&lang=en&pretty=false",
        "/v1/zones/resolve?province=浙江省&city=杭州市&district=滨江区&address=x",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 200, "{path}");
    }
    let r = app
        .post_json("/v1/decisions?view=compact&lang=en&pretty", &req)
        .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_parameter_given_twice_with_different_values_is_a_400_naming_it() {
    let app = spawn_app().await;
    let r = app
        .get("/v1/zones/resolve?adcode=330108&adcode=330102")
        .await;
    assert_eq!(r.status(), 400);
    let p = body(r).await;
    assert_eq!(p["type"], "urn:aftersales:problem:bad-query", "{p}");
    assert_eq!(p["errors"][0]["pointer"], "/adcode", "{p}");
    let message = p["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("(`330108`, `330102`)"), "{message}");
    // The same value twice is that value.
    let r = app
        .get("/v1/zones/resolve?adcode=330108&adcode=330108")
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(body(r).await["area"]["adcode"], "330108");
    let r = app.get("/v1/zones/resolve?at=1&at=2&adcode=330108").await;
    assert_eq!(body(r).await["errors"][0]["pointer"], "/at");
}

#[tokio::test]
async fn probes_scrapers_and_the_api_description_take_any_query() {
    let app = spawn_app().await;
    for path in [
        "/healthz?x=1",
        "/readyz?probe=kubelet",
        "/metrics?name[]=up",
        "/openapi.yaml?v=2",
    ] {
        assert_eq!(app.get(path).await.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn an_accept_admitting_nothing_an_endpoint_answers_in_is_a_406_listing_what_it_does() {
    let app = spawn_app().await;
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    let batch = serde_json::json!({"items": [req.clone()]});
    let post = |path: &'static str, body: &serde_json::Value, accept: &'static str| {
        app.client
            .post(app.url(path))
            .header("accept", accept)
            .json(body)
            .send()
    };
    let get = |path: &'static str, accept: &'static str| {
        app.client
            .get(app.url(path))
            .header("accept", accept)
            .send()
    };
    let refused = [
        (
            post("/v1/decisions", &req, "application/xml").await,
            "`application/json`, `text/plain`",
        ),
        (
            post("/v1/decisions", &req, "image/png, text/*;q=0").await,
            "`text/plain`",
        ),
        // The batch answers JSON only: asked for text alone, it is not sent JSON anyway.
        (
            post("/v1/decisions/batch", &batch, "text/plain").await,
            "`application/json`",
        ),
        (
            get("/v1/rules", "application/xml").await,
            "`application/json`",
        ),
        (
            get("/v1/zones/resolve?adcode=330108", "text/html").await,
            "`application/json`",
        ),
    ];
    for (r, lists) in refused {
        let r = r.unwrap_or_else(|e| panic!("{e}"));
        let url = r.url().to_string();
        assert_eq!(r.status(), 406, "{url}");
        assert_eq!(content_type(&r), "application/problem+json", "{url}");
        let p = body(r).await;
        assert_eq!(p["type"], "urn:aftersales:problem:not-acceptable", "{p}");
        let detail = p["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(lists), "{url}: {detail}");
    }
    let batch_lists = body(
        post("/v1/decisions/batch", &batch, "text/plain")
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert!(
        !batch_lists["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("text/plain`"),
        "{batch_lists}"
    );
    // What browsers and curl send, and what admits JSON or text somewhere, is answered.
    for (accept, answers) in [
        ("*/*", "application/json"),
        (
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "application/json",
        ),
        ("application/*", "application/json"),
        ("application/json;q=0, */*", "text/plain; charset=utf-8"),
        (
            "text/plain, application/json;q=0.5",
            "text/plain; charset=utf-8",
        ),
    ] {
        let r = post("/v1/decisions", &req, accept)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 200, "{accept}");
        assert_eq!(content_type(&r), answers, "{accept}");
    }
    let r = post(
        "/v1/decisions/batch",
        &batch,
        "text/plain, application/json;q=0.1",
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    assert_eq!(content_type(&r), "application/json");
    let r = app.post_json("/v1/decisions", &req).await;
    assert_eq!(r.status(), 200, "no Accept");
}

/// POSTs the example decision to `path` with `headers` (each sent as its own line).
async fn post_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    let body = if path.contains("batch") {
        serde_json::json!({"items": [req]})
    } else {
        req
    };
    let mut map = reqwest::header::HeaderMap::new();
    for (name, value) in headers {
        map.append(
            reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .unwrap_or_else(|e| panic!("{e}")),
            reqwest::header::HeaderValue::from_str(value).unwrap_or_else(|e| panic!("{e}")),
        );
    }
    app.client
        .post(app.url(path))
        .headers(map)
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn accept_on_several_lines_is_one_list() {
    let app = spawn_app().await;
    let text = "text/plain; charset=utf-8";
    for (lines, status, answers) in [
        (&["text/html", "text/plain"][..], 200, text),
        (&["text/plain;q=0", "*/*"], 200, "application/json"),
        (&["text/plain", "application/json"], 200, text),
        (&["application/json", "text/plain"], 200, "application/json"),
        (&["text/html", "image/png"], 406, "application/problem+json"),
    ] {
        let headers: Vec<(&str, &str)> = lines.iter().map(|l| ("accept", *l)).collect();
        let r = post_with(&app, "/v1/decisions", &headers).await;
        assert_eq!(r.status(), status, "{lines:?}");
        assert_eq!(content_type(&r), answers, "{lines:?}");
    }
    // The batch answers JSON: admitted on the second line.
    let r = post_with(
        &app,
        "/v1/decisions/batch",
        &[
            ("accept", "text/plain"),
            ("accept", "application/json;q=0.1"),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    // Accept-Language too: the second line's `en` is read.
    let r = post_with(
        &app,
        "/v1/decisions",
        &[("accept-language", "fr"), ("accept-language", "en")],
    )
    .await;
    let v = body(r).await;
    assert!(
        v["zone"]["name"].as_str().is_some_and(|n| n.is_ascii()),
        "{v}"
    );
}

#[tokio::test]
async fn weights_are_read_as_rfc_9110_has_them_and_a_foreign_charset_does_not_match() {
    let app = spawn_app().await;
    let text = "text/plain; charset=utf-8";
    for (accept, status, answers) in [
        // `Q` is `q`: JSON excluded.
        ("application/json;Q=0, text/plain;q=0.1", 200, text),
        ("application/json;Q=0", 406, "application/problem+json"),
        // A weight that cannot be read: the range is ignored, alone or not.
        ("application/json;q=NaN", 406, "application/problem+json"),
        ("text/plain;q=0.5, application/json;q=NaN", 200, text),
        ("application/json;q=2, */*;q=0.1", 200, "application/json"),
        (
            "application/json;q=0.5, text/plain;q=0.25",
            200,
            "application/json",
        ),
        // Every answer is UTF-8.
        ("text/plain;charset=gbk", 406, "application/problem+json"),
        (
            "text/plain;charset=gbk, application/json;q=0.5",
            200,
            "application/json",
        ),
        ("text/plain;charset=UTF-8", 200, text),
        (
            "application/json;charset=\"utf-8\"",
            200,
            "application/json",
        ),
    ] {
        let r = post_with(&app, "/v1/decisions", &[("accept", accept)]).await;
        assert_eq!(r.status(), status, "{accept}");
        assert_eq!(content_type(&r), answers, "{accept}");
    }
}

#[tokio::test]
async fn the_compact_view_is_json_only() {
    let app = spawn_app().await;
    let r = post_with(
        &app,
        "/v1/decisions?view=compact",
        &[("accept", "text/plain")],
    )
    .await;
    assert_eq!(r.status(), 406);
    let p = body(r).await;
    let detail = p["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("`application/json`") && detail.contains("compact view"),
        "{detail}"
    );
    // Text preferred but JSON admitted: the compact JSON.
    let r = post_with(
        &app,
        "/v1/decisions?view=compact",
        &[("accept", "text/plain, application/json;q=0.5")],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(content_type(&r), "application/json");
    assert_eq!(body(r).await["view"], "compact");
    // The full view still answers text.
    let r = post_with(&app, "/v1/decisions?view=full", &[("accept", "text/plain")]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(content_type(&r), "text/plain; charset=utf-8");
}

#[tokio::test]
async fn pretty_takes_its_documented_values_only() {
    let app = spawn_app().await;
    for value in ["flase", "yes", "no", "TRUE", "2"] {
        refused_everywhere(
            &app,
            &format!("pretty={value}"),
            422,
            "/pretty",
            &format!("`{value}` is not a value of `pretty`"),
        )
        .await;
    }
    for (query, indented) in [
        ("pretty", true),
        ("pretty=", true),
        ("pretty=true", true),
        ("pretty=1", true),
        ("pretty=false", false),
        ("pretty=0", false),
    ] {
        let r = post_with(&app, &format!("/v1/decisions?{query}"), &[]).await;
        assert_eq!(r.status(), 200, "{query}");
        let text = r.text().await.unwrap_or_default();
        assert_eq!(text.contains("\n  \""), indented, "{query}");
    }
}

#[tokio::test]
async fn a_refused_query_names_its_parameters_as_sent_and_says_when_it_was_not_read_through() {
    let app = spawn_app().await;
    let r = post_with(&app, "/v1/decisions?a/b~c=1", &[]).await;
    assert_eq!(r.status(), 400);
    let p = body(r).await;
    assert_eq!(p["errors"][0]["pointer"], "/a~1b~0c", "{p}");
    let detail = p["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("The query parameter `a/b~c` is not"),
        "{detail}"
    );
    let many: Vec<String> = (0..1000).map(|i| format!("x{i}=1")).collect();
    let r = post_with(&app, &format!("/v1/decisions?{}", many.join("&")), &[]).await;
    assert_eq!(r.status(), 400);
    let p = body(r).await;
    assert_eq!(p["errors"].as_array().map(Vec::len), Some(16));
    let detail = p["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("at least 16 problems"), "{detail}");
    // Sixteen exactly, read through: their number.
    let r = post_with(
        &app,
        &format!("/v1/decisions?{}", many[..16].join("&")),
        &[],
    )
    .await;
    let p = body(r).await;
    let detail = p["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("The query string has 16 problems"),
        "{detail}"
    );
}
