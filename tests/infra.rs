//! `infra/`: the CloudFormation template and the Firehose console guide agree
//! with the code. The template is read with cfn-lint's own YAML decoder (from
//! the test venv, like moto), so its short-form tags parse as CloudFormation
//! reads them.

mod support;

use std::collections::BTreeSet;
use std::process::Command;

use cdc_mask_core::firehose::{PARTITION_KEYS, QUARANTINE_VIEW};
use cdc_mask_core::View;
use cdc_mask_router::sink::write_prefix;
use cdc_mask_transformer::settings::{env as lambda_env, Setting};
use serde_json::Value;
use support::{workspace_root, MotoServer};

/// Each Lambda binary the template deploys: the environment variables it
/// reads, and those of them the template leaves unset on purpose.
const LAMBDAS: &[(&str, &[&str], &[&str])] = &[
    (
        "cdc-mask-lambda",
        &lambda_env::ALL,
        // A keyring is for local runs; the token key comes from the secret;
        // public keys come from KMS.
        &[
            Setting::Keyring.env(),
            Setting::TokenKeyCiphertext.env(),
            Setting::DataPublicKey.env(),
            Setting::QuarantinePublicKey.env(),
            // The guard's mode comes from the policy (missing: protect).
            Setting::Guard.env(),
        ],
    ),
    (
        "cdc-mask-policy-lambda",
        &cdc_mask_transformer::policy_compiler::env::ALL,
        // The default layout reads the DMS raw landing (raw/<schema>/<table>/…).
        &[cdc_mask_transformer::policy_compiler::env::FINDINGS_LAYOUT],
    ),
];

