//! What the image and the Kubernetes manifests promise, checked from the files.

use serde_json::Value;

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn manifest(name: &str) -> Value {
    yaml_serde::from_str(&read(&format!("deploy/k8s/{name}")))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn manifests() -> Vec<(String, Value)> {
    let dir = format!("{}/deploy/k8s", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| (n.clone(), manifest(&n)))
        .collect()
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

#[test]
fn every_manifest_is_in_the_services_own_namespace() {
    let all = manifests();
    let namespaces: Vec<&String> = all
        .iter()
        .filter(|(_, m)| m["kind"] == "Namespace")
        .map(|(n, _)| n)
        .collect();
    assert_eq!(namespaces, ["00-namespace.yaml"], "applied first, by name");
    for (name, m) in &all {
        if m["kind"] != "Namespace" {
            assert_eq!(m["metadata"]["namespace"], "aftersales", "{name}");
        }
    }
}

#[test]
fn the_network_policy_admits_the_service_port_only_and_lets_nothing_out() {
    let policy = manifest("networkpolicy.yaml");
    let deployment = manifest("deployment.yaml");
    let pod = &deployment["spec"]["template"];
    assert_eq!(
        policy["spec"]["podSelector"]["matchLabels"],
        pod["metadata"]["labels"]
    );
    let container_ports = &pod["spec"]["containers"][0]["ports"];
    assert_eq!(container_ports.as_array().map(Vec::len), Some(1));
    let ingress = policy["spec"]["ingress"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(ingress.len(), 1, "{ingress:?}");
    assert_eq!(
        ingress[0]["ports"],
        serde_json::json!([{"protocol": "TCP", "port": container_ports[0]["containerPort"]}])
    );
    assert_eq!(
        policy["spec"]["policyTypes"],
        serde_json::json!(["Ingress", "Egress"])
    );
    assert_eq!(policy["spec"]["egress"], serde_json::json!([]));
}

#[test]
fn the_deployment_reads_api_tokens_from_a_mounted_secret_file_never_a_variable() {
    let deployment = manifest("deployment.yaml");
    let spec = &deployment["spec"]["template"]["spec"];
    let container = &spec["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let file = args
        .iter()
        .position(|a| *a == "--api-tokens-file")
        .and_then(|i| args.get(i + 1))
        .unwrap_or_else(|| panic!("no --api-tokens-file in {args:?}"));
    let env = container["env"].as_array().cloned().unwrap_or_default();
    assert!(
        !env.iter().any(|e| e["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("AFTERSALES_API_TOKENS"))
            || !e["valueFrom"]["secretKeyRef"].is_null()),
        "a secret in a variable: {env:?}"
    );
    let mount = container["volumeMounts"]
        .as_array()
        .and_then(|m| {
            m.iter().find(|m| {
                m["mountPath"]
                    .as_str()
                    .is_some_and(|p| file.starts_with(&format!("{p}/")))
            })
        })
        .unwrap_or_else(|| panic!("{file} is on no volume"));
    assert_eq!(mount["readOnly"], true);
    let volume = spec["volumes"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["name"] == mount["name"]))
        .unwrap_or_else(|| panic!("no volume {}", mount["name"]));
    assert_eq!(volume["secret"]["secretName"], "aftersales-api-tokens");
    assert_ne!(
        volume["secret"]["optional"], true,
        "a missing Secret must keep the pod from starting"
    );
}
