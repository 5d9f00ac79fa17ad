//! The command line, through the real binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn aftersales(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aftersales"))
        .args(args)
        .env_remove("AFTERSALES_RULES")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.as_bytes());
    }
    child.wait_with_output().unwrap_or_else(|e| panic!("{e}"))
}

fn example_request(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/examples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let ex: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_default())
            .unwrap_or_default();
    ex["request"].to_string()
}

/// A new, empty directory of this test's own, `aftersales-{name}-…` under the system's
/// temporary one, removed with all it holds when the guard drops (a failing test's too).
/// Keep the guard in a variable, declared before the servers that write into it.
fn fresh_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("aftersales-{name}-"))
        .tempdir()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A file `name` holding `content` in a directory of its own, and the guard that removes
/// them both.
fn temp_file(name: &str, content: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = fresh_dir("cli");
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap_or_else(|e| panic!("{e}"));
    (dir, path)
}

#[test]
fn decide_reads_stdin_and_prints_the_decision() {
    let out = aftersales(&["decide"], &example_request("03-stalled-shangcheng.json"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(v["scenario"], "stalled");
    assert_eq!(v["decision"], "intercept_and_refund");
    assert_eq!(v["deadlines"][0]["due_at"], "2023-10-15T14:00:00+08:00");
}

#[test]
fn decide_reads_a_file_and_prints_text_in_english() {
    let (_dir, path) = temp_file("03.json", &example_request("03-stalled-shangcheng.json"));
    let out = aftersales(
        &["decide", "--text", "--lang", "en", &path.to_string_lossy()],
        "",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("case AS-1003: stalled → intercept_and_refund"),
        "{text}"
    );
}

#[test]
fn decide_on_invalid_input_explains_on_stderr_and_fails() {
    let out = aftersales(
        &["decide"],
        &example_request("08-missing-requested-at.json"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/requested_at: is required"));
    let out = aftersales(&["decide"], "{not json");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid JSON"));
}

#[test]
fn rules_check_names_line_and_column_of_a_broken_file() {
    let broken = aftersales::rules::EMBEDDED_SOURCE.replacen(
        "stall_after_hours = 72",
        "stall_after_hours = -72",
        1,
    );
    let line = broken
        .lines()
        .position(|l| l.starts_with("stall_after_hours"))
        .map_or(0, |i| i + 1);
    let (_dir, path) = temp_file("broken.toml", &broken);
    let out = aftersales(&["rules", "check", &path.to_string_lossy()], "");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "broken.toml:{line}:21: `stall_after_hours` must be between 1 and"
        )),
        "{err}"
    );
}

#[test]
fn rules_show_prints_rules_that_check_and_decide_the_same() {
    let shown = aftersales(&["rules", "show"], "");
    assert!(shown.status.success());
    let (_dir, path) = temp_file("shown.toml", &String::from_utf8_lossy(&shown.stdout));
    let check = aftersales(&["rules", "check", &path.to_string_lossy()], "");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let with_file = aftersales(
        &["--rules", &path.to_string_lossy(), "decide"],
        &example_request("05-return-undelivered-in-countdown.json"),
    );
    let v: serde_json::Value = serde_json::from_slice(&with_file.stdout).unwrap_or_default();
    assert_eq!(v["decision"], "reject_with_evidence");
}

#[test]
fn rules_init_prints_the_commented_shipped_file_verbatim() {
    let out = aftersales(&["rules", "init"], "");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text, aftersales::rules::EMBEDDED_SOURCE);
    assert!(text.contains("# 二、快递管控措施"), "comments kept");
    let (_dir, path) = temp_file("init.toml", &text);
    let check = aftersales(&["rules", "check", &path.to_string_lossy()], "");
    assert!(check.status.success());
}

#[test]
fn rules_test_runs_the_files_tests_and_names_each_failure() {
    let (_dir, path) = temp_file("shipped.toml", aftersales::rules::EMBEDDED_SOURCE);
    let out = aftersales(&["rules", "test", &path.to_string_lossy()], "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout
            .contains("ok   3.1.3 stalled: intercept and refund within the window after the stall"),
        "{stdout}"
    );
    assert!(stdout.contains("all 17 test(s) passed"), "{stdout}");

    // Two tests broken at once: both are named, with what differed.
    let broken = aftersales::rules::EMBEDDED_SOURCE.replacen(
        "intercept_window_hours = 48",
        "intercept_window_hours = 24",
        1,
    );
    let (_dir, path) = temp_file("broken-tests.toml", &broken);
    let out = aftersales(&["rules", "test", &path.to_string_lossy()], "");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let failed: Vec<&str> = err.lines().filter(|l| l.contains("failed:")).collect();
    assert_eq!(failed.len(), 2, "{err}");
    assert!(err.contains("test `3.1.3 stalled, interception failed: approve with proof` failed: deadlines.intercept_and_refund_by: expected 2023-10-15T14:00:00+08:00, got 2023-10-14T14:00:00+08:00"), "{err}");

    // Nothing to run is not a pass.
    let bare = &aftersales::rules::EMBEDDED_SOURCE[..aftersales::rules::EMBEDDED_SOURCE
        .find("\n[[test]]")
        .unwrap_or(0)];
    let (_dir, path) = temp_file("bare.toml", bare);
    let out = aftersales(&["rules", "test", &path.to_string_lossy()], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no [[test]] in the file"));
}

#[test]
fn rules_check_prints_warnings_and_still_exits_0() {
    let open = aftersales::rules::EMBEDDED_SOURCE.replacen(
        "control = { from = 2023-09-16T00:00:00+08:00, until = 2023-10-09T00:00:00+08:00 }",
        "control = { from = 2023-09-16T00:00:00+08:00 }",
        1,
    );
    let line = open
        .lines()
        .position(|l| l == "control = { from = 2023-09-16T00:00:00+08:00 }")
        .map_or(0, |i| i + 1);
    let (_dir, path) = temp_file("open.toml", &open);
    let out = aftersales(&["rules", "check", &path.to_string_lossy()], "");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("17 test(s) passed, 1 warning(s)"),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!("open.toml:{line}:20: warning[until_further_notice]: the control window of zone `co_host_venues` has no `until`")),
        "{stderr}"
    );
}

