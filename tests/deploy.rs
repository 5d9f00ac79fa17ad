//! What the image and the Kubernetes manifests promise, checked from the files.

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_image_builds_with_the_toolchain_rust_toolchain_toml_pins() {
    let pinned: toml::Value = toml::from_str(&read("rust-toolchain.toml"))
        .unwrap_or_else(|e| panic!("rust-toolchain.toml: {e}"));
    let channel = pinned["toolchain"]["channel"].as_str().unwrap_or_default();
    assert!(
        channel.split('.').count() == 3 && channel.split('.').all(|p| p.parse::<u32>().is_ok()),
        "rust-toolchain.toml pins a full version, not `{channel}`"
    );
    let dockerfile = read("Dockerfile");
    let build: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM rust:"))
        .collect();
    assert_eq!(
        build,
        [format!("FROM rust:{channel}-slim-bookworm AS build").as_str()],
        "the Dockerfile's build stage and rust-toolchain.toml disagree"
    );
}
