"""Records made by the Rust `cdc-mask` decrypt in Python (API and
`python -m cdcmask decrypt`) to exactly what `cdc-mask decrypt` gives."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import pytest

import cdcmask

from conftest import (
    FIXTURES,
    Bin,
    assert_same_rows,
    encrypted_files,
    firehose_rows,
    json_lines,
    run_python_cli,
)


def test_every_demo_file_decrypts_like_the_rust_cli(cdcmask_bin: Bin, demo_lake: Path) -> None:
    keyring = demo_lake / "keyring"
    keys = cdcmask.LocalKeyring(keyring)
    files = encrypted_files(demo_lake)
    assert len(files) == 3  # customer, bank, card
    total = 0
    for file in files:
        rust = json_lines(cdcmask_bin.run("decrypt", "--keyring", keyring, file).stdout)
        assert rust, f"{file}: no rows"
        api = list(cdcmask.iter_records(file, keys))
        assert_same_rows(api, rust, f"API {file}")
        cli = json_lines(run_python_cli("decrypt", "--keyring", keyring, file).stdout)
        assert_same_rows(cli, rust, f"python -m cdcmask {file}")
        total += len(rust)
        # Protected columns come back under their own names.
        assert not any(
            name.endswith("_encrypted") and value is not None
            for row in api
            for name, value in row.items()
        )
        assert all("_key" not in row for row in api)
    assert total >= 1900
    # One local unwrap for the demo's one data key (the cache works).
    assert keys.unwrap_calls == 1


def test_python_cli_reads_a_whole_directory(cdcmask_bin: Bin, demo_lake: Path) -> None:
    keyring = demo_lake / "keyring"
    rust = []
    for file in encrypted_files(demo_lake):
        rust += json_lines(cdcmask_bin.run("decrypt", "--keyring", keyring, file).stdout)
    python = json_lines(
        run_python_cli("decrypt", "--keyring", keyring, demo_lake / "encrypted").stdout
    )
    assert_same_rows(python, rust, "directory")


def test_gzip_files_read_like_plain_ones(cdcmask_bin: Bin, demo_lake: Path, tmp_path: Path) -> None:
    keyring = demo_lake / "keyring"
    plain = encrypted_files(demo_lake)[0]
    zipped = tmp_path / "part-0001.gz"
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    # Detected by content, not by name.
    unnamed = tmp_path / "part-0002"
    unnamed.write_bytes(gzip.compress(plain.read_bytes()))
    rust = json_lines(cdcmask_bin.run("decrypt", "--keyring", keyring, plain).stdout)
    keys = cdcmask.LocalKeyring(keyring)
    assert_same_rows(list(cdcmask.iter_records(zipped, keys)), rust, "gzip")
    assert_same_rows(list(cdcmask.iter_records(unnamed, keys)), rust, "gzip without .gz")
    cli = json_lines(run_python_cli("decrypt", "--keyring", keyring, zipped).stdout)
    assert_same_rows(cli, rust, "python -m cdcmask on gzip")
    # A truncated object (an interrupted upload) is an error, not fewer rows.
    truncated = tmp_path / "part-0003.gz"
    truncated.write_bytes(zipped.read_bytes()[:-100])
    with pytest.raises(cdcmask.SourceError, match="part-0003.gz"):
        list(cdcmask.iter_records(truncated, keys))
    corrupt = bytearray(zipped.read_bytes())
    corrupt[len(corrupt) // 2] ^= 0xFF
    truncated.write_bytes(bytes(corrupt))
    with pytest.raises(cdcmask.CdcMaskError):
        list(cdcmask.iter_records(truncated, keys))


def test_stdin_like_the_rust_cli(cdcmask_bin: Bin, demo_lake: Path) -> None:
    keyring = demo_lake / "keyring"
    data = encrypted_files(demo_lake)[1].read_bytes()
    rust = json_lines(cdcmask_bin.run("decrypt", "--keyring", keyring, stdin=data).stdout)
    python = json_lines(run_python_cli("decrypt", "--keyring", keyring, "-", stdin=data).stdout)
    assert_same_rows(python, rust, "stdin")


def test_quarantine_unseals_to_the_same_bytes(cdcmask_bin: Bin, demo_lake: Path) -> None:
    keyring = demo_lake / "keyring"
    files = sorted(p for p in (demo_lake / "quarantine").rglob("*") if p.is_file())
    assert files
    for file in files:
        rust = cdcmask_bin.run("decrypt", "--quarantine", "--keyring", keyring, file).stdout
        python = run_python_cli("decrypt", "--quarantine", "--keyring", keyring, file).stdout
        assert python == rust  # exact bytes
        keys = cdcmask.LocalKeyring(keyring)
        originals = [
            cdcmask.unseal_quarantine(line, keys) for line in file.read_bytes().splitlines()
        ]
        assert b"".join(o + b"\n" for o in originals) == rust
        assert b'{"hello":"not a DMS record"}' in originals


def test_quarantine_records_are_refused_by_row_decryption(
    cdcmask_bin: Bin, demo_lake: Path
) -> None:
    keyring = demo_lake / "keyring"
    file = next(p for p in (demo_lake / "quarantine").rglob("*") if p.is_file())
    with pytest.raises(cdcmask.QuarantineRecordError, match="quarantine"):
        list(cdcmask.iter_records(file, cdcmask.LocalKeyring(keyring)))
    rust = cdcmask_bin.run("decrypt", "--keyring", keyring, file, check=False)
    python = run_python_cli("decrypt", "--keyring", keyring, file, check=False)
    assert rust.returncode != 0 and python.returncode == 1
    assert b"QuarantineRecordError" in python.stderr and b":1:" in python.stderr


@pytest.mark.parametrize("shape", ["flat", "envelope"])
def test_transform_event_rows_both_shapes(
    cdcmask_bin: Bin, demo_lake: Path, tmp_path: Path, shape: str
) -> None:
    keyring = demo_lake / "keyring"
    response = cdcmask_bin.run(
        "transform-event",
        "--view",
        "encrypted",
        "--shape",
        shape,
        "--policy",
        FIXTURES / "no-token-policy.json",
        "--keyring",
        keyring,
        FIXTURES / "example-firehose-event.json",
    ).stdout
    lines = firehose_rows(response)
    assert len(lines) >= 3
    rows = tmp_path / f"{shape}.jsonl"
    rows.write_bytes(b"".join(lines))
    rust = json_lines(cdcmask_bin.run("decrypt", "--keyring", keyring, rows).stdout)
    python = list(cdcmask.iter_records(rows, cdcmask.LocalKeyring(keyring)))
    assert_same_rows(python, rust, shape)
    # The fixture's awkward values survive: big integers, escapes, nulls.
    flat = json.dumps(python)
    assert "12345678901234567890" in flat
    if shape == "envelope":
        assert any("before-image" in r for r in python)
        assert all("metadata" in r for r in python)
        assert any(r["data"].get("mail") for r in python)
    else:
        assert any("_before" in r for r in python)


def test_odd_column_names_decrypt_like_the_rust_cli(cdcmask_bin: Bin, tmp_path: Path) -> None:
    """Reserved names, rename: false on a name ending in _encrypted, clear
    text that looks encrypted, and data/metadata columns in a flat row."""
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"version": 1, "tables": [{"schema": "s", "table": "t", "columns": {
        "mail": {}, "_op": {"rename": False}, "secret_encrypted": {"rename": False}, "gone": {}}}]}))
    record = {
        "data": {"metadata": {"schema-name": "x"}, "data": {"a": 1}, "mail": "m@example.com",
                 "_op": "op-secret", "secret_encrypted": "s3cret", "clear": "enc1:not-a-ciphertext",
                 "later": "enc2: hi", "gone": None},
        "metadata": {"timestamp": "2026-11-28T00:00:00.000000Z", "record-type": "data",
                     "operation": "insert", "schema-name": "s", "table-name": "t"},
    }
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"records": [
        {"recordId": "1", "data": base64.b64encode(json.dumps(record).encode()).decode()}]}))
    keyring = tmp_path / "keyring"
    response = cdcmask_bin.run("transform-event", "--view", "encrypted", "--policy", policy,
                               "--keyring", keyring, event).stdout
    rows = firehose_rows(response)
    assert len(rows) == 1 and b"s3cret" not in rows[0]
    encrypted = tmp_path / "rows.jsonl"
    encrypted.write_bytes(b"".join(rows))
    rust = json_lines(cdcmask_bin.run("decrypt", "--keyring", keyring, encrypted).stdout)
    python = list(cdcmask.iter_records(encrypted, cdcmask.LocalKeyring(keyring)))
    assert_same_rows(python, rust, "odd names")
    row = python[0]
    assert row["mail"] == "m@example.com" and row["_op_src"] == "op-secret" and row["_op"] == "insert"
    assert row["secret_encrypted"] == "s3cret" and row["gone"] is None
    assert row["clear"] == "enc1:not-a-ciphertext" and row["later"] == "enc2: hi"
    assert row["metadata"] == {"schema-name": "x"} and row["data"] == {"a": 1}
