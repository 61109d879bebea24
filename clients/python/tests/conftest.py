"""Shared fixtures: the Rust binary, a demo lake, a moto server.

Nothing here is skipped: a missing binary or moto server fails the test
with a message saying how to get it (run ./scripts/test).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

import pytest

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "transformer" / "tests" / "fixtures"

#: Credentials and region for moto (and nothing else: every client in these
#: tests is given the moto endpoint explicitly).
AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}
_AWS_UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "CDCMASK_KEYRING")


def test_env(**extra: str) -> Dict[str, str]:
    """The environment for subprocesses: AWS pointed at test credentials."""
    env = {k: v for k, v in os.environ.items() if k not in _AWS_UNSET}
    env.update(AWS_TEST_ENV)
    env.update(extra)
    return env


test_env.__test__ = False  # type: ignore[attr-defined]  # not a test


class Bin:
    """The Rust `cdc-mask` binary."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def run(
        self,
        *args: Any,
        env: Optional[Dict[str, str]] = None,
        check: bool = True,
        stdin: bytes = b"",
    ) -> "subprocess.CompletedProcess[bytes]":
        done = subprocess.run(
            [str(self.path), *map(str, args)],
            input=stdin,
            capture_output=True,
            env=env if env is not None else test_env(),
            timeout=300,
        )
        if check and done.returncode != 0:
            pytest.fail(
                f"cdc-mask {' '.join(map(str, args))} failed ({done.returncode}):\n"
                + done.stderr.decode(errors="replace")
            )
        return done


@pytest.fixture(scope="session")
def cdcmask_bin() -> Bin:
    path = Path(os.environ.get("CDCMASK_BIN") or REPO / "target" / "debug" / "cdc-mask")
    if not path.is_file():
        pytest.fail(
            f"the Rust binary is missing at {path}: run ./scripts/test, or "
            "`cargo build --bin cdc-mask` and set CDCMASK_BIN to its path"
        )
    return Bin(path)


def run_python_cli(
    *args: Any, env: Optional[Dict[str, str]] = None, check: bool = True, stdin: bytes = b""
) -> "subprocess.CompletedProcess[bytes]":
    """`python -m cdcmask ARGS` with this interpreter."""
    done = subprocess.run(
        [sys.executable, "-m", "cdcmask", *map(str, args)],
        input=stdin,
        capture_output=True,
        env=env if env is not None else test_env(),
        timeout=300,
    )
    if check and done.returncode != 0:
        pytest.fail(
            f"python -m cdcmask {' '.join(map(str, args))} failed ({done.returncode}):\n"
            + done.stderr.decode(errors="replace")
        )
    return done


def json_lines(data: bytes) -> List[Any]:
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def assert_same_rows(python_rows: Sequence[Any], rust_rows: Sequence[Any], what: str) -> None:
    """Equal as parsed JSON, line by line, member order included."""
    assert len(python_rows) == len(rust_rows), (
        f"{what}: {len(python_rows)} rows vs {len(rust_rows)}"
    )
    for number, (p, r) in enumerate(zip(python_rows, rust_rows), 1):
        assert p == r, f"{what}: line {number} differs"
        assert _order(p) == _order(r), f"{what}: line {number}: member order differs"


