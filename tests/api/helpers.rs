//! Starting servers and talking to them.

use std::net::SocketAddr;
use std::time::Duration;

use aftersales::cli::{LogFormat, ServeArgs};
use aftersales::http::Server;
use aftersales::rules::Rules;
use serde_json::Value;
use tokio::sync::oneshot;

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    pub finished: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// The server's state (to announce a hangup, as SIGHUP does).
    pub state: aftersales::http::state::AppState,
}

pub fn args() -> ServeArgs {
    ServeArgs {
        listen: "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        concurrency_limit: 64,
        log_format: LogFormat::Pretty,
        drain_seconds: 0,
        grace_seconds: 5,
        ..ServeArgs::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_with(args()).await
}

pub async fn spawn_with(args: ServeArgs) -> TestApp {
    spawn_serving(args, None).await
}

/// Serves the rules file at `path`, reloading it on change.
pub async fn spawn_with_rules_file(args: ServeArgs, path: std::path::PathBuf) -> TestApp {
    spawn_serving(args, Some(path)).await
}

async fn spawn_serving(args: ServeArgs, path: Option<std::path::PathBuf>) -> TestApp {
    if std::env::var_os("TEST_LOG").is_some() {
        aftersales::telemetry::init(LogFormat::Pretty);
    }
    let rules = match &path {
        Some(p) => Rules::from_path(p).unwrap_or_else(|e| panic!("{e}")),
        None => Rules::embedded().unwrap_or_else(|e| panic!("{e}")),
    };
    let server = Server::bind(rules, path, &args)
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = server.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let state = server.state();
    let (tx, rx) = oneshot::channel::<()>();
    let finished = tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        base: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_else(|e| panic!("{e}")),
        stop: Some(tx),
        finished: Some(finished),
        state,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// `body` posted as it is, said to be JSON (for bodies `post_json` cannot make:
    /// duplicated keys, numbers out of range, broken JSON).
    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts the shutdown sequence (as SIGTERM does).
    pub fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

pub async fn body(r: reqwest::Response) -> Value {
    r.json().await.unwrap_or(Value::Null)
}

pub fn content_type(r: &reqwest::Response) -> String {
    r.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

pub fn example(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/examples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_default()).unwrap_or(Value::Null)
}

pub fn examples() -> Vec<(String, Value)> {
    let dir = format!("{}/tests/fixtures/examples", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
        .into_iter()
        .filter(|n| n.ends_with(".json"))
        .map(|n| (n.clone(), example(&n)))
        .collect()
}

/// A fresh directory for one test, `aftersales-{name}-…` under the system's temporary
/// one, removed with all it holds when the guard drops (a failing test's too). Keep the
/// guard in a variable for as long as anything uses the directory, declared before the
/// servers that write into it (so they are dropped, and stopped, first).
pub fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("aftersales-{name}-"))
        .tempdir()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Polls `check` every 50 ms for up to 5 s.
pub async fn eventually<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// The real binary serving on a random loopback port, run by `sh -c SHELL_PREFIX` (for
/// example `ulimit -n 256 &&`); its stdout is piped for the caller. Returns it with its
/// address and the `serving` log line.
pub fn spawn_binary(shell_prefix: &str, args: &[&str]) -> (std::process::Child, SocketAddr, Value) {
    let (child, addr, serving, _) = spawn_binary_with_logs(shell_prefix, args);
    (child, addr, serving)
}

/// As [`spawn_binary`], with the log lines written after `serving`, as they come.
pub fn spawn_binary_with_logs(
    shell_prefix: &str,
    args: &[&str],
) -> (
    std::process::Child,
    SocketAddr,
    Value,
    std::sync::mpsc::Receiver<String>,
) {
    use std::io::BufRead;
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{shell_prefix} exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_aftersales"))
        .args(["serve", "--listen", "127.0.0.1:0", "--drain-seconds", "0"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
    let mut lines = std::io::BufReader::new(stderr).lines();
    let (addr, serving) = wait_for_serving(&mut lines);
    // Keep reading its logs so it never blocks on a full pipe.
    let (tx, logs) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, addr, serving, logs)
}

/// A server child killed if the test fails, so that none is left behind (one blocked on
/// a full pipe would stay for good).
pub struct KilledOnDrop(pub std::process::Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Reads a server's log lines up to its `serving` line: its address, and the line.
pub fn wait_for_serving(
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
) -> (SocketAddr, Value) {
    let serving = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("the server stopped before serving"))
            .unwrap_or_default();
        let v: Value = serde_json::from_str(&line).unwrap_or_default();
        if v["message"] == "serving" {
            break v;
        }
    };
    let addr = serving["addr"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    (addr, serving)
}

/// POST `req` to `/v1/decisions` of a server at `addr`; its answer (the test fails if
/// none comes).
pub async fn post_decision(
    client: &reqwest::Client,
    addr: std::net::SocketAddr,
    req: &Value,
) -> reqwest::Response {
    client
        .post(format!("http://{addr}/v1/decisions"))
        .json(req)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The `/metrics` text of a server at `addr` (empty if it does not answer).
pub async fn scrape_metrics(client: &reqwest::Client, addr: std::net::SocketAddr) -> String {
    client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default()
}

/// The value of the unlabelled metric `name` in Prometheus text, if there.
pub fn metric_value(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// A state with the embedded rules, for routers driven in process (no server).
pub fn state_in_process() -> aftersales::http::state::AppState {
    aftersales::http::state::AppState::new(
        Rules::embedded().unwrap_or_else(|e| panic!("{e}")),
        aftersales::http::state::StateConfig {
            tokens: None,
            body_limit: 1024,
            batch_limit: 10,
            decision_log: None,
        },
        aftersales::http::prometheus(),
        String::new(),
    )
}
