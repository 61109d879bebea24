"""What the template promises, checked on its resolved deployments: the
metric contract of the dashboard and alarms, retention of raw bytes, the
processor buffer cap, the destinations, the persona users, and that every
silenced check carries its reason."""

from __future__ import annotations

import json
import re
from typing import Any, Dict, Iterable, Set

import pytest

import cfn

# The transformer's metric contract (CloudWatch EMF, namespace cdc-mask, dimension View).
REASONS = [
    "invalid_base64", "invalid_utf8", "invalid_json", "too_deep", "too_large", "not_dms_record",
    "unknown_record_type", "duplicate_field", "policy_unavailable", "unknown_view", "key_unavailable",
    "response_overflow",
]
METRICS = {
    "Records", "Rows", "ControlDropped", "Quarantined", "QuarantinedTransient", "Overflowed",
    "PolicyAgeSeconds", "GuardDetected", "UnlistedColumnAdded",
} | {f"Quarantined_{r}" for r in REASONS}
VIEWS = {"masked", "encrypted", "quarantine"}


@pytest.fixture(scope="module")
def s3() -> cfn.Resolved:
    return cfn.deployment({"Destination": "s3", "AlarmTopicArn": "arn:aws:sns:eu-west-1:111122223333:ops"})


@pytest.fixture(scope="module")
def iceberg() -> cfn.Resolved:
    return cfn.deployment({"Destination": "iceberg", "CreatePersonaUsers": "no"})


def dashboard_metrics(d: cfn.Resolved) -> Iterable[list]:
    body = json.loads(d.properties("Dashboard")["DashboardBody"])
    for widget in body["widgets"]:
        for metric in widget.get("properties", {}).get("metrics", []):
            if isinstance(metric[0], str):
                yield metric


def test_the_dashboard_shows_every_metric_of_the_contract_for_every_view(s3):
    seen: Dict[str, Set[str]] = {}
    for metric in dashboard_metrics(s3):
        if metric[0] == "cdc-mask":
            assert metric[2] == "View", metric
            seen.setdefault(metric[1], set()).add(metric[3])
    assert set(seen) == METRICS
    assert all(views == VIEWS for views in seen.values()), seen


def test_the_dashboard_shows_the_aws_metrics_operators_need(s3):
    aws = {(m[0], m[1]) for m in dashboard_metrics(s3) if m[0] != "cdc-mask"}
    assert {
        ("AWS/Lambda", "Duration"), ("AWS/Lambda", "Errors"), ("AWS/Lambda", "Throttles"),
        ("AWS/Firehose", "DeliveryToS3.DataFreshness"), ("AWS/Firehose", "DeliveryToIceberg.DataFreshness"),
        ("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds"),
    } <= aws
    names = {m[3] for m in dashboard_metrics(s3) if m[0] == "AWS/Lambda"}
    assert names == {s3.physical("TransformerFunction"), s3.physical("PolicyCompilerFunction"), "dcp-cdc-mask-quarantine"}


def alarms(d: cfn.Resolved) -> Dict[str, Dict[str, Any]]:
    return {n: d.properties(n) for n in d.of_type("AWS::CloudWatch::Alarm")}


def alarm_metrics(alarm: Dict[str, Any]) -> Set[tuple]:
    if "MetricName" in alarm:
        return {(alarm["Namespace"], alarm["MetricName"])}
    return {
        (m["MetricStat"]["Metric"]["Namespace"], m["MetricStat"]["Metric"]["MetricName"])
        for m in alarm["Metrics"] if "MetricStat" in m
    }


