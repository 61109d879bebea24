"""The version 2 test vectors of schemas/ciphertext.md, checked by the Python
reader (``cdcmask``), and the published ones by ``cryptography`` directly.

- published vectors (RFC 5869, NIST CAVS, RFC 5297, Wycheproof) check the
  primitives the reader relies on;
- ``rust`` vectors (made by the staged Rust modules) are checked here, by an
  implementation that did not make them;
- ``python-cryptography`` vectors were made by ``support/gen_vectors_v2.py``
  (checked by the Rust modules); here the reader opens them too, and the
  generator must still produce exactly what the document holds.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any, Dict, List

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

import cdcmask
from cdcmask.ecdh import RecipientPrivateKey, derive_kek, kdf_info

from conftest import REPO, run_python_cli, write_key
from support import gen_vectors_v2

RUST = "rust (transformer/core-staging/vectors_test.rs print_rust_vectors)"


def load_v2_vectors() -> List[Dict[str, Any]]:
    text = (REPO / "schemas" / "ciphertext.md").read_text(encoding="utf-8")
    section = text.split("\n## Version 2 test vectors", 1)[1]
    block = re.search(r"```json\n(.*?)\n```", section, re.S)
    assert block, "no ```json block under '## Version 2 test vectors'"
    return json.loads(block.group(1))


VECTORS = load_v2_vectors()
BY_ID = {v["id"]: v for v in VECTORS}


def of_kind(kind: str) -> List[Dict[str, Any]]:
    found = [v for v in VECTORS if v["kind"] == kind]
    assert found, f"no {kind} vectors"
    return found


@pytest.fixture
def keyring(tmp_path: Path) -> Path:
    """A keyring holding the vectors' recipient and deterministic keys."""
    ring = tmp_path / "keyring"
    ring.mkdir(mode=0o700)
    write_key(ring, "data-ecdh.key", bytes.fromhex(BY_ID["recipient-data"]["private_scalar_hex"]))
    write_key(
        ring, "quarantine-ecdh.key", bytes.fromhex(BY_ID["recipient-quarantine"]["private_scalar_hex"])
    )
    write_key(ring, "deterministic.key", bytes.fromhex(BY_ID["det-cafe-default"]["key_hex"]))
    return ring


def test_sources_and_ids() -> None:
    ids = [v["id"] for v in VECTORS]
    assert len(ids) == len(set(ids))
    sources = {v["source"].split(" ")[0] for v in VECTORS}
    assert {"RFC", "NIST", "Wycheproof", "python-cryptography", "rust"} <= sources
    assert sum(v["source"] == RUST for v in VECTORS) >= 3


def test_the_generator_still_makes_the_documented_vectors() -> None:
    documented = [v for v in VECTORS if v["source"] != RUST]
    assert documented == gen_vectors_v2.PUBLISHED + gen_vectors_v2.generate()


# --- published -------------------------------------------------------------


def test_rfc5869_hkdf() -> None:
    for v in of_kind("hkdf-sha256"):
        ikm, salt, info = (bytes.fromhex(v[k]) for k in ("ikm_hex", "salt_hex", "info_hex"))
        okm = HKDF(algorithm=hashes.SHA256(), length=v["length"], salt=salt, info=info).derive(ikm)
        assert okm.hex() == v["okm_hex"]
        prk = bytes.fromhex(v["prk_hex"])
        expanded = HKDFExpand(algorithm=hashes.SHA256(), length=v["length"], info=info).derive(prk)
        assert expanded.hex() == v["okm_hex"]


def test_nist_ecdh_p256() -> None:
    for v in of_kind("ecdh-p256"):
        private = ec.derive_private_key(int(v["private_hex"], 16), ec.SECP256R1())
        numbers = private.public_key().public_numbers()
        assert (numbers.x, numbers.y) == (int(v["public_x_hex"], 16), int(v["public_y_hex"], 16))
        peer = ec.EllipticCurvePublicNumbers(
            int(v["peer_x_hex"], 16), int(v["peer_y_hex"], 16), ec.SECP256R1()
        ).public_key()
        assert private.exchange(ec.ECDH(), peer).hex() == v["z_hex"]


def test_aes_siv_published() -> None:
    vectors = of_kind("aes-siv")
    assert any(len(v["key_hex"]) == 128 for v in vectors), "a 64-byte-key vector"
    for v in vectors:
        siv = AESSIV(bytes.fromhex(v["key_hex"]))
        ad = [bytes.fromhex(a) for a in v["ad_hex"]]
        out = siv.encrypt(bytes.fromhex(v["plaintext_hex"]), ad)
        assert out.hex() == v["output_hex"], v["id"]
        assert siv.decrypt(out, ad).hex() == v["plaintext_hex"]


# --- our formats, through the reader ----------------------------------------