/// `infra/template.yaml` as JSON, decoded by cfn-lint (intrinsics become
/// `{"Ref": …}`, `{"Fn::Sub": …}`, …; `Fn::ForEach` stays unexpanded).
fn template() -> Value {
    let python = MotoServer::executable().with_file_name("python");
    assert!(
        python.is_file(),
        "{} not found: run ./scripts/test (it installs cfn-lint into .venv), or set CDCMASK_VENV",
        python.display()
    );
    let out = Command::new(&python)
        .args([
            "-c",
            "import json, sys\n\
             from cfnlint.decode import decode\n\
             template, errors = decode(sys.argv[1])\n\
             if errors: sys.exit('; '.join(str(e) for e in errors))\n\
             print(json.dumps(template))",
        ])
        .arg(workspace_root().join("infra/template.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cannot decode the template: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every resource of `template`, those inside `Fn::ForEach` loops included
/// (unexpanded), as (logical id, resource).
fn resources(template: &Value) -> Vec<(String, Value)> {
    fn walk(map: &serde_json::Map<String, Value>, out: &mut Vec<(String, Value)>) {
        for (id, value) in map {
            if id.starts_with("Fn::ForEach::") {
                let body = value[2].as_object().expect("Fn::ForEach fragment");
                walk(body, out);
            } else {
                out.push((id.clone(), value.clone()));
            }
        }
    }
    let mut out = Vec::new();
    walk(template["Resources"].as_object().unwrap(), &mut out);
    out
}

/// The names of a function's environment variables.
fn env_names(function: &Value) -> BTreeSet<String> {
    function["Properties"]["Environment"]["Variables"]
        .as_object()
        .map(|vars| vars.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn the_template_sets_exactly_the_environment_each_lambda_reads() {
    let template = template();
    let functions: Vec<_> = resources(&template)
        .into_iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .collect();
    assert!(!functions.is_empty());
    let mut deployed = BTreeSet::new();
    for (id, function) in &functions {
        let code = function["Properties"]["CodeUri"].as_str().unwrap();
        let binary = code
            .strip_prefix("../target/lambda/")
            .and_then(|rest| rest.strip_suffix("/bootstrap.zip"))
            .unwrap_or_else(|| panic!("{id}: CodeUri {code} is not a scripts/package-lambda zip"));
        let (_, reads, unset) = LAMBDAS
            .iter()
            .find(|(name, _, _)| *name == binary)
            .unwrap_or_else(|| panic!("{id}: add {binary} and the variables it reads to LAMBDAS"));
        let expected: BTreeSet<String> = reads
            .iter()
            .filter(|name| !unset.contains(name))
            .map(|name| (*name).to_owned())
            .collect();
        assert_eq!(env_names(function), expected, "{id} ({binary})");
        deployed.insert(binary);
    }
    assert!(deployed.contains("cdc-mask-lambda"));
}

/// `!{partitionKeyFromLambda:<key>}/…`: the Firehose prefix of the layout
/// that the router's sinks write, with each key the transformer
/// emits in place of its value.
fn prefix_from_code() -> String {
    let key = |name: &str| {
        assert!(PARTITION_KEYS.contains(&name), "{name} is not emitted");
        format!("!{{partitionKeyFromLambda:{name}}}")
    };
    let (view, schema, table, dt) = (key("view"), key("schema"), key("table"), key("dt"));
    let mut prefix = String::new();
    write_prefix(&mut prefix, &view, &schema, &table, &dt);
    prefix.push('/');
    prefix
}

/// The value of the console guide's `| <field> | `<value>` … |` row.
fn documented(guide: &str, field: &str) -> String {
    let row = guide
        .lines()
        .find(|line| line.starts_with(&format!("| {field} |")))
        .unwrap_or_else(|| panic!("infra/firehose-console.md has no `{field}` row"));
    let value = row.split('|').nth(2).unwrap();
    value.split('`').nth(1).unwrap().to_owned()
}

#[test]
fn the_console_guide_and_the_template_use_the_keys_the_transformer_emits() {
    let guide =
        std::fs::read_to_string(workspace_root().join("infra/firehose-console.md")).unwrap();
    let prefix = prefix_from_code();
    assert_eq!(
        prefix,
        "!{partitionKeyFromLambda:view}/!{partitionKeyFromLambda:schema}/\
         !{partitionKeyFromLambda:table}/dt=!{partitionKeyFromLambda:dt}/"
    );
    assert_eq!(documented(&guide, "S3 bucket prefix"), prefix);

    // Every key the guide mentions is one the transformer emits, and all of them are there.
    let mentioned: BTreeSet<&str> = guide
        .split("partitionKeyFromLambda:")
        .skip(1)
        .map(|rest| rest.split('}').next().unwrap())
        .collect();
    assert_eq!(mentioned, PARTITION_KEYS.into_iter().collect());
    let listed = format!(
        "`partitionKeys`: {}.",
        PARTITION_KEYS.map(|k| format!("`{k}`")).join(", ")
    );
    assert!(guide.contains(&listed), "the guide must list {listed}");
    for view in [
        View::Masked.as_str(),
        View::Encrypted.as_str(),
        QUARANTINE_VIEW,
    ] {
        assert!(
            guide.contains(&format!(
                "| `{view}` | `{view}/<schema>/<table>/dt=YYYY-MM-DD/`"
            )) || guide.contains(&format!(
                "| `{view}` | `{view}/unknown/unknown/dt=YYYY-MM-DD/`"
            )),
            "the guide must say where view {view} lands"
        );
    }
    let error_prefix = documented(&guide, "S3 bucket error output prefix");
    assert!(!error_prefix.contains("partitionKeyFromLambda"));

    // The template's S3 delivery streams (the view streams, looped over the views, and the
    // quarantine stream of the iceberg destination): the same prefix.
    let template = template();
    let streams: Vec<_> = resources(&template)
        .into_iter()
        .filter(|(_, r)| {
            r["Type"] == "AWS::KinesisFirehose::DeliveryStream"
                && r["Properties"]["DeliveryStreamType"] == "KinesisStreamAsSource"
                && r["Properties"]["ExtendedS3DestinationConfiguration"].is_object()
        })
        .collect();
    assert_eq!(
        streams.len(),
        2,
        "the view streams (one resource, looped over the views) and the quarantine stream"
    );
    for (id, stream) in &streams {
        assert_eq!(
            stream["Properties"]["ExtendedS3DestinationConfiguration"]["Prefix"],
            prefix.as_str(),
            "{id}"
        );
    }

    // The view streams: the guide's error prefix per view, and the name CDCMASK_VIEW=auto reads.
    let views = &template["Resources"]["Fn::ForEach::Views"];
    assert_eq!(views[1], serde_json::json!(["masked", "encrypted"]));
    let id = "Delivery${View}";
    let stream = &views[2][id];
    let s3 = &stream["Properties"]["ExtendedS3DestinationConfiguration"];
    assert_eq!(s3["Prefix"], prefix.as_str(), "{id}");
    assert_eq!(
        s3["ErrorOutputPrefix"]["Fn::Sub"]
            .as_str()
            .unwrap()
            .replace("${View}", "masked"),
        error_prefix,
        "{id}"
    );
    assert_eq!(
        stream["Properties"]["DeliveryStreamName"]["Fn::Sub"], "${Prefix}-cdc-${View}",
        "{id}: CDCMASK_VIEW=auto reads the view from this name"
    );
}