def test_the_alarms_cover_errors_quarantine_policy_age_iterator_age_and_lambda_errors(s3, iceberg):
    watched = set().union(*(alarm_metrics(a) for a in alarms(s3).values()))
    assert {
        ("AWS/S3", "PutRequests"), ("cdc-mask", "Quarantined"), ("cdc-mask", "Records"),
        ("cdc-mask", "PolicyAgeSeconds"), ("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds"),
        ("AWS/Lambda", "Errors"),
    } == watched
    # errors/: the request-metrics filter the alarm reads exists on the lake bucket.
    errors = alarms(s3)["ErrorsWrittenAlarm"]
    [filter_id] = [d["Value"] for d in errors["Dimensions"] if d["Name"] == "FilterId"]
    configs = s3.properties("LakeBucket")["MetricsConfigurations"]
    assert {"Id": filter_id, "Prefix": "errors/"} in configs
    # The policy alarm fires past the transformer's own max age.
    assert alarms(s3)["PolicyStaleAlarm"]["Threshold"] == s3.params["PolicyMaxAgeSeconds"]
    rates = {n for n in alarms(s3) if n.startswith("QuarantineRate")}
    assert rates == {f"QuarantineRate{v}Alarm" for v in VIEWS}
    assert "QuarantineFunctionErrorsAlarm" in alarms(iceberg) and "QuarantineFunctionErrorsAlarm" not in alarms(s3)


def test_alarms_notify_the_topic_when_one_is_given(s3, iceberg):
    for name, alarm in alarms(s3).items():
        assert alarm["AlarmActions"] == ["arn:aws:sns:eu-west-1:111122223333:ops"], name
    for name, alarm in alarms(iceberg).items():
        assert "AlarmActions" not in alarm, name


def test_raw_bytes_expire_with_their_old_versions(s3):
    rules = {r.get("Prefix"): r for r in s3.properties("LakeBucket")["LifecycleConfiguration"]["Rules"]}
    for prefix, days in (("raw/", "RawLandingExpirationDays"), ("errors/", "ErrorsExpirationDays"),
                         ("quarantine/", "QuarantineExpirationDays")):
        rule = rules[prefix]
        assert rule["Status"] == "Enabled"
        assert str(rule["ExpirationInDays"]) == s3.params[days], prefix
        assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}, prefix
    assert s3.properties("LakeBucket")["VersioningConfiguration"]["Status"] == "Enabled"


def processors(d: cfn.Resolved):
    for name in d.of_type("AWS::KinesisFirehose::DeliveryStream"):
        props = d.properties(name)
        dest = props.get("ExtendedS3DestinationConfiguration") or props.get("IcebergDestinationConfiguration")
        if "ProcessingConfiguration" in dest:
            [processor] = dest["ProcessingConfiguration"]["Processors"]
            yield name, {p["ParameterName"]: p["ParameterValue"] for p in processor["Parameters"]}


def test_the_processor_buffer_stays_within_the_response_limit(s3, iceberg):
    spec = s3.raw["Parameters"]["ProcessorBufferSizeMBs"]
    assert float(spec["MaxValue"]) <= 1
    for d in (s3, iceberg):
        for name, params in processors(d):
            assert params["BufferSizeInMBs"] == d.params["ProcessorBufferSizeMBs"], name


def test_the_destinations(s3, iceberg):
    streams = {n: s3.properties(n) for n in s3.of_type("AWS::KinesisFirehose::DeliveryStream")}
    assert {p["DeliveryStreamName"] for p in streams.values() if p["DeliveryStreamType"] == "KinesisStreamAsSource"} == {
        "dcp-cdc-masked", "dcp-cdc-encrypted"}
    streams = {n: iceberg.properties(n) for n in iceberg.of_type("AWS::KinesisFirehose::DeliveryStream")}
    by_name = {p["DeliveryStreamName"]: p for p in streams.values() if p["DeliveryStreamType"] == "KinesisStreamAsSource"}
    assert set(by_name) == {"dcp-cdc-masked", "dcp-cdc-encrypted", "dcp-cdc-quarantine"}
    for view in ("masked", "encrypted"):
        config = by_name[f"dcp-cdc-{view}"]["IcebergDestinationConfiguration"]
        tables = {t["DestinationTableName"]: t for t in config["DestinationTableConfigurationList"]}
        assert set(tables) == {"customer", "bank", "card"}
        for t in tables.values():
            assert t["DestinationDatabaseName"] == f"dataset_{view}"
            assert t["UniqueKeys"] == ["id"]
    quarantine = by_name["dcp-cdc-quarantine"]["ExtendedS3DestinationConfiguration"]
    assert quarantine["Prefix"].startswith("!{partitionKeyFromLambda:view}/")
    [lambda_arn] = [p["ParameterValue"] for p in quarantine["ProcessingConfiguration"]["Processors"][0]["Parameters"]
                    if p["ParameterName"] == "LambdaArn"]
    assert lambda_arn == iceberg.getatt("QuarantineFunction", "Arn")
    env = iceberg.properties("QuarantineFunction")["Environment"]["Variables"]
    assert env["CDCMASK_VIEW"] == "quarantine" and env["CDCMASK_DESTINATION"] == "iceberg"
    assert env["CDCMASK_ICEBERG_DATABASE_MASKED"] == "dataset_masked"