@pytest.mark.parametrize("vector", of_kind("recipient"), ids=lambda v: v["id"])
def test_recipients_and_kids(vector: Dict[str, Any]) -> None:
    private = RecipientPrivateKey(bytes.fromhex(vector["private_scalar_hex"]))
    assert private.recipient.kid == vector["kid"]
    assert private.recipient.compressed.hex() == vector["compressed_hex"]
    assert cdcmask.Recipient.from_pem(vector["pem"]).kid == vector["kid"]
    der = bytes.fromhex(vector["spki_der_hex"])
    assert cdcmask.Recipient.from_spki_der(der).kid == vector["kid"]
    compressed_spki = bytes.fromhex(vector["spki_der_compressed_point_hex"])
    assert cdcmask.Recipient.from_spki_der(compressed_spki).kid == vector["kid"]
    assert vector["kid"] in repr(private) and vector["private_scalar_hex"] not in repr(private)


@pytest.mark.parametrize("vector", of_kind("ecdh-wrap"), ids=lambda v: v["id"])
def test_ecdh_wraps(vector: Dict[str, Any], keyring: Path) -> None:
    purpose = cdcmask.Purpose(vector["purpose"])
    private = RecipientPrivateKey(bytes.fromhex(BY_ID[vector["recipient"]]["private_scalar_hex"]))
    wrapped = cdcmask.WrappedKey.parse(vector["wrapped"])
    assert wrapped.kid == private.recipient.kid
    assert wrapped.ephemeral_compressed.hex() == vector["ephemeral_compressed_hex"]
    assert wrapped.ephemeral_spki_der().hex() == vector["ephemeral_spki_der_hex"]
    info = kdf_info(purpose.value, wrapped.kid, wrapped.ephemeral_compressed, private.recipient.compressed)
    assert info.hex() == vector["info_hex"]
    assert derive_kek(bytes.fromhex(vector["z_hex"]), info).hex() == vector["kek_hex"]
    z = bytes.fromhex(vector["z_hex"])
    assert wrapped.unwrap_with_shared_secret(private.recipient, purpose.value, z).hex() == vector["data_key_hex"]
    assert private.unwrap(wrapped, purpose.value).hex() == vector["data_key_hex"]
    # And through the keyring, as rows use it.
    ring = cdcmask.LocalKeyring(keyring)
    assert ring._unwrap(vector["wrapped"], purpose).hex() == vector["data_key_hex"]


@pytest.mark.parametrize("vector", of_kind("cell-v2"), ids=lambda v: v["id"])
def test_enc2_cells(vector: Dict[str, Any], keyring: Path) -> None:
    aad = cdcmask.cell_aad_v2(vector["schema"], vector["table"], vector["column"], vector["place"])
    assert aad.hex() == vector["aad_hex"]
    sealed = base64.b64decode(vector["value"][5:])
    key = AESGCM(bytes.fromhex(vector["data_key_hex"]))
    assert key.decrypt(sealed[:12], sealed[12:], aad).decode() == vector["plaintext"]
    # Through the reader: a row that holds it where it sits.
    column = {f"{vector['column']}_encrypted": vector["value"]}
    row: Dict[str, Any] = {"id": 1}
    if vector["place"] == "before":
        row["_before"] = column
    else:
        row.update(column)
    row.update(
        {"_schema": vector["schema"], "_table": vector["table"], "_key": BY_ID[vector["wrapped_by"]]["wrapped"]}
    )
    out = cdcmask.decrypt_record(row, cdcmask.LocalKeyring(keyring))
    holder = out["_before"] if vector["place"] == "before" else out
    assert holder == {vector["column"]: json.loads(vector["plaintext"])} or holder[
        vector["column"]
    ] == json.loads(vector["plaintext"])


@pytest.mark.parametrize("vector", of_kind("row-v2"), ids=lambda v: v["id"])
def test_rows(vector: Dict[str, Any], keyring: Path) -> None:
    ring = cdcmask.LocalKeyring(keyring)
    deterministic = ring.deterministic_keys(vector.get("domains"))
    out = cdcmask.decrypt_record(vector["row"], ring, deterministic=deterministic)
    assert out == vector["decrypted"]
    assert json.dumps(out) == json.dumps(vector["decrypted"]), "member order"


@pytest.mark.parametrize("vector", of_kind("det"), ids=lambda v: v["id"])
def test_det_values(vector: Dict[str, Any]) -> None:
    key = bytes.fromhex(vector["key_hex"])
    ad = [bytes.fromhex(a) for a in vector["ad_hex"]]
    assert ad == [b"cdc-mask/det1", vector["domain"].encode()]
    body = vector["value"].split("_", 1)[1]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    assert AESSIV(key).decrypt(raw, ad).hex() == vector["plaintext_hex"]
    reader = cdcmask.DeterministicKey(key, vector["version"])
    assert reader.decrypt(vector["domain"], vector["value"]) == json.loads(vector["json"][0])
    value = reader.decrypt(vector["domain"], vector["value"])
    assert type(value) is type(json.loads(vector["json"][0]))
    with pytest.raises(cdcmask.TamperedError):
        reader.decrypt("other_domain" if vector["domain"] == "" else "", vector["value"])


