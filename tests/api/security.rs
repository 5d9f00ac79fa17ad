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
async fn without_tokens_v1_is_open() {
    let app = spawn_app().await;
    assert_eq!(app.get("/v1/rules").await.status(), 200);
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
