//! The engine's cost: one typical decision (the stalled example), parsing excluded,
//! against the embedded rules and against a generated rules file of ~3,000 zones; the
//! parse alone (body bytes to a typed case, beside the bytes-to-`Value` step the old
//! parser needed before its own walk); and the whole request path (`decide_json`: parse,
//! decide, render).

use std::hint::black_box;

use aftersales::geo::DestinationInput;
use aftersales::render::View;
use aftersales::render::json::write_decision;
use aftersales::request::{ParseContext, parse};
use aftersales::rules::{EMBEDDED_SOURCE, Rules};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::Value;

const STALLED: &str = include_str!("../tests/fixtures/examples/03-stalled-shangcheng.json");
const AREAS: &str = include_str!("../data/admin-divisions/areas.csv");

/// The embedded rules plus one zone per county-level unit of the country (those the
/// embedded zones do not already claim), each with its own control window.
fn many_zones() -> Rules {
    let claimed = [
        "330225", "330304", "330302", "330303", "330521", "330602", "330603", "330703", "330702",
    ];
    let mut source = EMBEDDED_SOURCE.to_owned();
    let mut n = 0;
    for line in AREAS.lines().skip(1) {
        let code = line.split(',').next().unwrap_or_default();
        if code.len() != 6 || claimed.contains(&code) {
            continue;
        }
        n += 1;
        source.push_str(&format!(
            "\n[[notice.zones]]\nid = \"z{code}\"\nname = {{ zh-CN = \"区{code}\", en = \"Zone {code}\" }}\n\
             adcodes = [\"{code}\"]\ncontrol = {{ from = 2023-09-{:02}T00:00:00+08:00, until = 2023-10-29T00:00:00+08:00 }}\n",
            1 + n % 28
        ));
    }
    match Rules::from_toml(&source, "generated.toml") {
        Ok(r) => r,
        Err(e) => panic!("generated rules do not load: {e}"),
    }
}

fn bench(c: &mut Criterion) {
    let example: Value = serde_json::from_str(STALLED).unwrap_or(Value::Null);
    // The request as a caller sends it (compact JSON).
    let body = serde_json::to_vec(&example["request"]).unwrap_or_default();
    let embedded = Rules::embedded().unwrap_or_else(|e| panic!("{e}"));
    let large = many_zones();
    let zones: usize = large.notices.iter().map(|n| n.zones.len()).sum();
    eprintln!("large rules: {zones} zones; body: {} bytes", body.len());
    let ctx = |rules| ParseContext {
        rules,
        gazetteer: aftersales::gazetteer(),
    };

    for (name, rules) in [
        ("decide/stalled/embedded", &embedded),
        ("decide/stalled/3000-zones", &large),
    ] {
        let parsed = parse(&body, ctx(rules)).unwrap_or_else(|e| panic!("{e:?}"));
        let as_of = parsed.as_of.unwrap_or_default();
        c.bench_function(name, |b| {
            b.iter(|| aftersales::engine::decide(black_box(rules), black_box(&parsed.case), as_of))
        });
    }

    let mut parsing = c.benchmark_group("parse/stalled");
    parsing.bench_function("bytes-to-case", |b| {
        b.iter(|| parse(black_box(&body), ctx(&embedded)))
    });
    // The same case with its destination as an adcode: the parse without reading an
    // address.
    let mut by_adcode = example["request"].clone();
    by_adcode["destination"] = serde_json::json!({"adcode": "330102"});
    let by_adcode = serde_json::to_vec(&by_adcode).unwrap_or_default();
    parsing.bench_function("bytes-to-case/adcode", |b| {
        b.iter(|| parse(black_box(&by_adcode), ctx(&embedded)))
    });
    // The first step of the old path (a `Value` tree, walked into a case after).
    parsing.bench_function("bytes-to-json-value", |b| {
        b.iter(|| serde_json::from_slice::<Value>(black_box(&body)))
    });
    // Part of bytes-to-case: placing the destination's free-text address.
    let address = DestinationInput {
        address: example["request"]["destination"]["address"]
            .as_str()
            .map(str::to_owned),
        ..DestinationInput::default()
    };
    parsing.bench_function("resolve-address", |b| {
        b.iter(|| aftersales::gazetteer().resolve(black_box(&address)))
    });
    parsing.finish();

    let view = aftersales::decide_json(
        &embedded,
        &body,
        chrono::Utc::now(),
        Default::default(),
        String::new(),
    )
    .map(|d| d.view);
    c.bench_function("pieces/serialize-view", |b| {
        b.iter(|| serde_json::to_vec(black_box(&view.as_ref().ok())))
    });
    c.bench_function("pieces/uuid-v7", |b| b.iter(aftersales::new_decision_id));
    // The served path: parse, decide, write the JSON (full and compact view).
    for (name, view) in [
        ("request/stalled/whole", View::Full),
        ("request/stalled/whole-compact", View::Compact),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                aftersales::decide_body(&embedded, black_box(&body), chrono::Utc::now()).map(
                    |(case, d)| {
                        let mut out = Vec::with_capacity(4096);
                        write_decision(
                            &mut out,
                            &embedded,
                            &d,
                            case.case_id.as_deref(),
                            &aftersales::new_decision_id(),
                            Default::default(),
                            view,
                        );
                        out
                    },
                )
            })
        });
    }
    // The path before: a DecisionView (then serialised, pieces/serialize-view).
    c.bench_function("request/stalled/decide_json", |b| {
        b.iter(|| {
            aftersales::decide_json(
                &embedded,
                black_box(&body),
                chrono::Utc::now(),
                Default::default(),
                String::new(),
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
