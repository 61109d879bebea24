"""Tampered, moved, foreign and future ciphertexts fail with their own
exception, and no error carries a value. (What the keyring refuses of its
own files is in ``test_keyring_files``.)"""

from __future__ import annotations

import base64
import copy
import json
import logging
import os
from pathlib import Path
from typing import Any, Dict, List

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import cdcmask

from conftest import Bin, encrypted_files, private_keyring, run_python_cli, write_key
from support import v1_writer, v2_writer


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
    """``value`` with one bit of its byte ``at`` flipped, prefix kept (so
    only the flipped bit can make it fail)."""
    prefix, sep, body = value.partition(":")
    assert sep and prefix in ("enc1", "enc2")
    raw = bytearray(base64.b64decode(body))
    raw[at] ^= 0x01
    return f"{prefix}:{base64.b64encode(bytes(raw)).decode()}"


@pytest.fixture(scope="module")
def v1_ring(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A keyring of version 1: only ``master.key``."""
    ring = tmp_path_factory.mktemp("v1") / "keyring"
    ring.mkdir(mode=0o700)
    write_key(ring, "master.key", os.urandom(32))
    return ring


@pytest.fixture(scope="module")
def v1_rows(
    rows: List[Dict[str, Any]], demo_lake: Path, v1_ring: Path
) -> List[Dict[str, Any]]:
    """The same demo rows in version 1 (``enc1:``, ``local:``), rewritten by
    the test writer (the binary writes version 2 only)."""
    scalar = (demo_lake / "keyring" / "data-ecdh.key").read_bytes()
    data_key = os.urandom(32)
    wrapped = v1_writer.local_wrap((v1_ring / "master.key").read_bytes(), "data", data_key)
    return [
        json.loads(v1_writer.downgrade_line(json.dumps(r).encode(), scalar, data_key, wrapped))
        for r in rows
    ]


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


def test_version_1_values_are_bound_to_schema_table_and_column(
    v1_rows: List[Dict[str, Any]], v1_ring: Path
) -> None:
    """The same refusals on version 1 rows (``enc1:``): a flipped bit, a
    moved column, another table or schema."""
    keys = cdcmask.LocalKeyring(v1_ring)
    r = row(v1_rows)
    assert r["mail_encrypted"].startswith("enc1:")
    assert "@" in cdcmask.decrypt_record(row(v1_rows), keys)["mail"]
    for at in (0, 12, -1):
        r = row(v1_rows)
        r["mail_encrypted"] = flip(r["mail_encrypted"], at)
        with pytest.raises(cdcmask.TamperedError) as caught:
            cdcmask.decrypt_record(r, keys)
        assert caught.value.column == "mail"
    r = row(v1_rows)
    r["name_encrypted"] = r["mail_encrypted"]
    with pytest.raises(cdcmask.TamperedError) as caught:
        cdcmask.decrypt_record(r, keys)
    assert caught.value.column == "name"
    for field, value in (("_table", "bank"), ("_schema", "other"), ("_table", "Customer")):
        r = row(v1_rows)
        r[field] = value
        with pytest.raises(cdcmask.TamperedError):
            cdcmask.decrypt_record(r, keys)


def test_only_version_2_binds_the_place(
    rows: List[Dict[str, Any]], keys: cdcmask.LocalKeyring,
    v1_rows: List[Dict[str, Any]], v1_ring: Path,
) -> None:
    """A value moved from the row into its before-image: version 2 refuses
    it (the AAD names the place); version 1 cannot tell (its AAD has no
    place, as schemas/ciphertext.md says: why version 2 exists)."""
    r = row(rows)
    r["_before"] = {"mail_encrypted": r["mail_encrypted"]}
    with pytest.raises(cdcmask.TamperedError):
        cdcmask.decrypt_record(r, keys)
    r = row(v1_rows)
    r["_before"] = {"mail_encrypted": r["mail_encrypted"]}
    out = cdcmask.decrypt_record(r, cdcmask.LocalKeyring(v1_ring))
    assert out["_before"]["mail"] == out["mail"]


@pytest.mark.parametrize("at", [40, -1], ids=["wrapped-key", "tag"])
def test_a_tampered_wrapped_key(
    rows: List[Dict[str, Any]], keys: cdcmask.LocalKeyring, at: int
) -> None:
    r = row(rows)
    prefix, kid, sealed = r["_key"].split(":")
    assert prefix == "ecdh1"
    raw = bytearray(base64.b64decode(sealed))
    assert len(raw) == 81  # ephemeral key (33) ‖ wrapped data key (32) ‖ tag (16)
    raw[at] ^= 0x80
    r["_key"] = f"{prefix}:{kid}:{base64.b64encode(bytes(raw)).decode()}"
    fresh = cdcmask.LocalKeyring(keys.path)  # not cached yet
    with pytest.raises(cdcmask.TamperedError, match="wrapped data key does not authenticate"):
        cdcmask.decrypt_record(r, fresh)


def test_a_tampered_ephemeral_key(rows: List[Dict[str, Any]], keys: cdcmask.LocalKeyring) -> None:
    """Another ephemeral point (its sign byte flipped): it is bound by the
    key agreement and the KDF, so the wrapped key no longer opens."""
    r = row(rows)
    prefix, kid, sealed = r["_key"].split(":")
    raw = bytearray(base64.b64decode(sealed))
    raw[0] ^= 0x01  # 02 <-> 03: the same x, the other point
    r["_key"] = f"{prefix}:{kid}:{base64.b64encode(bytes(raw)).decode()}"
    with pytest.raises(cdcmask.TamperedError, match="wrapped data key does not authenticate"):
        cdcmask.decrypt_record(r, cdcmask.LocalKeyring(keys.path))


def test_a_tampered_v1_wrapped_key(v1_rows: List[Dict[str, Any]], v1_ring: Path) -> None:
    r = row(v1_rows)
    assert cdcmask.decrypt_record(row(v1_rows), cdcmask.LocalKeyring(v1_ring))["mail"]
    prefix, kid, sealed = r["_key"].split(":")
    assert prefix == "local"
    raw = bytearray(base64.b64decode(sealed))
    raw[20] ^= 0x80
    r["_key"] = f"{prefix}:{kid}:{base64.b64encode(bytes(raw)).decode()}"
    with pytest.raises(cdcmask.TamperedError, match="_key"):
        cdcmask.decrypt_record(r, cdcmask.LocalKeyring(v1_ring))


def test_another_keyring(rows: List[Dict[str, Any]], tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir(mode=0o700)
    write_key(other, "data-ecdh.key", v2_writer.private_scalar(ec.generate_private_key(ec.SECP256R1())))
    with pytest.raises(cdcmask.WrongKeyError, match="recipient key"):
        cdcmask.decrypt_record(row(rows), cdcmask.LocalKeyring(other))


def test_another_v1_keyring(v1_rows: List[Dict[str, Any]], tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir(mode=0o700)
    write_key(other, "master.key", os.urandom(32))
    with pytest.raises(cdcmask.WrongKeyError, match="keyring"):
        cdcmask.decrypt_record(row(v1_rows), cdcmask.LocalKeyring(other))


def test_a_kms_key_with_a_keyring(rows: List[Dict[str, Any]], keys: cdcmask.LocalKeyring) -> None:
    r = row(rows)
    r["_key"] = "kms:" + base64.b64encode(b"blob").decode()
    with pytest.raises(cdcmask.WrongKeyError, match="KMS"):
        cdcmask.decrypt_record(r, keys)


@pytest.mark.parametrize("value", ["enc9:AAAA", "enc3:", "enc17:xyz", "enc01:AAAA"])
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


@pytest.mark.parametrize(
    "value",
    ["encore: une fois", "enc:abc", "ENC1:abc", "enc1", "enc1:hello", "enc2: hi", "det1_x", "det_abc",
     "det01_" + "A" * 40, "enc2:" + "A" * 24, "det1_" + "A" * 20],
)
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
    forged["_quarantine"]["v"] = 3
    with pytest.raises(cdcmask.UnsupportedVersionError):
        cdcmask.unseal_quarantine(forged, keys)
    forged["_quarantine"]["v"] = 2  # version 2 binds reason and record id: they must be there
    with pytest.raises(cdcmask.MalformedError, match="reason"):
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


def test_a_complete_ciphertext_that_fails_is_an_error_under_any_name(
    rows: List[Dict[str, Any]], keys: cdcmask.LocalKeyring
) -> None:
    """Issue 11 §7: a value that is a whole cdc-mask ciphertext by its syntax
    but does not authenticate is an error even in a column not named
    ``…_encrypted`` (``rename: false``, the guard), never passed through."""
    r = row(rows)
    r["gender"] = r["mail_encrypted"]  # encrypted for "mail", moved
    with pytest.raises(cdcmask.TamperedError) as caught:
        cdcmask.decrypt_record(r, keys)
    assert caught.value.column == "gender"
    r = row(rows)
    r["_before"] = {"note": flip(r["mail_encrypted"], 12)}
    with pytest.raises(cdcmask.TamperedError):
        cdcmask.decrypt_record(r, keys)
    r = row(rows)
    r["note"] = "enc9:" + "A" * 40  # complete, unknown version
    with pytest.raises(cdcmask.UnsupportedVersionError):
        cdcmask.decrypt_record(r, keys)
    r = row(rows)
    r["note"] = "det1_" + "A" * 24  # complete det value, no deterministic key given
    with pytest.raises(cdcmask.WrongKeyError, match="deterministic"):
        cdcmask.decrypt_record(r, keys)
    r = row(rows)
    del r["_key"]
    r["note"] = r.pop("mail_encrypted")
    with pytest.raises(cdcmask.MalformedError, match="no _key"):
        cdcmask.decrypt_record(r, keys)


def test_a_missing_ecdh_key_is_named(tmp_path: Path, rows: List[Dict[str, Any]]) -> None:
    ring = private_keyring(tmp_path)
    (ring / "data-ecdh.key").unlink()
    r = row(rows)
    r["_key"] = "ecdh1:0011223344556677:" + "A" * 108
    r["_key"] = r["_key"][:-108] + base64.b64encode(b"\x02" + bytes(80)).decode()
    with pytest.raises(cdcmask.KeyringError, match="no data-ecdh.key"):
        cdcmask.decrypt_record(r, cdcmask.LocalKeyring(ring))
