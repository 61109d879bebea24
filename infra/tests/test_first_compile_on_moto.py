"""The first policy gets written (issue 13, defect 4), on moto with IAM enforced.

An IAM user gets exactly the template's PolicyCompilerRole statements (resolved
for a deployment: the lake bucket by name); moto then enforces IAM for every
request (`/moto-api/reset-auth`, the runtime form of INITIAL_NO_AUTH_ACTION_COUNT).
With that user's keys, `cdc-mask findings compile s3://…/findings/ -o
s3://…/policy/policy.json` must find the policy missing and write it.

What moto does not model, the IAM graph test covers: S3's 403-instead-of-404
for a caller without s3:ListBucket (moto answers 404 either way), and KMS key
policies (the bucket here has no SSE-KMS default). The negative test shows that
moto does enforce the user's policy: without the PutObject statement the
compile is refused and nothing is written.

Needs moto_server (.venv) and the cdc-mask binary (CDCMASK_BIN, else
target/debug/cdc-mask, else /work/main/target/debug/cdc-mask); either missing
fails the test, never skips it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

import cfn

FINDING = cfn.ROOT / "transformer" / "tests" / "fixtures" / "example-macie-finding.json"
REGION = "eu-west-1"


def moto_server() -> Path:
    candidates = []
    if os.environ.get("CDCMASK_VENV"):
        candidates.append(Path(os.environ["CDCMASK_VENV"]) / "bin" / "moto_server")
    candidates += [Path(sys.executable).parent / "moto_server", cfn.ROOT / ".venv" / "bin" / "moto_server"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    pytest.fail("moto_server not found (" + ", ".join(map(str, candidates)) + "): run ./scripts/test")


def cdc_mask_binary() -> Path:
    candidates = [Path(os.environ["CDCMASK_BIN"])] if os.environ.get("CDCMASK_BIN") else []
    candidates += [cfn.ROOT / "target" / "debug" / "cdc-mask", Path("/work/main/target/debug/cdc-mask")]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    pytest.fail(
        "the cdc-mask binary is missing (" + ", ".join(map(str, candidates)) + "): "
        "run ./scripts/test, or `cargo build --bin cdc-mask` and set CDCMASK_BIN"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def moto(tmp_path: Path) -> Iterator[str]:
    """A fresh moto server (IAM not yet enforced) on a free 127.0.0.1 port."""
    exe = moto_server()
    for attempt in (1, 2):
        port = free_port()
        log = tmp_path / f"moto-{attempt}.log"
        with open(log, "wb") as out:
            child = subprocess.Popen(
                [str(exe), "-H", "127.0.0.1", "-p", str(port)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and child.poll() is None:
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        if child.poll() is None:
            try:
                yield endpoint
            finally:
                child.terminate()
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
            return
        if attempt == 2:
            pytest.fail(f"moto_server did not start; its log: {log}")


def client(endpoint: str, service: str, key: str = "testing", secret: str = "testing"):
    import boto3

    session = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=REGION)
    return session.client(service, endpoint_url=endpoint)


def compiler_statements(drop_put: bool = False) -> List[Dict]:
    d = cfn.deployment()
    [policy] = d.properties("PolicyCompilerRole")["Policies"]
    statements = policy["PolicyDocument"]["Statement"]
    if drop_put:
        statements = [s for s in statements if s["Action"] != "s3:PutObject"]
    return statements


def lake_with_compiler_user(endpoint: str, statements: List[Dict]) -> Dict[str, str]:
    """The lake bucket with one finding, and a user holding `statements`; then IAM on."""
    bucket = cfn.deployment().physical("LakeBucket")
    s3 = client(endpoint, "s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=bucket, Key="findings/2026/11/29/10/part-1", Body=FINDING.read_bytes())
    iam = client(endpoint, "iam")
    iam.create_user(UserName="policy-compiler")
    iam.put_user_policy(
        UserName="policy-compiler",
        PolicyName="findings-to-policy",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    key = iam.create_access_key(UserName="policy-compiler")["AccessKey"]
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
    return {"bucket": bucket, "key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}


def compile_as(lake: Dict[str, str], endpoint: str) -> "subprocess.CompletedProcess[bytes]":
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=lake["key"], AWS_SECRET_ACCESS_KEY=lake["secret"],
        AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION,
    )
    return subprocess.run(
        [str(cdc_mask_binary()), "findings", "compile", f"s3://{lake['bucket']}/findings/",
         "-o", f"s3://{lake['bucket']}/policy/policy.json", "--endpoint-url", endpoint],
        capture_output=True, env=env, timeout=300,
    )


def test_moto_enforces_the_compiler_role_s3_calls(moto):
    lake = lake_with_compiler_user(moto, compiler_statements())
    s3 = client(moto, "s3", lake["key"], lake["secret"])
    listed = s3.list_objects_v2(Bucket=lake["bucket"], Prefix="findings/")
    assert [o["Key"] for o in listed["Contents"]] == ["findings/2026/11/29/10/part-1"]
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=lake["bucket"], Key="policy/policy.json")
    s3.put_object(Bucket=lake["bucket"], Key="policy/policy.json", Body=b"{}")
    # Nothing beyond its job: no other policy key, no view.
    for key in ("policy/overrides.json", "masked/dataset/customer/x.json"):
        with pytest.raises(s3.exceptions.ClientError, match="AccessDenied"):
            s3.put_object(Bucket=lake["bucket"], Key=key, Body=b"{}")


def test_the_first_compile_writes_the_missing_policy(moto):
    lake = lake_with_compiler_user(moto, compiler_statements())
    done = compile_as(lake, moto)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    s3 = client(moto, "s3", lake["key"], lake["secret"])
    policy = json.loads(s3.get_object(Bucket=lake["bucket"], Key="policy/policy.json")["Body"].read())
    assert policy["tables"], policy


def test_without_put_object_the_compile_is_refused(moto):
    lake = lake_with_compiler_user(moto, compiler_statements(drop_put=True))
    done = compile_as(lake, moto)
    assert done.returncode != 0
    assert b"AccessDenied" in done.stderr or b"Access Denied" in done.stderr, done.stderr
    s3 = client(moto, "s3", lake["key"], lake["secret"])
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=lake["bucket"], Key="policy/policy.json")
