"""Tampered, moved, foreign and future ciphertexts fail with their own
exception, and no error carries a value."""

from __future__ import annotations

import base64
import copy
import json
import logging
import os
from pathlib import Path
from typing import Any, Dict, List

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import cdcmask

from conftest import Bin, encrypted_files, run_python_cli


@pytest.fixture(scope="module")
def rows(demo_lake: Path) -> List[Dict[str, Any]]:
    """Encrypted customer rows of the demo, with every protected value set."""
    file = next(f for f in encrypted_files(demo_lake) if "customer" in str(f))
    parsed = [json.loads(line) for line in file.read_bytes().splitlines()]
    full = [
        r
        for r in parsed
        if isinstance(r.get("mail_encrypted"), str) and isinstance(r.get("name_encrypted"), str)
    ]
    assert len(full) > 10
    return full


@pytest.fixture(scope="module")
def keys(demo_lake: Path) -> cdcmask.LocalKeyring:
    return cdcmask.LocalKeyring(demo_lake / "keyring")


def row(rows: List[Dict[str, Any]], i: int = 0) -> Dict[str, Any]:
    return copy.deepcopy(rows[i])


def flip(value: str, at: int) -> str:
    raw = bytearray(base64.b64decode(value[len("enc1:") :]))
    raw[at] ^= 0x01
    return "enc1:" + base64.b64encode(bytes(raw)).decode()


def test_the_untouched_row_decrypts(rows: List[Dict[str, Any]], keys: cdcmask.LocalKeyring) -> None:
    out = cdcmask.decrypt_record(row(rows), keys)
    assert "@" in out["mail"] and "mail_encrypted" not in out


@pytest.mark.parametrize("at", [0, 12, -1], ids=["nonce", "ciphertext", "tag"])
def test_a_flipped_byte(rows: List[Dict[str, Any]], keys: cdcmask.LocalKeyring, at: int) -> None:
    r = row(rows)
    r["mail_encrypted"] = flip(r["mail_encrypted"], at)
    with pytest.raises(cdcmask.TamperedError) as caught:
        cdcmask.decrypt_record(r, keys)
    assert caught.value.column == "mail"


def test_a_value_moved_to_another_column(
    rows: List[Dict[str, Any]], keys: cdcmask.LocalKeyring
) -> None:
    r = row(rows)
    r["name_encrypted"] = r["mail_encrypted"]
    with pytest.raises(cdcmask.TamperedError) as caught:
        cdcmask.decrypt_record(r, keys)
    assert caught.value.column == "name"


@pytest.mark.parametrize(
    "field,value", [("_table", "bank"), ("_schema", "other"), ("_table", "Customer")]
)
def test_a_value_moved_to_another_table_or_schema(
    rows: List[Dict[str, Any]], keys: cdcmask.LocalKeyring, field: str, value: str
) -> None:
    r = row(rows)
    r[field] = value
    with pytest.raises(cdcmask.TamperedError):
        cdcmask.decrypt_record(r, keys)


def test_a_tampered_wrapped_key(rows: List[Dict[str, Any]], keys: cdcmask.LocalKeyring) -> None:
    r = row(rows)
    prefix, kid, sealed = r["_key"].split(":")
    raw = bytearray(base64.b64decode(sealed))
    raw[20] ^= 0x80
    r["_key"] = f"{prefix}:{kid}:{base64.b64encode(bytes(raw)).decode()}"
    fresh = cdcmask.LocalKeyring(keys.path)  # not cached yet
    with pytest.raises(cdcmask.TamperedError, match="_key"):
        cdcmask.decrypt_record(r, fresh)


def test_another_keyring(rows: List[Dict[str, Any]], tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "master.key").write_bytes(os.urandom(32))
    with pytest.raises(cdcmask.WrongKeyError, match="keyring"):
        cdcmask.decrypt_record(row(rows), cdcmask.LocalKeyring(other))


def test_a_kms_key_with_a_keyring(rows: List[Dict[str, Any]], keys: cdcmask.LocalKeyring) -> None:
    r = row(rows)
    r["_key"] = "kms:" + base64.b64encode(b"blob").decode()
    with pytest.raises(cdcmask.WrongKeyError, match="KMS"):
        cdcmask.decrypt_record(r, keys)


