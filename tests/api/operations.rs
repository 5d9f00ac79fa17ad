//! Probes, metrics, request ids, overload, timeouts and shutdown.

use std::io::{Read, Write};
use std::time::Duration;

use crate::helpers::*;

#[tokio::test]
async fn request_ids_are_echoed_or_made() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "shop-42")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        r.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("shop-42")
    );
    let r = app.get("/healthz").await;
    assert!(
        r.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|id| id.len() == 36)
    );
}

#[tokio::test]
async fn a_request_id_is_kept_only_if_it_is_1_to_128_visible_ascii_characters() {
    let dir = temp_dir("request-ids");
    let path = dir.path().join("decisions.jsonl");
    let mut args = args();
    args.decision_log = Some(path.to_string_lossy().into_owned());
    let app = spawn_with(args).await;
    let echoed = |r: &reqwest::Response| {
        r.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let longest = "a".repeat(128);
    let kept = ["shop-42", "~!#$%&'*+-.^_`|", longest.as_str()];
    let huge = "x".repeat(8 * 1024);
    let too_long = "a".repeat(129);
    let refused: [&[u8]; 6] = [
        huge.as_bytes(),
        too_long.as_bytes(),
        b"has space",
        b"tab\there",
        "订单-1".as_bytes(),
        b"",
    ];
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    for id in kept {
        let r = app
            .client
            .post(app.url("/v1/decisions"))
            .header("x-request-id", id)
            .json(&req)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 200);
        assert_eq!(echoed(&r), id);
    }
    for id in refused {
        let value = reqwest::header::HeaderValue::from_bytes(id).unwrap_or_else(|e| panic!("{e}"));
        let r = app
            .client
            .post(app.url("/v1/decisions"))
            .header("x-request-id", value)
            .json(&req)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 200);
        let made = echoed(&r);
        assert!(
            uuid::Uuid::parse_str(&made).is_ok_and(|u| u.get_version_num() == 7),
            "a {}-byte id starting `{}` was kept as `{made:.40}`",
            id.len(),
            String::from_utf8_lossy(&id[..id.len().min(20)])
        );
    }
    let twice = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "one")
        .header("x-request-id", "two")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(echoed(&twice).len(), 36, "two ids: neither is kept");

    let logged = std::fs::read_to_string(&path).unwrap_or_default();
    let ids: Vec<String> = logged
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap_or_default()["request_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), kept.len() + refused.len());
    assert_eq!(&ids[..kept.len()], kept);
    assert!(ids.iter().all(|id| id.len() <= 128), "{ids:?}");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_decisions_by_outcome() {
    let app = spawn_app().await;
    app.post_json("/v1/decisions", &example("04-rejected.json")["request"])
        .await;
    app.get("/no/such/path").await;
    let text = app.get("/metrics").await.text().await.unwrap_or_default();
    assert!(
        text.contains(
            r#"aftersales_http_requests_total{method="POST",route="/v1/decisions",status="200"}"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"route="unmatched",status="404""#),
        "raw paths never become labels: {text}"
    );
    assert!(text.contains(r#"aftersales_decisions_total{scenario="rejected_or_returned",decision="approve_refund"}"#), "{text}");
    // A pair nothing decided (a refund-only scenario, a return's outcome) has no series.
    assert!(
        !text.contains(
            r#"aftersales_decisions_total{scenario="not_shipped",decision="reject_with_evidence"}"#
        ),
        "{text}"
    );
    assert!(
        text.contains("aftersales_http_request_duration_seconds_bucket"),
        "{text}"
    );
}

#[tokio::test]
async fn invented_methods_never_become_metric_labels() {
    // Any token is a method to HTTP: as labels, each new one would add series to
    // /metrics without bound (20,000 of them grew it to 46 MB).
    let app = spawn_app().await;
    for n in 0..20 {
        let method = reqwest::Method::from_bytes(format!("INVENTED{n}X").as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        let r = app
            .client
            .request(method, app.url("/healthz"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 405);
    }
    let text = app.get("/metrics").await.text().await.unwrap_or_default();
    assert!(!text.contains("INVENTED"), "{text}");
    assert!(
        text.contains(
            r#"aftersales_http_requests_total{method="other",route="/healthz",status="405"}"#
        ),
        "{text}"
    );
}

#[test]
fn the_committed_openapi_yaml_is_the_generated_one() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .unwrap_or_default();
    assert!(
        committed == aftersales::http::openapi::yaml(),
        "openapi.yaml is stale: run `cargo run -- openapi > openapi.yaml`"
    );
}

#[tokio::test]
async fn the_server_serves_its_openapi_document() {
    let app = spawn_app().await;
    let r = app.get("/openapi.yaml").await;
    assert_eq!(content_type(&r), "application/yaml");
    assert_eq!(
        r.text().await.unwrap_or_default(),
        aftersales::http::openapi::yaml()
    );
}

#[tokio::test]
async fn the_openapi_document_comes_as_text_when_the_caller_prefers_it() {
    let app = spawn_app().await;
    for (accept, expected) in [
        ("text/plain", "text/plain; charset=utf-8"),
        (
            "text/html,text/*;q=0.9,*/*;q=0.8",
            "text/plain; charset=utf-8",
        ),
        ("application/yaml", "application/yaml"),
        ("*/*", "application/yaml"),
    ] {
        let r = app
            .client
            .get(app.url("/openapi.yaml"))
            .header("accept", accept)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(content_type(&r), expected, "{accept}");
        assert_eq!(
            r.text().await.unwrap_or_default(),
            aftersales::http::openapi::yaml(),
            "{accept}"
        );
    }
}

/// The document's examples are computed from the embedded rules; the server, asked the
/// same, answers the same (but for the decision id).
#[tokio::test]
async fn the_documented_decision_example_is_what_the_server_answers() {
    let app = spawn_app().await;
    let doc: serde_json::Value =
        yaml_serde::from_str(&aftersales::http::openapi::yaml()).unwrap_or_else(|e| panic!("{e}"));
    let mut example = doc["components"]["schemas"]["DecisionView"]["examples"][0].clone();
    let request: serde_json::Value =
        serde_json::from_str(include_str!("../../examples/stalled.json"))
            .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = body(app.post_json("/v1/decisions", &request).await).await;
    for v in [&mut example, &mut answer] {
        v["decision_id"] = serde_json::Value::Null;
    }
    assert_eq!(answer, example);
}

#[tokio::test]
async fn a_body_that_arrives_too_slowly_is_answered_408() {
    let mut args = args();
    args.body_read_timeout = 1;
    let app = spawn_with(args).await;
    let addr = app.addr;
    let answer = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
        let _ = write!(s, "POST /v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{");
        let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .unwrap_or_default();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(
        answer.contains("urn:aftersales:problem:body-timeout"),
        "{answer}"
    );
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
}

#[tokio::test]
async fn on_shutdown_readiness_fails_at_once_requests_drain_then_the_server_stops() {
    let mut args = args();
    args.drain_seconds = 1;
    let mut app = spawn_with(args).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    app.stop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), 503, "not ready while draining");
    assert!(r.headers().get("retry-after").is_some());
    let r = app
        .post_json(
            "/v1/decisions",
            &example("01-not-shipped-binjiang.json")["request"],
        )
        .await;
    assert_eq!(r.status(), 200, "still serving during the drain");
    let finished = app
        .finished
        .take()
        .unwrap_or_else(|| tokio::spawn(async { Ok(()) }));
    let result = tokio::time::timeout(Duration::from_secs(10), finished).await;
    assert!(
        matches!(result, Ok(Ok(Ok(())))),
        "stops cleanly after the drain: {result:?}"
    );
    assert!(
        std::net::TcpStream::connect(app.addr).is_err(),
        "no longer accepting"
    );
}

/// A fresh server's `/metrics` shows every counter and gauge README lists, at 0, with
/// each label of a closed set (so an alert has a series to watch before the first
/// event); the series of open label sets (method, route, status; scenario and decision)
/// come with their requests. The names are read from README, so none it lists is left
/// out.
#[tokio::test]
async fn a_fresh_server_shows_every_counter_readme_lists_at_zero() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .unwrap_or_default();
    let mut listed: Vec<&str> = readme
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| {
            w.starts_with("aftersales_")
                && (w.ends_with("_total") || w.ends_with("_failing") || w.ends_with("_open"))
        })
        .filter(|w| {
            ![
                "aftersales_http_requests_total",
                "aftersales_decisions_total",
            ]
            .contains(w)
        })
        .collect();
    listed.sort_unstable();
    listed.dedup();
    assert!(listed.len() >= 15, "{listed:?}");
    let (server, addr, _) = spawn_binary("", &[]);
    let _server = KilledOnDrop(server);
    let text = scrape_metrics(&reqwest::Client::new(), addr).await;
    for name in &listed {
        let series: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with(&format!("{name} ")) || l.starts_with(&format!("{name}{{")))
            .collect();
        assert!(!series.is_empty(), "{name} missing:\n{text}");
        if *name != "aftersales_connections_open" {
            assert!(series.iter().all(|s| s.ends_with(" 0")), "{series:?}");
        }
    }
    for series in [
        r#"aftersales_http_parse_errors_total{kind="too_large"} 0"#,
        r#"aftersales_http_parse_errors_total{kind="malformed"} 0"#,
        r#"aftersales_api_token_reloads_total{result="ok"} 0"#,
        r#"aftersales_api_token_reloads_total{result="error"} 0"#,
        r#"aftersales_rules_reloads_total{result="error"} 0"#,
        r#"aftersales_responses_cut_total{reason="send_timeout"} 0"#,
        r#"aftersales_responses_cut_total{reason="shutdown"} 0"#,
    ] {
        assert!(text.contains(series), "{series}\n{text}");
    }
}
