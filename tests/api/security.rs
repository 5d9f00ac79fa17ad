//! Optional bearer tokens on /v1; probes and metrics stay open.

use crate::helpers::*;

#[tokio::test]
async fn with_tokens_configured_v1_needs_a_valid_one() {
    let mut args = args();
    args.api_tokens = vec!["s3cret-one".into(), "s3cret-two".into()];
    let app = spawn_with(args).await;
    let req = example("01-not-shipped-binjiang.json")["request"].clone();

    let r = app.post_json("/v1/decisions", &req).await;
    assert_eq!(r.status(), 401);
    assert_eq!(content_type(&r), "application/problem+json");
    assert!(r.headers().get("www-authenticate").is_some());
    let text = r.text().await.unwrap_or_default();
    assert!(!text.contains("s3cret"), "never echoes tokens");

    let wrong = app
        .client
        .get(app.url("/v1/rules"))
        .bearer_auth("s3cret-three")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(wrong.status(), 401);
    for token in ["s3cret-one", "s3cret-two"] {
        let ok = app
            .client
            .post(app.url("/v1/decisions"))
            .bearer_auth(token)
            .json(&req)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.status(), 200, "{token}");
    }
    for open in ["/healthz", "/readyz", "/metrics", "/openapi.yaml"] {
        assert_eq!(app.get(open).await.status(), 200, "{open}");
    }
}

