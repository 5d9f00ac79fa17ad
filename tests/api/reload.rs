//! Rules changed while serving.

use serde_json::Value;

use crate::helpers::*;

const EMBEDDED: &str = aftersales::rules::EMBEDDED_SOURCE;

fn with_version(v: &str) -> String {
    EMBEDDED.replacen(
        "version = \"2023-hangzhou-1\"",
        &format!("version = \"{v}\""),
        1,
    )
}

async fn rules_view(app: &TestApp) -> Value {
    body(app.get("/v1/rules").await).await
}

#[tokio::test]
async fn a_changed_file_is_swapped_in_and_a_broken_one_keeps_the_last_good_rules() {
    let dir = temp_dir("reload");
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, with_version("v1")).unwrap_or_else(|e| panic!("{e}"));
    let app = spawn_with_rules_file(args(), path.clone()).await;
    assert_eq!(rules_view(&app).await["version"], "v1");

    std::fs::write(&path, with_version("v2")).unwrap_or_else(|e| panic!("{e}"));
    // The rules are swapped a moment before the reload's status is: wait for both.
    assert!(
        eventually(|| async {
            let v = rules_view(&app).await;
            v["version"] == "v2" && v["reload"]["result"] == "ok"
        })
        .await,
        "v2 never loaded"
    );
    let at = rules_view(&app).await["reload"]["at"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        at.ends_with("+08:00"),
        "times in responses carry the policy's offset: {at}"
    );

    let broken = with_version("v3").replacen("stall_after_hours = 72", "stall_after_hours = 0", 1);
    std::fs::write(&path, broken).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        eventually(|| async { rules_view(&app).await["reload"]["result"] == "failed" }).await,
        "the failure is never shown"
    );
    let v = rules_view(&app).await;
    assert_eq!(v["version"], "v2", "the last good rules keep serving");
    let error = v["reload"]["error"].as_str().unwrap_or_default().to_owned();
    assert!(
        error.starts_with("rules.toml:") && error.contains("stall_after_hours"),
        "{error}"
    );
    assert!(
        !error.contains(&dir.path().to_string_lossy().to_string()),
        "no paths in the API: {error}"
    );
    assert_eq!(
        app.get("/readyz").await.status(),
        200,
        "still ready on the last good rules"
    );
    let d = body(
        app.post_json(
            "/v1/decisions",
            &example("03-stalled-shangcheng.json")["request"],
        )
        .await,
    )
    .await;
    assert_eq!(d["rules_version"], "v2");
    let metrics = app.get("/metrics").await.text().await.unwrap_or_default();
    assert!(
        metrics.contains(r#"aftersales_rules_reloads_total{result="error"}"#),
        "{metrics}"
    );

    std::fs::write(&path, with_version("v4")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        eventually(|| async {
            let v = rules_view(&app).await;
            v["version"] == "v4" && v["reload"]["result"] == "ok"
        })
        .await,
        "fixed file never loaded"
    );
}

/// A broken edit undone by putting back the file already serving (the same checksum):
/// nothing to swap, but the failure is over without a SIGHUP (in a pod there is no shell
/// to send one): `/v1/rules` says ok (the failing gauge, process-wide, is checked in
/// tests/cli.rs).
#[tokio::test]
async fn a_broken_file_put_back_to_the_served_rules_clears_the_failure() {
    let dir = temp_dir("reload-back");
    let path = dir.path().join("rules.toml");
    let served = with_version("v1");
    std::fs::write(&path, &served).unwrap_or_else(|e| panic!("{e}"));
    let app = spawn_with_rules_file(args(), path.clone()).await;
    let before = rules_view(&app).await;

    std::fs::write(&path, format!("{served}x = [\n")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        eventually(|| async { rules_view(&app).await["reload"]["result"] == "failed" }).await,
        "the failure is never shown"
    );

    std::fs::write(&path, &served).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        eventually(|| async { rules_view(&app).await["reload"]["result"] == "ok" }).await,
        "the failure stays shown after the served file was put back"
    );
    let v = rules_view(&app).await;
    assert_eq!(v["version"], "v1");
    assert_eq!(v["checksum"], before["checksum"]);
    assert!(v["reload"].get("error").is_none(), "{v}");
    assert!(v["reload"].get("serving_since").is_none(), "{v}");
}

