"""Reading `s3://` prefixes (moto S3: plain and gzip objects, as Firehose and
the router write them) and building pandas DataFrames."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

import cdcmask

from conftest import (
    Bin,
    Moto,
    assert_same_rows,
    encrypted_files,
    json_lines,
    run_python_cli,
    test_env,
)

BUCKET = "lake"


@pytest.fixture(scope="module")
def s3_lake(moto: Moto, demo_lake: Path) -> Any:
    """The demo's encrypted view in moto S3: the customer file split in a
    plain and a gzip object under one prefix, plus objects that must not be
    read (another table whose name starts the same, a folder marker)."""
    s3 = moto.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    customer = next(f for f in encrypted_files(demo_lake) if "customer" in str(f))
    lines = customer.read_bytes().splitlines(keepends=True)
    half = len(lines) // 2
    prefix = "encrypted/dataset/customer/dt=2026-11-28/"
    s3.put_object(Bucket=BUCKET, Key=prefix, Body=b"")
    s3.put_object(
        Bucket=BUCKET,
        Key=prefix + "cdc-encrypted-1-2026-11-28-00-00-00-a",
        Body=b"".join(lines[:half]),
    )
    s3.put_object(
        Bucket=BUCKET,
        Key=prefix + "cdc-encrypted-1-2026-11-28-00-05-00-b.gz",
        Body=gzip.compress(b"".join(lines[half:])),
    )
    other = next(f for f in encrypted_files(demo_lake) if "card" in str(f))
    s3.put_object(
        Bucket=BUCKET, Key="encrypted/dataset/customer_archive/x.jsonl", Body=other.read_bytes()
    )
    return s3


def test_an_s3_prefix_reads_like_the_local_file(
    cdcmask_bin: Bin, demo_lake: Path, moto: Moto, s3_lake: Any
) -> None:
    keyring = demo_lake / "keyring"
    customer = next(f for f in encrypted_files(demo_lake) if "customer" in str(f))
    rust = json_lines(cdcmask_bin.run("decrypt", "--keyring", keyring, customer).stdout)
    keys = cdcmask.LocalKeyring(keyring)
    url = f"s3://{BUCKET}/encrypted/dataset/customer/"
    python = list(cdcmask.iter_records(url, keys, s3_client=s3_lake))
    assert_same_rows(python, rust, url)
    locations = [loc for loc, _ in cdcmask.iter_lines(url, s3_client=s3_lake)]
    assert (
        locations[0]
        == f"s3://{BUCKET}/encrypted/dataset/customer/dt=2026-11-28/cdc-encrypted-1-2026-11-28-00-00-00-a:1"
    )
    assert locations[-1].startswith(
        f"s3://{BUCKET}/encrypted/dataset/customer/dt=2026-11-28/cdc-encrypted-1-2026-11-28-00-05-00-b.gz:"
    )
    # The command line, with the endpoint given once for KMS and S3.
    cli = json_lines(
        run_python_cli("decrypt", "--keyring", keyring, "--endpoint-url", moto.endpoint, url).stdout
    )
    assert_same_rows(cli, rust, "python -m cdcmask s3://")


def test_s3_errors(demo_lake: Path, moto: Moto, s3_lake: Any) -> None:
    keys = cdcmask.LocalKeyring(demo_lake / "keyring")
    with pytest.raises(cdcmask.SourceError, match="no objects"):
        list(cdcmask.iter_records(f"s3://{BUCKET}/encrypted/nothing/", keys, s3_client=s3_lake))
    with pytest.raises(cdcmask.SourceError, match="NoSuchBucket"):
        list(cdcmask.iter_records("s3://no-such-bucket/x/", keys, s3_client=s3_lake))
    done = run_python_cli(
        "decrypt",
        "--keyring",
        demo_lake / "keyring",
        "s3://no-such-bucket/x/",
        env=test_env(AWS_ENDPOINT_URL=moto.endpoint),
        check=False,
    )
    assert done.returncode == 1 and b"SourceError" in done.stderr


def test_a_dataframe_of_selected_columns(demo_lake: Path) -> None:
    import pandas as pd  # pinned in scripts/requirements-test.txt (the `pandas` extra)

    keys = cdcmask.LocalKeyring(demo_lake / "keyring")
    customer = next(f for f in encrypted_files(demo_lake) if "customer" in str(f))
    records = list(cdcmask.iter_records(customer, keys))
    frame = cdcmask.read_dataframe(customer, keys, columns=["id", "mail", "birthdate", "absent"])
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["id", "mail", "birthdate", "absent"]
    assert len(frame) == len(records)
    assert [None if pd.isna(m) else m for m in frame["mail"]] == [r.get("mail") for r in records]
    assert frame["absent"].isna().all()
    assert frame["mail"].dropna().str.contains("@").all()

    everything = cdcmask.read_dataframe([customer], keys)
    assert {"id", "mail", "name", "_op", "_table"} <= set(everything.columns)
    assert "_key" not in everything.columns
    if (
        "mail_encrypted" in everything.columns
    ):  # a null keeps its written name, as in cdc-mask decrypt
        assert everything["mail_encrypted"].isna().all()
    assert len(cdcmask.read_dataframe(customer, keys, columns=["id"], limit=10)) == 10
    assert len(cdcmask.read_dataframe(customer, keys, limit=5)) == 5
    assert len(cdcmask.read_dataframe(customer, keys, columns=["id"], limit=0)) == 0
    with pytest.raises(ValueError):
        cdcmask.read_dataframe(customer, keys, limit=-1)


def test_a_dataframe_from_s3_and_a_model(demo_lake: Path, s3_lake: Any) -> None:
    import pandas as pd

    keys = cdcmask.LocalKeyring(demo_lake / "keyring")
    frame = cdcmask.read_dataframe(
        f"s3://{BUCKET}/encrypted/dataset/customer/",
        keys,
        columns=["gender", "birthdate", "mail"],
        s3_client=s3_lake,
    )
    frame = frame.dropna()
    # Decrypted features are usable: a birth year from the decrypted date.
    years = pd.to_datetime(frame["birthdate"]).dt.year
    assert years.between(1900, 2026).all()
    assert frame["mail"].str.contains("@").all() and len(frame) > 100
