"""Reading the encrypted view: local files and directories, ``s3://``
prefixes, gzip or plain JSON lines (as Firehose and ``cdc-mask`` write
them), into decrypted records or a pandas DataFrame."""

from __future__ import annotations

import gzip
import io
import itertools
import os
import sys
import zlib
from typing import (
    TYPE_CHECKING,
    Any,
    Generator,
    Iterable,
    Iterator,
    List,
    Optional,
    Protocol,
    Sequence,
    Tuple,
    Type,
    Union,
    cast,
)

from .det import DeterministicKeys
from .errors import AccessDeniedError, CdcMaskError, SourceError
from .format import Record, decrypt_record, parse_line
from .keys import KeySource, aws_client

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__all__ = ["Source", "iter_lines", "iter_records", "read_dataframe"]

#: A local file or directory, ``-`` (stdin), or ``s3://bucket/prefix``.
Source = Union[str, "os.PathLike[str]"]

_GZIP_MAGIC = b"\x1f\x8b"
_BUFFER = 1 << 20


def _as_list(sources: Union[Source, Iterable[Source]]) -> List[Source]:
    if isinstance(sources, (str, os.PathLike)):
        return [sources]
    return list(sources)


class _RawStream(io.RawIOBase):
    """A file-like ``read(n)`` (an S3 body) as a raw stream, to buffer it."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        try:
            self._body.close()
        finally:
            super().close()


class _Peekable(Protocol):
    """A buffered binary stream (local file, stdin, buffered S3 body)."""

    def peek(self, size: int = ..., /) -> bytes: ...

    def read(self, size: int = ..., /) -> bytes: ...

    def seek(self, offset: int, whence: int = ..., /) -> int: ...

    def __iter__(self) -> Iterator[bytes]: ...


def _lines(stream: _Peekable) -> Iterator[bytes]:
    """The lines of a plain or gzip stream (detected from its first bytes:
    Firehose names are not a reliable hint)."""
    if stream.peek(2)[:2] == _GZIP_MAGIC:
        with gzip.GzipFile(fileobj=stream, mode="rb") as unzipped:
            yield from unzipped
    else:
        yield from stream


def _split_s3(url: str) -> Tuple[str, str]:
    rest = url[len("s3://") :]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise SourceError(f"no bucket in {url}")
    return bucket, prefix


def _s3_error(error: Exception, what: str) -> CdcMaskError:
    code = ""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
    if code in ("AccessDenied", "403", "AllAccessDisabled"):
        return AccessDeniedError(f"S3 refused {what}: {code}")
    return SourceError(f"cannot read {what}: {code or type(error).__name__}")


def _s3_objects(client: Any, url: str) -> Iterator[Tuple[str, Any]]:
    bucket, prefix = _split_s3(url)
    from botocore.exceptions import BotoCoreError, ClientError

    pages = iter(client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix))
    found = 0
    while True:  # page by page: the first objects are read before the listing ends
        try:
            page = next(pages, None)
        except (BotoCoreError, ClientError) as e:
            raise _s3_error(e, f"the listing of {url}") from e
        if page is None:
            break
        for key in (o["Key"] for o in page.get("Contents", ())):
            if key.endswith("/"):  # a "folder" marker
                continue
            found += 1
            name = f"s3://{bucket}/{key}"
            try:
                body = client.get_object(Bucket=bucket, Key=key)["Body"]
            except (BotoCoreError, ClientError) as e:
                raise _s3_error(e, name) from e
            yield name, body
    if not found:
        raise SourceError(f"no objects under {url}")


def _local_files(path: str) -> List[str]:
    if os.path.isdir(path):
        found: List[str] = []
        for root, dirs, files in os.walk(path):
            dirs.sort()
            found.extend(os.path.join(root, f) for f in sorted(files))
        if not found:
            raise SourceError(f"no files under {path}")
        return found
    if not os.path.exists(path):
        raise SourceError(f"no such file: {path}")
    return [path]


def iter_lines(
    sources: Union[Source, Iterable[Source]], *, s3_client: Optional[Any] = None
) -> Iterator[Tuple[str, bytes]]:
    """``(location, line)`` for every non-blank line of the sources, in
    order: files as given, directories recursively in name order, ``s3://``
    prefixes in key order (S3 string prefixes: end with ``/`` to mean a
    folder), ``-`` for stdin. ``location`` is ``name:line-number``.
    Without ``s3_client``, one is made from the standard AWS environment.

    Raises:
        SourceError: a path does not exist, or a prefix holds no objects.
        AccessDeniedError: S3 refused the listing or an object.
    """
    for source in _as_list(sources):
        text = os.fspath(source)
        if text.startswith("s3://"):
            if s3_client is None:
                s3_client = aws_client("s3")
            for name, body in _s3_objects(s3_client, text):
                with io.BufferedReader(_RawStream(body), _BUFFER) as stream:
                    yield from _numbered(name, _lines(stream))
        elif text == "-":
            yield from _numbered("<stdin>", _lines(cast(_Peekable, sys.stdin.buffer)))
        else:
            for path in _local_files(text):
                try:
                    f = open(path, "rb")
                except OSError as e:
                    raise SourceError(f"cannot read {path}: {e.strerror}") from None
                with f:
                    yield from _numbered(path, _lines(f))


def _numbered(name: str, lines: Iterable[bytes]) -> Iterator[Tuple[str, bytes]]:
    try:
        for number, line in enumerate(lines, 1):
            if line.strip():
                yield f"{name}:{number}", line
    except _read_errors() as e:  # a truncated or corrupt gzip, a broken connection
        raise SourceError(f"cannot read {name}: {type(e).__name__}: {e}") from None


def _read_errors() -> Tuple[Type[BaseException], ...]:
    from botocore.exceptions import BotoCoreError

    return (OSError, EOFError, zlib.error, BotoCoreError)


def iter_records(
    sources: Union[Source, Iterable[Source]],
    keys: KeySource,
    *,
    s3_client: Optional[Any] = None,
    deterministic: Optional[DeterministicKeys] = None,
) -> Generator[Record, None, None]:
    """Decrypted records (see :func:`cdcmask.decrypt_record`) of every line
    of the sources (see :func:`iter_lines`). Errors carry the failing line's
    location in ``location`` and in their message."""
    for location, line in iter_lines(sources, s3_client=s3_client):
        try:
            yield decrypt_record(parse_line(line), keys, deterministic=deterministic)
        except CdcMaskError as e:
            e.located(location)
            raise


def read_dataframe(
    sources: Union[Source, Iterable[Source]],
    keys: KeySource,
    columns: Optional[Sequence[str]] = None,
    *,
    s3_client: Optional[Any] = None,
    limit: Optional[int] = None,
    deterministic: Optional[DeterministicKeys] = None,
) -> "pandas.DataFrame":
    """A pandas DataFrame of the decrypted records: ``columns`` (decrypted
    names such as ``mail``; a column a record lacks is ``None``) or all
    columns of all records. At most ``limit`` records. Needs the ``pandas``
    extra (``pip install 'cdcmask[pandas]'``)."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("read_dataframe needs pandas: pip install 'cdcmask[pandas]'") from None
    if limit is not None and limit < 0:
        raise ValueError("limit must be >= 0")
    records = iter_records(sources, keys, s3_client=s3_client, deterministic=deterministic)
    try:
        wanted = itertools.islice(records, limit)
        if columns is None:
            frame: pandas.DataFrame = pd.DataFrame(list(wanted))
            return frame
        selected = list(columns)
        values = [tuple(record.get(c) for c in selected) for record in wanted]
        selected_frame: pandas.DataFrame = pd.DataFrame.from_records(values, columns=selected)
        return selected_frame
    finally:
        records.close()  # closes the file or S3 body a limit stopped in