#[cfg(unix)]
#[tokio::test]
async fn a_configmap_update_that_swaps_the_symlinked_directory_is_picked_up() {
    use std::os::unix::fs::symlink;
    // How the kubelet lays out a ConfigMap volume: rules.toml -> ..data/rules.toml,
    // ..data -> ..<timestamp>/, and an update swaps ..data in one rename.
    let dir = temp_dir("configmap");
    let v1 = dir.path().join("..2023_10_01");
    std::fs::create_dir_all(&v1).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(v1.join("rules.toml"), with_version("cm-1")).unwrap_or_else(|e| panic!("{e}"));
    symlink("..2023_10_01", dir.path().join("..data")).unwrap_or_else(|e| panic!("{e}"));
    symlink("..data/rules.toml", dir.path().join("rules.toml")).unwrap_or_else(|e| panic!("{e}"));
    let app = spawn_with_rules_file(args(), dir.path().join("rules.toml")).await;
    assert_eq!(rules_view(&app).await["version"], "cm-1");

    let v2 = dir.path().join("..2023_10_02");
    std::fs::create_dir_all(&v2).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(v2.join("rules.toml"), with_version("cm-2")).unwrap_or_else(|e| panic!("{e}"));
    symlink("..2023_10_02", dir.path().join("..data_tmp")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(dir.path().join("..data_tmp"), dir.path().join("..data"))
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_dir_all(&v1);
    assert!(
        eventually(|| async { rules_view(&app).await["version"] == "cm-2" }).await,
        "the swapped ConfigMap never loaded"
    );
}

/// Replaces the rules file by what `make` puts at its path, waits for the reload to fail
/// with `expected` while the last good rules keep serving, then writes a good file and
/// waits for it to load: a refused file blocks nothing after it.
async fn refused_then_recovered(name: &str, make: impl FnOnce(&std::path::Path), expected: &str) {
    let dir = temp_dir(name);
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, with_version("good-1")).unwrap_or_else(|e| panic!("{e}"));
    let app = spawn_with_rules_file(args(), path.clone()).await;
    assert_eq!(rules_view(&app).await["version"], "good-1");

    make(&path);
    assert!(
        eventually(|| async {
            let reload = &rules_view(&app).await["reload"];
            reload["result"] == "failed"
                && reload["error"]
                    .as_str()
                    .is_some_and(|e| e.contains(expected))
        })
        .await,
        "{name}: never refused with `{expected}`: {}",
        rules_view(&app).await
    );
    let v = rules_view(&app).await;
    assert_eq!(
        v["version"], "good-1",
        "{name}: the last good rules keep serving"
    );
    let error = v["reload"]["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("rules.toml:"), "{name}: {error}");
    assert!(
        !error.contains(&dir.path().to_string_lossy().to_string()),
        "{name}: no paths in the API: {error}"
    );

    if path.is_dir() {
        std::fs::remove_dir_all(&path).unwrap_or_else(|e| panic!("{e}"));
    } else {
        std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(&path, with_version("good-2")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        eventually(|| async {
            let v = rules_view(&app).await;
            v["version"] == "good-2" && v["reload"]["result"] == "ok"
        })
        .await,
        "{name}: the next good file never loaded"
    );
}

/// Opens the FIFO for writing and closes it when dropped, so a reader stuck opening it
/// (the bug) gets end-of-file and the test fails instead of hanging forever.
#[cfg(unix)]
struct UnblockFifo(std::path::PathBuf);

#[cfg(unix)]
impl Drop for UnblockFifo {
    fn drop(&mut self) {
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&self.0);
    }
}

#[cfg(unix)]
#[tokio::test]
async fn a_fifo_at_the_rules_path_is_refused_at_once_and_blocks_no_later_reload() {
    let fifo = std::sync::Mutex::new(None);
    refused_then_recovered(
        "fifo",
        |path| {
            std::fs::remove_file(path).unwrap_or_else(|e| panic!("{e}"));
            let made = std::process::Command::new("mkfifo")
                .arg(path)
                .status()
                .unwrap_or_else(|e| panic!("mkfifo: {e}"));
            assert!(made.success());
            if let Ok(mut f) = fifo.lock() {
                *f = Some(UnblockFifo(path.to_owned()));
            }
        },
        "rules.toml: cannot read the rules file: it is a FIFO, not a regular file",
    )
    .await;
}

#[tokio::test]
async fn a_directory_at_the_rules_path_is_refused() {
    refused_then_recovered(
        "directory",
        |path| {
            std::fs::remove_file(path).unwrap_or_else(|e| panic!("{e}"));
            std::fs::create_dir(path).unwrap_or_else(|e| panic!("{e}"));
        },
        "rules.toml: cannot read the rules file: it is a directory, not a regular file",
    )
    .await;
}

#[tokio::test]
async fn a_rules_file_over_16_mib_is_refused_even_when_valid() {
    refused_then_recovered(
        "oversize",
        |path| {
            let mut big = with_version("too-big");
            big.push_str("\n# ");
            big.push_str(&"x".repeat(16 << 20));
            big.push('\n');
            std::fs::write(path, big).unwrap_or_else(|e| panic!("{e}"));
        },
        "rules.toml: cannot read the rules file: it is larger than 16 MiB, the limit",
    )
    .await;
}

/// The embedded rules with one text saved in GBK, as a Windows editor may: `杭州`.
fn gbk_rules() -> (Vec<u8>, String) {
    let text = with_version("gbk");
    let at = text
        .find("买家收货地址")
        .unwrap_or_else(|| panic!("no buyer_address label"));
    let line = text[..at].matches('\n').count() + 1;
    let column = text[..at]
        .rsplit('\n')
        .next()
        .map_or(0, |l| l.chars().count())
        + 1;
    let mut bytes = text.as_bytes()[..at].to_vec();
    bytes.extend_from_slice(&[0xBA, 0xBC, 0xD6, 0xDD]);
    bytes.extend_from_slice(&text.as_bytes()[at + "买家收货地址".len()..]);
    (bytes, format!("{line}:{column}"))
}

#[tokio::test]
async fn a_rules_file_that_is_not_utf8_is_refused_on_reload_as_at_startup() {
    let (bytes, at) = gbk_rules();
    refused_then_recovered(
        "gbk",
        |path| std::fs::write(path, &bytes).unwrap_or_else(|e| panic!("{e}")),
        &format!("rules.toml:{at}: the rules file is not UTF-8"),
    )
    .await;
    let dir = temp_dir("gbk-startup");
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{e}"));
    let startup = aftersales::rules::Rules::from_path(&path)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        startup.ends_with(&format!("rules.toml:{at}: the rules file is not UTF-8 (this byte is not valid UTF-8): save it as UTF-8")),
        "{startup}"
    );
}

