//! The decision log: nothing lost, nothing personal.

use serde_json::{Value, json};

use crate::helpers::*;

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
        .collect()
}

#[tokio::test]
async fn a_burst_of_decisions_all_reach_the_log_by_shutdown() {
    let dir = temp_dir("decision-log");
    let path = dir.path().join("decisions.jsonl");
    let mut args = args();
    args.decision_log = Some(path.to_string_lossy().into_owned());
    // A small buffer, so the burst has to wait for the writer.
    args.decision_log_buffer = 8;
    let mut app = spawn_with(args).await;
    let req = example("03-stalled-shangcheng.json")["request"].clone();

    let batch = json!({"items": vec![req.clone(); 2000]});
    let singles = (0..200).map(|_| app.post_json("/v1/decisions", &req));
    let (batch, singles) = tokio::join!(
        app.post_json("/v1/decisions/batch", &batch),
        futures_join(singles)
    );
    let batch = body(batch).await;
    let mut ids: Vec<String> = batch["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["decision"]["decision_id"].as_str().map(str::to_owned))
        .collect();
    for r in singles {
        ids.push(
            body(r).await["decision_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert_eq!(ids.len(), 2200);

    app.stop();
    if let Some(done) = app.finished.take() {
        let _ = done.await;
    }
    let logged = lines(&path);
    assert_eq!(logged.len(), 2200, "every decision is logged");
    let mut logged_ids: Vec<String> = logged
        .iter()
        .map(|l| l["decision_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    ids.sort();
    logged_ids.sort();
    assert_eq!(logged_ids, ids);
    let from_batch = logged
        .iter()
        .filter(|l| l["batch_id"] == batch["batch_id"])
        .count();
    assert_eq!(from_batch, 2000);
    let first = &logged[0];
    for key in [
        "request_id",
        "rules_version",
        "rules_checksum",
        "as_of",
        "scenario",
        "decision",
        "sections",
    ] {
        assert!(!first[key].is_null(), "{key} missing: {first}");
    }
}

async fn futures_join<F: std::future::Future<Output = reqwest::Response>>(
    futures: impl Iterator<Item = F>,
) -> Vec<reqwest::Response> {
    let handles: Vec<_> = futures.collect();
    let mut out = Vec::new();
    for f in handles {
        out.push(f.await);
    }
    out
}

#[tokio::test]
async fn the_log_keeps_the_buyers_personal_data_out() {
    let dir = temp_dir("decision-log-mask");
    let path = dir.path().join("decisions.jsonl");
    let mut args = args();
    args.decision_log = Some(path.to_string_lossy().into_owned());
    let mut app = spawn_with(args).await;
    let req = json!({
        "case_id": "AS-9",
        "refund_type": "refund_only",
        "requested_at": "2023-10-11T09:00:00+08:00",
        "order": {"order_id": "KS-9"},
        "destination": {"address": "浙江省杭州市上城区解放路100号 张三 13800001111"},
        "logistics_trace": [{"at": "2023-10-10T14:00:00+08:00", "description": "派件员：王师傅 电话：13900002222 正在为您派件", "location": "杭州上城"}],
    });
    assert_eq!(app.post_json("/v1/decisions", &req).await.status(), 200);
    app.stop();
    if let Some(done) = app.finished.take() {
        let _ = done.await;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    for secret in [
        "张三",
        "13800001111",
        "13900002222",
        "王师傅",
        "解放路",
        "上城",
    ] {
        assert!(!text.contains(secret), "`{secret}` reached the log: {text}");
    }
    let line = &lines(&path)[0];
    assert_eq!(
        line["input"]["destination"],
        json!({"adcode": "330100", "name": "浙江省杭州市"})
    );
    assert_eq!(
        line["input"]["logistics_trace"][0]["status"],
        "out_for_delivery"
    );
    assert_eq!(line["case_id"], "AS-9");
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn every_200_has_its_line_written_before_the_answer() {
    let dir = temp_dir("decision-log-first");
    let path = dir.path().join("decisions.jsonl");
    let mut args = args();
    args.decision_log = Some(path.to_string_lossy().into_owned());
    let app = spawn_with(args).await;
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    for round in 0..20 {
        let single = body(app.post_json("/v1/decisions", &req).await).await;
        let batch = body(
            app.post_json(
                "/v1/decisions/batch",
                &json!({"items": [req.clone(), req.clone()]}),
            )
            .await,
        )
        .await;
        // Read at once, while the server runs: the lines are there already.
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for id in [
            &single["decision_id"],
            &batch["results"][0]["decision"]["decision_id"],
            &batch["results"][1]["decision"]["decision_id"],
        ] {
            let id = id
                .as_str()
                .unwrap_or_else(|| panic!("no id in round {round}"));
            assert_eq!(text.matches(id).count(), 1, "{id} in round {round}");
        }
    }
}

#[tokio::test]
async fn when_the_log_cannot_be_written_decisions_are_503_and_readyz_fails() {
    let mut args = args();
    args.decision_log = Some("/dev/full".into());
    let app = spawn_with(args).await;
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    assert_eq!(
        app.get("/readyz").await.status(),
        200,
        "ready until a write fails"
    );

    let r = app.post_json("/v1/decisions", &req).await;
    assert_eq!(r.status(), 503);
    assert_eq!(
        r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
        Some("5")
    );
    assert_eq!(content_type(&r), "application/problem+json");
    let p = body(r).await;
    assert_eq!(p["type"], "urn:aftersales:problem:decision-log-unavailable");
    assert!(p.get("decision_id").is_none());

    let before = metric(
        &app.get("/metrics").await.text().await.unwrap_or_default(),
        "aftersales_decision_log_errors_total",
    );
    let r = app
        .post_json(
            "/v1/decisions/batch",
            &json!({"items": [req.clone(), req.clone(), req.clone(), {"refund_type": "refund_only"}]}),
        )
        .await;
    assert_eq!(r.status(), 503, "a batch is all or nothing");
    let text = app.get("/metrics").await.text().await.unwrap_or_default();
    assert_eq!(
        metric(&text, "aftersales_decision_log_errors_total") - before,
        3.0,
        "counted per line: {text}"
    );
    assert_eq!(metric(&text, "aftersales_decision_log_failing"), 1.0);

    let r = app.get("/readyz").await;
    assert_eq!(r.status(), 503);
    assert_eq!(
        body(r).await["type"],
        "urn:aftersales:problem:decision-log-unavailable"
    );
    assert_eq!(
        app.get("/healthz").await.status(),
        200,
        "alive all the same"
    );
    let r = app
        .post_json("/v1/decisions", &json!({"refund_type": "refund_only"}))
        .await;
    assert_eq!(r.status(), 422, "an invalid request needs no line");
}

/// A server logging decisions to `decisions.jsonl` in a new directory named after `name`,
/// which has answered one decision: the directory (kept while it is used), the log's path,
/// the path it is rotated to, the server, the request and its first answer.
async fn logging_one_decision(
    name: &str,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    std::path::PathBuf,
    TestApp,
    Value,
    Value,
) {
    let dir = temp_dir(name);
    let path = dir.path().join("decisions.jsonl");
    let rotated = dir.path().join("decisions.jsonl.1");
    let mut args = args();
    args.decision_log = Some(path.to_string_lossy().into_owned());
    let app = spawn_with(args).await;
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    let first = body(app.post_json("/v1/decisions", &req).await).await;
    (dir, path, rotated, app, req, first)
}

#[tokio::test]
async fn on_hangup_the_log_is_reopened_at_its_path() {
    let (_dir, path, rotated, mut app, req, first) =
        logging_one_decision("decision-log-rotate").await;

    std::fs::rename(&path, &rotated).unwrap_or_else(|e| panic!("{e}"));
    app.state.hangup();
    assert!(
        eventually(|| async { path.exists() }).await,
        "not reopened at its path"
    );
    let second = body(app.post_json("/v1/decisions", &req).await).await;
    app.stop();
    if let Some(done) = app.finished.take() {
        let _ = done.await;
    }
    let old = lines(&rotated);
    let new = lines(&path);
    assert_eq!(old.len(), 1);
    assert_eq!(old[0]["decision_id"], first["decision_id"]);
    assert_eq!(new.len(), 1, "new lines go to the new file");
    assert_eq!(new[0]["decision_id"], second["decision_id"]);
}

/// A path put on a kernel pseudo filesystem after a rotation (`/proc/self/comm` keeps 15
/// bytes of a line, as the process's name) is refused at the hangup's reopen: the file
/// opened before is kept, and every line goes on reaching it whole.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_hangup_onto_a_procfs_file_keeps_the_log_opened_before() {
    let (_dir, path, rotated, mut app, req, first) =
        logging_one_decision("decision-log-procfs").await;
    let name = std::fs::read_to_string("/proc/self/comm").unwrap_or_default();

    std::fs::rename(&path, &rotated).unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink("/proc/self/comm", &path).unwrap_or_else(|e| panic!("{e}"));
    app.state.hangup();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // A failed reopen is tried again before each write: this one too is refused.
    let r = app.post_json("/v1/decisions", &req).await;
    assert_eq!(r.status(), 200);
    let second = body(r).await;
    app.stop();
    if let Some(done) = app.finished.take() {
        let _ = done.await;
    }
    assert_eq!(
        std::fs::read_to_string("/proc/self/comm").unwrap_or_default(),
        name,
        "a line was written into the process's name"
    );
    let kept = lines(&rotated);
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert_eq!(kept[0]["decision_id"], first["decision_id"]);
    assert_eq!(kept[1]["decision_id"], second["decision_id"]);
}

#[tokio::test]
async fn a_deleted_log_is_made_again_at_its_path_even_without_a_hangup() {
    let dir = temp_dir("decision-log-deleted");
    let path = dir.path().join("decisions.jsonl");
    let mut args = args();
    args.decision_log = Some(path.to_string_lossy().into_owned());
    let app = spawn_with(args).await;
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    assert_eq!(app.post_json("/v1/decisions", &req).await.status(), 200);
    std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let after = body(app.post_json("/v1/decisions", &req).await).await;
    let logged = lines(&path);
    assert_eq!(logged.len(), 1, "not written into the void");
    assert_eq!(logged[0]["decision_id"], after["decision_id"]);
}

#[test]
fn a_decision_log_that_cannot_be_opened_is_named_with_the_os_error() {
    let missing = "/nonexistent-aftersales-dir/decisions.jsonl";
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aftersales"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--decision-log",
            missing,
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains(missing), "{said}");
    assert!(said.contains("No such file or directory"), "{said}");
    assert!(!said.contains("cannot listen"), "{said}");
}

#[tokio::test]
async fn on_stdout_each_answered_decision_is_one_line() {
    use std::io::BufRead;
    let (server, addr, _) = spawn_binary("", &["--decision-log", "-"]);
    let mut server = KilledOnDrop(server);
    let stdout = server
        .0
        .stdout
        .take()
        .unwrap_or_else(|| panic!("no stdout"));
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let r = post_decision(&client, addr, &req).await;
        ids.push(body(r).await["decision_id"].clone());
    }
    let logged = tokio::task::spawn_blocking(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .take(3)
            .map(|l| serde_json::from_str::<Value>(&l.unwrap_or_default()).unwrap_or_default())
            .map(|l| l["decision_id"].clone())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    let _ = server.0.kill();
    let _ = server.0.wait();
    assert_eq!(logged, ids);
}

#[tokio::test]
async fn the_platforms_refund_state_is_logged_as_codes_without_personal_data() {
    let dir = temp_dir("decision-log-platform");
    let path = dir.path().join("decisions.jsonl");
    let mut args = args();
    args.decision_log = Some(path.to_string_lossy().into_owned());
    let mut app = spawn_with(args).await;
    let rejected = json!({
        "kuaishou_refund": {
            "refundId": 2150361234567890u64, "oid": 2309281234567890u64, "status": 10,
            "handlingWay": 10, "negotiateStatus": 3, "receiptStatus": 2,
            "submitTime": 1696298400000u64, "expireTime": 1696393800000u64,
            "buyerOpenId": "f19bd3a1c7e24c0d9a1b2c3d4e5f6a7b",
            "refundDesc": "张三 13800001111 不想要了",
            "address": "浙江省杭州市余杭区文一西路969号 李四 13900002222",
            "logisticsInfo": {"expressNo": "YT7412345678901", "expressCode": 4},
        },
        "as_of": "2023-10-03T18:00:00+08:00",
        "destination": {"adcode": "330102"},
        "logistics_trace": [{"at": "2023-10-03T08:00:00+08:00", "status": "in_transit"}],
    });
    let mut exchange = rejected.clone();
    exchange["kuaishou_refund"]["handlingWay"] = json!(3);
    exchange["kuaishou_refund"]["negotiateStatus"] = json!(1);
    exchange["kuaishou_refund"]["receiptStatus"] = json!(1);
    exchange["kuaishou_refund"]["expireTime"] = json!(0);
    let mut clean = example("03-stalled-shangcheng.json")["request"].clone();
    clean["case_id"] = json!("clean");
    for req in [&rejected, &exchange, &clean] {
        assert_eq!(app.post_json("/v1/decisions", req).await.status(), 200);
    }
    app.stop();
    if let Some(done) = app.finished.take() {
        let _ = done.await;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    for secret in [
        "f19bd3a1",
        "张三",
        "李四",
        "13800001111",
        "13900002222",
        "文一西路",
        "YT7412345678901",
    ] {
        assert!(!text.contains(secret), "`{secret}` reached the log: {text}");
    }
    let logged = lines(&path);
    assert_eq!(logged.len(), 3);
    assert_eq!(
        logged[0]["input"]["platform"],
        json!({
            "status": 10,
            "merchant_rejected": true,
            "deadline": "2023-10-04T12:30:00+08:00",
            "not_covered": null,
            "buyer_claims_receipt": true,
        })
    );
    // The buyer's claim is the platform's state, not an event of the trace.
    assert_eq!(
        logged[0]["input"]["logistics_trace"],
        json!([{"at": "2023-10-03T08:00:00+08:00", "status": "in_transit"}])
    );
    assert_eq!(
        logged[1]["input"]["platform"],
        json!({
            "status": 10,
            "merchant_rejected": false,
            "deadline": null,
            "not_covered": "exchange_request",
            "buyer_claims_receipt": false,
        })
    );
    assert_eq!(logged[1]["decision"], "standard_process");
    assert_eq!(logged[2]["case_id"], "clean");
    assert_eq!(logged[2]["input"]["platform"], Value::Null);
}

#[tokio::test]
async fn a_write_to_stdout_that_never_returns_turns_readyz_503_until_it_does() {
    use std::io::Read;
    // Stdout is a pipe nobody reads: once its 64 KiB are full, the write blocks. The
    // deadline is far: the batch waits for its write (a bounded wait, see below).
    let (server, addr, _) = spawn_binary("", &["--decision-log", "-", "--request-timeout", "60"]);
    let mut server = KilledOnDrop(server);
    let mut stdout = server
        .0
        .stdout
        .take()
        .unwrap_or_else(|| panic!("no stdout"));
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let ready = |client: reqwest::Client| async move {
        client
            .get(format!("http://{addr}/readyz"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    assert_eq!(ready(client.clone()).await, 200);
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    let batch = json!({"items": vec![req; 400]});
    let blocked = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .post(format!("http://{addr}/v1/decisions/batch"))
                .json(&batch)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        })
    };
    assert!(
        eventually(|| async { ready(client.clone()).await == 503 }).await,
        "/readyz stayed 200 while the decision log's write did not return"
    );
    assert!(!blocked.is_finished(), "the batch waits for its lines");
    // Someone reads again: the write returns, the batch is answered, readiness is back.
    let drained = std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = stdout.read_to_end(&mut all);
        all
    });
    assert_eq!(blocked.await.unwrap_or(0), 200);
    assert!(
        eventually(|| async { ready(client.clone()).await == 200 }).await,
        "/readyz did not come back once the write returned"
    );
    let _ = server.0.kill();
    let _ = server.0.wait();
    let logged = drained.join().unwrap_or_default();
    assert_eq!(
        String::from_utf8_lossy(&logged).lines().count(),
        400,
        "each decision once"
    );
}

#[tokio::test]
async fn a_callers_string_cannot_break_or_disguise_a_log_line() {
    // Line and paragraph separators (a line break to many readers), C1 controls (CSI
    // drives some terminals), bidirectional overrides (reorder what `tail` shows):
    // written as JSON escapes, so each line reads as written and parses to the same value.
    let dir = temp_dir("decision-log-invisible");
    let path = dir.path().join("decisions.jsonl");
    let mut args = args();
    args.decision_log = Some(path.to_string_lossy().into_owned());
    let mut app = spawn_with(args).await;
    let case_id = "AS-1\u{2028}{\"decision\":\"approve\"}\u{2029}\u{9b}31m\u{85}\u{202e}evom\u{2066}\u{7f}\u{feff}";
    let mut req = example("03-stalled-shangcheng.json")["request"].clone();
    req["case_id"] = json!(case_id);
    req["order"]["order_id"] = json!(case_id);
    assert_eq!(app.post_json("/v1/decisions", &req).await.status(), 200);
    app.stop();
    if let Some(done) = app.finished.take() {
        let _ = done.await;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let shown: Vec<char> = text
        .chars()
        .filter(|c| {
            matches!(c, '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
        })
        .collect();
    assert!(shown.is_empty(), "{shown:?} written as they are: {text}");
    let logged = lines(&path);
    assert_eq!(logged.len(), 1, "{text}");
    assert_eq!(logged[0]["case_id"], case_id, "the same value, escaped");
    assert_eq!(logged[0]["input"]["order_id"], case_id);
}

#[tokio::test]
async fn the_service_log_shows_a_callers_invisible_characters_as_escapes() {
    // The JSON service log leaves C1, U+2028 and the bidi controls raw, as JSON may:
    // the case id's are written as \u{…} there, as the text view writes them.
    let (server, addr, _, logs) = spawn_binary_with_logs("", &[]);
    let mut server = KilledOnDrop(server);
    let mut req = example("03-stalled-shangcheng.json")["request"].clone();
    req["case_id"] = json!("AS-1\u{2028}\u{9b}31m\u{202e}evom");
    let r = post_decision(&reqwest::Client::new(), addr, &req).await;
    assert_eq!(r.status(), 200);
    let decided = tokio::task::spawn_blocking(move || {
        // Bounded: a line that never comes fails the test instead of hanging it.
        std::iter::from_fn(|| logs.recv_timeout(std::time::Duration::from_secs(10)).ok())
            .find(|l| l.contains("\"served\"") && l.contains("\"case_id\""))
            .unwrap_or_default()
    })
    .await
    .unwrap_or_default();
    let _ = server.0.kill();
    let _ = server.0.wait();
    let line: Value = serde_json::from_str(&decided).unwrap_or_default();
    assert_eq!(
        line["case_id"], "AS-1\\u{2028}\\u{9b}31m\\u{202e}evom",
        "{decided}"
    );
}

/// The real server, its stderr (JSON logs) a pipe the test holds, drain 0 s, grace 1 s:
/// the server, its log lines after the `serving` one, and its address.
fn serving_with_stderr_piped() -> (
    KilledOnDrop,
    std::io::Lines<std::io::BufReader<std::process::ChildStderr>>,
    std::net::SocketAddr,
) {
    let mut server = KilledOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_aftersales"))
            .args(["serve", "--listen", "127.0.0.1:0", "--drain-seconds", "0"])
            .args(["--grace-seconds", "1", "--log-format", "json"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let stderr = server
        .0
        .stderr
        .take()
        .unwrap_or_else(|| panic!("no stderr"));
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let (addr, _) = wait_for_serving(&mut lines);
    (server, lines, addr)
}

/// Sends SIGTERM to `server` and waits up to 30 s (a bound, not a timing) for it to exit.
async fn terminated(server: &mut KilledOnDrop) -> std::process::ExitStatus {
    let pid = server.0.id().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    for _ in 0..300 {
        if let Some(status) = server.0.try_wait().ok().flatten() {
            return status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("still running 30 s after SIGTERM")
}

/// Sends SIGTERM to `server`, whose last service log lines cannot be written: it must
/// exit non-zero, as it could not keep that promise.
async fn fails_its_exit_for_unwritten_logs(server: &mut KilledOnDrop) {
    let exit = terminated(server).await;
    assert!(
        !exit.success(),
        "{exit:?}: its last log lines were not written"
    );
}

/// Posts `req` to `addr`: a 200, as answers never wait on the service log (stderr).
async fn answered_not_waiting_on_stderr(
    client: &reqwest::Client,
    addr: std::net::SocketAddr,
    req: &Value,
) {
    let r = post_decision(client, addr, req).await;
    assert_eq!(r.status(), 200, "answers never wait on stderr");
}

/// Whether `/readyz` at `addr` comes back 200 within `eventually`'s bound.
async fn ready_again(client: &reqwest::Client, addr: std::net::SocketAddr) -> bool {
    eventually(|| async {
        let r = client.get(format!("http://{addr}/readyz")).send().await;
        r.is_ok_and(|r| r.status() == 200)
    })
    .await
}

/// A batch of 400 decisions (about 300 KB of log lines: more than a pipe holds), with
/// `request_id`; its status and body.
async fn post_big_batch(addr: std::net::SocketAddr, request_id: &str) -> (u16, Value, String) {
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/v1/decisions/batch"))
        .header("x-request-id", request_id)
        .timeout(std::time::Duration::from_secs(30))
        .json(&json!({"items": vec![req; 400]}))
        .send()
        .await;
    let Ok(r) = r else {
        return (0, Value::Null, String::new());
    };
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, body(r).await, retry)
}

/// The first log line (within 10 s each) containing `needle`, parsed.
async fn logged(logs: std::sync::mpsc::Receiver<String>, needle: &'static str) -> Value {
    tokio::task::spawn_blocking(move || {
        std::iter::from_fn(|| logs.recv_timeout(std::time::Duration::from_secs(10)).ok())
            .find(|l| l.contains(needle))
            .and_then(|l| serde_json::from_str(&l).ok())
            .unwrap_or_default()
    })
    .await
    .unwrap_or_default()
}

#[tokio::test]
async fn a_decision_whose_log_write_does_not_return_is_refused_503_at_its_deadline() {
    // Stdout is a pipe the test never reads: the batch's write fills it and blocks.
    let (server, addr, _, _logs) =
        spawn_binary_with_logs("", &["--decision-log", "-", "--request-timeout", "1"]);
    let mut server = KilledOnDrop(server);
    let _unread = server.0.stdout.take();
    let (status, problem, retry) = post_big_batch(addr, "stuck-batch").await;
    assert_eq!(
        status, 503,
        "answered by its deadline, not left waiting: {problem}"
    );
    assert_eq!(
        problem["type"],
        "urn:aftersales:problem:decision-log-unavailable"
    );
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("did not return")),
        "{problem}"
    );
    assert_eq!(retry, "5");
}

#[tokio::test]
async fn lines_written_after_their_request_was_refused_are_counted_late_and_named() {
    use std::io::Read;
    let (server, addr, _, logs) =
        spawn_binary_with_logs("", &["--decision-log", "-", "--request-timeout", "1"]);
    let mut server = KilledOnDrop(server);
    let mut stdout = server
        .0
        .stdout
        .take()
        .unwrap_or_else(|| panic!("no stdout"));
    let client = reqwest::Client::new();
    let at_start = scrape_metrics(&client, addr).await;
    for series in [
        "aftersales_decision_log_late_total",
        "aftersales_decision_log_records_total",
        "aftersales_decision_log_errors_total",
        "aftersales_log_lines_dropped_total",
    ] {
        assert_eq!(
            metric_value(&at_start, series),
            Some(0.0),
            "{series} shown from the start, so an alert has a series to watch"
        );
    }
    let (status, _, _) = post_big_batch(addr, "late-batch").await;
    assert_eq!(status, 503);
    // The reader is back after the deadline: the write returns, the lines are late.
    let drained = std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = stdout.read_to_end(&mut all);
        all
    });
    let event = logged(logs, "written after their requests were refused").await;
    assert_eq!(event["level"], "ERROR", "{event}");
    assert_eq!(event["lines"], 400, "{event}");
    assert_eq!(event["requests"], 1, "{event}");
    assert!(
        event["request_ids"]
            .as_str()
            .is_some_and(|ids| ids.contains("late-batch")),
        "{event}"
    );
    let metrics = scrape_metrics(&client, addr).await;
    assert_eq!(
        metric_value(&metrics, "aftersales_decision_log_late_total"),
        Some(400.0),
        "{metrics}"
    );
    drop(server);
    let text = String::from_utf8_lossy(&drained.join().unwrap_or_default()).into_owned();
    let ids: Vec<Value> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_default()["request_id"].clone())
        .collect();
    // Named by the batch id this service made, which no served 200 line carries.
    let batch_id = text
        .lines()
        .find_map(|l| serde_json::from_str::<Value>(l).ok())
        .and_then(|l| l["batch_id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no batch_id in the lines"));
    assert!(
        event["decision_ids"]
            .as_str()
            .is_some_and(|ids| ids.contains(&batch_id)),
        "{event}"
    );
    assert_eq!(ids.len(), 400, "the whole batch, late");
    assert!(
        ids.iter().all(|id| id == "late-batch"),
        "each line names the request answered 503"
    );
}

#[tokio::test]
async fn on_sigterm_a_server_whose_log_write_never_returns_exits_non_zero() {
    let (server, addr, _, logs) = spawn_binary_with_logs(
        "",
        &[
            "--decision-log",
            "-",
            "--request-timeout",
            "1",
            "--grace-seconds",
            "1",
        ],
    );
    let mut server = KilledOnDrop(server);
    let _unread = server.0.stdout.take();
    let (status, _, _) = post_big_batch(addr, "before-sigterm").await;
    assert_eq!(status, 503);
    let exit = terminated(&mut server).await;
    assert!(
        !exit.success(),
        "{exit:?}: the lines were not confirmed written"
    );
    let event = logged(logs, "decision log not flushed").await;
    assert_eq!(event["level"], "ERROR", "{event}");
    assert_eq!(event["in_write"], 400, "{event}");
}

#[tokio::test]
async fn on_sigterm_a_server_whose_log_is_read_flushes_it_and_exits_0() {
    use std::io::Read;
    let (server, addr, _) = spawn_binary("", &["--decision-log", "-"]);
    let mut server = KilledOnDrop(server);
    let mut stdout = server
        .0
        .stdout
        .take()
        .unwrap_or_else(|| panic!("no stdout"));
    let drained = std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = stdout.read_to_end(&mut all);
        all
    });
    let (status, _, _) = post_big_batch(addr, "healthy").await;
    assert_eq!(status, 200);
    let exit = terminated(&mut server).await;
    assert!(exit.success(), "{exit:?}");
    let text = String::from_utf8_lossy(&drained.join().unwrap_or_default()).into_owned();
    assert_eq!(text.lines().count(), 400, "every line out before exit");
}

#[tokio::test]
async fn on_sigterm_a_server_whose_service_log_is_never_read_exits_non_zero() {
    // Stderr is a pipe nobody reads: the service log's last lines cannot be written.
    let (mut server, lines, addr) = serving_with_stderr_piped();
    // From here nobody reads it; enough lines to fill the pipe (about 300 bytes each).
    let _unread = lines;
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    let client = reqwest::Client::new();
    for _ in 0..400 {
        answered_not_waiting_on_stderr(&client, addr, &req).await;
    }
    fails_its_exit_for_unwritten_logs(&mut server).await;
}

#[tokio::test]
async fn a_refused_batch_on_stdout_never_completes_its_line_after_a_short_write() {
    // Stdout is a regular file with a size limit (a full disk, in effect): the write that
    // crosses it is short, the rest fails. Then the limit is lifted, as space comes back.
    let dir = temp_dir("short-stdout");
    let file = dir.path().join("stdout.jsonl");
    let prefix = format!("trap '' XFSZ; ulimit -S -f 40; exec >'{}';", file.display());
    let (server, addr, _) = spawn_binary(&prefix, &["--decision-log", "-"]);
    let server = KilledOnDrop(server);
    let client = reqwest::Client::new();
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    let post = |id: String| {
        client
            .post(format!("http://{addr}/v1/decisions/batch"))
            .header("x-request-id", id)
            .json(&json!({"items": vec![req.clone(); 3]}))
            .send()
    };
    let mut answered = Vec::new();
    let mut refused = None;
    for n in 0..200 {
        let id = format!("b{n}");
        let r = post(id.clone()).await.unwrap_or_else(|e| panic!("{e}"));
        match r.status().as_u16() {
            200 => answered.push(id),
            503 => {
                refused = Some(id);
                break;
            }
            s => panic!("{s}"),
        }
    }
    let refused = refused.unwrap_or_else(|| panic!("the size limit was never reached"));
    let lifted = std::process::Command::new("prlimit")
        .args(["--pid", &server.0.id().to_string(), "--fsize=unlimited:"])
        .status()
        .unwrap_or_else(|e| panic!("prlimit: {e}"));
    assert!(lifted.success());
    // Ready again once the probe's write succeeds; then one more batch.
    assert!(ready_again(&client, addr).await, "never ready again");
    let after = post("after".into()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(after.status(), 200);
    answered.push("after".into());

    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let mut whole: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|l| l["request_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let metrics = scrape_metrics(&client, addr).await;
    // The write that failed was short: whole lines of the refused batch may have stayed
    // (a stream cannot be cut back), but only as counted late lines, never completed later.
    let kept = whole.iter().filter(|id| **id == refused).count();
    assert_eq!(
        metric(&metrics, "aftersales_decision_log_late_total"),
        kept as f64,
        "{refused} was answered 503: its {kept} whole line(s) in the log must be counted late"
    );
    whole.retain(|id| *id != refused);
    let mut expected: Vec<String> = answered
        .iter()
        .flat_map(|id| std::iter::repeat_n(id.clone(), 3))
        .collect();
    expected.sort();
    whole.sort();
    assert_eq!(whole, expected, "exactly the 200s' lines, whole");
}

/// Makes a FIFO at `path`.
fn mkfifo(path: &std::path::Path) {
    let made = std::process::Command::new("mkfifo").arg(path).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
}

/// A reader of a FIFO in a process of its own (`cat`, its standard input opened
/// read-write on the FIFO, which does not wait for a writer), copying what it reads to a
/// file. The test process never holds the FIFO: a reader end of its own would be copied
/// into every child another test forks at that moment, and a writer would find a reader
/// still there after this one was gone.
struct FifoReader {
    cat: KilledOnDrop,
    copy: std::path::PathBuf,
}

impl FifoReader {
    /// A reader from now on (once its shell has opened the FIFO, which [`Self::start`]
    /// waits for).
    fn start(fifo: &std::path::Path, copy: std::path::PathBuf) -> FifoReader {
        let ready = copy.with_extension("ready");
        let _ = std::fs::remove_file(&ready);
        let cat = std::process::Command::new("sh")
            .arg("-c")
            .arg(r#"exec 0<>"$0" && : > "$2" && exec cat > "$1""#)
            .arg(fifo)
            .arg(&copy)
            .arg(&ready)
            .spawn()
            .unwrap_or_else(|e| panic!("sh: {e}"));
        let cat = KilledOnDrop(cat);
        for _ in 0..600 {
            if ready.exists() {
                return FifoReader { cat, copy };
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("the FIFO's reader did not start within a minute");
    }

    /// Once it has read `expected` (within a minute), kills the reader, as a reader that
    /// dies: once this returns, the FIFO has no reader. Gives back what it read.
    fn kill_once_read(mut self, expected: &str) -> String {
        let read = || std::fs::read_to_string(&self.copy).unwrap_or_default();
        for _ in 0..600 {
            if read().contains(expected) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.cat.0.kill();
        let _ = self.cat.0.wait();
        read()
    }
}

#[test]
fn a_fifo_with_no_reader_as_the_decision_log_stops_the_start_at_once_naming_it() {
    let dir = temp_dir("decision-log-fifo-unread");
    let fifo = dir.path().join("decisions.fifo");
    mkfifo(&fifo);
    let mut server = KilledOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_aftersales"))
            .args(["serve", "--listen", "127.0.0.1:0", "--decision-log"])
            .arg(&fifo)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    // A bound (a minute), not a timing: before, it waited in the open for good.
    let mut exit = None;
    for _ in 0..600 {
        exit = server.0.try_wait().ok().flatten();
        if exit.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let exit = exit.unwrap_or_else(|| panic!("still opening the FIFO after a minute"));
    assert!(!exit.success());
    let mut said = String::new();
    if let Some(mut stderr) = server.0.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut stderr, &mut said);
    }
    assert!(said.contains(&*fifo.to_string_lossy()), "{said}");
    assert!(said.contains("no reader"), "{said}");
}

#[tokio::test]
async fn a_fifo_with_a_reader_is_a_stream_and_a_hangup_with_no_reader_never_hangs_the_writer() {
    let dir = temp_dir("decision-log-fifo");
    let fifo = dir.path().join("decisions.fifo");
    mkfifo(&fifo);
    let reader = FifoReader::start(&fifo, dir.path().join("read-1"));
    let (server, addr, _, logs) =
        spawn_binary_with_logs("", &["--decision-log", &fifo.to_string_lossy()]);
    let server = KilledOnDrop(server);
    let pid = server.0.id().to_string();
    let client = reqwest::Client::new();
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    let first = body(post_decision(&client, addr, &req).await).await;
    assert!(first["decision_id"].is_string(), "{first}");

    // The reader is killed: writes fail (a closed pipe), a hangup finds no reader.
    let read = reader.kill_once_read(first["decision_id"].as_str().unwrap_or("?"));
    // The stream begins with a newline (an empty line, which readers skip).
    assert_eq!(read.lines().filter(|l| !l.is_empty()).count(), 1, "{read}");
    assert!(read.contains(first["decision_id"].as_str().unwrap_or("?")));
    assert_eq!(post_decision(&client, addr, &req).await.status(), 503);
    let _ = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status();
    let event = logged(logs, "decision log cannot be reopened").await;
    assert!(
        event["error"]
            .as_str()
            .unwrap_or_default()
            .contains("no reader"),
        "the reopen waited for a reader instead of failing: {event}"
    );
    assert_eq!(post_decision(&client, addr, &req).await.status(), 503);

    // A reader again, and a hangup: the log works again, as a stream.
    let reader = FifoReader::start(&fifo, dir.path().join("read-2"));
    let _ = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status();
    assert!(ready_again(&client, addr).await, "never ready again");
    let again = body(post_decision(&client, addr, &req).await).await;
    assert!(again["decision_id"].is_string(), "{again}");
    let read = reader.kill_once_read(again["decision_id"].as_str().unwrap_or("?"));
    let lines: Vec<Value> = read
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
        .collect();
    assert_eq!(lines.len(), 1, "{read}");
    assert_eq!(lines[0]["decision_id"], again["decision_id"]);
}

#[tokio::test]
async fn on_sigterm_a_server_whose_service_log_reader_is_gone_exits_non_zero() {
    // Stderr is a pipe whose reader closed it: every write of the service log fails
    // (EPIPE), which is not a block: the final flush fails at once.
    let (mut server, lines, addr) = serving_with_stderr_piped();
    drop(lines);
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    answered_not_waiting_on_stderr(&reqwest::Client::new(), addr, &req).await;
    fails_its_exit_for_unwritten_logs(&mut server).await;
}

#[tokio::test]
async fn on_sigterm_a_server_whose_service_log_file_is_full_exits_non_zero() {
    // Stderr is a file with a size limit (a full disk, in effect).
    let dir = temp_dir("full-stderr");
    let file = dir.path().join("stderr.log");
    let mut server = KilledOnDrop(
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "trap '' XFSZ; ulimit -S -f 40; exec 2>'{}'; exec \"$0\" \"$@\"",
                file.display()
            ))
            .arg(env!("CARGO_BIN_EXE_aftersales"))
            .args(["serve", "--listen", "127.0.0.1:0", "--drain-seconds", "0"])
            .args(["--grace-seconds", "1", "--log-format", "json"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let mut serving = None;
    for _ in 0..600 {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let mut lines = text
            .lines()
            .map(|l| Ok(l.to_owned()))
            .chain(std::iter::once(Err(std::io::Error::other("not yet"))));
        if text.contains("\"serving\"") {
            serving = Some(wait_for_serving(&mut lines).0);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let addr = serving.unwrap_or_else(|| panic!("never served"));
    let client = reqwest::Client::new();
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    let limit = 40 * 512;
    for _ in 0..1000 {
        answered_not_waiting_on_stderr(&client, addr, &req).await;
        if std::fs::metadata(&file).is_ok_and(|m| m.len() >= limit) {
            break;
        }
    }
    assert!(
        std::fs::metadata(&file).is_ok_and(|m| m.len() >= limit),
        "the size limit was never reached"
    );
    fails_its_exit_for_unwritten_logs(&mut server).await;
}

#[tokio::test]
async fn a_torn_line_left_at_the_end_of_the_log_by_a_stopped_process_is_ended_before_the_next() {
    // A process stopped while its write was stuck (or was killed in it): half a line.
    let dir = temp_dir("decision-log-torn-end");
    let path = dir.path().join("decisions.jsonl");
    std::fs::write(&path, "{\"decision_id\":\"whole\"}\n{\"decision_id\":\"to")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut args = args();
    args.decision_log = Some(path.to_string_lossy().into_owned());
    let app = spawn_with(args).await;
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    let decided = body(app.post_json("/v1/decisions", &req).await).await;
    let logged = lines(&path);
    assert_eq!(logged.len(), 3, "{logged:?}");
    assert_eq!(logged[1], Value::Null, "the torn line, on its own");
    assert_eq!(
        logged[2]["decision_id"], decided["decision_id"],
        "not joined to the torn one"
    );
    let metrics = app.get("/metrics").await.text().await.unwrap_or_default();
    assert!(
        metric(&metrics, "aftersales_decision_log_torn_total") >= 1.0,
        "counted, for an alert"
    );
}

/// The real server, its stderr (JSON logs) a regular file in `dir`, its decision log at
/// `dir/decisions.jsonl`: the server, its address, and the two paths.
fn serving_with_stderr_to_a_file(
    dir: &std::path::Path,
) -> (
    KilledOnDrop,
    std::net::SocketAddr,
    std::path::PathBuf,
    std::path::PathBuf,
) {
    let log = dir.join("decisions.jsonl");
    let err = dir.join("stderr.log");
    let file = std::fs::File::create(&err).unwrap_or_else(|e| panic!("{e}"));
    let server = KilledOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_aftersales"))
            .args(["serve", "--listen", "127.0.0.1:0", "--drain-seconds", "0"])
            .args(["--grace-seconds", "1", "--log-format", "json"])
            .arg("--decision-log")
            .arg(&log)
            .stdout(std::process::Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    for _ in 0..600 {
        let said = std::fs::read_to_string(&err).unwrap_or_default();
        let serving = said
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["message"] == "serving");
        if let Some(addr) = serving.and_then(|v| v["addr"].as_str()?.parse().ok()) {
            return (server, addr, log, err);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("not serving within a minute")
}

/// After a rotation, the path is made to name the very file standard error is written to
/// (`how`: a symlink to `/dev/stderr`, or a hard link to that file): the hangup's reopen is
/// refused as the start refuses it, the file opened before is kept (every line whole
/// there), the service log is left alone, and the refusal is logged and counted. A plain
/// rotation beside it is reopened.
async fn a_hangup_onto_the_stderr_file_keeps_the_log_opened_before(how: &str) {
    let dir = temp_dir(&format!("decision-log-stderr-{how}"));
    let (mut server, addr, path, err) = serving_with_stderr_to_a_file(dir.path());
    let rotated = dir.path().join("decisions.jsonl.1");
    let client = reqwest::Client::new();
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    let first = body(post_decision(&client, addr, &req).await).await;
    std::fs::rename(&path, &rotated).unwrap_or_else(|e| panic!("{e}"));
    match how {
        "symlink" => std::os::unix::fs::symlink("/dev/stderr", &path),
        _ => std::fs::hard_link(&err, &path),
    }
    .unwrap_or_else(|e| panic!("{e}"));
    let pid = server.0.id().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status();
    let refused = eventually(|| async {
        std::fs::read_to_string(&err)
            .unwrap_or_default()
            .contains("decision log cannot be reopened at its path")
    })
    .await;
    assert!(
        refused,
        "{}",
        std::fs::read_to_string(&err).unwrap_or_default()
    );
    let mut ids = vec![first["decision_id"].clone()];
    for _ in 0..3 {
        let r = post_decision(&client, addr, &req).await;
        assert_eq!(r.status(), 200);
        ids.push(body(r).await["decision_id"].clone());
    }
    let metrics = scrape_metrics(&client, addr).await;
    assert_eq!(
        metric_value(&metrics, "aftersales_decision_log_reopen_errors_total"),
        Some(1.0),
        "{metrics}"
    );
    let exit = terminated(&mut server).await;
    assert!(exit.success(), "{exit:?}");
    let kept: Vec<Value> = lines(&rotated)
        .iter()
        .map(|l| l["decision_id"].clone())
        .collect();
    assert_eq!(kept, ids, "every line goes on to the file opened before");
    let said = std::fs::read_to_string(&err).unwrap_or_default();
    let refusal = said
        .lines()
        .find(|l| l.contains("cannot be reopened at its path"))
        .unwrap_or_default();
    assert!(
        refusal.contains("standard error is written to"),
        "{refusal}"
    );
    for line in said.lines() {
        let parsed: Value = serde_json::from_str(line).unwrap_or_default();
        assert!(
            parsed["message"].is_string(),
            "a torn service log line, or a decision line in it: {line:?}"
        );
    }

    // Beside it, a plain rotation: reopened at the path.
    let dir = temp_dir(&format!("decision-log-stderr-{how}-plain"));
    let (mut server, addr, path, _) = serving_with_stderr_to_a_file(dir.path());
    let rotated = dir.path().join("decisions.jsonl.1");
    assert_eq!(post_decision(&client, addr, &req).await.status(), 200);
    std::fs::rename(&path, &rotated).unwrap_or_else(|e| panic!("{e}"));
    let pid = server.0.id().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status();
    assert!(eventually(|| async { path.exists() }).await, "not reopened");
    assert_eq!(post_decision(&client, addr, &req).await.status(), 200);
    let metrics = scrape_metrics(&client, addr).await;
    assert_eq!(
        metric_value(&metrics, "aftersales_decision_log_reopen_errors_total"),
        Some(0.0)
    );
    assert!(terminated(&mut server).await.success());
    assert_eq!(lines(&rotated).len(), 1);
    assert_eq!(lines(&path).len(), 1);
}

#[cfg(unix)]
#[tokio::test]
async fn a_hangup_onto_a_symlink_to_dev_stderr_keeps_the_log_opened_before() {
    a_hangup_onto_the_stderr_file_keeps_the_log_opened_before("symlink").await;
}

#[cfg(unix)]
#[tokio::test]
async fn a_hangup_onto_a_hard_link_to_the_stderr_file_keeps_the_log_opened_before() {
    a_hangup_onto_the_stderr_file_keeps_the_log_opened_before("hardlink").await;
}