def _order(value: Any) -> Any:
    if isinstance(value, dict):
        return [(k, _order(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_order(v) for v in value]
    return value


@pytest.fixture(scope="session")
def demo_lake(cdcmask_bin: Bin, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`cdc-mask demo --records 2000`: encrypted view, quarantine, keyring."""
    out = tmp_path_factory.mktemp("lake")
    cdcmask_bin.run("demo", "--out", out, "--records", 2000)
    return out


def encrypted_files(lake: Path) -> List[Path]:
    files = sorted(p for p in (lake / "encrypted").rglob("*") if p.is_file())
    assert files, f"no encrypted files under {lake}"
    return files


# ---------------------------------------------------------------------------
# moto
# ---------------------------------------------------------------------------


def _moto_executable() -> Path:
    candidates = []
    if os.environ.get("CDCMASK_VENV"):
        candidates.append(Path(os.environ["CDCMASK_VENV"]) / "bin" / "moto_server")
    candidates.append(Path(sys.executable).parent / "moto_server")
    candidates.append(REPO / ".venv" / "bin" / "moto_server")
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    pytest.fail(
        "moto_server not found (looked at "
        + ", ".join(map(str, candidates))
        + "): run ./scripts/test, which installs it into .venv"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Moto:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def client(self, service: str, region: str = "us-east-1") -> Any:
        import boto3

        return boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
        ).client(service, endpoint_url=self.endpoint)


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    """A moto server on a free 127.0.0.1 port, stopped after the session."""
    exe = _moto_executable()
    logs = tmp_path_factory.mktemp("moto")
    for attempt in (1, 2):
        port = _free_port()
        log_path = logs / f"moto-{attempt}.log"
        with open(log_path, "wb") as log:
            child = subprocess.Popen(
                [str(exe), "-H", "127.0.0.1", "-p", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        up = False
        while time.monotonic() < deadline and child.poll() is None:
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1) as answer:
                    up = answer.status == 200
            except (urllib.error.URLError, OSError):
                pass
            if up:
                break
            time.sleep(0.1)
        if up:
            try:
                yield Moto(endpoint)
            finally:
                child.terminate()
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
            return
        exited = child.poll() is not None
        if not exited:
            child.kill()
            child.wait()
        if not (exited and attempt == 1):  # an early exit: the port was taken; retry once
            pytest.fail(f"moto_server did not start on port {port}; its log: {log_path}")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's AWS environment pointed at test credentials."""
    for name in _AWS_UNSET:
        monkeypatch.delenv(name, raising=False)
    for name, value in AWS_TEST_ENV.items():
        monkeypatch.setenv(name, value)


def firehose_rows(response: bytes) -> List[bytes]:
    """The JSON lines of the `Ok` records of a Firehose transformation
    response (as `cdc-mask transform-event` prints it)."""
    answer = json.loads(response)
    return [
        base64.b64decode(r["data"])
        for r in answer["records"]
        if r["result"] == "Ok" and r.get("data")
    ]


# ---------------------------------------------------------------------------
# The KMS ECDH proxy (moto has no DeriveSharedSecret)
# ---------------------------------------------------------------------------

KMS_ECDH_PROXY = Path(__file__).resolve().parent / "support" / "kms_ecdh_proxy.py"


class KmsEcdh:
    """The test-harness proxy of ``support/kms_ecdh_proxy.py``: it answers
    ``GetPublicKey`` and ``DeriveSharedSecret`` for the key pairs it made
    (``keys``) and forwards everything else to moto. Not AWS KMS."""

    def __init__(self, endpoint: str, keys: List[Dict[str, str]], moto: Moto) -> None:
        self.endpoint = endpoint
        self.keys = keys
        self.moto = moto

    def client(self, region: str = "us-east-1") -> Any:
        import boto3

        return boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
        ).client("kms", endpoint_url=self.endpoint)


@pytest.fixture(scope="session")
def kms_ecdh(moto: Moto, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KmsEcdh]:
    """The proxy in front of the session's moto server, with 3 key pairs
    (data, quarantine, a spare). Fails (never skips) if it cannot start."""
    logs = tmp_path_factory.mktemp("kms-proxy") / "stderr.log"
    with open(logs, "wb") as err:
        child = subprocess.Popen(
            [sys.executable, str(KMS_ECDH_PROXY), "--upstream", moto.endpoint, "--keys", "3"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
        )
    assert child.stdout is not None
    ready: List[bytes] = []
    reader = threading.Thread(target=lambda: ready.append(child.stdout.readline()), daemon=True)
    reader.start()
    reader.join(30)
    if not ready or not ready[0].strip():
        child.kill()
        child.wait()
        pytest.fail(f"the KMS ECDH proxy did not start; its stderr: {logs}")
    started = json.loads(ready[0])
    try:
        yield KmsEcdh(started["endpoint"], started["keys"], moto)
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def write_key(directory: Path, name: str, data: bytes) -> Path:
    """A key file as a keyring holds it (0600)."""
    path = directory / name
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def private_keyring(tmp_path: Path) -> Path:
    """A keyring of ``\x01`` keys (ECDH data key, deterministic key, master
    key) as the CLI leaves one: the directory 0700, its files 0600."""
    ring = tmp_path / "ring"
    ring.mkdir(mode=0o700)
    for name, size in (("data-ecdh.key", 32), ("deterministic.key", 64), ("master.key", 32)):
        (ring / name).write_bytes(b"\x01" * size)
        (ring / name).chmod(0o600)
    return ring


def write_firehose_event(path: Path, originals: Sequence[bytes]) -> Path:
    """A Firehose transformation event of the encrypted stream whose records
    carry ``originals`` (record ids ``0``, ``1``…)."""
    path.write_text(
        json.dumps(
            {
                "invocationId": "x",
                "deliveryStreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/cdc-encrypted",
                "region": "us-east-1",
                "records": [
                    {
                        "recordId": str(i),
                        "approximateArrivalTimestamp": 1764321303000,
                        "data": base64.b64encode(o).decode(),
                    }
                    for i, o in enumerate(originals)
                ],
            }
        )
    )
    return path
