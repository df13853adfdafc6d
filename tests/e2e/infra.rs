//! `infra/`: the Kubernetes manifests validate against the Kubernetes 1.31 schemas (with
//! `kubernetes-validate`, installed by `scripts/setup.sh`), and the check does bite: a
//! broken copy fails it.

use std::process::Command;

use frameflow_testkit::{python_tool, scratch_dir, workspace_root};

#[test]
fn the_kubernetes_manifests_validate_against_the_schemas() {
    let tool = python_tool("kubernetes-validate");
    if !tool.exists() {
        eprintln!("SKIP: no kubernetes-validate at {} (run scripts/setup.sh)", tool.display());
        return;
    }
    let dir = workspace_root().join("infra/k8s");
    let manifests: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "yaml")).collect();
    assert!(manifests.len() >= 4, "Deployment, Service, ConfigMap, Secret: {manifests:?}");
    let run = |files: &[std::path::PathBuf]| Command::new(&tool).args(["-k", "1.31.0", "--strict"]).args(files).output().expect("run kubernetes-validate");
    let checked = run(&manifests);
    assert!(checked.status.success(), "{}{}", String::from_utf8_lossy(&checked.stdout), String::from_utf8_lossy(&checked.stderr));

    // A pod is stopped with SIGTERM after its preStop pause; the drain (shutdown_grace_ms,
    // 25 s by default) must end before the grace period's SIGKILL.
    let deployment = std::fs::read_to_string(dir.join("deployment.yaml")).unwrap();
    let number_after = |key: &str| -> u64 {
        let at = deployment.find(key).unwrap_or_else(|| panic!("the Deployment sets no {key}"));
        deployment[at + key.len()..].trim_start().split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
    };
    let (grace, pause) = (number_after("terminationGracePeriodSeconds:"), number_after("seconds:"));
    assert!(deployment.contains("preStop:"), "a preStop pause lets the Service stop routing first");
    assert!(grace >= pause + 25 + 5, "terminationGracePeriodSeconds {grace} must cover the {pause} s preStop, the 25 s drain and a margin");

    let broken = scratch_dir("k8s-broken").join("deployment.yaml");
    let text = std::fs::read_to_string(dir.join("deployment.yaml")).unwrap().replace("replicas: 3", "replicas: three");
    std::fs::write(&broken, text).unwrap();
    assert!(!run(&[broken]).status.success(), "a Deployment with replicas: three must fail validation");
}

/// `infra/aws/events.yaml` (the queue, dead-letter queue, topic and policies) passes
/// cfn-lint, and the bucket's notification configuration beside it is JSON naming both.
#[test]
fn the_aws_wiring_passes_cfn_lint() {
    let tool = python_tool("cfn-lint");
    if !tool.exists() {
        eprintln!("SKIP: no cfn-lint at {} (run scripts/setup.sh)", tool.display());
        return;
    }
    let dir = workspace_root().join("infra/aws");
    let checked = Command::new(&tool).arg(dir.join("events.yaml")).output().expect("run cfn-lint");
    assert!(checked.status.success(), "{}{}", String::from_utf8_lossy(&checked.stdout), String::from_utf8_lossy(&checked.stderr));
    let broken = scratch_dir("cfn-broken").join("events.yaml");
    std::fs::write(&broken, std::fs::read_to_string(dir.join("events.yaml")).unwrap().replace("maxReceiveCount: 5", "maxReceiveCount: five")).unwrap();
    assert!(!Command::new(&tool).arg(&broken).output().unwrap().status.success(), "a redrive count of 'five' must fail");
    let notifications: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("bucket-notifications.json")).unwrap()).unwrap();
    assert!(notifications["QueueConfigurations"].is_array() && notifications["TopicConfigurations"].is_array());
}
