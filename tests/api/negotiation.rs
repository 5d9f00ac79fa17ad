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
async fn two_different_langs_at_once_are_a_422_and_the_same_one_twice_is_that_language() {
    let app = spawn_app().await;
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    refused_at_lang_everywhere(&app, "lang=en&lang=zh-CN", "en, zh-CN").await;
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
        assert_eq!(r.status(), 422, "{url}");
        let p = body(r).await;
        assert_eq!(p["errors"][0]["pointer"], "/lang", "{url}: {p}");
        let message = p["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{url}: {message}");
    }
}
