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
    let path = dir.join("rules.toml");
    std::fs::write(&path, with_version("v1")).unwrap_or_else(|e| panic!("{e}"));
    let app = spawn_with_rules_file(args(), path.clone()).await;
    assert_eq!(rules_view(&app).await["version"], "v1");

    std::fs::write(&path, with_version("v2")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        eventually(|| async { rules_view(&app).await["version"] == "v2" }).await,
        "v2 never loaded"
    );
    assert_eq!(rules_view(&app).await["reload"]["result"], "ok");
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
        !error.contains(&dir.to_string_lossy().to_string()),
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
        eventually(|| async { rules_view(&app).await["version"] == "v4" }).await,
        "fixed file never loaded"
    );
    assert_eq!(rules_view(&app).await["reload"]["result"], "ok");
}

#[cfg(unix)]
#[tokio::test]
async fn a_configmap_update_that_swaps_the_symlinked_directory_is_picked_up() {
    use std::os::unix::fs::symlink;
    // How the kubelet lays out a ConfigMap volume: rules.toml -> ..data/rules.toml,
    // ..data -> ..<timestamp>/, and an update swaps ..data in one rename.
    let dir = temp_dir("configmap");
    let v1 = dir.join("..2023_10_01");
    std::fs::create_dir_all(&v1).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(v1.join("rules.toml"), with_version("cm-1")).unwrap_or_else(|e| panic!("{e}"));
    symlink("..2023_10_01", dir.join("..data")).unwrap_or_else(|e| panic!("{e}"));
    symlink("..data/rules.toml", dir.join("rules.toml")).unwrap_or_else(|e| panic!("{e}"));
    let app = spawn_with_rules_file(args(), dir.join("rules.toml")).await;
    assert_eq!(rules_view(&app).await["version"], "cm-1");

    let v2 = dir.join("..2023_10_02");
    std::fs::create_dir_all(&v2).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(v2.join("rules.toml"), with_version("cm-2")).unwrap_or_else(|e| panic!("{e}"));
    symlink("..2023_10_02", dir.join("..data_tmp")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_dir_all(&v1);
    assert!(
        eventually(|| async { rules_view(&app).await["version"] == "cm-2" }).await,
        "the swapped ConfigMap never loaded"
    );
}
