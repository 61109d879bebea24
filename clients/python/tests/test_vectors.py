"""The test vectors of schemas/ciphertext.md, in Python and through the
Rust `cdc-mask decrypt` on the same rows."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any, Dict, List

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import cdcmask
from cdcmask.keys import keyring_id

from conftest import REPO, Bin, assert_same_rows, json_lines


def load_vectors() -> List[Dict[str, Any]]:
    text = (REPO / "schemas" / "ciphertext.md").read_text(encoding="utf-8")
    section = text.split("\n## Test vectors", 1)[1]
    block = re.search(r"```json\n(.*?)\n```", section, re.S)
    assert block, "no ```json block under '## Test vectors' in schemas/ciphertext.md"
    vectors = json.loads(block.group(1))
    assert {v["kind"] for v in vectors} == {"cell", "quarantine", "local-wrap"}
    return vectors


VECTORS = load_vectors()
CELLS = [v for v in VECTORS if v["kind"] == "cell"]
(WRAP,) = [v for v in VECTORS if v["kind"] == "local-wrap"]
(QUARANTINE,) = [v for v in VECTORS if v["kind"] == "quarantine"]
QUARANTINE_MASTER = bytes(range(100, 132))


@pytest.fixture
def keyring(tmp_path: Path) -> Path:
    """A keyring whose master key is the local-wrap vector's, so that the
    vector's wrapped key unwraps to the cells' data key."""
    ring = tmp_path / "keyring"
    ring.mkdir(mode=0o700)
    (ring / "master.key").write_bytes(bytes.fromhex(WRAP["master_key_hex"]))
    (ring / "quarantine.key").write_bytes(QUARANTINE_MASTER)
    return ring


def cell_row(vector: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "id": 1,
        f"{vector['column']}_encrypted": vector["value"],
        "_schema": vector["schema"],
        "_table": vector["table"],
        "_key": WRAP["wrapped"],
    }


@pytest.mark.parametrize("vector", CELLS, ids=lambda v: v["column"])
def test_cell_aad_and_value(vector: Dict[str, Any]) -> None:
    aad = cdcmask.cell_aad(vector["schema"], vector["table"], vector["column"])
    assert aad.hex() == vector["aad_hex"]
    # The vector itself: AES-256-GCM of the plaintext under nonce and AAD.
    key = AESGCM(bytes.fromhex(vector["data_key_hex"]))
    sealed = bytes.fromhex(vector["nonce_hex"]) + key.encrypt(
        bytes.fromhex(vector["nonce_hex"]), vector["plaintext"].encode(), aad
    )
    assert vector["value"] == "enc1:" + base64.b64encode(sealed).decode()


def test_local_wrap_vector(keyring: Path) -> None:
    master = bytes.fromhex(WRAP["master_key_hex"])
    assert keyring_id(master) == WRAP["keyring_id"]
    ring = cdcmask.LocalKeyring(keyring)
    assert ring.keyring_id == WRAP["keyring_id"]
    assert WRAP["wrapped"].startswith(f"local:{WRAP['keyring_id']}:")
    assert ring._unwrap(WRAP["wrapped"], cdcmask.Purpose.DATA) == bytes.fromhex(
        WRAP["data_key_hex"]
    )


@pytest.mark.parametrize("vector", CELLS, ids=lambda v: v["column"])
def test_cell_decrypts_to_the_typed_plaintext(vector: Dict[str, Any], keyring: Path) -> None:
    row = cdcmask.decrypt_record(cell_row(vector), cdcmask.LocalKeyring(keyring))
    assert row == {
        "id": 1,
        vector["column"]: json.loads(vector["plaintext"]),
        "_schema": vector["schema"],
        "_table": vector["table"],
    }
    assert list(row) == ["id", vector["column"], "_schema", "_table"]


def quarantine_line(keyring: Path) -> bytes:
    """The quarantine vector as a record, its data key wrapped for the
    quarantine purpose under the keyring's quarantine.key."""
    nonce = bytes(12)
    wrapped = nonce + AESGCM(QUARANTINE_MASTER).encrypt(
        nonce, bytes.fromhex(QUARANTINE["data_key_hex"]), b"cdc-mask/local-wrap/v1/quarantine"
    )
    record = {
        "_quarantine": {
            "v": 1,
            "reason": "invalid_json",
            "record_id": "vector",
            "key": f"local:{keyring_id(QUARANTINE_MASTER)}:{base64.b64encode(wrapped).decode()}",
            "sealed": QUARANTINE["sealed"],
        }
    }
    return json.dumps(record).encode() + b"\n"


def test_quarantine_vector(keyring: Path) -> None:
    assert QUARANTINE["aad"].encode() == cdcmask.QUARANTINE_AAD
    original = cdcmask.unseal_quarantine(quarantine_line(keyring), cdcmask.LocalKeyring(keyring))
    assert original == base64.b64decode(QUARANTINE["original_base64"])


def test_rust_and_python_agree_on_the_vectors(
    cdcmask_bin: Bin, keyring: Path, tmp_path: Path
) -> None:
    rows = tmp_path / "vectors.jsonl"
    with rows.open("w", encoding="utf-8") as f:
        for vector in CELLS:
            f.write(json.dumps(cell_row(vector), ensure_ascii=False) + "\n")
    # The same row in the envelope shape.
    envelope = {
        "data": {"id": 1, "mail_encrypted": CELLS[0]["value"]},
        "metadata": {"schema-name": CELLS[0]["schema"], "table-name": CELLS[0]["table"]},
        "_key": WRAP["wrapped"],
    }
    with rows.open("a", encoding="utf-8") as f:
        f.write(json.dumps(envelope) + "\n")
    rust = json_lines(cdcmask_bin.run("decrypt", "--keyring", keyring, rows).stdout)
    ring = cdcmask.LocalKeyring(keyring)
    python = list(cdcmask.iter_records(rows, ring))
    assert_same_rows(python, rust, "vectors")
    assert python[-1]["data"] == {"id": 1, "mail": "alice@example.com"}

    quarantined = tmp_path / "quarantine.jsonl"
    quarantined.write_bytes(quarantine_line(keyring))
    rust_original = cdcmask_bin.run(
        "decrypt", "--quarantine", "--keyring", keyring, quarantined
    ).stdout
    assert rust_original == base64.b64decode(QUARANTINE["original_base64"]) + b"\n"