@pytest.mark.parametrize("value", ["enc9:AAAA", "enc2:", "enc17:xyz", "enc01:AAAA"])
def test_unknown_versions(
    rows: List[Dict[str, Any]], keys: cdcmask.LocalKeyring, value: str
) -> None:
    r = row(rows)
    r["mail_encrypted"] = value
    with pytest.raises(cdcmask.UnsupportedVersionError) as caught:
        cdcmask.decrypt_record(r, keys)
    assert caught.value.column == "mail_encrypted"
    r = row(rows)
    r["_before"] = {"mail_encrypted": value}  # nested members are looked at too
    with pytest.raises(cdcmask.UnsupportedVersionError):
        cdcmask.decrypt_record(r, keys)
    r = row(rows)
    r["note"] = value  # not a protected column: clear text that looks encrypted
    assert cdcmask.decrypt_record(r, keys)["note"] == value


@pytest.mark.parametrize("value", ["encore: une fois", "enc:abc", "ENC1:abc", "enc1"])
def test_lookalikes_pass_unchanged(
    rows: List[Dict[str, Any]], keys: cdcmask.LocalKeyring, value: str
) -> None:
    r = row(rows)
    r["gender"] = value
    assert cdcmask.decrypt_record(r, keys)["gender"] == value


@pytest.mark.parametrize(
    "value,message",
    [
        ("enc1:!!!!", "base64"),
        ("enc1:AAAA", "too short"),
        ("enc1:QQ", "base64"),
        ("enc1:QR==", "canonical"),
    ],
)
def test_malformed_values(
    rows: List[Dict[str, Any]], keys: cdcmask.LocalKeyring, value: str, message: str
) -> None:
    r = row(rows)
    r["mail_encrypted"] = value
    with pytest.raises(cdcmask.MalformedError, match=message):
        cdcmask.decrypt_record(r, keys)


def test_encrypted_values_without_key(
    rows: List[Dict[str, Any]], keys: cdcmask.LocalKeyring
) -> None:
    r = row(rows)
    del r["_key"]
    with pytest.raises(cdcmask.MalformedError, match="no _key"):
        cdcmask.decrypt_record(r, keys)


@pytest.mark.parametrize(
    "line,message",
    [
        (b"\xff{}", "UTF-8"),
        (b'{"a":', "not JSON"),
        (b"[1,2]", "object"),
        (b'{"a":NaN}', "NaN"),
        (b'{"_table":"a","_table":"b"}', "twice"),
        (b'{"metadata":{"table-name":"a","table-name":"b"}}', "twice"),
        (b'{"_schema":"s","_before":{"id":1,"id":2}}', "twice"),
    ],
)
def test_malformed_lines(keys: cdcmask.LocalKeyring, line: bytes, message: str) -> None:
    with pytest.raises(cdcmask.MalformedError, match=message) as caught:
        cdcmask.decrypt_line(line, keys)
    assert caught.value.__context__ is None and caught.value.__cause__ is None


def test_a_row_is_not_a_quarantine_record(
    rows: List[Dict[str, Any]], keys: cdcmask.LocalKeyring
) -> None:
    with pytest.raises(cdcmask.MalformedError, match="not a quarantine record"):
        cdcmask.unseal_quarantine(row(rows), keys)


def test_a_data_key_is_not_a_quarantine_key(
    rows: List[Dict[str, Any]], keys: cdcmask.LocalKeyring
) -> None:
    r = row(rows)
    forged = {"_quarantine": {"v": 1, "key": r["_key"], "sealed": r["mail_encrypted"][5:]}}
    with pytest.raises(cdcmask.WrongKeyError):
        cdcmask.unseal_quarantine(forged, keys)
    forged["_quarantine"]["v"] = 2
    with pytest.raises(cdcmask.UnsupportedVersionError):
        cdcmask.unseal_quarantine(forged, keys)


def test_the_hierarchy() -> None:
    for error in (
        cdcmask.WrongKeyError,
        cdcmask.TamperedError,
        cdcmask.UnsupportedVersionError,
        cdcmask.AccessDeniedError,
        cdcmask.MalformedError,
        cdcmask.KeyServiceError,
        cdcmask.KeyringError,
        cdcmask.SourceError,
    ):
        assert issubclass(error, cdcmask.CdcMaskError)
    distinct = [
        cdcmask.WrongKeyError,
        cdcmask.TamperedError,
        cdcmask.UnsupportedVersionError,
        cdcmask.AccessDeniedError,
        cdcmask.MalformedError,
    ]
    for a in distinct:
        for b in distinct:
            assert a is b or not issubclass(a, b)
    assert issubclass(cdcmask.KeyUnavailableError, cdcmask.AccessDeniedError)
    assert issubclass(cdcmask.QuarantineRecordError, cdcmask.MalformedError)


