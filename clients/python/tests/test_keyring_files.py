"""The local keyring refuses what somebody else could have replaced:
writable directories and key files, symlinks, files that are not files, and
key files of the wrong size or out of range; errors never carry key bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

import cdcmask

from conftest import private_keyring


def test_a_private_keyring_opens(tmp_path: Path) -> None:
    ring = cdcmask.LocalKeyring(private_keyring(tmp_path))
    assert len(ring.recipient().kid) == 16
    assert ring.deterministic_keys().key("1").version == 1


@pytest.mark.parametrize("mode", [0o770, 0o702, 0o777])
def test_a_writable_keyring_directory_is_refused(tmp_path: Path, mode: int) -> None:
    ring = private_keyring(tmp_path)
    ring.chmod(mode)
    with pytest.raises(cdcmask.KeyringError, match="writable"):
        cdcmask.LocalKeyring(ring)


@pytest.mark.parametrize("name", ["data-ecdh.key", "deterministic.key", "master.key"])
@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
def test_a_writable_key_file_is_refused(tmp_path: Path, name: str, mode: int) -> None:
    ring = private_keyring(tmp_path)
    (ring / name).chmod(mode)
    keys = cdcmask.LocalKeyring(ring)
    with pytest.raises(cdcmask.KeyringError, match="writable") as caught:
        if name == "data-ecdh.key":
            keys.recipient()
        elif name == "deterministic.key":
            keys.deterministic_keys()
        else:
            keys.keyring_id
    assert "\x01" not in str(caught.value)


def test_symlinks_are_refused(tmp_path: Path) -> None:
    ring = private_keyring(tmp_path)
    link = tmp_path / "link"
    link.symlink_to(ring)
    with pytest.raises(cdcmask.KeyringError, match="symlink"):
        cdcmask.LocalKeyring(link)
    elsewhere = tmp_path / "elsewhere.key"
    elsewhere.write_bytes(b"\x02" * 32)
    elsewhere.chmod(0o600)
    (ring / "data-ecdh.key").unlink()
    (ring / "data-ecdh.key").symlink_to(elsewhere)
    with pytest.raises(cdcmask.KeyringError, match="symlink"):
        cdcmask.LocalKeyring(ring).recipient()


def test_a_key_file_that_is_not_a_file(tmp_path: Path) -> None:
    ring = private_keyring(tmp_path)
    (ring / "data-ecdh.key").unlink()
    (ring / "data-ecdh.key").mkdir(mode=0o700)
    with pytest.raises(cdcmask.KeyringError, match="regular file"):
        cdcmask.LocalKeyring(ring).recipient()


@pytest.mark.parametrize(
    "name,data,message",
    [
        ("data-ecdh.key", b"\x01" * 31, "exactly 32 bytes"),
        ("data-ecdh.key", b"\x00" * 32, "out of range"),
        ("data-ecdh.key", b"\xff" * 32, "out of range"),
        ("deterministic.key", b"\x01" * 32, "exactly 64 bytes"),
    ],
)
def test_bad_key_files(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    ring = private_keyring(tmp_path)
    (ring / name).write_bytes(data)
    keys = cdcmask.LocalKeyring(ring)
    with pytest.raises(cdcmask.KeyringError, match=message):
        keys.recipient() if name == "data-ecdh.key" else keys.deterministic_keys()


def test_an_empty_directory_is_no_keyring(tmp_path: Path) -> None:
    with pytest.raises(cdcmask.KeyringError, match="no keyring"):
        cdcmask.LocalKeyring(tmp_path)
    with pytest.raises(cdcmask.KeyringError, match="no keyring"):
        cdcmask.LocalKeyring(tmp_path / "missing")