#[test]
fn a_missing_rules_file_is_a_clear_error() {
    let out = aftersales(&["--rules", "/nonexistent/rules.toml", "decide"], "{}");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the rules file"));
}

/// A free loopback port (bound, then released for the child).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// `GET path` over plain HTTP/1.1; the status code and body.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    get_as(port, path, None)
}

/// `GET path` with a bearer token, when given.
fn get_as(port: u16, path: &str, token: Option<&str>) -> Option<(u16, String)> {
    use std::io::{Read, Write as _};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    // A server that accepts and never answers fails the test instead of hanging it.
    let limit = Some(std::time::Duration::from_secs(30));
    s.set_read_timeout(limit).ok()?;
    s.set_write_timeout(limit).ok()?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.get(9..12)?.parse().ok()?;
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

fn wait_for(mut check: impl FnMut() -> bool) -> bool {
    // Generous, for a busy machine: it only runs out when the test fails anyway.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

/// The child's exit status once it ends, waiting at most `secs` (none if it has not
/// ended by then: the test fails rather than hangs).
#[cfg(target_os = "linux")]
fn ended_within(child: &mut std::process::Child, secs: u64) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().ok().flatten() {
            return Some(status);
        }
        if std::time::Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[cfg(unix)]
#[test]
fn the_server_reloads_on_sighup_and_on_sigterm_drains_flushes_and_exits_0() {
    let dir = fresh_dir("signals");
    let rules = dir.path().join("rules.toml");
    let log = dir.path().join("decisions.jsonl");
    let _ = std::fs::write(&rules, aftersales::rules::EMBEDDED_SOURCE);
    let port = free_port();
    let mut child = KilledOnDrop(
        Command::new(env!("CARGO_BIN_EXE_aftersales"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--drain-seconds",
                "2",
            ])
            .arg("--rules")
            .arg(&rules)
            .arg("--decision-log")
            .arg(&log)
            .env("RUST_LOG", "warn")
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let child = &mut child.0;
    assert!(
        wait_for(|| get(port, "/readyz").is_some_and(|(s, _)| s == 200)),
        "never ready"
    );
    let reload_of = || {
        get(port, "/v1/rules").map(|(_, b)| {
            serde_json::from_str::<serde_json::Value>(&b).unwrap_or_default()["reload"].clone()
        })
    };
    assert_eq!(reload_of(), Some(serde_json::Value::Null), "no reload yet");

    // SIGHUP reloads even an unchanged file.
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-HUP", &pid]).status();
    assert!(
        wait_for(|| reload_of().is_some_and(|r| r["result"] == "ok")),
        "SIGHUP did not reload"
    );

    // A decision, then SIGTERM: not ready at once, still serving during the drain.
    assert_eq!(post_decision(port).as_deref(), Some("200"));
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(
        wait_for(|| get(port, "/readyz").is_some_and(|(s, _)| s == 503)),
        "still ready after SIGTERM"
    );
    // A second SIGTERM, and a SIGINT, during the drain neither kill it nor cut it short.
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let _ = Command::new("kill").args(["-INT", &pid]).status();
    assert_eq!(
        post_decision(port).as_deref(),
        Some("200"),
        "served during the drain"
    );
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "exit status {status:?}");
    let lines = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .count();
    assert_eq!(lines, 2, "both decisions flushed to the log before exit");
}

/// Runs the binary with `env` added for at most 20 s (killed after): its exit status,
/// if it exited by itself, and its standard error.
fn run_briefly(args: &[&str], env: &[(&str, &str)]) -> (Option<std::process::ExitStatus>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aftersales"))
        .args(args)
        .env_remove("AFTERSALES_RULES")
        .env_remove("AFTERSALES_API_TOKENS")
        .env_remove("AFTERSALES_API_TOKENS_FILE")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut status = None;
    for _ in 0..400 {
        status = child.try_wait().ok().flatten();
        if status.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    if status.is_none() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    (status, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn rules_check_refuses_a_fifo_at_once_and_a_file_not_in_utf8() {
    let dir = fresh_dir("cli-fifo");
    let fifo = dir.path().join("rules.toml");
    let made = Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let (status, stderr) = run_briefly(&["rules", "check", &fifo.to_string_lossy()], &[]);
    assert!(
        status.is_some_and(|s| !s.success()),
        "still waiting on the FIFO ({status:?})"
    );
    assert!(
        stderr.contains("it is a FIFO, not a regular file"),
        "{stderr}"
    );

    // `杭州` in GBK, in a comment on line 2.
    let gbk = dir.path().join("gbk.toml");
    let mut bytes = b"# rules\n# ".to_vec();
    bytes.extend_from_slice(&[0xBA, 0xBC, 0xD6, 0xDD]);
    bytes.extend_from_slice(aftersales::rules::EMBEDDED_SOURCE.as_bytes());
    let _ = std::fs::write(&gbk, bytes);
    let (status, stderr) = run_briefly(&["rules", "check", &gbk.to_string_lossy()], &[]);
    assert!(status.is_some_and(|s| !s.success()), "{stderr}");
    assert!(
        stderr.contains("gbk.toml:2:3: the rules file is not UTF-8"),
        "{stderr}"
    );
}

#[test]
fn every_serve_option_works_after_serve_as_before_it() {
    use aftersales::cli::{Cli, ServeArgs};
    use clap::parser::ValueSource;
    use clap::{Args, CommandFactory, FromArgMatches};

    // clap's own list of the server's options: a new one is covered without editing this.
    let options = ServeArgs::augment_args(clap::Command::new("serve-args"));
    let mut tried = 0;
    let all = options.get_arguments().count();
    for arg in options.get_arguments() {
        let long = arg
            .get_long()
            .unwrap_or_else(|| panic!("{} has no --flag", arg.get_id()));
        let flag = format!("--{long}");
        let mut given = vec![flag.clone()];
        if arg.get_action().takes_values() {
            // A value of the right type: the default, a listed one, or one that is a
            // number, a path and a text at once.
            let value = arg
                .get_default_values()
                .first()
                .map(|v| v.to_string_lossy().into_owned())
                .or_else(|| {
                    arg.get_possible_values()
                        .first()
                        .map(|p| p.get_name().to_owned())
                })
                .unwrap_or_else(|| "1".to_owned());
            given.push(value);
        }
        let after: Vec<&str> = ["aftersales", "serve"]
            .into_iter()
            .chain(given.iter().map(String::as_str))
            .collect();
        let matches = Cli::command()
            .try_get_matches_from(&after)
            .unwrap_or_else(|e| panic!("{}: {e}", after.join(" ")));
        assert_eq!(
            matches.value_source(arg.get_id().as_str()),
            Some(ValueSource::CommandLine),
            "{flag} after `serve` is not taken from the command line"
        );
        let before: Vec<&str> = ["aftersales"]
            .into_iter()
            .chain(given.iter().map(String::as_str))
            .chain(["serve"])
            .collect();
        let parse = |argv: &[&str]| {
            Cli::command()
                .try_get_matches_from(argv)
                .and_then(|m| Cli::from_arg_matches(&m))
                .map(|cli| format!("{:?}", cli.serve))
                .unwrap_or_else(|e| panic!("{}: {e}", argv.join(" ")))
        };
        assert_eq!(parse(&after), parse(&before), "{flag}");
        tried += 1;
    }
    assert!(tried == all && all > 10, "{tried} of {all} options tried");
}

/// Settings that cannot work are refused at start, as a flag and as its variable, naming
/// the flag and the range, with a non-zero exit: 0 for a limit or a timeout (every
/// request or connection refused, or 0 raised silently to 1), and more than an hour for
/// any duration (a drain of `u64::MAX` seconds: SIGTERM never ends it).
#[test]
fn settings_that_cannot_work_stop_the_server_at_startup_naming_the_flag_and_the_range() {
    let cases: [(&str, &str, &[&str], &str); 10] = [
        (
            "--request-timeout",
            "AFTERSALES_REQUEST_TIMEOUT",
            &["0", "3601"],
            "1 to 3600 seconds",
        ),
        (
            "--header-read-timeout",
            "AFTERSALES_HEADER_READ_TIMEOUT",
            &["0", "86400"],
            "3600 seconds",
        ),
        (
            "--body-read-timeout",
            "AFTERSALES_BODY_READ_TIMEOUT",
            &["0", "3601"],
            "3600 seconds",
        ),
        (
            "--drain-seconds",
            "AFTERSALES_DRAIN_SECONDS",
            &["18446744073709551615", "3601"],
            "0 to 3600 seconds",
        ),
        (
            "--grace-seconds",
            "AFTERSALES_GRACE_SECONDS",
            &["3601"],
            "0 to 3600 seconds",
        ),
        (
            "--concurrency-limit",
            "AFTERSALES_CONCURRENCY_LIMIT",
            &["0"],
            "at least 1",
        ),
        (
            "--max-connections",
            "AFTERSALES_MAX_CONNECTIONS",
            &["0"],
            "at least 1",
        ),
        (
            "--batch-limit",
            "AFTERSALES_BATCH_LIMIT",
            &["0"],
            "at least 1",
        ),
        (
            "--body-limit",
            "AFTERSALES_BODY_LIMIT",
            &["0"],
            "at least 1",
        ),
        (
            "--decision-log-buffer",
            "AFTERSALES_DECISION_LOG_BUFFER",
            &["0"],
            "at least 1",
        ),
    ];
    for (flag, variable, values, range) in cases {
        for value in values {
            for (args, env) in [
                (
                    vec!["serve", "--listen", "127.0.0.1:0", flag, value],
                    vec![],
                ),
                (
                    vec!["serve", "--listen", "127.0.0.1:0"],
                    vec![(variable, *value)],
                ),
            ] {
                let (status, stderr) = run_briefly(&args, &env);
                assert!(
                    status.is_some_and(|s| !s.success()),
                    "{args:?} {env:?}: still serving or exited 0 ({status:?}): {stderr}"
                );
                assert!(
                    stderr.contains(flag) && stderr.contains(range),
                    "{args:?} {env:?}: {stderr}"
                );
                assert!(!stderr.contains("\"serving\""), "{stderr}");
            }
        }
    }
}

/// The edges of those ranges serve: 1 for a limit or a timeout, 0 and 3600 for the drain
/// and the grace period.
#[cfg(target_os = "linux")]
#[test]
fn settings_at_the_edges_of_their_ranges_serve() {
    let (_server, port) = serving_ready(
        &[
            "--request-timeout",
            "3600",
            "--header-read-timeout",
            "3600",
            "--body-read-timeout",
            "1",
            "--drain-seconds",
            "0",
            "--grace-seconds",
            "3600",
            "--concurrency-limit",
            "1",
            "--max-connections",
            "1",
            "--batch-limit",
            "1",
            "--decision-log-buffer",
            "1",
        ],
        Stdio::null(),
    );
    assert_eq!(post_decision(port).as_deref(), Some("200"));
}

#[test]
fn blank_token_settings_stop_the_server_at_startup_naming_the_flag_and_the_variable() {
    let (_dir, comments) = temp_file("comments-only-tokens", "# tokens go here\n\n");
    let comments = comments.to_string_lossy();
    let listen = ["--listen", "127.0.0.1:0"];
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 6] = [
        (
            &["serve", "--api-tokens", ","],
            &[],
            "AFTERSALES_API_TOKENS)",
        ),
        (
            &["--api-tokens", " ", "serve"],
            &[],
            "AFTERSALES_API_TOKENS)",
        ),
        (
            &["serve"],
            &[("AFTERSALES_API_TOKENS", " ")],
            "AFTERSALES_API_TOKENS)",
        ),
        // An empty Kubernetes secret put in the variable.
        (
            &["serve"],
            &[("AFTERSALES_API_TOKENS", "")],
            "AFTERSALES_API_TOKENS)",
        ),
        (
            &["serve", "--api-tokens-file", &comments],
            &[],
            "AFTERSALES_API_TOKENS_FILE)",
        ),
        (
            &["serve"],
            &[("AFTERSALES_API_TOKENS_FILE", &comments)],
            "AFTERSALES_API_TOKENS_FILE)",
        ),
    ];
    for (args, env, named) in cases {
        let argv: Vec<&str> = args.iter().chain(&listen).copied().collect();
        let (status, stderr) = run_briefly(&argv, env);
        assert!(
            status.is_some_and(|s| !s.success()),
            "{argv:?} {env:?}: still serving or exited 0 ({status:?}): {stderr}"
        );
        assert!(
            stderr.contains("holds no token") && stderr.contains(named),
            "{argv:?} {env:?}: {stderr}"
        );
        assert!(!stderr.contains("\"serving\""), "{stderr}");
    }
}

#[cfg(unix)]
#[test]
fn the_token_file_is_re_read_on_sighup_and_one_without_a_token_keeps_the_tokens_in_force() {
    use std::io::BufRead;
    let dir = fresh_dir("token-hup");
    let tokens = dir.path().join("tokens");
    let write = |text: &str| std::fs::write(&tokens, text).unwrap_or_else(|e| panic!("{e}"));
    write("# the shop backend\nfirst-token\n");
    let port = free_port();
    let mut child = KilledOnDrop(
        Command::new(env!("CARGO_BIN_EXE_aftersales"))
            .args(["serve", "--drain-seconds", "0", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--api-tokens-file")
            .arg(&tokens)
            .env_remove("AFTERSALES_RULES")
            .env_remove("AFTERSALES_API_TOKENS")
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let child = &mut child.0;
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    if let Some(stderr) = child.stderr.take() {
        let log = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if let Ok(mut l) = log.lock() {
                    l.push(line);
                }
            }
        });
    }
    let logged = |what: &str| {
        log.lock()
            .map(|l| l.iter().filter(|line| line.contains(what)).count())
            .unwrap_or(0)
    };
    let status = |token: Option<&str>| get_as(port, "/v1/rules", token).map(|(s, _)| s);
    assert!(wait_for(|| status(None).is_some()), "never served");
    assert!(
        wait_for(|| logged(r#""auth":true"#) == 1),
        "the startup log does not say auth is on: {:?}",
        log.lock().map(|l| l.clone()).unwrap_or_default()
    );
    assert_eq!(status(None), Some(401));
    assert_eq!(status(Some("first-token")), Some(200));

    let pid = child.id().to_string();
    let hangup = || {
        let _ = Command::new("kill").args(["-HUP", &pid]).status();
    };
    write("second-token\n");
    hangup();
    assert!(
        wait_for(|| status(Some("second-token")) == Some(200)),
        "the new token is not in force"
    );
    assert_eq!(status(Some("first-token")), Some(401), "the old one is out");

    // A file of comments, then none at all: the tokens in force stay, auth stays on.
    write("# rotating\n");
    hangup();
    assert!(
        wait_for(|| logged("API tokens not re-read") == 1),
        "no error logged"
    );
    let _ = std::fs::remove_file(&tokens);
    hangup();
    assert!(
        wait_for(|| logged("API tokens not re-read") == 2),
        "no error logged"
    );
    assert_eq!(status(Some("second-token")), Some(200));
    assert_eq!(status(None), Some(401));
    assert_eq!(status(Some("# rotating")), Some(401));

    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let exit = child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(exit.success(), "{exit:?}");
}

/// Whether the process `pid` has a handler for SIGHUP (Linux: `SigCgt` in its status).
#[cfg(target_os = "linux")]
fn catches_sighup(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let mask = s.lines().find_map(|l| l.strip_prefix("SigCgt:"))?;
            u64::from_str_radix(mask.trim(), 16).ok()
        })
        .is_some_and(|mask| mask & 1 != 0)
}

/// A child process killed if the test fails, so that none is left behind (one waiting on
/// a FIFO would wait for good).
#[cfg(unix)]
struct KilledOnDrop(std::process::Child);

#[cfg(unix)]
impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// A SIGHUP while the server starts (the rules loading, the decision log opening) does
/// not end it: it is taken from the start and replayed as one reload once serving.
/// The server is stopped (SIGSTOP) as soon as it takes SIGHUP, before it listens; the
/// signals sent then reach it while it starts, once it goes on (SIGCONT). (A FIFO with no
/// reader as the decision log held it before it served once; such a log is now refused.)
#[cfg(target_os = "linux")]
#[test]
fn a_sighup_while_the_server_starts_does_not_end_it_and_is_replayed_as_a_reload() {
    let dir = fresh_dir("early-hup");
    let rules = dir.path().join("rules.toml");
    let _ = std::fs::write(&rules, aftersales::rules::EMBEDDED_SOURCE);
    let signal = |name: &str, pid: u32| {
        let _ = Command::new("kill").args([name, &pid.to_string()]).status();
    };
    // Stopped before it listens, most times at the first try; a start that outran the
    // stop proves nothing, and is tried again.
    let mut started = None;
    for _ in 0..10 {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_aftersales"))
            .args(["serve", "--drain-seconds", "0", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--rules")
            .arg(&rules)
            .arg("--decision-log")
            .arg(dir.path().join("decisions.jsonl"))
            .env_remove("AFTERSALES_RULES")
            .env_remove("AFTERSALES_API_TOKENS")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut child = KilledOnDrop(child);
        let pid = child.0.id();
        // As soon as the process takes SIGHUP (the handler is its first act, before the
        // rules load).
        let mut caught = false;
        for _ in 0..20_000 {
            if catches_sighup(pid) || child.0.try_wait().ok().flatten().is_some() {
                caught = catches_sighup(pid);
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(
            caught,
            "no SIGHUP handler while starting ({:?})",
            child.0.try_wait()
        );
        signal("-STOP", pid);
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            continue;
        }
        // Several of them, while it cannot be serving yet.
        for _ in 0..5 {
            signal("-HUP", pid);
        }
        signal("-CONT", pid);
        started = Some((child, port));
        break;
    }
    let (mut child, port) = started.unwrap_or_else(|| panic!("never stopped before it served"));
    let child = &mut child.0;
    let pid = child.id();
    let hangup = || signal("-HUP", pid);
    assert!(
        wait_for(|| get(port, "/readyz").is_some_and(|(s, _)| s == 200)),
        "never ready: {:?}",
        child.try_wait()
    );
    assert_eq!(child.try_wait().ok().flatten(), None, "ended by a SIGHUP");
    let reload_of = || {
        get(port, "/v1/rules").map(|(_, b)| {
            serde_json::from_str::<serde_json::Value>(&b).unwrap_or_default()["reload"].clone()
        })
    };
    assert!(
        wait_for(|| reload_of().is_some_and(|r| r["result"] == "ok")),
        "the SIGHUPs taken while starting were not replayed as a reload: {:?}",
        reload_of()
    );
    // And while serving, as ever.
    for _ in 0..5 {
        hangup();
    }
    assert_eq!(get(port, "/healthz").map(|(s, _)| s), Some(200));
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let status =
        ended_within(child, 60).unwrap_or_else(|| panic!("did not end within 60 s of SIGTERM"));
    assert!(status.success(), "exit status {status:?}");
}

/// Commands other than `serve` end on SIGHUP, as by default: only the server takes it.
#[cfg(target_os = "linux")]
#[test]
fn a_command_other_than_serve_still_ends_on_sighup() {
    use std::os::unix::process::ExitStatusExt;
    // `decide` waits for its request on a standard input that never ends.
    let child = Command::new(env!("CARGO_BIN_EXE_aftersales"))
        .arg("decide")
        .env_remove("AFTERSALES_RULES")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut child = KilledOnDrop(child);
    let child = &mut child.0;
    let pid = child.id().to_string();
    let mut ended = None;
    // Until it ends, or a minute (a busy machine may be slow to start it).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if catches_sighup(child.id()) {
            let _ = Command::new("kill").args(["-HUP", &pid]).status();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        ended = child.try_wait().ok().flatten();
        if ended.is_some() {
            break;
        }
    }
    let status = ended.unwrap_or_else(|| panic!("`decide` did not end on SIGHUP"));
    assert_eq!(status.signal(), Some(1), "{status:?}");
}

/// POSTs one decision over plain HTTP/1.1; the status code.
fn post_decision(port: u16) -> Option<String> {
    use std::io::Read;
    let body = example_request("01-not-shipped-binjiang.json");
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(s, "POST /v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.get(9..12).map(str::to_owned)
}

/// The server on a free port with `args` after `serve`, its stdout `stdout`, warnings
/// only, and no rules or tokens from the environment; once ready, and its port.
#[cfg(target_os = "linux")]
fn serving_ready(args: &[&str], stdout: impl Into<Stdio>) -> (KilledOnDrop, u16) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_aftersales"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(args)
        .env_remove("AFTERSALES_RULES")
        .env_remove("AFTERSALES_API_TOKENS")
        .env_remove("AFTERSALES_API_TOKENS_FILE")
        .env("RUST_LOG", "warn")
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let child = KilledOnDrop(child);
    assert!(
        wait_for(|| get(port, "/readyz").is_some_and(|(s, _)| s == 200)),
        "never ready"
    );
    (child, port)
}

/// A fresh directory for the test `name` (removed when dropped), and a decision log's
/// path in it.
#[cfg(target_os = "linux")]
fn fresh_decision_log(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = fresh_dir(name);
    let log = dir.path().join("decisions.jsonl");
    (dir, log)
}

/// Runs the server (briefly) with the decision log `target`: it must fail to start; its
/// standard error.
#[cfg(target_os = "linux")]
fn refused_at_start_on(target: &str) -> String {
    let (status, stderr) = run_briefly(
        &["serve", "--listen", "127.0.0.1:0", "--decision-log", target],
        &[("RUST_LOG", "warn")],
    );
    assert!(
        status.is_some_and(|s| !s.success()),
        "{target}: {status:?} {stderr}"
    );
    stderr
}

/// A decision log on /dev/null (a path, or `-` with stdout there, as when the service is
/// started with stdout closed) would answer 200 with every line lost: refused at start.
#[cfg(target_os = "linux")]
#[test]
fn a_decision_log_on_dev_null_is_refused_at_startup() {
    for target in ["/dev/null", "-", "/dev/zero"] {
        // run_briefly gives the process /dev/null as its stdout.
        let stderr = refused_at_start_on(target);
        assert!(
            stderr.contains("/dev/") && stderr.contains("leave out --decision-log"),
            "{target}: {stderr}"
        );
    }
}

/// A decision log on a kernel pseudo filesystem (`stat` calls its files regular) would
/// answer 200 with its lines cut or lost: `/proc/self/comm` keeps 15 bytes of a line as
/// the process's name. Refused at start, naming the filesystem; a file on a disk beside it
/// is taken.
#[cfg(target_os = "linux")]
#[test]
fn a_decision_log_on_procfs_or_sysfs_is_refused_at_startup() {
    for (target, fs) in [
        ("/proc/self/comm", "on proc,"),
        ("/proc/self/attr/current", "on proc,"),
        ("/sys/kernel/uevent_helper", "on sysfs,"),
    ] {
        if std::fs::OpenOptions::new()
            .append(true)
            .open(target)
            .is_err()
        {
            // Not writable here: refused all the same, by the OS.
            continue;
        }
        let stderr = refused_at_start_on(target);
        assert!(
            stderr.contains(fs) && stderr.contains("pseudo filesystem"),
            "{target}: {stderr}"
        );
    }
    let stderr = refused_at_start_on("/proc/self/comm");
    assert!(stderr.contains("on proc,"), "{stderr}");
    let (_dir, log) = fresh_decision_log("on-disk");
    let (_server, port) = serving_ready(&["--decision-log", &log.to_string_lossy()], Stdio::null());
    assert_eq!(post_decision(port).as_deref(), Some("200"));
}

/// The rules file broken by an edit, then put back as it was (the rules serving): the
/// failure is over without a SIGHUP: `/v1/rules` says ok and
/// `aftersales_rules_reload_failing` is 0 again.
#[cfg(target_os = "linux")]
#[test]
fn a_rules_file_put_back_after_a_broken_edit_clears_the_failing_gauge() {
    let dir = fresh_dir("rules-back");
    let rules = dir.path().join("r.toml");
    let served = aftersales::rules::EMBEDDED_SOURCE;
    let _ = std::fs::write(&rules, served);
    let (_server, port) = serving_ready(&["--rules", &rules.to_string_lossy()], Stdio::null());
    let gauge = || {
        get(port, "/metrics").and_then(|(_, text)| {
            text.lines()
                .find_map(|l| l.strip_prefix("aftersales_rules_reload_failing "))
                .map(str::to_owned)
        })
    };
    let result = || {
        get(port, "/v1/rules").map(|(_, b)| {
            serde_json::from_str::<serde_json::Value>(&b).unwrap_or_default()["reload"]["result"]
                .clone()
        })
    };
    let _ = std::fs::write(&rules, format!("{served}x = [\n"));
    assert!(
        wait_for(|| gauge().as_deref() == Some("1")),
        "{:?}",
        gauge()
    );
    assert_eq!(result(), Some("failed".into()));
    let _ = std::fs::write(&rules, served);
    assert!(
        wait_for(|| gauge().as_deref() == Some("0")),
        "still failing after the served file was put back: {:?}",
        gauge()
    );
    assert_eq!(result(), Some("ok".into()));
}

/// A second process on the same decision log file would cut back the first one's lines:
/// it does not start.
#[cfg(target_os = "linux")]
#[test]
fn a_second_process_on_one_decision_log_file_is_refused() {
    let (_dir, log) = fresh_decision_log("one-writer");
    let log_arg = log.to_string_lossy().into_owned();
    let (_first, port) = serving_ready(&["--decision-log", &log_arg], Stdio::null());
    let stderr = refused_at_start_on(&log_arg);
    assert!(stderr.contains("another process writes it"), "{stderr}");
    assert_eq!(
        post_decision(port).as_deref(),
        Some("200"),
        "the first serves on"
    );
}

/// `--decision-log -` with stdout appended (`>>`, write-only) to a file that ends in a
/// whole line: a restart adds no empty line (its end is read through /proc/self/fd).
#[cfg(target_os = "linux")]
#[test]
fn restarts_on_stdout_appended_to_a_file_add_no_empty_line() {
    let (_dir, log) = fresh_decision_log("stdout-restarts");
    for _ in 0..2 {
        one_decision_on_stdout_appended_to(&log);
    }
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(text.lines().count(), 2, "{text:?}");
    assert!(text.lines().all(|l| !l.is_empty()), "{text:?}");
}

/// The server with `args` after `serve` (on port 0), its stdout and stderr as given: how
/// it exited (None if it did not within 30 s; then it is killed).
#[cfg(target_os = "linux")]
fn exit_with(
    args: &[&str],
    stdout: impl Into<Stdio>,
    stderr: impl Into<Stdio>,
) -> Option<std::process::ExitStatus> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aftersales"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("AFTERSALES_RULES")
        .env_remove("AFTERSALES_API_TOKENS")
        .env_remove("AFTERSALES_API_TOKENS_FILE")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let status = ended_within(&mut child, 30);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    status
}

/// Serves with `--decision-log -` and stdout appended to `log` (as a shell's `>>`), one
/// decision answered 200, then stopped by SIGTERM: it must exit 0.
#[cfg(target_os = "linux")]
fn one_decision_on_stdout_appended_to(log: &std::path::Path) {
    one_decision_on_stdout(appended(log));
}

/// Serves with `--decision-log -` and `stdout`, one decision answered 200, then stopped
/// by SIGTERM: it must exit 0.
#[cfg(target_os = "linux")]
fn one_decision_on_stdout(stdout: std::fs::File) {
    let (mut child, port) = serving_ready(&["--decision-log", "-", "--drain-seconds", "0"], stdout);
    assert_eq!(post_decision(port).as_deref(), Some("200"));
    let _ = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status();
    let status = ended_within(&mut child.0, 60).unwrap_or_else(|| panic!("did not end"));
    assert!(status.success(), "{status:?}");
}

/// Opens `path` as a shell's `>>` does: write-only, appending.
#[cfg(target_os = "linux")]
fn appended(path: &std::path::Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `--decision-log -` with stdout appended to the file another process writes as its
/// decision log (or the other way round): one file, one writer, whichever came first.
#[cfg(target_os = "linux")]
#[test]
fn a_decision_log_on_stdout_appended_to_a_file_takes_the_files_lock() {
    let (_dir, log) = fresh_decision_log("stdout-lock");
    let log_arg = log.to_string_lossy().into_owned();
    let (_first, port) = serving_ready(&["--decision-log", &log_arg], Stdio::null());
    let status = exit_with(&["--decision-log", "-"], appended(&log), Stdio::null());
    assert!(status.is_some_and(|s| !s.success()), "{status:?}");
    assert_eq!(post_decision(port).as_deref(), Some("200"));
    drop(_first);

    let (_dir, log) = fresh_decision_log("stdout-lock-first");
    let log_arg = log.to_string_lossy().into_owned();
    let (_first, port) = serving_ready(&["--decision-log", "-"], appended(&log));
    assert!(refused_at_start_on(&log_arg).contains("another process writes it"));
    let status = exit_with(&["--decision-log", "-"], appended(&log), Stdio::null());
    assert!(status.is_some_and(|s| !s.success()), "{status:?}");
    assert_eq!(post_decision(port).as_deref(), Some("200"));
}

/// A decision log that is the regular file stderr goes to (`/dev/stderr`, `2>&1`) would
/// cut back the events written after a failed write: refused at start. A pipe is fine.
#[cfg(target_os = "linux")]
#[test]
fn a_decision_log_on_the_file_stderr_goes_to_is_refused() {
    let (_dir, log) = fresh_decision_log("stderr-file");
    let status = exit_with(
        &["--decision-log", "/dev/stderr"],
        Stdio::null(),
        appended(&log),
    );
    assert!(status.is_some_and(|s| !s.success()), "{status:?}");
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(said.contains("standard error"), "{said}");

    let status = exit_with(&["--decision-log", "-"], appended(&log), appended(&log));
    assert!(status.is_some_and(|s| !s.success()), "{status:?}");
}

/// Devices are refused by their kind (not by a list of names): `/dev/kmsg` keeps only
/// about 1 KiB of each record.
#[cfg(target_os = "linux")]
#[test]
fn a_decision_log_on_dev_kmsg_is_refused_at_startup() {
    if std::fs::OpenOptions::new()
        .append(true)
        .open("/dev/kmsg")
        .is_err()
    {
        return;
    }
    let stderr = refused_at_start_on("/dev/kmsg");
    assert!(stderr.contains("/dev/kmsg"), "{stderr}");
}

/// `--decision-log -` with stdout appended to a regular file (`>> file`, systemd's
/// `append:`) that ends in a torn line: the first line is not joined to it.
#[cfg(target_os = "linux")]
#[test]
fn a_decision_log_on_stdout_appended_to_a_file_ends_a_torn_line_first() {
    let (_dir, log) = fresh_decision_log("stdout-append");
    let _ = std::fs::write(&log, "{\"decision_id\":\"whole\"}\n{\"decision_id\":\"to");
    one_decision_on_stdout_appended_to(&log);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let last = text.lines().last().unwrap_or_default();
    let parsed: serde_json::Value = serde_json::from_str(last).unwrap_or_default();
    assert!(
        parsed["decision_id"]
            .as_str()
            .is_some_and(|id| id.len() > 10),
        "the decision's line is whole, not joined to the torn one: {text:?}"
    );
}

/// A reader that went away (`aftersales openapi | head -1`) ends a command quietly with
/// 141, as a shell reports a process SIGPIPE ended: never a panic.
#[test]
fn a_command_whose_stdout_reader_is_gone_ends_quietly_with_141() {
    let request = example_request("03-stalled-shangcheng.json");
    for args in [
        &["openapi"][..],
        &["rules", "init"],
        &["rules", "show"],
        &["decide"],
        &["decide", "--text"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap_or_else(|e| panic!("{e}"));
        drop(reader);
        let mut child = Command::new(env!("CARGO_BIN_EXE_aftersales"))
            .args(args)
            .env_remove("AFTERSALES_RULES")
            .stdin(Stdio::piped())
            .stdout(writer)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(request.as_bytes());
        }
        let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// `--decision-log -` with stdout a regular file opened without `O_APPEND` (systemd's
/// `StandardOutput=file:`, a shell's `1<>f`): lines are appended after the earlier ones,
/// never written over them from offset 0.
#[cfg(target_os = "linux")]
#[test]
fn a_decision_log_on_stdout_opened_without_append_keeps_the_earlier_lines() {
    let (_dir, log) = fresh_decision_log("stdout-no-append");
    let earlier = "{\"decision_id\":\"earlier-1\"}\n{\"decision_id\":\"earlier-2\"}\n";
    let _ = std::fs::write(&log, earlier);
    let stdout = std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap_or_else(|e| panic!("{e}"));
    one_decision_on_stdout(stdout);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        text.starts_with(earlier),
        "earlier lines overwritten: {text:?}"
    );
    assert_eq!(text.lines().count(), 3, "{text:?}");
    assert!(
        text.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "{text:?}"
    );
}

/// `--decision-log -` with stdout and stderr the same pipe or socket (`2>&1 | x`,
/// systemd's `StandardError=inherit` into the journal): its lines and the service log's
/// would interleave mid-line under a slow reader. Refused at start, saying why and what
/// to do.
#[cfg(target_os = "linux")]
#[test]
fn a_decision_log_on_the_pipe_or_socket_stderr_goes_to_is_refused() {
    use std::io::Read;
    use std::os::fd::OwnedFd;
    let (pipe_reader, pipe_writer) = std::io::pipe().unwrap_or_else(|e| panic!("{e}"));
    let (mine, theirs) = std::os::unix::net::UnixStream::pair().unwrap_or_else(|e| panic!("{e}"));
    let shared: [(Box<dyn Read>, OwnedFd); 2] = [
        (Box::new(pipe_reader), pipe_writer.into()),
        (Box::new(mine), theirs.into()),
    ];
    for (mut read, fd) in shared {
        let other = fd.try_clone().unwrap_or_else(|e| panic!("{e}"));
        let status = exit_with(&["--decision-log", "-"], fd, other);
        assert!(status.is_some_and(|s| !s.success()), "{status:?}");
        let mut said = vec![0u8; 8192];
        let n = read.read(&mut said).unwrap_or(0);
        let said = String::from_utf8_lossy(&said[..n]);
        assert!(
            said.contains("standard error") && said.contains("a stream of its own"),
            "{said}"
        );
    }
}

/// `--decision-log -` with stdout appended to a file: a partial line someone else
/// appends while it serves (`printf partial >> f`) is ended before the next decision's
/// line, never joined to it.
#[cfg(target_os = "linux")]
#[test]
fn a_partial_line_appended_to_stdouts_file_while_serving_is_not_joined_to_the_next() {
    let (_dir, log) = fresh_decision_log("stdout-partial");
    let (_server, port) = serving_ready(&["--decision-log", "-"], appended(&log));
    assert_eq!(post_decision(port).as_deref(), Some("200"));
    let _ = appended(&log).write_all(b"partial");
    assert_eq!(post_decision(port).as_deref(), Some("200"));
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text:?}");
    assert_eq!(lines[1], "partial", "{text:?}");
    assert!(
        serde_json::from_str::<serde_json::Value>(lines[2]).is_ok(),
        "{text:?}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_sigterm_right_after_the_first_answer_is_a_drain_not_a_kill() {
    // A rollout may stop a pod the moment it is ready. The signal must already be taken
    // when the first answer goes out, or its default action kills the process (no drain,
    // no flush).
    right_after_the_first_answer_drains_on("-TERM");
}

#[cfg(target_os = "linux")]
#[test]
fn a_sigint_right_after_the_first_answer_is_a_drain_not_a_kill() {
    // Ctrl-C as soon as a server started by hand answers: a drain too.
    right_after_the_first_answer_drains_on("-INT");
}

/// Starts the server, sends `signal` (as `kill` names it) right after its first answer,
/// and checks that it drains and exits 0 rather than being killed. The request is sent
/// as soon as the port takes connections, before the server has logged that it serves;
/// several starts, as the window is a race.
#[cfg(target_os = "linux")]
fn right_after_the_first_answer_drains_on(signal: &str) {
    for _ in 0..10 {
        let (child, port) = starting();
        let mut status = None;
        assert!(wait_for(|| {
            status = get(port, "/readyz").map(|(s, _)| s);
            status.is_some()
        }));
        assert_eq!(status, Some(200));
        drains_on(child, signal);
    }
}

/// The server starting on a free port, not waited for; and its port.
#[cfg(target_os = "linux")]
fn starting() -> (KilledOnDrop, u16) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_aftersales"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--drain-seconds", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    (KilledOnDrop(child), port)
}

/// Sends `signal` (as `kill` names it) to `child`: it must drain and exit 0, not die of it.
#[cfg(target_os = "linux")]
fn drains_on(mut child: KilledOnDrop, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, &child.0.id().to_string()])
        .status();
    let exit = ended_within(&mut child.0, 30).unwrap_or_else(|| panic!("still running"));
    assert_eq!(
        exit.code(),
        Some(0),
        "{signal} {exit:?}: killed, not drained"
    );
}

/// A SIGTERM as soon as the port takes connections, before any answer: taken too (the
/// handler is in place before the port opens). This catches a late handler every time
/// in a debug build, where the start is slow enough that the tests above, which wait for
/// an answer first, often miss the window.
#[cfg(target_os = "linux")]
#[test]
fn a_sigterm_as_soon_as_the_port_opens_is_a_drain_not_a_kill() {
    for _ in 0..5 {
        let (child, port) = starting();
        // Without a pause: a pause lets the start outrun the window.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "never listened");
            std::thread::yield_now();
        }
        drains_on(child, "-TERM");
    }
}
