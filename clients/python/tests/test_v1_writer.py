"""The test writer of format version 1 (``support/v1_writer.py``) is right:
it reproduces every version 1 vector of ``schemas/ciphertext.md`` byte for
byte, asks KMS ``GenerateDataKey`` exactly as the spec says, and rewrites a
version 2 row (the vectors') into version 1 that both readers open to the
documented clear row. The version 1 KMS tests (test_kms.py) rely on it,
since the binary writes version 2 only."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Dict

import pytest
from botocore.stub import Stubber
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import cdcmask

from conftest import Bin, Moto, assert_same_rows, json_lines, write_key
from support import v1_writer, v2_writer
from test_vectors import CELLS, QUARANTINE, WRAP
from test_vectors_v2 import BY_ID, of_kind


@pytest.mark.parametrize("vector", CELLS, ids=lambda v: v["column"])
def test_enc1_reproduces_the_cell_vectors(vector: Dict[str, Any]) -> None:
    key = bytes.fromhex(vector["data_key_hex"])
    args = (vector["schema"], vector["table"], vector["column"])
    assert v1_writer.cell_aad(*args).hex() == vector["aad_hex"]
    value = v1_writer.enc1(
        key, *args, vector["plaintext"].encode("utf-8"), nonce=bytes.fromhex(vector["nonce_hex"])
    )
    assert value == vector["value"]
    # Without a fixed nonce: a fresh one, and the reader's AAD opens it.
    fresh = v1_writer.enc1(key, *args, b'"x"')
    raw = base64.b64decode(fresh[len("enc1:") :])
    assert raw[:12] != bytes.fromhex(vector["nonce_hex"])
    assert AESGCM(key).decrypt(raw[:12], raw[12:], cdcmask.cell_aad(*args)) == b'"x"'


def test_local_wrap_reproduces_the_vector() -> None:
    master = bytes.fromhex(WRAP["master_key_hex"])
    assert v1_writer.keyring_id(master) == WRAP["keyring_id"]
    wrapped = v1_writer.local_wrap(
        master, WRAP["purpose"], bytes.fromhex(WRAP["data_key_hex"]), nonce=bytes.fromhex(WRAP["nonce_hex"])
    )
    assert wrapped == WRAP["wrapped"]


def test_quarantine_seal_reproduces_the_vector() -> None:
    assert QUARANTINE["aad"].encode() == v1_writer.QUARANTINE1_AAD == cdcmask.QUARANTINE_AAD
    sealed = v1_writer.seal_quarantine(
        bytes.fromhex(QUARANTINE["data_key_hex"]),
        base64.b64decode(QUARANTINE["original_base64"]),
        nonce=bytes.fromhex(QUARANTINE["nonce_hex"]),
    )
    assert sealed == QUARANTINE["sealed"]


@pytest.mark.parametrize("purpose", ["data", "quarantine"])
def test_the_generate_data_key_request(moto: Moto, purpose: str) -> None:
    """``GenerateDataKey`` with the given KeyId, ``AES_256`` and the purpose
    as the only encryption context; ``kms:`` + base64 of the blob."""
    client = moto.client("kms")
    with Stubber(client) as stub:
        stub.add_response(
            "generate_data_key",
            {"CiphertextBlob": b"\x01blob", "Plaintext": bytes(range(32)), "KeyId": "k"},
            {"KeyId": "k", "KeySpec": "AES_256", "EncryptionContext": {"cdc-mask:purpose": purpose}},
        )
        plaintext, wrapped = v1_writer.kms_data_key(client, "k", purpose)
    assert plaintext == bytes(range(32)) and wrapped == "kms:" + base64.b64encode(b"\x01blob").decode()
    # Against moto: KMS Decrypt with the same context gives the plaintext back.
    key_id = client.create_key()["KeyMetadata"]["KeyId"]
    plaintext, wrapped = v1_writer.kms_data_key(client, key_id, purpose)
    back = client.decrypt(
        KeyId=key_id,
        CiphertextBlob=base64.b64decode(wrapped[len("kms:") :]),
        EncryptionContext={"cdc-mask:purpose": purpose},
    )["Plaintext"]
    assert back == plaintext


def test_v2_unwrap_reproduces_the_vector() -> None:
    for wrap_id, recipient_id in (("wrap-data", "recipient-data"), ("wrap-quarantine", "recipient-quarantine")):
        vector = BY_ID[wrap_id]
        scalar = bytes.fromhex(BY_ID[recipient_id]["private_scalar_hex"])
        assert v2_writer.unwrap(scalar, vector["purpose"], vector["wrapped"]).hex() == vector["data_key_hex"]


def test_a_downgraded_row_reads_as_the_documented_row(
    cdcmask_bin: Bin, tmp_path: Path
) -> None:
    """The version 2 flat row vector rewritten in version 1 (``enc1:``
    values, a ``local:`` key): Python and ``cdc-mask decrypt`` both give the
    vector's clear row, and the line differs from the original only in its
    ciphertexts."""
    (vector,) = [v for v in of_kind("row-v2") if v["id"] == "row-flat"]
    line = json.dumps(vector["row"], ensure_ascii=False).encode()
    scalar = bytes.fromhex(BY_ID["recipient-data"]["private_scalar_hex"])
    master = bytes(range(200, 232))
    data_key = bytes(range(32, 64))
    out = v1_writer.downgrade_line(line, scalar, data_key, v1_writer.local_wrap(master, "data", data_key))
    record = json.loads(out)
    assert list(record) == list(vector["row"])
    assert record["mail_encrypted"].startswith("enc1:") and record["_key"].startswith("local:")
    assert record["_before"]["mail_encrypted"].startswith("enc1:")

    def clear(r: Dict[str, Any]) -> Dict[str, Any]:
        return {k: v for k, v in r.items() if k not in ("_key", "_before") and not k.endswith("_encrypted")}

    assert clear(record) == clear(vector["row"]) and len(clear(record)) == 7
    assert clear(record["_before"]) == clear(vector["row"]["_before"])
    ring = tmp_path / "keyring"
    ring.mkdir(mode=0o700)
    write_key(ring, "master.key", master)
    rows = tmp_path / "rows.jsonl"
    rows.write_bytes(out + b"\n")
    python = list(cdcmask.iter_records(rows, cdcmask.LocalKeyring(ring)))
    assert python == [vector["decrypted"]]
    rust = json_lines(cdcmask_bin.run("decrypt", "--keyring", ring, rows).stdout)
    assert_same_rows(python, rust, "downgraded row")
    # A line without a data key (a delete) is kept as it is.
    assert v1_writer.downgrade_line(b'{"id":1,"_schema":"s","_table":"t"}', scalar, data_key, "x") == (
        b'{"id":1,"_schema":"s","_table":"t"}'
    )
