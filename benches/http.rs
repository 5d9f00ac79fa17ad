//! The server's own cost per request, in process (no network, no load generator):
//! the whole application with every layer, as the server calls it (its busiest routes
//! past the router), for /healthz, a decision and a 1,000-item batch.

use std::hint::black_box;

use aftersales::cli::ServeArgs;
use aftersales::http::Server;
use aftersales::rules::Rules;
use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;

const STALLED: &str = include_str!("../tests/fixtures/examples/03-stalled-shangcheng.json");

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let args = ServeArgs {
        listen: "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        drain_seconds: 0,
        grace_seconds: 1,
        ..ServeArgs::default()
    };

    let server = rt
        .block_on(Server::bind(
            Rules::embedded().unwrap_or_else(|e| panic!("{e}")),
            None,
            &args,
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let app = server.routes();
    let example: serde_json::Value = serde_json::from_str(STALLED).unwrap_or_default();
    let body = example["request"].to_string();

    let call = |req: Request<Body>| {
        rt.block_on(async {
            let res = app.call(req).await.unwrap_or_default();
            black_box(
                res.into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default(),
            )
        })
    };
    let post = |ct: &str, body: &str| {
        Request::post("/v1/decisions")
            .header("content-type", ct)
            .body(Body::from(body.to_owned()))
            .unwrap_or_default()
    };
    let get = |path: &str| Request::get(path).body(Body::empty()).unwrap_or_default();

    c.bench_function("http/healthz", |b| b.iter(|| call(get("/healthz"))));
    // Where the decision's time goes: cut the request off at each stage.
    c.bench_function("http/bisect/415-no-json", |b| {
        b.iter(|| call(post("text/plain", "{}")))
    });
    c.bench_function("http/bisect/400-bad-json", |b| {
        b.iter(|| call(post("application/json", "{")))
    });
    c.bench_function("http/bisect/422-empty-object", |b| {
        b.iter(|| call(post("application/json", "{}")))
    });
    c.bench_function("http/rules", |b| b.iter(|| call(get("/v1/rules"))));
    c.bench_function("http/decision/stalled", |b| {
        b.iter(|| call(post("application/json", &body)))
    });
    c.bench_function("http/decision/stalled-compact", |b| {
        b.iter(|| {
            call(
                Request::post("/v1/decisions?view=compact")
                    .header("content-type", "application/json")
                    .body(Body::from(body.clone()))
                    .unwrap_or_default(),
            )
        })
    });
    // A batch of 1,000 stalled cases, decided on every core, through every layer.
    let batch = format!("{{\"items\":[{}]}}", vec![body.as_str(); 1000].join(","));
    let mut group = c.benchmark_group("http/batch");
    group.sample_size(20);
    group.bench_function("1000", |b| {
        b.iter(|| {
            call(
                Request::post("/v1/decisions/batch")
                    .header("content-type", "application/json")
                    .body(Body::from(batch.clone()))
                    .unwrap_or_default(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
