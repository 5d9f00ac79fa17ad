//! Runs one piece of the request path N times, for counting its instructions with
//! callgrind (repeatable on a busy machine, unlike a clock): see
//! `scripts/evidence/instructions.sh`, which runs each piece N = 1000 times and counts
//! only inside [`measured`].
//!
//!   instructions PIECE N
//!
//! Under `cargo bench` (no piece named) it runs every piece once, as a smoke test.

use std::hint::black_box;

use aftersales::cli::ServeArgs;
use aftersales::http::Server;
use aftersales::render::View;
use aftersales::render::json::write_decision;
use aftersales::request::{ParseContext, parse};
use aftersales::rules::Rules;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;

const STALLED: &str = include_str!("../tests/fixtures/examples/03-stalled-shangcheng.json");

/// The pieces, in the order of the path.
const PIECES: [&str; 15] = [
    "parse",
    // The same body as Python's `json.dumps` sends it (the server benchmarks' client):
    // every non-ASCII character as a `\uXXXX` escape.
    "parse-ascii",
    "parse-adcode",
    "decide",
    "render",
    "whole",
    "whole-compact",
    "decide_json",
    "serialize",
    "http-healthz",
    "http-decision",
    "http-batch-1000",
    // The same with the service's JSON logs at info (its one line per request), as served.
    "http-healthz-logged",
    "http-decision-logged",
    // "whole" for the stalled example moved into the Asian Games phase: one explanation
    // more (five), as the requests of the notice's busiest weeks have.
    "whole-phase",
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (pieces, n): (Vec<&str>, usize) = match args.as_slice() {
        [piece, n] if PIECES.contains(&piece.as_str()) => {
            (vec![piece.as_str()], n.parse().unwrap_or(0))
        }
        _ => (PIECES.to_vec(), 1),
    };
    if pieces.iter().any(|p| p.ends_with("-logged")) {
        aftersales::telemetry::init(aftersales::cli::LogFormat::Json);
    }
    let rules = Rules::embedded().unwrap_or_else(|e| panic!("{e}"));
    let example: serde_json::Value = serde_json::from_str(STALLED).unwrap_or_default();
    let body = serde_json::to_vec(&example["request"]).unwrap_or_default();
    let ascii = ascii_escaped(&body);
    let mut by_adcode = example["request"].clone();
    by_adcode["destination"] = serde_json::json!({"adcode": "330102"});
    let by_adcode = serde_json::to_vec(&by_adcode).unwrap_or_default();
    let mut in_phase = example["request"].clone();
    in_phase["requested_at"] = serde_json::json!("2023-10-01T09:00:00+08:00");
    in_phase["as_of"] = serde_json::json!("2023-10-04T09:00:00+08:00");
    in_phase["logistics_trace"][0]["at"] = serde_json::json!("2023-09-28T20:00:00+08:00");
    in_phase["logistics_trace"][1]["at"] = serde_json::json!("2023-09-29T14:00:00+08:00");
    let in_phase = serde_json::to_vec(&in_phase).unwrap_or_default();
    let ctx = ParseContext {
        rules: &rules,
        gazetteer: aftersales::gazetteer(),
    };
    let now = chrono::Utc::now();
    let lang = Default::default();
    let parsed = parse(&body, ctx).unwrap_or_else(|e| panic!("{e:?}"));
    let as_of = parsed.as_of.unwrap_or(now);
    let decided = aftersales::decide_json(&rules, &body, now, lang, String::new())
        .unwrap_or_else(|e| panic!("{e:?}"));
    let json = |d: &aftersales::engine::Decision, view| {
        let mut out = Vec::with_capacity(4096);
        write_decision(&mut out, &rules, d, Some("AS-1003"), "id", lang, view);
        out
    };
    // Through every layer of the server, in process (a runtime of one thread).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let serve = ServeArgs {
        listen: "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        ..ServeArgs::default()
    };
    let routes = rt
        .block_on(Server::bind(
            Rules::embedded().unwrap_or_else(|e| panic!("{e}")),
            None,
            &serve,
        ))
        .unwrap_or_else(|e| panic!("{e}"))
        .routes();
    let batch = format!(
        "{{\"items\":[{}]}}",
        vec![String::from_utf8_lossy(&body); 1000].join(",")
    );
    let call = |method: &str, path: &str, body: Vec<u8>| {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap_or_default();
        rt.block_on(async {
            let res = routes.call(req).await.unwrap_or_default();
            res.into_body().collect().await.map(|b| b.to_bytes())
        })
    };
    for piece in pieces {
        for _ in 0..n {
            measured(|| match piece {
                "parse" => drop(black_box(parse(black_box(&body), ctx))),
                "parse-ascii" => drop(black_box(parse(black_box(&ascii), ctx))),
                "parse-adcode" => drop(black_box(parse(black_box(&by_adcode), ctx))),
                "decide" => drop(black_box(aftersales::engine::decide(
                    &rules,
                    black_box(&parsed.case),
                    as_of,
                ))),
                "decide_json" => drop(black_box(aftersales::decide_json(
                    &rules,
                    black_box(&body),
                    now,
                    lang,
                    aftersales::new_decision_id(),
                ))),
                "render" => drop(black_box(json(&decided.decision, View::Full))),
                // What the server does: parse, decide, write the JSON.
                "whole" | "whole-compact" | "whole-phase" => {
                    let view = if piece == "whole-compact" {
                        View::Compact
                    } else {
                        View::Full
                    };
                    let body = if piece == "whole-phase" {
                        &in_phase
                    } else {
                        &body
                    };
                    let out =
                        aftersales::decide_body(&rules, black_box(body), now).map(|(case, d)| {
                            let mut out = Vec::with_capacity(4096);
                            write_decision(
                                &mut out,
                                &rules,
                                &d,
                                case.case_id.as_deref(),
                                &aftersales::new_decision_id(),
                                lang,
                                view,
                            );
                            out
                        });
                    drop(black_box(out));
                }
                "http-healthz" | "http-healthz-logged" => {
                    drop(black_box(call("GET", "/healthz", Vec::new())))
                }
                "http-decision" | "http-decision-logged" => {
                    drop(black_box(call("POST", "/v1/decisions", body.clone())))
                }
                "http-batch-1000" => drop(black_box(call(
                    "POST",
                    "/v1/decisions/batch",
                    batch.clone().into_bytes(),
                ))),
                // The path before: a DecisionView, then serde.
                "serialize" => drop(black_box(serde_json::to_vec(black_box(&decided.view)))),
                _ => {}
            });
        }
    }
}

/// JSON text with every non-ASCII character written as `\uXXXX` (UTF-16), as Python's
/// `json.dumps` writes it by default.
fn ascii_escaped(json: &[u8]) -> Vec<u8> {
    let mut out = String::new();
    for c in String::from_utf8_lossy(json).chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out.into_bytes()
}

/// One call of a piece: what `scripts/evidence/instructions.sh` counts (callgrind's
/// `--toggle-collect`), so that the setup (loading rules, building the router,
/// calibrating clocks) adds nothing to the figures.
#[inline(never)]
fn measured(call: impl FnOnce()) {
    call();
}
