"""``python -m cdcmask decrypt``: the Python twin of ``cdc-mask decrypt``.

Prints one compact JSON object per decrypted row (same column names and
values as the Rust CLI), or with ``--quarantine`` the exact original bytes of
each sealed record (each record of a bundle) followed by a newline. Exit status 0 on success, 1 on a
record or key error (one line on stderr naming file, line and column, never a
value), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import IO, Any, Optional, Sequence

from botocore.exceptions import BotoCoreError, ClientError

from .errors import CdcMaskError
from .det import DeterministicKey, DeterministicKeys, check_domain
from .format import decrypt_record, parse_line, unseal_quarantine_records
from .keys import KeySource, KmsKeys, LocalKeyring, aws_client, read_key_file
from .reader import iter_lines


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cdcmask",
        description="Read the cdc-mask encrypted view.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    decrypt = commands.add_parser(
        "decrypt",
        help="decrypt encrypted-view rows (or unseal quarantined records)",
        description=(
            "Decrypt encrypted-view rows into JSON lines with the original column "
            "names and plaintext values, like `cdc-mask decrypt`."
        ),
    )
    source = decrypt.add_mutually_exclusive_group()
    source.add_argument(
        "--keyring",
        metavar="DIR",
        help="local keyring directory that encrypted the rows (default: $CDCMASK_KEYRING)",
    )
    source.add_argument(
        "--kms",
        action="store_true",
        help="unwrap data keys with AWS KMS (needs --kms-key-id)",
    )
    decrypt.add_argument(
        "--kms-key-id",
        metavar="ID",
        action="append",
        help="KMS key the data keys were wrapped to or with (id, ARN or alias; repeat for "
        "an ECDH key pair and a legacy symmetric key): with --quarantine, the quarantine "
        "keys. A wrapped key never chooses its KMS key",
    )
    decrypt.add_argument(
        "--deterministic-key",
        metavar="FILE",
        help="64-byte AES-SIV key of det_ values (default: deterministic.key of --keyring, "
        "if there is one)",
    )
    decrypt.add_argument(
        "--deterministic-key-version",
        metavar="N",
        type=int,
        default=1,
        help="version of that key, as in det<N>_ (default: 1)",
    )
    decrypt.add_argument(
        "--domain",
        metavar="COLUMN=DOMAIN",
        action="append",
        default=[],
        help="join domain of a det_ column (COLUMN, TABLE.COLUMN or SCHEMA.TABLE.COLUMN; "
        "default: the empty default domain); repeatable",
    )
    decrypt.add_argument(
        "--endpoint-url",
        metavar="URL",
        default=os.environ.get("AWS_ENDPOINT_URL") or None,
        help="send every AWS call (KMS, S3) to this endpoint (default: $AWS_ENDPOINT_URL)",
    )
    decrypt.add_argument(
        "--region", metavar="REGION", help="AWS region (default: the AWS environment)"
    )
    decrypt.add_argument(
        "--quarantine",
        action="store_true",
        help="input is quarantine records: print each original record's exact bytes "
        "and a newline (needs the quarantine key: admins only)",
    )
    decrypt.add_argument(
        "--stats",
        action="store_true",
        help="print `records=N seconds=S records_per_s=R key_unwraps=K` on stderr",
    )
    decrypt.add_argument(
        "inputs",
        nargs="*",
        metavar="FILE|DIR|s3://BUCKET/PREFIX",
        help="JSON lines, plain or gzip; `-` or nothing reads stdin",
    )
    return parser


def _key_source(args: argparse.Namespace, parser: argparse.ArgumentParser) -> KeySource:
    if args.keyring is not None and args.kms_key_id:
        parser.error("--keyring and --kms-key-id exclude each other")
    if args.kms or args.kms_key_id:
        if not args.kms_key_id:
            parser.error("--kms needs --kms-key-id ID: a wrapped key never chooses its KMS key")
        if args.quarantine:
            return KmsKeys(
                quarantine_key_id=args.kms_key_id,
                region_name=args.region,
                endpoint_url=args.endpoint_url,
            )
        return KmsKeys(args.kms_key_id, region_name=args.region, endpoint_url=args.endpoint_url)
    keyring = args.keyring or os.environ.get("CDCMASK_KEYRING")
    if not keyring:
        parser.error("give --keyring DIR (local keys) or --kms-key-id ID (AWS KMS)")
    return LocalKeyring(keyring)


def _deterministic(
    args: argparse.Namespace, keys: KeySource, parser: argparse.ArgumentParser
) -> Optional[DeterministicKeys]:
    domains = {}
    for item in args.domain:
        column, sep, domain = item.partition("=")
        if not sep or not column:
            parser.error(f"--domain takes COLUMN=DOMAIN, not {item!r}")
        try:
            domains[column] = check_domain(domain)
        except ValueError as e:
            parser.error(f"--domain {column}: {e}")
    version = args.deterministic_key_version
    if version < 1:
        parser.error("--deterministic-key-version is a positive integer")
    if args.deterministic_key is not None:
        path = os.path.abspath(args.deterministic_key)
        key = read_key_file(os.path.dirname(path), os.path.basename(path), 64)
        return DeterministicKeys(DeterministicKey(key, version), domains)
    if isinstance(keys, LocalKeyring) and os.path.lexists(
        os.path.join(keys.path, LocalKeyring.DETERMINISTIC)
    ):
        return keys.deterministic_keys(domains, version)
    if domains:
        parser.error("--domain needs a deterministic key (--deterministic-key FILE)")
    return None


def _s3_client(args: argparse.Namespace) -> Optional[Any]:
    if not any(str(i).startswith("s3://") for i in args.inputs):
        return None
    return aws_client("s3", None, args.region, args.endpoint_url)


def _encode(row: Any) -> bytes:
    try:
        text = json.dumps(row, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (from a "\ud800" escape): escape everything so
        # the line stays valid UTF-8 and valid JSON.
        return json.dumps(row, separators=(",", ":"), allow_nan=False).encode("ascii")
    except ValueError:
        raise CdcMaskError(
            "a number does not fit a Python float (JSON output would be invalid)"
        ) from None


def _decrypt(
    args: argparse.Namespace,
    keys: KeySource,
    deterministic: Optional[DeterministicKeys],
    out: IO[bytes],
) -> int:
    records = 0
    for location, line in iter_lines(args.inputs or ["-"], s3_client=_s3_client(args)):
        try:
            if args.quarantine:
                for entry in unseal_quarantine_records(parse_line(line), keys):
                    out.write(entry.original)
                    out.write(b"\n")
            else:
                row = decrypt_record(parse_line(line), keys, deterministic=deterministic)
                out.write(_encode(row))
                out.write(b"\n")
        except CdcMaskError as e:
            e.located(location)
            raise
        records += 1
    out.flush()
    return records


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    out = sys.stdout.buffer
    started = time.perf_counter()
    try:
        keys = _key_source(args, parser)
        deterministic = None if args.quarantine else _deterministic(args, keys, parser)
        records = _decrypt(args, keys, deterministic, out)
    except CdcMaskError as e:
        out.flush()
        print(f"cdcmask: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as e:  # AWS configuration, outside KMS and S3 reads
        out.flush()
        print(f"cdcmask: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    if args.stats:
        seconds = time.perf_counter() - started
        rate = records / seconds if seconds > 0 else 0.0
        print(
            f"records={records} seconds={seconds:.6f} records_per_s={rate:.0f} "
            f"key_unwraps={keys.unwrap_calls}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