/// Polls `check` every 100 ms for up to 20 s: a reload waits for the file to settle
/// first (a second), and a change no watch reports is seen by the look at the path
/// every second; a busy machine takes longer still.
async fn within_20s<F, Fut>(check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    within(20, check).await
}

/// Polls `check` every 100 ms for up to `seconds`.
async fn within<F, Fut>(seconds: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..seconds * 10 {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

/// Watches `/v1/rules` for `how_long`: the version and checksum must stay as they were.
async fn stays_served(app: &TestApp, how_long: std::time::Duration, before: &Value, what: &str) {
    let until = std::time::Instant::now() + how_long;
    while std::time::Instant::now() < until {
        let v = rules_view(app).await;
        assert_eq!(v["version"], before["version"], "{what}: {v}");
        assert_eq!(v["checksum"], before["checksum"], "{what}: {v}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A file written in place, its writer pausing half-way with the file open: the first
/// part alone is valid rules, but it is not what is being written. It is not loaded
/// while the writer holds the file (the reload used to read it 200 ms after the first
/// write); the whole file is, once closed.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_file_being_written_in_place_is_not_loaded_until_its_writer_closes_it() {
    use std::io::Write;
    let dir = temp_dir("half-written");
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, with_version("v1")).unwrap_or_else(|e| panic!("{e}"));
    let app = spawn_with_rules_file(args(), path.clone()).await;
    let before = rules_view(&app).await;

    let first = with_version("v2");
    let rest = "\n# the rest of v2: its last notice\n";
    let mut writer = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
    writer
        .write_all(first.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    writer.flush().unwrap_or_else(|e| panic!("{e}"));
    // Longer than the settle period, twice over: the writer still has the file open.
    stays_served(
        &app,
        aftersales::http::reload::SETTLE * 3,
        &before,
        "a half-written file was loaded",
    )
    .await;
    assert!(
        rules_view(&app).await["reload"]["error"].is_null(),
        "no reload while the writer holds the file"
    );
    writer
        .write_all(rest.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    drop(writer);
    let whole = aftersales::rules::checksum(&format!("{first}{rest}"));
    assert!(
        within_20s(|| async {
            let v = rules_view(&app).await;
            v["checksum"] == whole.as_str() && v["reload"]["result"] == "ok"
        })
        .await,
        "the whole file never loaded: {}",
        rules_view(&app).await
    );
}

/// A file written in two goes (closed between them, as `cat a > f; cat b >> f` does),
/// the second a moment after the first: the file is read once it has been quiet for the
/// settle period, so the first part alone is never served.
#[tokio::test]
async fn a_file_written_in_two_goes_is_read_once_it_has_settled() {
    use std::io::Write;
    let dir = temp_dir("two-goes");
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, with_version("v1")).unwrap_or_else(|e| panic!("{e}"));
    let app = spawn_with_rules_file(args(), path.clone()).await;
    let before = rules_view(&app).await;

    let first = with_version("v2");
    let rest = "\n# the second go\n";
    std::fs::write(&path, &first).unwrap_or_else(|e| panic!("{e}"));
    stays_served(
        &app,
        aftersales::http::reload::SETTLE / 2,
        &before,
        "read before the file settled",
    )
    .await;
    let mut more = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("{e}"));
    more.write_all(rest.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    drop(more);
    let whole = aftersales::rules::checksum(&format!("{first}{rest}"));
    assert!(
        within_20s(|| async {
            let v = rules_view(&app).await;
            v["checksum"] == whole.as_str() && v["reload"]["result"] == "ok"
        })
        .await,
        "the whole file never loaded: {}",
        rules_view(&app).await
    );
}

/// `--rules C/current/rules.toml` with `C/current -> releases/1`, switched to
/// `releases/2` by renaming a new symlink over `current` (as a deploy does): the new
/// release is loaded (it used to need a SIGHUP), and a later edit in it is seen too.
#[cfg(unix)]
#[tokio::test]
async fn a_symlinked_release_directory_switched_is_picked_up_and_then_watched() {
    use std::os::unix::fs::symlink;
    let dir = temp_dir("release-switch");
    let releases = dir.path().join("releases");
    for (n, v) in [("1", "r1"), ("2", "r2")] {
        std::fs::create_dir_all(releases.join(n)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(releases.join(n).join("rules.toml"), with_version(v))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    symlink("releases/1", dir.path().join("current")).unwrap_or_else(|e| panic!("{e}"));
    let app = spawn_with_rules_file(args(), dir.path().join("current").join("rules.toml")).await;
    assert_eq!(rules_view(&app).await["version"], "r1");

    symlink("releases/2", dir.path().join("current.tmp")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(dir.path().join("current.tmp"), dir.path().join("current"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        within_20s(|| async {
            let v = rules_view(&app).await;
            v["version"] == "r2" && v["reload"]["result"] == "ok"
        })
        .await,
        "the switched release never loaded: {}",
        rules_view(&app).await
    );

    std::fs::write(
        releases.join("2").join("rules.toml"),
        with_version("r2-fix"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        within_20s(|| async { rules_view(&app).await["version"] == "r2-fix" }).await,
        "an edit in the new release was never seen: {}",
        rules_view(&app).await
    );
}

/// The rules file's directory renamed away and a new one put in its place: the new file
/// is loaded, and later writes into it are seen (they used to be lost: the watch stayed
/// on the old directory, and a broken file went on showing "ok").
#[tokio::test]
async fn a_directory_replaced_under_the_rules_file_is_watched_from_then_on() {
    let dir = temp_dir("dir-replaced");
    let w = dir.path().join("w");
    let w_new = dir.path().join("w.new");
    std::fs::create_dir_all(&w).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(&w_new).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(w.join("rules.toml"), with_version("d1")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(w_new.join("rules.toml"), with_version("d2")).unwrap_or_else(|e| panic!("{e}"));
    let app = spawn_with_rules_file(args(), w.join("rules.toml")).await;
    assert_eq!(rules_view(&app).await["version"], "d1");

    std::fs::rename(&w, dir.path().join("w.old")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(&w_new, &w).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        within_20s(|| async { rules_view(&app).await["version"] == "d2" }).await,
        "the replaced directory's file never loaded: {}",
        rules_view(&app).await
    );

    let broken = format!("{}x = [\n", with_version("d3"));
    std::fs::write(w.join("rules.toml"), broken).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        within_20s(|| async { rules_view(&app).await["reload"]["result"] == "failed" }).await,
        "a broken file in the new directory was never seen: {}",
        rules_view(&app).await
    );
    assert_eq!(rules_view(&app).await["version"], "d2");
    std::fs::write(w.join("rules.toml"), with_version("d4")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        within_20s(|| async {
            let v = rules_view(&app).await;
            v["version"] == "d4" && v["reload"]["result"] == "ok"
        })
        .await,
        "the fixed file never loaded: {}",
        rules_view(&app).await
    );
}

/// Different rules under the version already serving: refused visibly (decisions carry
/// only the version, so callers could not tell the two apart), naming the version; the
/// served file put back ends the failure; the new rules under a new version load.
#[tokio::test]
async fn different_rules_under_the_served_version_are_refused() {
    let dir = temp_dir("same-version");
    let path = dir.path().join("rules.toml");
    let served = with_version("v1");
    std::fs::write(&path, &served).unwrap_or_else(|e| panic!("{e}"));
    let app = spawn_with_rules_file(args(), path.clone()).await;
    let before = rules_view(&app).await;

    // Only a comment added: still a different file, which callers could not tell apart.
    let changed = format!("{served}\n# edited, version unchanged\n");
    std::fs::write(&path, &changed).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        within_20s(|| async { rules_view(&app).await["reload"]["result"] == "failed" }).await,
        "different rules under the served version were not refused: {}",
        rules_view(&app).await
    );
    let v = rules_view(&app).await;
    assert_eq!(v["version"], "v1");
    assert_eq!(v["checksum"], before["checksum"], "the served rules stay");
    let error = v["reload"]["error"].as_str().unwrap_or_default();
    let line = served
        .lines()
        .position(|l| l.starts_with("version = "))
        .map_or(0, |i| i + 1);
    assert!(
        error.starts_with(&format!(
            r#"rules.toml:{line}:1: version "v1" is the version already serving"#
        )) && error.contains("give the new rules a new version"),
        "{error}"
    );

    std::fs::write(&path, &served).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        within_20s(|| async { rules_view(&app).await["reload"]["result"] == "ok" }).await,
        "putting the served file back did not end the failure: {}",
        rules_view(&app).await
    );
    assert_eq!(rules_view(&app).await["checksum"], before["checksum"]);

    std::fs::write(
        &path,
        changed.replacen("version = \"v1\"", "version = \"v2\"", 1),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        within_20s(|| async {
            let v = rules_view(&app).await;
            v["version"] == "v2" && v["reload"]["result"] == "ok"
        })
        .await,
        "the new rules under a new version never loaded: {}",
        rules_view(&app).await
    );
}

/// The rules file removed, then other files written in its directory (the service's own
/// log there, in the report): one failure, reported once, not once more per event.
#[tokio::test]
async fn a_missing_rules_file_is_reported_once_not_on_every_event_in_its_directory() {
    let dir = temp_dir("missing");
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, with_version("v1")).unwrap_or_else(|e| panic!("{e}"));
    let app = spawn_with_rules_file(args(), path.clone()).await;

    std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        within_20s(|| async { rules_view(&app).await["reload"]["result"] == "failed" }).await,
        "the missing file was never reported: {}",
        rules_view(&app).await
    );
    let failed = rules_view(&app).await["reload"].clone();
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("rules.toml: cannot read the rules file")),
        "{failed}"
    );
    // Another file in the directory written to, for longer than a settle period and a
    // look at the path: every write is an event in the watched directory.
    let log = dir.path().join("aftersales.log");
    let until = std::time::Instant::now() + aftersales::http::reload::SETTLE * 3;
    let mut n = 0;
    while std::time::Instant::now() < until {
        n += 1;
        std::fs::write(&log, format!("line {n}\n")).unwrap_or_else(|e| panic!("{e}"));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(aftersales::http::reload::SETTLE * 2).await;
    assert_eq!(
        rules_view(&app).await["reload"],
        failed,
        "the same failure reported again"
    );
    assert_eq!(rules_view(&app).await["version"], "v1");

    std::fs::write(&path, with_version("v2")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        within_20s(|| async {
            let v = rules_view(&app).await;
            v["version"] == "v2" && v["reload"]["result"] == "ok"
        })
        .await,
        "the file put back never loaded: {}",
        rules_view(&app).await
    );
}

/// A version served earlier, reused for other rules after later versions: refused as the
/// serving one is (it loaded silently: only the serving version was compared). The same
/// file under it again loads.
#[tokio::test]
async fn a_version_served_earlier_is_refused_for_other_rules() {
    let dir = temp_dir("earlier-version");
    let path = dir.path().join("rules.toml");
    let v1 = with_version("v1");
    std::fs::write(&path, &v1).unwrap_or_else(|e| panic!("{e}"));
    let app = spawn_with_rules_file(args(), path.clone()).await;
    let first = rules_view(&app).await;
    for v in ["v2", "v3"] {
        std::fs::write(&path, with_version(v)).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            within_20s(|| async {
                let view = rules_view(&app).await;
                view["version"] == v && view["reload"]["result"] == "ok"
            })
            .await,
            "{v} never loaded: {}",
            rules_view(&app).await
        );
    }
    std::fs::write(&path, format!("{v1}\n# other rules, old version\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        within_20s(|| async { rules_view(&app).await["reload"]["result"] == "failed" }).await,
        "other rules under a version served before were not refused: {}",
        rules_view(&app).await
    );
    let v = rules_view(&app).await;
    assert_eq!(v["version"], "v3", "the last good rules keep serving");
    let error = v["reload"]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains(r#"version "v1" was served before with other rules"#)
            && error.contains(first["checksum"].as_str().unwrap_or("?")),
        "{error}"
    );

    // The file v1 was, back again: the same rules under the same version.
    std::fs::write(&path, &v1).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        within_20s(|| async {
            let view = rules_view(&app).await;
            view["version"] == "v1" && view["reload"]["result"] == "ok"
        })
        .await,
        "v1's own file never loaded again: {}",
        rules_view(&app).await
    );
    assert_eq!(rules_view(&app).await["checksum"], first["checksum"]);
}

/// A file that never settles (a good and a broken file renamed over it in turn, faster
/// than the settle period): nothing is read, and the wait shows in `/v1/rules`
/// (`reload.pending_since`; it showed nothing, for as long as it went on); a SIGHUP
/// meanwhile is deferred, not a read of whichever file is there. Once the file stays,
/// it is read and the wait is over.
#[tokio::test]
async fn a_file_that_keeps_changing_is_shown_waiting_and_read_once_it_stays() {
    let dir = temp_dir("never-settles");
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, with_version("v1")).unwrap_or_else(|e| panic!("{e}"));
    let app = spawn_with_rules_file(args(), path.clone()).await;
    let before = rules_view(&app).await;
    assert!(before["reload"]["pending_since"].is_null(), "{before}");

    let good = with_version("v2");
    let broken = format!("{}x = [\n", with_version("v3"));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn = {
        let (stop, path, dir) = (stop.clone(), path.clone(), dir.path().to_owned());
        std::thread::spawn(move || {
            let mut n = 0usize;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                n += 1;
                let tmp = dir.join("rules.toml.tmp");
                let text = if n.is_multiple_of(2) { &good } else { &broken };
                std::fs::write(&tmp, text).unwrap_or_else(|e| panic!("{e}"));
                std::fs::rename(&tmp, &path).unwrap_or_else(|e| panic!("{e}"));
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
            // It stays the good file.
            std::fs::write(dir.join("rules.toml.tmp"), &good).unwrap_or_else(|e| panic!("{e}"));
            std::fs::rename(dir.join("rules.toml.tmp"), &path).unwrap_or_else(|e| panic!("{e}"));
        })
    };
    assert!(
        within_20s(|| async { rules_view(&app).await["reload"]["pending_since"].is_string() })
            .await,
        "the wait was never shown: {}",
        rules_view(&app).await
    );
    let v = rules_view(&app).await;
    assert_eq!(v["checksum"], before["checksum"], "nothing read: {v}");
    assert_ne!(v["reload"]["result"], "failed", "{v}");
    let metrics = app.get("/metrics").await.text().await.unwrap_or_default();
    assert!(
        metrics.contains("aftersales_rules_reload_pending"),
        "{metrics}"
    );
    // A SIGHUP while it changes: deferred, so still nothing read.
    app.state.hangup();
    stays_served(
        &app,
        aftersales::http::reload::SETTLE * 2,
        &before,
        "a SIGHUP read a file still changing",
    )
    .await;
    assert!(rules_view(&app).await["reload"]["pending_since"].is_string());

    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    churn
        .join()
        .unwrap_or_else(|_| panic!("the writer thread failed"));
    assert!(
        within_20s(|| async {
            let v = rules_view(&app).await;
            v["version"] == "v2"
                && v["reload"]["result"] == "ok"
                && v["reload"]["pending_since"].is_null()
        })
        .await,
        "the file that stayed was never read: {}",
        rules_view(&app).await
    );
}

/// A writer holding the file open past the limit: the reload fails visibly and the half
/// file is not read (it used to be served, and the finished file then refused as other
/// rules under its version, so the half policy stayed); once the writer closes it, the
/// whole file loads under that version.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_writer_holding_the_file_open_too_long_fails_the_reload_and_the_half_file_is_not_read() {
    use std::io::Write;
    let dir = temp_dir("writer-too-long");
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, with_version("v1")).unwrap_or_else(|e| panic!("{e}"));
    let app = spawn_with_rules_file(args(), path.clone()).await;
    let before = rules_view(&app).await;

    let first = with_version("v2");
    let rest = "\n# the rest of v2\n";
    let mut writer = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
    writer
        .write_all(first.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    writer.flush().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        within(90, || async {
            rules_view(&app).await["reload"]["result"] == "failed"
        })
        .await,
        "the writer's hold was never reported: {}",
        rules_view(&app).await
    );
    let v = rules_view(&app).await;
    assert_eq!(
        v["checksum"], before["checksum"],
        "the half file served: {v}"
    );
    assert!(
        v["reload"]["error"].as_str().is_some_and(
            |e| e.starts_with("rules.toml: still open for writing after 30 s; not read")
        ),
        "{v}"
    );
    assert!(v["reload"]["pending_since"].is_string(), "{v}");

    writer
        .write_all(rest.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    drop(writer);
    let whole = aftersales::rules::checksum(&format!("{first}{rest}"));
    assert!(
        within_20s(|| async {
            let v = rules_view(&app).await;
            v["checksum"] == whole.as_str()
                && v["reload"]["result"] == "ok"
                && v["reload"]["pending_since"].is_null()
        })
        .await,
        "the whole file never loaded under its version: {}",
        rules_view(&app).await
    );
}
