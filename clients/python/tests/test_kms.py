"""The KMS key source against a moto server, for the legacy `kms:` wrapped
keys (format version 1): rows in version 1 decrypted in Python with one KMS
`Decrypt` per distinct data key (always with the configured `KeyId`: a blob
never chooses its key), like `cdc-mask decrypt`, and KMS refusals mapped to
their errors. The version 2 `ecdh1:` keys through KMS `DeriveSharedSecret`
are in test_kms_ecdh.py.

The binary writes version 2 only, so the version 1 rows are made here: the
binary's own rows of the example event (`transform-event` with a local
keyring), rewritten in version 1 by the test writer `support/v1_writer.py`
(checked against the spec's vectors in test_v1_writer.py) under data keys
from moto's KMS `GenerateDataKey`, exactly as the version 1 writer made them.
The plaintexts stay the binary's exact JSON texts."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from botocore.stub import Stubber

import cdcmask

from conftest import (
    FIXTURES,
    Bin,
    Moto,
    assert_same_rows,
    firehose_rows,
    json_lines,
    run_python_cli,
    test_env,
)
from support import v1_writer


class Counted:
    """A boto3 KMS client of moto that counts `Decrypt` calls (botocore
    event hook, so every call the key source makes is seen)."""

    def __init__(self, moto: Moto, region: str = "us-east-1") -> None:
        self.client = moto.client("kms", region)
        self.decrypts = 0
        self.client.meta.events.register("before-call.kms.Decrypt", self._count)

    def _count(self, **_: Any) -> None:
        self.decrypts += 1


def v1_rows_under_kms(
    cdcmask_bin: Bin, moto: Moto, key_id: str, keyring: Path, event: Path
) -> List[bytes]:
    """One `transform-event` run (one process: one data key) over ``event``
    with the local ``keyring``, its rows rewritten in version 1 under one
    new data key from KMS `GenerateDataKey` under ``key_id``."""
    lines = firehose_rows(
        cdcmask_bin.run(
            "transform-event",
            "--view",
            "encrypted",
            "--policy",
            FIXTURES / "no-token-policy.json",
            "--keyring",
            keyring,
            event,
        ).stdout
    )
    scalar = (keyring / "data-ecdh.key").read_bytes()
    data_key, wrapped = v1_writer.kms_data_key(moto.client("kms"), key_id, "data")
    return [v1_writer.downgrade_line(line, scalar, data_key, wrapped) for line in lines]


@pytest.fixture(scope="module")
def kms_rows(
    cdcmask_bin: Bin, moto: Moto, tmp_path_factory: pytest.TempPathFactory
) -> Tuple[str, Path, List[bytes]]:
    """Two runs (two data keys) over the example event, in version 1, under
    one new KMS key."""
    key_id = moto.client("kms").create_key(Description="cdc-mask data")["KeyMetadata"]["KeyId"]
    work = tmp_path_factory.mktemp("kms")
    lines: List[bytes] = []
    for _ in range(2):
        lines += v1_rows_under_kms(
            cdcmask_bin, moto, key_id, work / "keyring", FIXTURES / "example-firehose-event.json"
        )
    assert all(b"enc2:" not in line and b"ecdh1:" not in line for line in lines)
    assert sum(b'"_key":"kms:' in line for line in lines) >= 6
    out = work / "rows.jsonl"
    out.write_bytes(b"".join(lines))
    return key_id, out, lines


def distinct_keys(lines: List[bytes]) -> int:
    return len({json.loads(line).get("_key") for line in lines} - {None})


def test_one_decrypt_per_distinct_data_key(
    cdcmask_bin: Bin, moto: Moto, kms_rows: Tuple[str, Path, List[bytes]]
) -> None:
    key_id, file, lines = kms_rows
    assert distinct_keys(lines) == 2 and all(
        json.loads(line)["_key"].startswith("kms:") for line in lines if b'"_key"' in line
    )
    counted = Counted(moto)
    keys = cdcmask.KmsKeys(key_id, client=counted.client)
    python = list(cdcmask.iter_records(file, keys))
    assert counted.decrypts == 2 == keys.unwrap_calls
    rust = json_lines(
        cdcmask_bin.run(
            "decrypt", "--kms-key-id", key_id, "--endpoint-url", moto.endpoint, file
        ).stdout
    )
    assert_same_rows(python, rust, "KMS rows")
    assert any(r.get("mail") for r in python)
    # Cached: reading again costs nothing.
    list(cdcmask.iter_records(file, keys))
    assert counted.decrypts == 2


def test_the_cache_is_bounded(moto: Moto, kms_rows: Tuple[str, Path, List[bytes]]) -> None:
    key_id, _, lines = kms_rows
    keyed = [json.loads(line) for line in lines if b'"_key"' in line]
    first = [r for r in keyed if r["_key"] == keyed[0]["_key"]]
    second = [r for r in keyed if r["_key"] != keyed[0]["_key"]]
    alternating = [r for pair in zip(first, second) for r in pair]
    counted = Counted(moto)
    keys = cdcmask.KmsKeys(key_id, client=counted.client, cache_size=1)
    for record in alternating:
        cdcmask.decrypt_record(record, keys)
    assert counted.decrypts == len(alternating) and keys.cached_keys == 1
    with pytest.raises(ValueError):
        cdcmask.KmsKeys(key_id, client=counted.client, cache_size=0)
    with pytest.raises(ValueError, match="key_id"):
        cdcmask.KmsKeys(client=counted.client)


def test_session_region_endpoint_and_cli(
    cdcmask_bin: Bin, moto: Moto, kms_rows: Tuple[str, Path, List[bytes]], aws_env: None
) -> None:
    import boto3

    key_id, file, _ = kms_rows
    keys = cdcmask.KmsKeys(
        key_id,
        session=boto3.session.Session(),
        region_name="us-east-1",
        endpoint_url=moto.endpoint,
    )
    python = list(cdcmask.iter_records(file, keys))
    cli = json_lines(
        run_python_cli(
            "decrypt", "--kms", "--kms-key-id", key_id, "--endpoint-url", moto.endpoint, file
        ).stdout
    )
    assert_same_rows(cli, python, "python -m cdcmask --kms")
    # The endpoint from the environment, and --kms-key-id like the Rust CLI.
    env = test_env(AWS_ENDPOINT_URL=moto.endpoint)
    cli = json_lines(run_python_cli("decrypt", "--kms-key-id", key_id, file, env=env).stdout)
    assert_same_rows(cli, python, "python -m cdcmask --kms-key-id")
    # AWS_REGION alone (what the Rust SDK reads; botocore reads AWS_DEFAULT_REGION).
    del env["AWS_DEFAULT_REGION"]
    cli = json_lines(run_python_cli("decrypt", "--kms-key-id", key_id, file, env=env).stdout)
    assert_same_rows(cli, python, "python -m cdcmask with AWS_REGION only")
    del env["AWS_REGION"]
    done = run_python_cli("decrypt", "--kms-key-id", key_id, file, env=env, check=False)
    assert done.returncode == 1 and b"no AWS region" in done.stderr
    # A blob never chooses its key: --kms alone is a usage error.
    done = run_python_cli("decrypt", "--kms", file, env=env, check=False)
    assert done.returncode == 2 and b"--kms-key-id" in done.stderr


def test_a_key_the_caller_may_not_use(moto: Moto, kms_rows: Tuple[str, Path, List[bytes]]) -> None:
    """The key id given does not exist where the caller looks (moto answers
    NotFoundException), or is another key than the rows' (moto answers
    AccessDeniedException; AWS KMS answers IncorrectKeyException): the
    reader never falls back on the key the blob names."""
    key_id, file, _ = kms_rows
    elsewhere = cdcmask.KmsKeys(key_id, client=moto.client("kms", "eu-west-1"))
    with pytest.raises(cdcmask.KeyUnavailableError, match="NotFound") as caught:
        list(cdcmask.iter_records(file, elsewhere))
    assert isinstance(caught.value, cdcmask.AccessDeniedError)
    assert caught.value.location is not None and caught.value.location.endswith(":1")
    # Rows made with another key than the one the reader insists on.
    other_key = moto.client("kms").create_key()["KeyMetadata"]["KeyId"]
    pinned = cdcmask.KmsKeys(other_key, client=moto.client("kms"))
    with pytest.raises(cdcmask.AccessDeniedError, match="AccessDenied") as denied:
        list(cdcmask.iter_records(file, pinned))
    assert not isinstance(denied.value, cdcmask.KeyUnavailableError)
    # Both given: the right one is tried after the wrong one refuses.
    both = cdcmask.KmsKeys([other_key, key_id], client=moto.client("kms"))
    with pytest.raises(cdcmask.AccessDeniedError):
        list(cdcmask.iter_records(file, both))  # moto says AccessDenied, not IncorrectKey


def test_a_key_wrapped_for_another_purpose(
    moto: Moto, kms_rows: Tuple[str, Path, List[bytes]]
) -> None:
    """A data key presented as a quarantine key: KMS checks the encryption
    context and answers InvalidCiphertextException."""
    key_id, _, lines = kms_rows
    record = json.loads(next(line for line in lines if b'"_key"' in line))
    forged = {
        "_quarantine": {"v": 1, "key": record["_key"], "sealed": record["mail_encrypted"][5:]}
    }
    keys = cdcmask.KmsKeys(quarantine_key_id=key_id, client=moto.client("kms"))
    with pytest.raises(cdcmask.WrongKeyError, match="InvalidCiphertext"):
        cdcmask.unseal_quarantine(forged, keys)
    # A key source given data keys only has no quarantine key at all.
    with pytest.raises(cdcmask.WrongKeyError, match="quarantine_key_id"):
        cdcmask.unseal_quarantine(forged, cdcmask.KmsKeys(key_id, client=moto.client("kms")))


def test_a_tampered_kms_blob(moto: Moto, kms_rows: Tuple[str, Path, List[bytes]]) -> None:
    key_id, _, lines = kms_rows
    record = json.loads(next(line for line in lines if b'"_key"' in line))
    blob = bytearray(base64.b64decode(record["_key"][4:]))
    blob[-1] ^= 1
    record["_key"] = "kms:" + base64.b64encode(bytes(blob)).decode()
    with pytest.raises(cdcmask.WrongKeyError):
        cdcmask.decrypt_record(record, cdcmask.KmsKeys(key_id, client=moto.client("kms")))
    record["_key"] = "local:0011223344556677:AAAA"
    with pytest.raises(cdcmask.WrongKeyError, match="local keyring"):
        cdcmask.decrypt_record(record, cdcmask.KmsKeys(key_id, client=moto.client("kms")))


def test_quarantine_through_kms(cdcmask_bin: Bin, moto: Moto, tmp_path: Path) -> None:
    """Version 1 quarantine records (one data key from `GenerateDataKey`
    with the quarantine purpose, as the version 1 writer sealed a batch):
    one `Decrypt`, and the same bytes as `cdc-mask decrypt --quarantine`."""
    key_id = moto.client("kms").create_key(Description="cdc-mask quarantine")["KeyMetadata"][
        "KeyId"
    ]
    originals = [b'{"data":{"mail":"bob@example.com"', b"not json at all", b"\xff\xfe not UTF-8"]
    data_key, wrapped = v1_writer.kms_data_key(moto.client("kms"), key_id, "quarantine")
    sealed = tmp_path / "quarantine.jsonl"
    sealed.write_bytes(
        b"".join(
            v1_writer.quarantine_line(data_key, wrapped, "invalid_json", str(i), o)
            for i, o in enumerate(originals)
        )
    )
    counted = Counted(moto)
    keys = cdcmask.KmsKeys(quarantine_key_id=key_id, client=counted.client)
    unsealed = [cdcmask.unseal_quarantine(line, keys) for line in sealed.read_bytes().splitlines()]
    assert unsealed == originals and counted.decrypts == 1
    rust = cdcmask_bin.run(
        "decrypt", "--quarantine", "--quarantine-kms-key-id", key_id,
        "--endpoint-url", moto.endpoint, sealed,
    ).stdout
    python = run_python_cli(
        "decrypt", "--quarantine", "--kms-key-id", key_id, "--endpoint-url", moto.endpoint, sealed
    ).stdout
    assert python == rust == b"".join(o + b"\n" for o in originals)
    # A quarantine key presented as a row's data key: the purpose is in the
    # encryption context, so KMS refuses it.
    row = {"mail_encrypted": v1_writer.enc1(data_key, "s", "t", "mail", b'"x"'), "_schema": "s",
           "_table": "t", "_key": wrapped}
    with pytest.raises(cdcmask.WrongKeyError, match="InvalidCiphertext"):
        cdcmask.decrypt_record(row, cdcmask.KmsKeys(key_id, client=moto.client("kms")))


@pytest.mark.parametrize(
    "code,error",
    [
        ("AccessDeniedException", cdcmask.AccessDeniedError),
        ("DisabledException", cdcmask.KeyUnavailableError),
        ("KMSInvalidStateException", cdcmask.KeyUnavailableError),
        ("NotFoundException", cdcmask.KeyUnavailableError),
        ("InvalidCiphertextException", cdcmask.WrongKeyError),
        ("IncorrectKeyException", cdcmask.WrongKeyError),
        ("ThrottlingException", cdcmask.KeyServiceError),
        ("KMSInternalException", cdcmask.KeyServiceError),
    ],
)
def test_kms_refusals_map_to_their_errors(moto: Moto, code: str, error: type) -> None:
    """moto does not refuse Decrypt with a disabled key, so the KMS answers
    are stubbed here (botocore Stubber): each maps to its exception."""
    client = moto.client("kms")
    record = {"mail_encrypted": "enc1:AAAA", "_key": "kms:" + base64.b64encode(b"blob").decode()}
    with Stubber(client) as stub:
        stub.add_client_error("decrypt", service_error_code=code, service_message="refused")
        with pytest.raises(error) as caught:
            cdcmask.decrypt_record(record, cdcmask.KmsKeys("k", client=client))
    assert code in str(caught.value)
    if error is cdcmask.KeyUnavailableError:
        assert isinstance(caught.value, cdcmask.AccessDeniedError)
    if error is cdcmask.AccessDeniedError:
        assert not isinstance(caught.value, cdcmask.KeyUnavailableError)


def test_the_decrypt_request(moto: Moto) -> None:
    """Decrypt gets the blob after `kms:`, the purpose as encryption
    context, and always the configured KeyId (a blob never chooses)."""
    client = moto.client("kms")
    blob = b"\x01\x02wrapped"
    record = {"_key": "kms:" + base64.b64encode(blob).decode(), "id": 1}
    expected: Dict[str, Any] = {
        "CiphertextBlob": blob,
        "EncryptionContext": {"cdc-mask:purpose": "data"},
    }
    with Stubber(client) as stub:
        stub.add_response(
            "decrypt", {"Plaintext": bytes(32), "KeyId": "k"}, {**expected, "KeyId": "k1"}
        )
        stub.add_response(
            "decrypt", {"Plaintext": bytes(32), "KeyId": "k"}, {**expected, "KeyId": "alias/cdc"}
        )
        # Two keys configured: the second is tried when the first is not the blob's.
        stub.add_client_error(
            "decrypt", "IncorrectKeyException", expected_params={**expected, "KeyId": "a"}
        )
        stub.add_response(
            "decrypt", {"Plaintext": bytes(32), "KeyId": "k"}, {**expected, "KeyId": "b"}
        )
        stub.add_response("decrypt", {"Plaintext": bytes(16), "KeyId": "k"}, {**expected, "KeyId": "k1"})
        assert cdcmask.decrypt_record(record, cdcmask.KmsKeys("k1", client=client)) == {"id": 1}
        cdcmask.decrypt_record(record, cdcmask.KmsKeys(key_id="alias/cdc", client=client))
        cdcmask.decrypt_record(record, cdcmask.KmsKeys(["a", "b"], client=client))
        with pytest.raises(cdcmask.WrongKeyError, match="32 bytes"):
            cdcmask.decrypt_record(record, cdcmask.KmsKeys("k1", client=client))


def test_demo_rows_rewrapped_under_kms_cost_one_decrypt(
    cdcmask_bin: Bin, moto: Moto, demo_lake: Path, tmp_path: Path
) -> None:
    """The demo's rows (one data key, ~2000 rows in three files) with that
    data key re-wrapped by KMS (`Encrypt` with the data purpose, as
    `GenerateDataKey` would have wrapped it): one `Decrypt` for all of them,
    and the same rows as `cdc-mask decrypt --kms`."""
    kms = moto.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    ring = cdcmask.LocalKeyring(demo_lake / "keyring")
    rewrapped: Dict[str, str] = {}
    files = []
    for source in sorted((demo_lake / "encrypted").rglob("*.jsonl")):
        target = tmp_path / f"{source.parent.parent.name}.jsonl"
        with source.open("rb") as src, target.open("w", encoding="utf-8") as dst:
            for line in src:
                row = json.loads(line)
                if "_key" in row:
                    if row["_key"] not in rewrapped:
                        blob = kms.encrypt(
                            KeyId=key_id,
                            Plaintext=ring._unwrap(row["_key"], cdcmask.Purpose.DATA),
                            EncryptionContext={"cdc-mask:purpose": "data"},
                        )["CiphertextBlob"]
                        rewrapped[row["_key"]] = "kms:" + base64.b64encode(blob).decode()
                    row["_key"] = rewrapped[row["_key"]]
                dst.write(json.dumps(row, ensure_ascii=False) + "\n")
        files.append(target)
    assert len(rewrapped) == 1 and len(files) == 3
    counted = Counted(moto)
    keys = cdcmask.KmsKeys(key_id, client=counted.client)
    for file in files:
        python = list(cdcmask.iter_records(file, keys))
        rust = json_lines(
            cdcmask_bin.run(
                "decrypt", "--kms-key-id", key_id, "--endpoint-url", moto.endpoint, file
            ).stdout
        )
        assert_same_rows(python, rust, f"rewrapped {file.name}")
    assert counted.decrypts == 1
