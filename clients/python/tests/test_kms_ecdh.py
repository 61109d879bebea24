"""`ecdh1:` data keys (format version 2) unwrapped through AWS KMS
`DeriveSharedSecret`.

moto has no `DeriveSharedSecret`: these tests talk to the test-harness proxy
of `support/kms_ecdh_proxy.py`, which answers `GetPublicKey` and
`DeriveSharedSecret` for P-256 key pairs it generated itself and forwards
every other request to the moto server (so legacy `kms:` keys, made with
moto's `Encrypt`, go through the same endpoint). The rows are written by the
test writer `support/v2_writer.py` to the proxy's public keys, as the
transformer will write them (the write side needs the public key only), and
by the binary itself (`cdc-mask transform-event --kms-key-id
--quarantine-kms-key-id`, or the PEM public keys), read by both Python and
`cdc-mask decrypt` through the proxy.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any, Dict, List

import pytest
from botocore.stub import Stubber

import cdcmask

from conftest import (
    FIXTURES,
    Bin,
    KmsEcdh,
    assert_same_rows,
    firehose_rows,
    json_lines,
    run_python_cli,
    test_env,
    write_firehose_event,
)
from support import v2_writer


class Counted:
    """A KMS client of the proxy that counts calls per action."""

    def __init__(self, kms: KmsEcdh) -> None:
        self.client = kms.client()
        self.calls: Dict[str, int] = {}
        self.client.meta.events.register("before-call.kms.*", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] = self.calls.get(model.name, 0) + 1


def rows_for(kms_key: Dict[str, str], n: int, data_key: bytes) -> List[Dict[str, Any]]:
    wrapped = v2_writer.wrap(kms_key["PublicKeyPem"], "data", data_key)
    rows = []
    for i in range(n):
        record, _ = v2_writer.row(
            kms_key["PublicKeyPem"],
            "dataset",
            "customer",
            {"id": i, "mail": f"user{i}@example.com", "gender": "F"},
            before={"id": i, "mail": f"old{i}@example.com", "gender": "F"},
            protected=["mail"],
            data_key=data_key,
            wrapped=wrapped,
        )
        rows.append(record)
    return rows


def test_the_proxy_answers_like_kms_and_forwards_the_rest(kms_ecdh: KmsEcdh) -> None:
    client = kms_ecdh.client()
    key = kms_ecdh.keys[0]
    answer = client.get_public_key(KeyId=key["KeyId"])
    assert answer["KeySpec"] == "ECC_NIST_P256" and answer["KeyUsage"] == "KEY_AGREEMENT"
    assert cdcmask.Recipient.from_spki_der(answer["PublicKey"]).kid == v2_writer.kid(key["PublicKeyPem"])
    # By ARN too, as KMS accepts.
    assert client.get_public_key(KeyId=key["Arn"])["PublicKey"] == answer["PublicKey"]
    # Anything else reaches moto: a symmetric key made there, and its Encrypt.
    made = client.create_key()["KeyMetadata"]["KeyId"]
    assert client.encrypt(KeyId=made, Plaintext=b"x")["CiphertextBlob"]
    assert kms_ecdh.moto.client("kms").describe_key(KeyId=made)["KeyMetadata"]["KeyId"] == made
    with pytest.raises(client.exceptions.NotFoundException):
        client.get_public_key(KeyId="00000000-0000-0000-0000-000000000000")


def test_rows_unwrap_with_one_derive_per_data_key(kms_ecdh: KmsEcdh) -> None:
    key = kms_ecdh.keys[0]
    first, second = os.urandom(32), os.urandom(32)
    rows = rows_for(key, 20, first) + rows_for(key, 5, second)
    counted = Counted(kms_ecdh)
    keys = cdcmask.KmsKeys(key["KeyId"], client=counted.client)
    out = [cdcmask.decrypt_record(r, keys) for r in rows]
    assert out[3]["mail"] == "user3@example.com" and out[3]["_before"]["mail"] == "old3@example.com"
    assert counted.calls == {"GetPublicKey": 1, "DeriveSharedSecret": 2}
    assert keys.unwrap_calls == 2
    # Reading again costs nothing: cached.
    for r in rows:
        cdcmask.decrypt_record(r, keys)
    assert counted.calls == {"GetPublicKey": 1, "DeriveSharedSecret": 2}


def test_another_recipient_is_refused_before_any_derive(kms_ecdh: KmsEcdh) -> None:
    rows = rows_for(kms_ecdh.keys[0], 1, os.urandom(32))
    counted = Counted(kms_ecdh)
    keys = cdcmask.KmsKeys(kms_ecdh.keys[1]["KeyId"], client=counted.client)
    with pytest.raises(cdcmask.WrongKeyError, match="wrapped for recipient key") as caught:
        cdcmask.decrypt_record(rows[0], keys)
    assert v2_writer.kid(kms_ecdh.keys[0]["PublicKeyPem"]) in str(caught.value)
    assert counted.calls == {"GetPublicKey": 1}, "no DeriveSharedSecret for a foreign kid"


def test_several_keys_ecdh_and_legacy(kms_ecdh: KmsEcdh) -> None:
    """A reader of old and new data names both keys: the ECDH key pair (by
    kid) and the legacy symmetric key (Decrypt, forwarded to moto)."""
    client = kms_ecdh.client()
    legacy = client.create_key()["KeyMetadata"]["KeyId"]
    data_key = os.urandom(32)
    old_blob = client.encrypt(
        KeyId=legacy, Plaintext=data_key, EncryptionContext={"cdc-mask:purpose": "data"}
    )["CiphertextBlob"]
    ecdh_row = rows_for(kms_ecdh.keys[0], 1, data_key)[0]
    legacy_row = dict(ecdh_row, _key="kms:" + base64.b64encode(old_blob).decode())
    counted = Counted(kms_ecdh)
    keys = cdcmask.KmsKeys([legacy, kms_ecdh.keys[0]["Arn"]], client=counted.client)
    assert cdcmask.decrypt_record(ecdh_row, keys) == cdcmask.decrypt_record(legacy_row, keys)
    assert counted.calls["DeriveSharedSecret"] == 1 and counted.calls["Decrypt"] == 1


def test_quarantine_through_kms(kms_ecdh: KmsEcdh, tmp_path: Path) -> None:
    quarantine = kms_ecdh.keys[1]
    single = v2_writer.quarantine_line(
        quarantine["PublicKeyPem"], "invalid_json", "42", original=b'{"data":{"mail":"x@y.z"'
    )
    bundle = v2_writer.quarantine_line(
        quarantine["PublicKeyPem"],
        "overflow",
        "batch-1",
        bundle=[("a", b"first"), ("b", b"\xff second")],
    )
    keys = cdcmask.KmsKeys(quarantine_key_id=quarantine["KeyId"], client=kms_ecdh.client())
    assert cdcmask.unseal_quarantine(single, keys) == b'{"data":{"mail":"x@y.z"'
    assert [(e.record_id, e.original) for e in cdcmask.unseal_quarantine_records(bundle, keys)] == [
        ("a", b"first"),
        ("b", b"\xff second"),
    ]
    # The data purpose is not the quarantine purpose, even on one key pair.
    data_row = rows_for(quarantine, 1, os.urandom(32))[0]
    forged = {"_quarantine": {**json.loads(single)["_quarantine"], "key": data_row["_key"]}}
    with pytest.raises(cdcmask.TamperedError, match="quarantine"):
        cdcmask.unseal_quarantine(forged, keys)
    # The command line, as an admin runs it.
    lines = tmp_path / "q.jsonl"
    lines.write_bytes(single + bundle)
    env = test_env()
    done = run_python_cli(
        "decrypt", "--quarantine", "--kms-key-id", quarantine["KeyId"],
        "--endpoint-url", kms_ecdh.endpoint, lines, env=env,
    )
    assert done.stdout == b'{"data":{"mail":"x@y.z"\nfirst\n\xff second\n'


def test_cli_rows(kms_ecdh: KmsEcdh, tmp_path: Path) -> None:
    key = kms_ecdh.keys[0]
    rows = rows_for(key, 3, os.urandom(32))
    file = tmp_path / "rows.jsonl"
    file.write_text("".join(json.dumps(r) + "\n" for r in rows))
    done = run_python_cli(
        "decrypt", "--kms-key-id", key["Arn"], "--endpoint-url", kms_ecdh.endpoint, "--stats", file
    )
    got = json_lines(done.stdout)
    assert [r["mail"] for r in got] == [f"user{i}@example.com" for i in range(3)]
    assert b"key_unwraps=1" in done.stderr
    other = run_python_cli(
        "decrypt", "--kms-key-id", kms_ecdh.keys[2]["KeyId"], "--endpoint-url", kms_ecdh.endpoint,
        file, check=False,
    )
    assert other.returncode == 1 and b"WrongKeyError" in other.stderr and b"user0" not in other.stderr


@pytest.mark.parametrize(
    "code,error",
    [
        ("AccessDeniedException", cdcmask.AccessDeniedError),
        ("DisabledException", cdcmask.KeyUnavailableError),
        ("KMSInvalidStateException", cdcmask.KeyUnavailableError),
        ("NotFoundException", cdcmask.KeyUnavailableError),
        ("InvalidKeyUsageException", cdcmask.WrongKeyError),
        ("IncorrectKeyException", cdcmask.WrongKeyError),
        ("ThrottlingException", cdcmask.KeyServiceError),
        ("KMSInternalException", cdcmask.KeyServiceError),
    ],
)
def test_derive_refusals_map_to_their_errors(kms_ecdh: KmsEcdh, code: str, error: type) -> None:
    key = kms_ecdh.keys[0]
    row = rows_for(key, 1, os.urandom(32))[0]
    client = kms_ecdh.client()
    der = client.get_public_key(KeyId=key["KeyId"])["PublicKey"]
    with Stubber(client) as stub:
        stub.add_response(
            "get_public_key",
            {"KeyId": key["Arn"], "PublicKey": der, "KeySpec": "ECC_NIST_P256", "KeyUsage": "KEY_AGREEMENT"},
            {"KeyId": key["KeyId"]},
        )
        stub.add_client_error("derive_shared_secret", service_error_code=code, service_message="no")
        with pytest.raises(error) as caught:
            cdcmask.decrypt_record(row, cdcmask.KmsKeys(key["KeyId"], client=client))
    assert code in str(caught.value) and "DeriveSharedSecret" in str(caught.value)


def test_the_derive_request(kms_ecdh: KmsEcdh) -> None:
    """DeriveSharedSecret gets the configured KeyId, ECDH, and the ephemeral
    public key as DER SubjectPublicKeyInfo; GetPublicKey the configured id."""
    key = kms_ecdh.keys[0]
    row = rows_for(key, 1, os.urandom(32))[0]
    wrapped = cdcmask.WrappedKey.parse(row["_key"])
    client = kms_ecdh.client()
    der = client.get_public_key(KeyId=key["KeyId"])["PublicKey"]
    real = kms_ecdh.client().derive_shared_secret(
        KeyId=key["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=wrapped.ephemeral_spki_der()
    )["SharedSecret"]
    with Stubber(client) as stub:
        stub.add_response("get_public_key", {"PublicKey": der, "KeySpec": "ECC_NIST_P256"}, {"KeyId": "alias/x"})
        stub.add_response(
            "derive_shared_secret",
            {"SharedSecret": real, "KeyAgreementAlgorithm": "ECDH"},
            {"KeyId": "alias/x", "KeyAgreementAlgorithm": "ECDH", "PublicKey": wrapped.ephemeral_spki_der()},
        )
        out = cdcmask.decrypt_record(row, cdcmask.KmsKeys("alias/x", client=client))
    assert out["mail"] == "user0@example.com"


def transform_event(cdcmask_bin: Bin, kms_ecdh: KmsEcdh, event: Path, keys_by: str) -> bytes:
    """`cdc-mask transform-event` of the encrypted view, its data keys
    wrapped to the proxy's key 0 and its quarantine to key 1: named by KMS
    key id (the binary reads them with GetPublicKey) or given as PEM (no
    KMS call at all)."""
    data, quarantine = kms_ecdh.keys[0], kms_ecdh.keys[1]
    if keys_by == "kms":
        keys = ["--kms-key-id", data["KeyId"], "--quarantine-kms-key-id", quarantine["Arn"],
                "--endpoint-url", kms_ecdh.endpoint]
    else:
        # `--opt=VALUE`: a PEM starts with dashes.
        keys = [f"--data-public-key={data['PublicKeyPem']}",
                f"--quarantine-public-key={quarantine['PublicKeyPem']}"]
    return cdcmask_bin.run(
        "transform-event", "--view", "encrypted", "--policy", FIXTURES / "no-token-policy.json",
        *keys, event,
    ).stdout


@pytest.mark.parametrize("keys_by", ["kms", "pem"])
def test_binary_rows_through_kms(
    cdcmask_bin: Bin, kms_ecdh: KmsEcdh, tmp_path: Path, keys_by: str
) -> None:
    """Two binary runs (two data keys) of the example event: version 2 rows
    whose keys unwrap with one GetPublicKey and one DeriveSharedSecret per
    data key, and Python gives exactly what `cdc-mask decrypt` gives."""
    lines: List[bytes] = []
    for _ in range(2):
        lines += firehose_rows(
            transform_event(cdcmask_bin, kms_ecdh, FIXTURES / "example-firehose-event.json", keys_by)
        )
    keyed = [json.loads(line)["_key"] for line in lines if b'"_key"' in line]
    kid = v2_writer.kid(kms_ecdh.keys[0]["PublicKeyPem"])
    assert len(set(keyed)) == 2 and all(k.startswith(f"ecdh1:{kid}:") for k in keyed)
    assert b"enc1:" not in b"".join(lines) and b"enc2:" in b"".join(lines)
    file = tmp_path / "rows.jsonl"
    file.write_bytes(b"".join(lines))
    counted = Counted(kms_ecdh)
    keys = cdcmask.KmsKeys(kms_ecdh.keys[0]["KeyId"], client=counted.client)
    python = list(cdcmask.iter_records(file, keys))
    assert counted.calls == {"GetPublicKey": 1, "DeriveSharedSecret": 2}
    assert any(r.get("mail") for r in python)
    rust = json_lines(
        cdcmask_bin.run(
            "decrypt", "--kms-key-id", kms_ecdh.keys[0]["Arn"], "--endpoint-url", kms_ecdh.endpoint, file
        ).stdout
    )
    assert_same_rows(python, rust, f"binary rows ({keys_by})")
    cli = json_lines(
        run_python_cli(
            "decrypt", "--kms-key-id", kms_ecdh.keys[0]["KeyId"], "--endpoint-url", kms_ecdh.endpoint, file
        ).stdout
    )
    assert_same_rows(cli, rust, f"python -m cdcmask, binary rows ({keys_by})")
    # The quarantine key pair is not the data key pair: refused before any derive.
    other = Counted(kms_ecdh)
    with pytest.raises(cdcmask.WrongKeyError, match="recipient key"):
        list(cdcmask.iter_records(file, cdcmask.KmsKeys(kms_ecdh.keys[1]["KeyId"], client=other.client)))
    assert "DeriveSharedSecret" not in other.calls


@pytest.mark.parametrize("keys_by", ["kms", "pem"])
def test_binary_quarantine_through_kms(
    cdcmask_bin: Bin, kms_ecdh: KmsEcdh, tmp_path: Path, keys_by: str
) -> None:
    """Records the binary cannot protect, sealed to the quarantine key pair
    in version 2: Python (API and CLI) and `cdc-mask decrypt --quarantine`
    give back the exact original bytes; the data key pair cannot open them."""
    originals = [b'{"data":{"mail":"bob@example.com"', b"not json at all"]
    event = write_firehose_event(tmp_path / "event.json", originals)
    sealed = tmp_path / "quarantine.jsonl"
    sealed.write_bytes(b"".join(firehose_rows(transform_event(cdcmask_bin, kms_ecdh, event, keys_by))))
    records = [json.loads(line)["_quarantine"] for line in sealed.read_bytes().splitlines()]
    kid = v2_writer.kid(kms_ecdh.keys[1]["PublicKeyPem"])
    assert len(records) == 2 and all(r["v"] == 2 and r["key"].startswith(f"ecdh1:{kid}:") for r in records)
    quarantine = kms_ecdh.keys[1]
    counted = Counted(kms_ecdh)
    keys = cdcmask.KmsKeys(quarantine_key_id=quarantine["KeyId"], client=counted.client)
    unsealed = [cdcmask.unseal_quarantine(line, keys) for line in sealed.read_bytes().splitlines()]
    assert unsealed == originals
    assert counted.calls["GetPublicKey"] == 1 and counted.calls["DeriveSharedSecret"] == len(
        {r["key"] for r in records}
    )
    expected = b"".join(o + b"\n" for o in originals)
    rust = cdcmask_bin.run(
        "decrypt", "--quarantine", "--quarantine-kms-key-id", quarantine["KeyId"],
        "--endpoint-url", kms_ecdh.endpoint, sealed,
    ).stdout
    python = run_python_cli(
        "decrypt", "--quarantine", "--kms-key-id", quarantine["KeyId"],
        "--endpoint-url", kms_ecdh.endpoint, sealed,
    ).stdout
    assert python == rust == expected
    data_only = cdcmask.KmsKeys(quarantine_key_id=kms_ecdh.keys[0]["KeyId"], client=kms_ecdh.client())
    with pytest.raises(cdcmask.WrongKeyError, match="recipient key"):
        cdcmask.unseal_quarantine(sealed.read_bytes().splitlines()[0], data_only)
