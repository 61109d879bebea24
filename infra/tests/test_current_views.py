"""The `<table>_current` views of the template (s3 destination) compute the
current state of a change log: the latest row per key by `_ts` (ties by
`_txn`), keys whose latest change is a delete left out.

The SQL is taken from the template (the base64 JSON of the Athena view) and
run in SQLite (window functions; schema-qualified names through ATTACH), over
a generated change log of the sample tables; the answer is compared with a
fold of the same log in Python. Athena runs the same statement (Trino SQL:
the statement uses nothing SQLite and Trino read differently).
"""

from __future__ import annotations

import base64
import json
import random
import sqlite3
import zlib
from typing import Any, Dict, List, Tuple

import pytest

import cfn

VIEWS = ("masked", "encrypted")
TABLES = ("customer", "bank", "card")


@pytest.fixture(scope="module")
def deployment() -> cfn.Resolved:
    return cfn.deployment({"Destination": "s3"})


def view_definition(d: cfn.Resolved, table: str, view: str) -> Dict[str, Any]:
    props = d.properties(f"{table.capitalize()}Current{view}")["TableInput"]
    text = props["ViewOriginalText"]
    assert text.startswith("/* Presto View: ") and text.endswith(" */")
    spec = json.loads(base64.b64decode(text[len("/* Presto View: ") : -len(" */")]))
    spec["glue_columns"] = [c["Name"] for c in props["StorageDescriptor"]["Columns"]]
    spec["name"] = props["Name"]
    return spec


def table_columns(d: cfn.Resolved, table: str, view: str) -> List[str]:
    props = d.properties(f"{table.capitalize()}Table{view}")["TableInput"]
    return [c["Name"] for c in props["StorageDescriptor"]["Columns"]]


def change_log(columns: List[str], seed: int) -> List[Dict[str, Any]]:
    """Loads, inserts, updates, deletes and re-inserts of a deleted key, with
    `_ts` ties broken by `_txn`, in arrival order (not `_ts` order)."""
    rng = random.Random(seed)
    data = [c for c in columns if not c.startswith("_") and c != "id"]
    rows: List[Dict[str, Any]] = []
    txn = 1000
    for step in range(400):
        key = rng.randrange(1, 30)
        op = rng.choice(["load", "insert", "update", "update", "delete"])
        ts = f"2026-11-29T10:{rng.randrange(0, 60):02d}:{rng.randrange(0, 60):02d}.{rng.randrange(0, 10**6):06d}Z"
        txn += rng.randrange(1, 3)
        row = {"id": key, **{c: f"{c}-{key}-{step}" for c in data}, "_op": op, "_ts": ts, "_txn": txn}
        rows.append(row)
    # The latest change of a key, then one with the same _ts and an earlier transaction:
    # the later _txn wins (ORDER BY _ts alone would pick either).
    latest = max(rows, key=lambda r: (r["_ts"], r["_txn"]))
    latest.update(_op="update")
    tied = dict(latest, _txn=latest["_txn"] - 500, _op="update")
    tied.update({c: "tie-loser" for c in data})
    rows.append(tied)
    rng.shuffle(rows)
    return rows


def fold(rows: List[Dict[str, Any]], key: str = "id") -> Dict[Any, Dict[str, Any]]:
    state: Dict[Any, Dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: (r["_ts"], r["_txn"])):
        if row["_op"] == "delete":
            state.pop(row[key], None)
        else:
            state[row[key]] = row
    return state


def run_view(spec: Dict[str, Any], columns: List[str], table: str, rows) -> List[Tuple]:
    db = sqlite3.connect(":memory:")
    db.execute(f"ATTACH DATABASE ':memory:' AS {spec['schema']}")
    db.execute(f"CREATE TABLE {spec['schema']}.{table} ({', '.join(columns)})")
    db.executemany(
        f"INSERT INTO {spec['schema']}.{table} VALUES ({', '.join('?' for _ in columns)})",
        [tuple(r.get(c) for c in columns) for r in rows],
    )
    return db.execute(spec["originalSql"]).fetchall()


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("table", TABLES)
def test_the_view_is_the_fold_of_the_change_log(deployment, table, view):
    spec = view_definition(deployment, table, view)
    columns = table_columns(deployment, table, view)
    assert spec["name"] == f"{table}_current"
    assert spec["schema"] == f"dataset_{view}"
    out_columns = [c["name"] for c in spec["columns"]]
    assert out_columns == spec["glue_columns"]
    assert set(out_columns) <= set(columns), "the view only selects columns of its table"
    # Protected columns carry the view's suffix, as the transformer renames them.
    assert any(c.endswith(f"_{view}") for c in out_columns)

    rows = change_log(columns, seed=zlib.crc32(f"{table}.{view}".encode()))
    got = {r[0]: dict(zip(out_columns, r)) for r in run_view(spec, columns, table, rows)}
    want = {k: {c: v[c] for c in out_columns} for k, v in fold(rows).items()}
    assert got == want
    assert any(r["_op"] == "delete" for r in rows) and len(want) < len({r["id"] for r in rows})


def test_a_deleted_then_reinserted_key_is_back(deployment):
    spec = view_definition(deployment, "customer", "masked")
    columns = table_columns(deployment, "customer", "masked")
    base = {c: None for c in columns}
    rows = [
        dict(base, id=1, _op="insert", _ts="2026-11-29T10:00:00.000000Z", _txn=1, gender="f"),
        dict(base, id=1, _op="delete", _ts="2026-11-29T10:00:01.000000Z", _txn=2, gender="f"),
        dict(base, id=1, _op="insert", _ts="2026-11-29T10:00:02.000000Z", _txn=3, gender="m"),
        dict(base, id=2, _op="insert", _ts="2026-11-29T10:00:00.000000Z", _txn=1, gender="x"),
        dict(base, id=2, _op="delete", _ts="2026-11-29T10:00:05.000000Z", _txn=9, gender="x"),
    ]
    out_columns = [c["name"] for c in spec["columns"]]
    got = [dict(zip(out_columns, r)) for r in run_view(spec, columns, "customer", rows)]
    assert [(r["id"], r["gender"], r["_txn"]) for r in got] == [(1, "m", 3)]


def test_iceberg_deployments_have_no_change_log_views():
    d = cfn.deployment({"Destination": "iceberg"})
    assert not [n for n in d.resources if "Current" in n]
