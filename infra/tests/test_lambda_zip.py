"""The Lambda zips that scripts/package-lambda builds: each holds exactly one
executable `bootstrap`, an aarch64 Linux ELF, as provided.al2023 on arm64 runs it."""

import stat
import struct
import subprocess
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EM_AARCH64 = 183


def binaries():
    out = subprocess.run(
        [str(ROOT / "scripts" / "package-lambda"), "--list"],
        check=True, capture_output=True, text=True,
    ).stdout
    return out.split()


def test_the_binary_list_names_the_transformer():
    assert "cdc-mask-lambda" in binaries()


def test_each_zip_holds_an_executable_aarch64_bootstrap():
    for binary in binaries():
        path = ROOT / "target" / "lambda" / binary / "bootstrap.zip"
        assert path.is_file(), f"{path} is missing: run scripts/package-lambda"
        with zipfile.ZipFile(path) as z:
            assert z.testzip() is None
            [entry] = z.infolist()
            assert entry.filename == "bootstrap"
            mode = entry.external_attr >> 16
            assert stat.S_ISREG(mode) and mode & 0o111 == 0o111, oct(mode)
            elf = z.read(entry)
        assert elf[:4] == b"\x7fELF", f"{binary}: not an ELF file"
        assert elf[4] == 2 and elf[5] == 1, f"{binary}: not 64-bit little-endian"
        (e_type, e_machine) = struct.unpack_from("<HH", elf, 16)
        assert e_machine == EM_AARCH64, f"{binary}: e_machine {e_machine}, not aarch64"
        assert e_type in (2, 3), f"{binary}: not an executable (e_type {e_type})"
