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

/// The resources of `template` with every `Fn::ForEach` loop expanded over
/// its list (`${Var}` in strings and `{"Ref": "Var"}` replaced by each
/// value), as (logical id, resource).
fn expanded_resources(template: &Value) -> Vec<(String, Value)> {
    fn walk(map: &serde_json::Map<String, Value>, out: &mut Vec<(String, Value)>) {
        for (id, value) in map {
            if !id.starts_with("Fn::ForEach::") {
                out.push((id.clone(), value.clone()));
                continue;
            }
            let var = value[0].as_str().expect("Fn::ForEach variable");
            let items = value[1]
                .as_array()
                .unwrap_or_else(|| panic!("{id}: loop over a literal list"));
            let text = serde_json::to_string(&value[2]).unwrap();
            for item in items {
                let item = item.as_str().expect("Fn::ForEach item");
                let text = text
                    .replace(&format!(r#"{{"Ref":"{var}"}}"#), &format!(r#""{item}""#))
                    .replace(&format!("${{{var}}}"), item);
                let body: Value = serde_json::from_str(&text).unwrap();
                walk(body.as_object().expect("Fn::ForEach fragment"), out);
            }
        }
    }
    let mut out = Vec::new();
    walk(template["Resources"].as_object().unwrap(), &mut out);
    out
}

/// A metric some part of the template reads: namespace, name, dimensions,
/// and where (for messages).
#[derive(Debug)]
struct ReadMetric {
    namespace: String,
    name: String,
    dimensions: std::collections::BTreeMap<String, String>,
    at: String,
}

/// The metrics the dashboard's widgets read. The body is an `Fn::Sub`
/// string: each `${…}` becomes `0` (a valid JSON number, and a harmless
/// string part). A `"."` repeats the previous metric's field at that place,
/// as the CloudWatch dashboard body allows.
fn dashboard_metrics(id: &str, dashboard: &Value) -> Vec<ReadMetric> {
    let body = &dashboard["Properties"]["DashboardBody"];
    let sub = body["Fn::Sub"].as_str().or_else(|| body.as_str());
    let sub = sub.unwrap_or_else(|| panic!("{id}: DashboardBody is not an Fn::Sub string"));
    let mut text = String::new();
    let mut rest = sub;
    while let Some(start) = rest.find("${") {
        text.push_str(&rest[..start]);
        text.push('0');
        let end = rest[start..].find('}').expect("unclosed ${") + start;
        rest = &rest[end + 1..];
    }
    text.push_str(rest);
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{id}: DashboardBody is not JSON: {e}"));
    let mut read = Vec::new();
    for (w, widget) in body["widgets"].as_array().unwrap().iter().enumerate() {
        let title = widget["properties"]["title"].as_str().unwrap_or("");
        let mut previous: Vec<String> = Vec::new();
        for metric in widget["properties"]["metrics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let fields: Vec<String> = metric
                .as_array()
                .unwrap()
                .iter()
                .map_while(Value::as_str)
                .enumerate()
                .map(|(i, f)| match (f, previous.get(i)) {
                    (".", Some(p)) => p.clone(),
                    _ => f.to_owned(),
                })
                .collect();
            if fields.len() < 2 {
                continue; // a math expression
            }
            read.push(ReadMetric {
                namespace: fields[0].clone(),
                name: fields[1].clone(),
                dimensions: fields[2..]
                    .chunks(2)
                    .map(|pair| (pair[0].clone(), pair.get(1).cloned().unwrap_or_default()))
                    .collect(),
                at: format!("{id} widget {w} ({title})"),
            });
            previous = fields;
        }
    }
    read
}

/// The metrics an alarm reads: its `Namespace`/`MetricName`, or each
/// `Metrics[].MetricStat.Metric`.
fn alarm_metrics(id: &str, alarm: &Value) -> Vec<ReadMetric> {
    let properties = &alarm["Properties"];
    let one = |metric: &Value| ReadMetric {
        namespace: metric["Namespace"].as_str().unwrap_or_default().to_owned(),
        name: metric["MetricName"].as_str().unwrap_or_default().to_owned(),
        dimensions: metric["Dimensions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                let value = d["Value"]
                    .as_str()
                    .map_or_else(|| d["Value"].to_string(), str::to_owned);
                (d["Name"].as_str().unwrap().to_owned(), value)
            })
            .collect(),
        at: id.to_owned(),
    };
    if properties.get("MetricName").is_some() {
        return vec![one(properties)];
    }
    properties["Metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("MetricStat"))
        .map(|stat| one(&stat["Metric"]))
        .collect()
}

/// Each (metric name, `View` value) the transformer Lambda's EMF line can
/// carry, and its namespace: `emf_line` (what the handler prints per batch)
/// on batches that hold every quarantine reason, every guard detector, an
/// added column and a policy age, for every view a batch can report.
fn emitted_metrics() -> (String, BTreeSet<(String, String)>) {
    use cdc_mask_core::firehose::{BatchResult, BatchStats};
    use cdc_mask_core::guard::{Detector, Tally};
    use cdc_mask_core::Reason;

    let mut namespace = String::new();
    let mut emitted = BTreeSet::new();
    let streams = [
        (Some(View::Masked), false),
        (Some(View::Encrypted), false),
        (None, false),
        // The quarantine stream of an iceberg deployment.
        (Some(View::Encrypted), true),
    ];
    for (view, quarantine_stream) in streams {
        let mut guard = Tally::default();
        for detector in Detector::ALL {
            guard.add("s", "t", "c", detector, 1);
        }
        guard.add_unlisted_columns(1);
        let result = BatchResult {
            response: Vec::new(),
            view,
            quarantine_stream,
            stats: BatchStats {
                records: 1,
                quarantined: Reason::ALL.iter().map(|r| (*r, 1)).collect(),
                guard,
                ..BatchStats::default()
            },
        };
        let line = cdc_mask_transformer::lambda::emf_line(
            &result,
            Some(std::time::Duration::from_secs(1)),
            0,
        );
        let line: Value = serde_json::from_str(&line).unwrap();
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        namespace = directive["Namespace"].as_str().unwrap().to_owned();
        assert_eq!(directive["Dimensions"], serde_json::json!([["View"]]));
        let view = line["View"].as_str().unwrap();
        for metric in directive["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            assert!(line.get(name).is_some(), "{name} declared, no value");
            emitted.insert((name.to_owned(), view.to_owned()));
        }
    }
    (namespace, emitted)
}

/// Issue 12: every metric of the transformer's namespace that the dashboard
/// or an alarm reads is one the Lambda's EMF line emits, with the same
/// dimension; a missing one is named.
#[test]
fn the_dashboard_and_the_alarms_read_only_metrics_the_lambda_emits() {
    let (namespace, emitted) = emitted_metrics();
    let names: BTreeSet<&str> = emitted.iter().map(|(n, _)| n.as_str()).collect();
    let views: BTreeSet<&str> = emitted.iter().map(|(_, v)| v.as_str()).collect();
    let template = template();
    let mut read = Vec::new();
    for (id, resource) in expanded_resources(&template) {
        match resource["Type"].as_str() {
            Some("AWS::CloudWatch::Dashboard") => read.extend(dashboard_metrics(&id, &resource)),
            Some("AWS::CloudWatch::Alarm") => read.extend(alarm_metrics(&id, &resource)),
            _ => {}
        }
    }
    let ours: Vec<&ReadMetric> = read
        .iter()
        .filter(|m| !m.namespace.starts_with("AWS/"))
        .collect();
    assert!(
        ours.iter().any(|m| m.at.contains("Alarm")) && ours.iter().any(|m| m.at.contains("widget")),
        "no metric of ours read by both the dashboard and an alarm: {read:#?}"
    );
    let mut missing = BTreeSet::new();
    for metric in &ours {
        let what = format!(
            "{} (View={:?}) read by {}",
            metric.name,
            metric.dimensions.get("View"),
            metric.at
        );
        if metric.namespace != namespace {
            missing.insert(format!("namespace {} for {what}", metric.namespace));
            continue;
        }
        if !names.contains(metric.name.as_str()) {
            missing.insert(format!("{what}: the Lambda never emits {}", metric.name));
            continue;
        }
        let dims: Vec<&str> = metric.dimensions.keys().map(String::as_str).collect();
        if dims != ["View"] {
            missing.insert(format!(
                "{what}: dimensions {dims:?}, the Lambda emits [\"View\"]"
            ));
            continue;
        }
        let view = metric.dimensions["View"].as_str();
        if !emitted.contains(&(metric.name.clone(), view.to_owned())) {
            missing.insert(format!(
                "{what}: the Lambda emits {} only with View in {views:?}",
                metric.name
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "the template reads metrics the transformer Lambda does not emit:\n{}",
        missing.into_iter().collect::<Vec<_>>().join("\n")
    );
}