def test_no_error_or_log_carries_a_value(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A value that decrypts to something other than JSON: the error names
    the column, and neither it nor its context nor the logs hold the text."""
    master = os.urandom(32)
    data_key = os.urandom(32)
    ring = tmp_path / "ring"
    ring.mkdir()
    (ring / "master.key").write_bytes(master)
    nonce = os.urandom(12)
    wrapped = nonce + AESGCM(master).encrypt(nonce, data_key, b"cdc-mask/local-wrap/v1/data")
    kid = cdcmask.LocalKeyring(ring).keyring_id
    secret = "s3cr3t-not-json \udcff"
    nonce = os.urandom(12)
    value = nonce + AESGCM(data_key).encrypt(
        nonce, secret.encode("utf-8", "surrogateescape"), cdcmask.cell_aad("s", "t", "c")
    )
    record = {
        "c_encrypted": "enc1:" + base64.b64encode(value).decode(),
        "_schema": "s",
        "_table": "t",
        "_key": f"local:{kid}:{base64.b64encode(wrapped).decode()}",
    }
    caplog.set_level(logging.DEBUG, logger="cdcmask")
    with pytest.raises(cdcmask.MalformedError) as caught:
        cdcmask.decrypt_record(record, cdcmask.LocalKeyring(ring))
    error = caught.value
    assert error.column == "c"
    assert error.__context__ is None and error.__cause__ is None
    text = str(error) + repr(error.args) + caplog.text
    assert "s3cr3t" not in text and data_key.hex() not in text and master.hex() not in text
    assert caplog.records, "the unwrap is logged (without key material)"


def test_cli_errors_name_file_line_and_column(demo_lake: Path, tmp_path: Path) -> None:
    file = next(f for f in encrypted_files(demo_lake) if "customer" in str(f))
    lines = file.read_bytes().splitlines()
    r = json.loads(lines[2])
    r["name_encrypted"] = r["mail_encrypted"]
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(lines[0] + b"\n" + lines[1] + b"\n" + json.dumps(r).encode() + b"\n")
    done = run_python_cli("decrypt", "--keyring", demo_lake / "keyring", bad, check=False)
    assert done.returncode == 1
    assert done.stdout.count(b"\n") == 2  # the good rows before it
    err = done.stderr.decode()
    assert "TamperedError" in err and f"{bad}:3" in err and "'name'" in err
    mail = json.loads(
        run_python_cli("decrypt", "--keyring", demo_lake / "keyring", file).stdout.splitlines()[2]
    )["mail"]
    assert mail not in err


def test_cli_usage_errors(demo_lake: Path) -> None:
    done = run_python_cli("decrypt", check=False)
    assert done.returncode == 2 and b"--keyring" in done.stderr
    done = run_python_cli("decrypt", "--keyring", demo_lake / "keyring", "--kms", check=False)
    assert done.returncode == 2
    done = run_python_cli(
        "decrypt", "--keyring", demo_lake / "nowhere", demo_lake / "policy.json", check=False
    )
    assert done.returncode == 1 and b"KeyringError" in done.stderr
    done = run_python_cli(
        "decrypt", "--keyring", demo_lake / "keyring", demo_lake / "missing.jsonl", check=False
    )
    assert done.returncode == 1 and b"SourceError" in done.stderr


def test_rust_refuses_the_same_tampering(
    cdcmask_bin: Bin, rows: List[Dict[str, Any]], demo_lake: Path, tmp_path: Path
) -> None:
    """Both readers refuse a moved value (cross-check of the AAD)."""
    r = row(rows)
    r["name_encrypted"] = r["mail_encrypted"]
    bad = tmp_path / "moved.jsonl"
    bad.write_text(json.dumps(r) + "\n")
    rust = cdcmask_bin.run("decrypt", "--keyring", demo_lake / "keyring", bad, check=False)
    assert rust.returncode != 0 and b"authenticate" in rust.stderr
