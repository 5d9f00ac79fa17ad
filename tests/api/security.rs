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