def test_both_transformers_read_the_same_variables(iceberg):
    views = iceberg.properties("TransformerFunction")["Environment"]["Variables"]
    quarantine = iceberg.properties("QuarantineFunction")["Environment"]["Variables"]
    assert set(views) == set(quarantine)
    assert {k for k in views if views[k] != quarantine[k]} == {"CDCMASK_VIEW"}
    # No GenerateDataKey-era setting, no key material in the environment.
    assert not [k for k in views if "CIPHERTEXT" in k or "PUBLIC_KEY" in k or k == "CDCMASK_KEYRING"]


def test_persona_users_do_not_clash_with_the_aws_sample_and_reset_their_passwords(s3):
    users = {n: s3.properties(n) for n in s3.of_type("AWS::IAM::User")}
    assert {u["UserName"] for u in users.values()} == {"dcp-lf-admin", "dcp-lf-business-analyst", "dcp-lf-data-scientist"}
    passwords = [u["LoginProfile"]["Password"] for u in users.values()]
    assert len(set(passwords)) == 3
    assert all(u["LoginProfile"]["PasswordResetRequired"] is True for u in users.values())
    for name in ("AdminPassword", "AnalystPassword", "DataScientistPassword"):
        assert s3.raw["Parameters"][name]["NoEcho"] is True
    assert {n for n in s3.of_type("AWS::IAM::Role") if s3.properties(n).get("RoleName", "").startswith("dms-")} == {
        "DmsVpcRole", "DmsCloudWatchLogsRole"}


def test_without_persona_users_nothing_is_created_for_them(iceberg):
    assert iceberg.of_type("AWS::IAM::User") == []


def test_the_overrides_key_must_be_under_policy(s3):
    pattern = s3.raw["Parameters"]["PolicyOverridesKey"]["AllowedPattern"]
    accept = ["", "policy/overrides.json", "policy/manual/2026.json"]
    refuse = ["config/overrides.json", "overrides.json", "policy/", "findings/x.json"]
    assert [k for k in accept if not re.fullmatch(pattern, k)] == []
    assert [k for k in refuse if re.fullmatch(pattern, k)] == []


def test_the_source_endpoint_takes_host_and_port_from_the_secret(s3):
    props = s3.properties("SourceEndpoint")
    assert "ServerName" not in props and "Port" not in props
    assert props["MySqlSettings"]["SecretsManagerSecretId"] == s3.params["SourceSecretArn"]


def test_every_silenced_check_says_why():
    for name, resource in cfn.load()["Resources"].items():
        bodies = resource[2].items() if name.startswith("Fn::ForEach::") else [(name, resource)]
        for logical, body in bodies:
            meta = body.get("Metadata", {})
            for skip in meta.get("checkov", {}).get("skip", []):
                assert re.fullmatch(r"CKV_AWS_\d+", skip["id"]), (logical, skip)
                assert len(skip.get("comment", "")) > 20 and "\n" not in skip["comment"], (logical, skip)
            ignored = meta.get("cfn-lint", {}).get("config", {}).get("ignore_checks", [])
            assert ignored in ([], ["W1011"]), (logical, ignored)