def test_det_domains_and_types_separate() -> None:
    value = lambda i: BY_ID[i]["value"]  # noqa: E731
    assert value("det-cafe-default") != value("det-cafe-customer-email")
    assert value("det-number-42") != value("det-string-42")
    assert len(BY_ID["det-cafe-default"]["json"]) == 2, "two escapings, one ciphertext"


def test_token_vectors_keep_the_default_domain() -> None:
    default = BY_ID["token-default"]
    assert bytes.fromhex(default["input_hex"]) == default["value"].encode()
    named = BY_ID["token-customer-email"]
    assert bytes.fromhex(named["input_hex"]) == b"customer_email\x00" + named["value"].encode()
    tokens = {v["token"] for v in of_kind("token")}
    assert len(tokens) == 3
    for domain in ("", "customer_email", "a_9"):
        assert cdcmask.check_domain(domain) == domain
    for domain in ("A", "a-b", "a\x00", "é", "a" * 65):
        with pytest.raises(ValueError):
            cdcmask.check_domain(domain)


@pytest.mark.parametrize("vector", of_kind("quarantine-v2"), ids=lambda v: v["id"])
def test_quarantine_v2(vector: Dict[str, Any], keyring: Path) -> None:
    assert cdcmask.quarantine_aad_v2(vector["reason"], vector["record_id"], vector["encoding"]).hex() == vector["aad_hex"]
    ring = cdcmask.LocalKeyring(keyring)
    entries = cdcmask.unseal_quarantine_records(vector["line"], ring)
    if vector["encoding"] == "bundle":
        expected = [(e["record_id"], base64.b64decode(e["original_base64"])) for e in vector["entries"]]
        with pytest.raises(cdcmask.MalformedError, match="unseal_quarantine_records"):
            cdcmask.unseal_quarantine(vector["line"], ring)
    else:
        expected = [(vector["record_id"], base64.b64decode(vector["original_base64"]))]
        assert cdcmask.unseal_quarantine(vector["line"], ring) == expected[0][1]
    assert [(e.record_id, e.original) for e in entries] == expected
    assert all(str(len(e.original)) in repr(e) and repr(e.original) not in repr(e) for e in entries)


def test_shapes_and_complete_ciphertexts() -> None:
    from cdcmask.format import is_complete, is_shaped

    for case in of_kind("shapes")[0]["cases"]:
        assert is_shaped(case["text"]) == case["shaped"], case["text"]
        assert is_complete(case["text"]) == case["complete"], case["text"]


_EXPECT = {"wrong_recipient": cdcmask.WrongKeyError, "unauthentic": cdcmask.TamperedError}


@pytest.mark.parametrize("vector", of_kind("negative"), ids=lambda v: v["id"])
def test_negative_vectors(vector: Dict[str, Any], keyring: Path) -> None:
    ring = cdcmask.LocalKeyring(keyring)
    error = _EXPECT[vector["expect"]]
    op = vector["op"]
    with pytest.raises(error):
        if op == "unwrap":
            private = RecipientPrivateKey(bytes.fromhex(BY_ID[vector["recipient"]]["private_scalar_hex"]))
            private.unwrap(cdcmask.WrappedKey.parse(vector["wrapped"]), vector["purpose"])
        elif op == "open-cell":
            column = {f"{vector['column']}_encrypted": vector["value"]}
            row: Dict[str, Any] = {"_before": column} if vector["place"] == "before" else dict(column)
            row.update({"_schema": vector["schema"], "_table": vector["table"], "_key": BY_ID["wrap-data"]["wrapped"]})
            cdcmask.decrypt_record(row, ring)
        elif op == "det-decrypt":
            cdcmask.DeterministicKey(bytes.fromhex(BY_ID["det-cafe-default"]["key_hex"])).decrypt(
                vector["domain"], vector["value"]
            )
        elif op == "unseal":
            cdcmask.unseal_quarantine_records(vector["line"], ring)
        else:
            raise AssertionError(op)


def test_cli_reads_v2_rows_and_bundles(keyring: Path, tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps(v["row"], ensure_ascii=False) + "\n" for v in of_kind("row-v2")))
    done = run_python_cli(
        "decrypt", "--keyring", keyring, "--domain", "mail=customer_email", "--domain", "vip=flags", rows
    )
    got = [json.loads(line) for line in done.stdout.splitlines()]
    assert got == [v["decrypted"] for v in of_kind("row-v2")]
    lines = tmp_path / "quarantine.jsonl"
    lines.write_text("".join(v["line"] for v in of_kind("quarantine-v2")))
    done = run_python_cli("decrypt", "--quarantine", "--keyring", keyring, lines)
    expected = b""
    for v in of_kind("quarantine-v2"):
        if v["encoding"] == "bundle":
            expected += b"".join(base64.b64decode(e["original_base64"]) + b"\n" for e in v["entries"])
        else:
            expected += base64.b64decode(v["original_base64"]) + b"\n"
    assert done.stdout == expected
