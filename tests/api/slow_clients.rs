//! Slow and hostile clients: headers sent a byte at a time, connections by the hundred
//! against a small open-files limit, bodies that trickle in.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::helpers::*;

/// A connection that has sent the start of a request head and nothing more.
fn half_a_head(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")?;
    Ok(s)
}

/// Sends one more header byte every 200 ms until the server closes the connection;
/// returns how long it stayed open (None if still open after `give_up`).
fn trickle_until_closed(mut s: TcpStream, give_up: Duration) -> Option<Duration> {
    let started = Instant::now();
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    while started.elapsed() < give_up {
        if s.write_all(b"X").is_err() {
            return Some(started.elapsed());
        }
        let mut buf = [0u8; 512];
        match s.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => return Some(started.elapsed()),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return Some(started.elapsed()),
        }
    }
    None
}

#[tokio::test]
async fn a_connection_sending_its_headers_a_byte_at_a_time_is_closed_at_the_header_timeout() {
    let mut args = args();
    args.header_read_timeout = 1;
    let app = spawn_with(args).await;
    let addr = app.addr;
    let open_for = tokio::task::spawn_blocking(move || {
        let s = half_a_head(addr).unwrap_or_else(|e| panic!("{e}"));
        trickle_until_closed(s, Duration::from_secs(15))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let open_for = open_for.unwrap_or_else(|| panic!("still open after 15 s"));
    assert!(
        open_for >= Duration::from_millis(900),
        "closed before the timeout: {open_for:?}"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_at_the_header_timeout() {
    let mut args = args();
    args.header_read_timeout = 1;
    let app = spawn_with(args).await;
    let addr = app.addr;
    let closed = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
        let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        let _ = s.set_read_timeout(Some(Duration::from_secs(15)));
        let mut all = Vec::new();
        // The answer, then the end of the connection once it has idled for the timeout.
        let _ = s.read_to_end(&mut all);
        String::from_utf8_lossy(&all).into_owned()
    })
    .await
    .unwrap_or_default();
    assert!(closed.starts_with("HTTP/1.1 200"), "{closed}");
}

#[tokio::test]
async fn with_more_slow_connections_than_file_descriptors_healthz_still_answers() {
    // 256 descriptors: at most 192 connections. 400 connections sending half a head
    // would exhaust the descriptors of a server without a cap, and hold them for good of
    // one without a header timeout (here a long one, so it cannot be what saves us).
    let (server, addr, serving) =
        spawn_binary("ulimit -n 256 &&", &["--header-read-timeout", "120"]);
    let mut server = KilledOnDrop(server);
    assert_eq!(serving["max_connections"], 192, "{serving}");
    let slow = tokio::task::spawn_blocking(move || {
        (0..400)
            .filter_map(|_| half_a_head(addr).ok())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    assert!(slow.len() >= 300, "only {} connections opened", slow.len());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..5 {
        let r = client.get(format!("http://{addr}/healthz")).send().await;
        assert!(
            r.as_ref().is_ok_and(|r| r.status() == 200),
            "/healthz: {r:?}"
        );
    }
    let metrics = scrape_metrics(&client, addr).await;
    let open = metric_value(&metrics, "aftersales_connections_open").unwrap_or(f64::NAN);
    assert!(open <= 192.0, "{open} connections open: {metrics}");
    drop(slow);
    let _ = server.0.kill();
    let _ = server.0.wait();
}

/// Reads until the server closes the connection (true), or 10 s pass (false).
fn closed_by_server(s: &mut TcpStream) -> bool {
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).is_ok()
}

#[tokio::test]
async fn at_the_connection_cap_the_oldest_connection_not_in_a_request_makes_room() {
    let mut args = args();
    args.max_connections = Some(2);
    args.header_read_timeout = 120;
    let app = spawn_with(args).await;
    let addr = app.addr;
    let made_room = tokio::task::spawn_blocking(move || {
        // The oldest: served once, now idle (keep-alive).
        let mut idle = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
        let _ = idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut answer = [0u8; 12];
        let _ = idle.read_exact(&mut answer);
        assert!(answer.starts_with(b"HTTP/1.1 200"));
        let mut slow = half_a_head(addr).unwrap_or_else(|e| panic!("{e}"));
        std::thread::sleep(Duration::from_millis(200));
        let probe = |n: usize| {
            let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let mut answer = [0u8; 12];
            let _ = s.read_exact(&mut answer);
            assert!(answer.starts_with(b"HTTP/1.1 200"), "probe {n}");
            s
        };
        let _first = probe(1);
        let idle_closed = closed_by_server(&mut idle);
        let _second = probe(2);
        (idle_closed, closed_by_server(&mut slow))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        made_room,
        (true, true),
        "(the idle one, the slow one) closed"
    );
}

/// A POST whose body arrives one byte a second (until the connection is dropped).
fn trickle_a_body(addr: SocketAddr) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let Ok(mut s) = TcpStream::connect(addr) else {
            return;
        };
        let head = "POST /v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n";
        if s.write_all(head.as_bytes()).is_err() {
            return;
        }
        for _ in 0..30 {
            if s.write_all(b" ").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    })
}

#[tokio::test]
async fn four_slow_bodies_do_not_lock_four_slots_out_of_fast_callers() {
    let mut args = args();
    args.concurrency_limit = 4;
    let app = spawn_with(args).await;
    let slow: Vec<_> = (0..4).map(|_| trickle_a_body(app.addr)).collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let req = example("03-stalled-shangcheng.json")["request"].clone();
    for _ in 0..8 {
        let r = app.post_json("/v1/decisions", &req).await;
        assert_eq!(r.status(), 200, "a fast caller was refused");
    }
    assert!(slow.iter().all(|t| !t.is_finished()), "still sending");
}

/// The first answer (up to 4 KiB, within 10 s) of a server with a 1 KiB body limit to
/// `sent`, sent in one go on a new connection, which then sends nothing more.
async fn first_answer_at_a_1_kib_limit(sent: String) -> String {
    let mut args = args();
    args.body_limit = 1024;
    args.body_read_timeout = 30;
    let app = spawn_with(args).await;
    let addr = app.addr;
    tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
        let _ = s.write_all(sent.as_bytes());
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        let mut buf = vec![0u8; 4096];
        let n = s.read(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    })
    .await
    .unwrap_or_default()
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413_without_a_length_to_go_by() {
    let head = "POST /v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    let chunks = format!("200\r\n{}\r\n", " ".repeat(512)).repeat(3);
    let answer = first_answer_at_a_1_kib_limit(format!("{head}{chunks}")).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
}

/// Review (rev9): a declared `Content-Length` over the limit is refused 413 from the head
/// alone, before any of the body is sent (the guard reads the length from the body's size
/// hint, through every body wrapper in between: without it, this waits for a body that
/// never comes).
#[tokio::test]
async fn a_declared_length_over_the_limit_is_413_before_any_of_the_body_comes() {
    let head = "POST /v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1025\r\n\r\n";
    let answer = first_answer_at_a_1_kib_limit(head.to_owned()).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
}

/// A connection with a small receive buffer that asks for the OpenAPI document (about
/// 100 KB) `n` times in one go and never reads: the server's writes soon stall.
async fn never_reading(addr: SocketAddr, n: usize) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let socket = tokio::net::TcpSocket::new_v4().unwrap_or_else(|e| panic!("{e}"));
    let _ = socket.set_recv_buffer_size(4096);
    let mut s = socket.connect(addr).await.unwrap_or_else(|e| panic!("{e}"));
    let ask = "GET /openapi.yaml HTTP/1.1\r\nHost: x\r\n\r\n".repeat(n);
    s.write_all(ask.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    s
}

/// Reads what the server still sends until it closes the connection; None if it is
/// still open after 30 s.
async fn read_until_closed(s: &mut tokio::net::TcpStream) -> Option<usize> {
    use tokio::io::AsyncReadExt;
    let mut total = 0;
    let mut buf = vec![0u8; 64 * 1024];
    let read_all = async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read_all)
        .await
        .ok()
}

#[tokio::test]
async fn a_client_that_takes_none_of_its_answers_is_closed_once_the_writes_stall() {
    // One second with no byte taken closes the connection; the 100 answers asked for
    // (10 MB) cannot all have been sent by then, nor all sit in the socket buffers.
    let mut args = args();
    args.header_read_timeout = 1;
    let app = spawn_with(args).await;
    let document = app
        .get("/openapi.yaml")
        .await
        .bytes()
        .await
        .map_or(0, |b| b.len());
    assert!(document > 50_000, "{document} bytes");
    let mut s = never_reading(app.addr, 100).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let got = read_until_closed(&mut s)
        .await
        .unwrap_or_else(|| panic!("still open"));
    assert!(
        got < 100 * document,
        "all {got} bytes were sent: the stalled connection was kept open"
    );
}

#[tokio::test]
async fn at_the_cap_a_connection_whose_client_takes_no_answer_makes_room() {
    // Long header and stall timeouts: only making room can let the probe in.
    let mut args = args();
    args.max_connections = Some(2);
    args.header_read_timeout = 120;
    let app = spawn_with(args).await;
    let _stuck = [
        never_reading(app.addr, 100).await,
        never_reading(app.addr, 100).await,
    ];
    tokio::time::sleep(Duration::from_millis(500)).await;
    let probe = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    for n in 0..3 {
        let r = probe.get(app.url("/healthz")).send().await;
        assert!(
            r.as_ref().is_ok_and(|r| r.status() == 200),
            "/healthz {n}: {r:?}"
        );
    }
}

#[tokio::test]
async fn at_the_cap_a_connection_still_receiving_its_body_makes_room() {
    // Every connection is inside a request, sending its body (the body-read timeout is
    // long): the oldest of them makes room, so the probe is served at once.
    let mut args = args();
    args.max_connections = Some(2);
    args.header_read_timeout = 120;
    args.body_read_timeout = 120;
    let app = spawn_with(args).await;
    let addr = app.addr;
    let mut slow = tokio::task::spawn_blocking(move || {
        (0..2)
            .map(|_| {
                let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
                let head = "POST /v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{";
                let _ = s.write_all(head.as_bytes());
                s
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let probe = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let r = probe.get(app.url("/healthz")).send().await;
    assert!(
        r.as_ref().is_ok_and(|r| r.status() == 200),
        "/healthz: {r:?}"
    );
    let oldest_closed = tokio::task::spawn_blocking(move || closed_by_server(&mut slow[0])).await;
    assert!(
        oldest_closed.unwrap_or(false),
        "the oldest slow body made room"
    );
}

/// A log collector that stops reading stderr: the pipe fills, and requests (probes
/// included) are still answered; the lines past the buffer are dropped and counted, and
/// a warning says so once stderr takes lines again. It used to hang every request that
/// logged, and so every request, after some 300 lines.
#[tokio::test]
async fn a_stderr_nobody_reads_never_stops_the_answers() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_aftersales"))
        .args(["serve", "--listen", "127.0.0.1:0", "--drain-seconds", "0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
    let mut lines = std::io::BufReader::new(stderr).lines();
    let (addr, _) = wait_for_serving(&mut lines);
    // Nothing reads stderr from here on. With an 8,000-character case id each served
    // line is ~8 KB: the pipe (64 KiB) fills after a few lines, the buffer (4 MiB) after
    // some 520; 1,200 requests pass both.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut req = example("03-stalled-shangcheng.json")["request"].clone();
    req["case_id"] = serde_json::json!("x".repeat(8000));
    for i in 0..1200 {
        let r = post_decision(&client, addr, &req).await;
        assert_eq!(r.status(), 200, "request {i}");
    }
    let health = client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(health.status(), 200);
    let metrics = scrape_metrics(&client, addr).await;
    let dropped = metric_value(&metrics, "aftersales_log_lines_dropped_total").unwrap_or(0.0);
    assert!(dropped > 0.0, "no line dropped: {metrics}");
    // Reading again, the lines come, then the warning with the count.
    let warned = tokio::task::spawn_blocking(move || {
        lines
            .map_while(Result::ok)
            .take(20_000)
            .find(|l| l.contains("log lines dropped"))
    })
    .await
    .unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    let warned = warned.unwrap_or_else(|| panic!("no warning of the dropped lines"));
    let v: serde_json::Value = serde_json::from_str(&warned).unwrap_or_default();
    assert_eq!(v["level"], "WARN", "{warned}");
    assert!(v["dropped"].as_u64().unwrap_or(0) > 0, "{warned}");
}

/// A 2,000-item batch (an answer of about 4 MB), with request id `id`, as raw HTTP.
fn big_batch_request(id: &str) -> Vec<u8> {
    let item = example("03-stalled-shangcheng.json")["request"].clone();
    let body = serde_json::json!({ "items": vec![item; 2000] }).to_string();
    let mut ask = format!(
        "POST /v1/decisions/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nx-request-id: {id}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    ask.extend_from_slice(body.as_bytes());
    ask
}

/// Sends `ask` on a connection with a small receive buffer, reads nothing for `wait`,
/// then reads until the server closes it: the bytes received.
async fn asked_then_not_read_for(addr: SocketAddr, ask: &[u8], wait: Duration) -> usize {
    use tokio::io::AsyncWriteExt;
    let socket = tokio::net::TcpSocket::new_v4().unwrap_or_else(|e| panic!("{e}"));
    let _ = socket.set_recv_buffer_size(4096);
    let mut s = socket.connect(addr).await.unwrap_or_else(|e| panic!("{e}"));
    s.write_all(ask).await.unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(wait).await;
    read_until_closed(&mut s)
        .await
        .unwrap_or_else(|| panic!("still open"))
}

/// The log lines (JSON) received within `within` that contain `needle`.
fn logged_within(
    logs: &std::sync::mpsc::Receiver<String>,
    needle: &str,
    within: Duration,
) -> Vec<serde_json::Value> {
    let until = Instant::now() + within;
    let mut found = vec![];
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match logs.recv_timeout(left) {
            Ok(line) if line.contains(needle) => {
                found.push(serde_json::from_str(&line).unwrap_or_default());
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    found
}

/// A 200 batch answer its client stops taking is cut by the send timeout: the `served`
/// 200 line is followed by a warning naming the request, its batch and the bytes sent,
/// and `aftersales_responses_cut_total{reason="send_timeout"}` counts it. The same batch
/// read at once is sent whole, and nothing is said of it.
#[tokio::test]
async fn a_200_answer_cut_short_by_the_send_timeout_is_logged_and_counted() {
    let (server, addr, _, logs) = spawn_binary_with_logs(
        "",
        &["--header-read-timeout", "1", "--body-limit", "4000000"],
    );
    let _server = KilledOnDrop(server);
    let client = reqwest::Client::new();
    let metrics = scrape_metrics(&client, addr).await;
    assert!(
        metrics.contains("aftersales_responses_cut_total{reason=\"send_timeout\"} 0"),
        "{metrics}"
    );

    // Read at once: whole, and not cut.
    let ask = big_batch_request("whole-1");
    let full = asked_then_not_read_for(addr, &ask, Duration::ZERO).await;
    assert!(full > 1_000_000, "{full} bytes");

    let ask = big_batch_request("cut-1");
    let got = asked_then_not_read_for(addr, &ask, Duration::from_secs(8)).await;
    assert!(got < full, "{got} of {full} bytes: not cut");
    let logs = tokio::task::spawn_blocking(move || {
        logged_within(&logs, "answer cut short", Duration::from_secs(5))
    })
    .await
    .unwrap_or_default();
    assert_eq!(logs.len(), 1, "{logs:?}");
    let cut = &logs[0];
    assert_eq!(cut["request_id"], "cut-1", "{cut}");
    assert_eq!(cut["reason"], "send_timeout", "{cut}");
    assert_eq!(cut["status"], 200, "{cut}");
    assert!(
        cut["batch_id"].as_str().is_some_and(|b| !b.is_empty()),
        "{cut}"
    );
    let sent = cut["bytes_sent"].as_u64().unwrap_or(u64::MAX);
    assert!(sent < full as u64 && sent > 0, "{cut}");
    let metrics = scrape_metrics(&client, addr).await;
    assert!(
        metrics.contains("aftersales_responses_cut_total{reason=\"send_timeout\"} 1"),
        "{metrics}"
    );
}
