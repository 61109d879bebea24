"""``python -m cdcmask decrypt``: the Python twin of ``cdc-mask decrypt``.

Prints one compact JSON object per decrypted row (same column names and
values as the Rust CLI), or with ``--quarantine`` the exact original bytes of
each sealed record followed by a newline. Exit status 0 on success, 1 on a
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
from .format import decrypt_record, parse_line, unseal_quarantine
from .keys import KeySource, KmsKeys, LocalKeyring, aws_client
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
        help="unwrap data keys with AWS KMS (the key is named inside each row)",
    )
    decrypt.add_argument(
        "--kms-key-id",
        metavar="ID",
        help="same as --kms; KMS then also checks the rows were made with this key",
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
    use_kms = args.kms or args.kms_key_id is not None
    if args.keyring is not None and args.kms_key_id is not None:
        parser.error("--keyring and --kms-key-id exclude each other")
    if use_kms:
        return KmsKeys(
            region_name=args.region, endpoint_url=args.endpoint_url, key_id=args.kms_key_id
        )
    keyring = args.keyring or os.environ.get("CDCMASK_KEYRING")
    if not keyring:
        parser.error("give --keyring DIR (local keys) or --kms (AWS KMS)")
    return LocalKeyring(keyring)


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


def _decrypt(args: argparse.Namespace, keys: KeySource, out: IO[bytes]) -> int:
    records = 0
    for location, line in iter_lines(args.inputs or ["-"], s3_client=_s3_client(args)):
        try:
            if args.quarantine:
                out.write(unseal_quarantine(parse_line(line), keys))
                out.write(b"\n")
            else:
                out.write(_encode(decrypt_record(parse_line(line), keys)))
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
        records = _decrypt(args, keys, out)
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