#[tokio::test]
async fn two_authorization_headers_are_refused_whichever_comes_first() {
    // A proxy in front may read the other one: two readers, two answers.
    let mut args = args();
    args.api_tokens = vec!["s3cret-one".into()];
    let app = spawn_with(args).await;
    for (first, second) in [("s3cret-one", "wrong"), ("wrong", "s3cret-one")] {
        let r = app
            .client
            .get(app.url("/v1/rules"))
            .header("authorization", format!("Bearer {first}"))
            .header("authorization", format!("Bearer {second}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 401, "{first}, then {second}");
    }
}

#[tokio::test]
async fn without_tokens_v1_is_open() {
    let app = spawn_app().await;
    assert_eq!(app.get("/v1/rules").await.status(), 200);
}

/// The error `Server::bind` refuses these settings with.
async fn refused(args: aftersales::cli::ServeArgs) -> String {
    let rules = aftersales::rules::Rules::embedded().unwrap_or_else(|e| panic!("{e}"));
    match aftersales::http::Server::bind(rules, None, &args).await {
        Ok(_) => panic!(
            "started with api_tokens {:?}, api_tokens_file {:?}",
            args.api_tokens, args.api_tokens_file
        ),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn a_token_list_without_a_token_stops_the_server_instead_of_turning_auth_off() {
    for blank in [&[""][..], &["", ""], &[" "], &["", " \t "]] {
        let mut args = args();
        args.api_tokens = blank.iter().map(|t| (*t).to_owned()).collect();
        let e = refused(args).await;
        assert!(
            e.contains("--api-tokens") && e.contains("AFTERSALES_API_TOKENS"),
            "{blank:?}: {e}"
        );
    }
}

#[tokio::test]
async fn a_token_file_that_yields_no_token_or_cannot_be_read_stops_the_server() {
    let dir = temp_dir("tokens");
    let cases: [(&str, Option<&str>, &str); 6] = [
        ("empty", Some(""), "holds no token"),
        (
            "comments",
            Some("# tokens go here\n\n   \n# none yet\n"),
            "holds no token",
        ),
        (
            "csv",
            Some("s3cret-one,s3cret-two\n"),
            "line 1 is not a bearer token",
        ),
        (
            "inline-comment",
            Some("# ops\ns3cret # the ops team\n"),
            "line 2 is not a bearer token",
        ),
        ("missing", None, "cannot read the token file"),
        (".", None, "a directory, not a regular file"),
    ];
    for (name, content, expected) in cases {
        let path = dir.path().join(name);
        if let Some(content) = content {
            std::fs::write(&path, content).unwrap_or_else(|e| panic!("{e}"));
        }
        let mut args = args();
        args.api_tokens_file = Some(path);
        let e = refused(args).await;
        assert!(
            e.contains("--api-tokens-file")
                && e.contains("AFTERSALES_API_TOKENS_FILE")
                && e.contains(expected),
            "{name}: {e}"
        );
        assert!(!e.contains("s3cret"), "never shows a token: {e}");
    }
}

#[tokio::test]
async fn tokens_given_both_ways_are_refused() {
    let dir = temp_dir("tokens-both");
    let path = dir.path().join("tokens");
    std::fs::write(&path, "s3cret-one\n").unwrap_or_else(|e| panic!("{e}"));
    let mut args = args();
    args.api_tokens = vec!["s3cret-two".into()];
    args.api_tokens_file = Some(path);
    let e = refused(args).await;
    assert!(e.contains("both set"), "{e}");
}

#[tokio::test]
async fn a_token_file_admits_its_tokens_and_nothing_else() {
    let dir = temp_dir("tokens-file");
    let path = dir.path().join("tokens");
    std::fs::write(
        &path,
        "\u{feff}# the shop backend\r\ns3cret-one\r\n\n  # support\n  s3cret-two==  \n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut args = args();
    args.api_tokens_file = Some(path);
    let app = spawn_with(args).await;
    let status = |token: Option<&'static str>| {
        let mut req = app.client.get(app.url("/v1/rules"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move { req.send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
    };
    assert_eq!(status(None).await, 401);
    assert_eq!(status(Some("s3cret-one")).await, 200);
    assert_eq!(status(Some("s3cret-two==")).await, 200);
    for wrong in ["# support", "# the shop backend", "s3cret-two", "s3cret"] {
        assert_eq!(status(Some(wrong)).await, 401, "{wrong}");
    }
}

/// A caller's text that tries to add a line to the text view, clear and recolour the
/// support person's terminal, and reverse what they read.
const FORGERY: &str = "AS-1\n  [9.9] FORGED: approve the refund now\r\u{1b}[2J\u{1b}[31m\u{7f}\u{9b}\u{2028}[9.9]\u{2029}[9.9]\u{202e}deifitrec";

async fn text_view(app: &TestApp, request: &serde_json::Value) -> String {
    let r = app
        .client
        .post(app.url("/v1/decisions"))
        .header("accept", "text/plain")
        .header("accept-language", "en")
        .json(request)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    r.text().await.unwrap_or_default()
}

/// The stalled example with `text` as its case id, as the carrier's text of its last
/// event (which nothing reads, so the explanation and a warning quote it), and as an
/// address that cannot be placed (quoted in a warning).
fn carrying(text: &str) -> [(&'static str, serde_json::Value); 3] {
    let base = example("03-stalled-shangcheng.json")["request"].clone();
    let mut in_case_id = base.clone();
    in_case_id["case_id"] = text.into();
    let mut in_description = base.clone();
    in_description["logistics_trace"][1] =
        serde_json::json!({"at": "2023-10-10T14:00:00+08:00", "description": text});
    let mut in_address = base;
    in_address["destination"] = serde_json::json!({ "address": text });
    [
        ("case_id", in_case_id),
        ("description", in_description),
        ("address", in_address),
    ]
}

#[tokio::test]
async fn the_text_view_escapes_callers_strings_so_they_cannot_add_lines_or_drive_the_terminal() {
    let app = spawn_app().await;
    let benign = carrying("AS-1 harmless");
    for ((field, request), (_, harmless)) in carrying(FORGERY).into_iter().zip(benign) {
        let text = text_view(&app, &request).await;
        // Addresses are shown as read, without their spaces and line breaks.
        let shown = match field {
            "address" => r"\u{1b}[2J\u{1b}[31m\u{7f}\u{9b}[9.9][9.9]\u{202e}deifitrec",
            _ => {
                r"AS-1\n  [9.9] FORGED: approve the refund now\r\u{1b}[2J\u{1b}[31m\u{7f}\u{9b}\u{2028}[9.9]\u{2029}[9.9]\u{202e}deifitrec"
            }
        };
        assert!(
            text.contains(shown),
            "{field}: the text is shown, escaped:\n{text}"
        );
        assert_eq!(
            text.lines().count(),
            text_view(&app, &harmless).await.lines().count(),
            "{field}: no line added:\n{text}"
        );
        assert!(
            !text.lines().any(|l| l.trim_start().starts_with("[9.9]")),
            "{field}:\n{text}"
        );
        let raw = text
            .chars()
            .find(|&c| (c.is_control() && c != '\n') || ('\u{2028}'..='\u{202e}').contains(&c));
        assert_eq!(
            raw, None,
            "{field}: a control character got through:\n{text}"
        );
    }
}

/// Every route the document lists, on the method it lists, is behind the front (the
/// request id echoed, the request counted under its route) and every `/v1` one behind the
/// guard (401 without a token); so are the answers for an unknown path and a method a
/// route does not take. The layers are put around each handler, one by one: none left out.
#[tokio::test]
async fn every_documented_route_is_behind_the_front_and_every_v1_route_behind_the_guard() {
    let mut args = args();
    args.api_tokens = vec!["s3cret-one".into()];
    let app = spawn_with(args).await;
    let doc = app
        .get("/openapi.yaml")
        .await
        .text()
        .await
        .unwrap_or_default();
    let doc: serde_json::Value = yaml_serde::from_str(&doc).unwrap_or_else(|e| panic!("{e}"));
    let methods = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let routes: Vec<(String, String)> = doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(path, item)| {
            let declared = item.as_object().into_iter().flat_map(|i| i.keys());
            declared
                .filter(|m| methods.contains(&m.as_str()))
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    assert_eq!(routes.len(), 8, "{routes:?}");
    let asked = routes
        .iter()
        .map(|(m, p)| (m.as_str(), p.as_str()))
        .chain([("GET", "/no/such/route"), ("DELETE", "/v1/decisions")]);
    for (i, (method, path)) in asked.enumerate() {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or_default();
        let id = format!("route-{i}");
        let r = app
            .client
            .request(method.clone(), app.url(path))
            .header("x-request-id", &id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = r.status().as_u16();
        let expected = match path {
            "/no/such/route" => 404,
            // Without a token, a method a /v1 route does not take is 401 too.
            _ if path.starts_with("/v1/") => 401,
            _ => 200,
        };
        assert_eq!(status, expected, "{method} {path}");
        let echoed = r
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok());
        assert_eq!(echoed, Some(id.as_str()), "{method} {path}");
    }
    let metrics = app.get("/metrics").await.text().await.unwrap_or_default();
    for (method, path) in &routes {
        let status = if path.starts_with("/v1/") { 401 } else { 200 };
        let series = format!(
            "aftersales_http_requests_total{{method=\"{method}\",route=\"{path}\",status=\"{status}\"}}"
        );
        assert!(metrics.contains(&series), "{series}\n{metrics}");
    }
    for series in [
        r#"{method="GET",route="unmatched",status="404"}"#,
        r#"{method="DELETE",route="/v1/decisions",status="401"}"#,
    ] {
        assert!(metrics.contains(series), "{series}\n{metrics}");
    }
}

/// With tokens configured, nothing under `/v1` (nor `/v1` itself) tells a caller without
/// a valid token which paths or methods exist: an unknown path, a method a route does not
/// take, `OPTIONS` and `TRACE` are all 401, as the routes are. With a token, they are the
/// 404 and 405 they are. Probes, metrics and the document stay open, and a path outside
/// `/v1` is 404 without a token.
#[tokio::test]
async fn without_a_token_nothing_under_v1_maps_its_routes() {
    let mut args = args();
    args.api_tokens = vec!["tokA".into()];
    let app = spawn_with(args).await;
    let ask = |method: &str, path: &str, token: Option<&str>| {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or_default();
        let mut r = app.client.request(method, app.url(path));
        if let Some(token) = token {
            r = r.bearer_auth(token);
        }
        r.send()
    };
    let mut asked = vec![
        ("GET", "/v1/decisions", 405),
        ("GET", "/v1/x", 404),
        ("GET", "/v1", 404),
        ("GET", "/v1/", 404),
        ("POST", "/v1/no/such/route", 404),
    ];
    for path in ["/v1/rules", "/v1/zones/resolve"] {
        for method in ["OPTIONS", "PUT", "DELETE", "TRACE"] {
            asked.push((method, path, 405));
        }
    }
    for (method, path, with_token) in asked {
        let r = ask(method, path, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 401, "{method} {path} without a token");
        assert!(
            r.headers().get("www-authenticate").is_some(),
            "{method} {path}"
        );
        let problem = body(r).await;
        assert_eq!(
            problem["type"], "urn:aftersales:problem:unauthorized",
            "{method} {path}"
        );
        let r = ask(method, path, Some("tokA"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), with_token, "{method} {path} with the token");
        let r = ask(method, path, Some("tokB"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 401, "{method} {path} with a wrong token");
    }
    for (path, open) in [
        ("/healthz", 200),
        ("/readyz", 200),
        ("/metrics", 200),
        ("/openapi.yaml", 200),
        ("/v1x", 404),
        ("/no/such/route", 404),
    ] {
        let r = ask("GET", path, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), open, "{path}");
    }
}
