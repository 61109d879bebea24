"""A test-harness KMS endpoint: answers ``GetPublicKey`` and
``DeriveSharedSecret`` for P-256 key pairs it generated itself, and forwards
every other request unchanged to an upstream moto server.

**This is not AWS KMS, and not moto.** moto (5.2) has no
``DeriveSharedSecret``, so the cdc-mask tests (Python, and the Rust tests
that spawn this same script) point their KMS client here. For a key id this
proxy made, it answers exactly those two actions the way KMS documents them
(``ECC_NIST_P256``, ``KEY_AGREEMENT``; ``DeriveSharedSecret`` with
``KeyAgreementAlgorithm=ECDH`` returns the raw x-coordinate of the shared
point for a DER SubjectPublicKeyInfo ``PublicKey``). Any other action, and
any request about another key, goes to moto byte for byte (``Decrypt``,
``GenerateDataKey``, S3…). Signatures are not checked.

Usage::

    python kms_ecdh_proxy.py --upstream http://127.0.0.1:5000 [--keys 2] [--port 0]
        [--region us-east-1] [--account 123456789012]

On start it prints ONE line of JSON on stdout, then serves until killed::

    {"endpoint": "http://127.0.0.1:PORT",
     "keys": [{"KeyId": "...", "Arn": "arn:aws:kms:...", "PublicKeyPem": "-----BEGIN PUBLIC KEY-----..."}]}

The environment variable ``CDCMASK_KMS_PROXY_UPSTREAM`` may give the
upstream instead of ``--upstream``. Needs only the standard library and
``cryptography``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import threading
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Optional, Tuple

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "expect",
}


class KeyPair:
    def __init__(self, region: str, account: str) -> None:
        self.key_id = str(uuid.uuid4())
        self.arn = f"arn:aws:kms:{region}:{account}:key/{self.key_id}"
        self.private = ec.generate_private_key(ec.SECP256R1())
        public = self.private.public_key()
        self.spki = public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")


class Proxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: Tuple[str, int], upstream: str, keys: Dict[str, KeyPair]) -> None:
        super().__init__(address, Handler)
        self.upstream = upstream.rstrip("/")
        self.keys = keys


def _error(code: str, message: str, status: int = 400) -> Tuple[int, Dict[str, Any]]:
    return status, {"__type": code, "message": message}


class Handler(BaseHTTPRequestHandler):
    server: Proxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _find(self, key_id: Any) -> Optional[KeyPair]:
        if not isinstance(key_id, str):
            return None
        for pair in self.server.keys.values():
            if key_id in (pair.key_id, pair.arn):
                return pair
        return None

    def _local(self, action: str, request: Dict[str, Any]) -> Optional[Tuple[int, Dict[str, Any]]]:
        """The answer for one of our keys, or None to forward."""
        pair = self._find(request.get("KeyId"))
        if pair is None:
            return None
        if action == "GetPublicKey":
            return 200, {
                "KeyId": pair.arn,
                "PublicKey": base64.b64encode(pair.spki).decode("ascii"),
                "KeySpec": "ECC_NIST_P256",
                "CustomerMasterKeySpec": "ECC_NIST_P256",
                "KeyUsage": "KEY_AGREEMENT",
                "KeyAgreementAlgorithms": ["ECDH"],
            }
        if action == "DeriveSharedSecret":
            if request.get("KeyAgreementAlgorithm") != "ECDH":
                return _error("ValidationException", "KeyAgreementAlgorithm must be ECDH")
            try:
                der = base64.b64decode(request.get("PublicKey", ""), validate=True)
                peer = serialization.load_der_public_key(der)
            except (ValueError, TypeError):
                peer = None
            if not isinstance(peer, ec.EllipticCurvePublicKey) or not isinstance(
                peer.curve, ec.SECP256R1
            ):
                return _error("ValidationException", "PublicKey is not a P-256 SubjectPublicKeyInfo")
            shared = pair.private.exchange(ec.ECDH(), peer)
            return 200, {
                "KeyId": pair.arn,
                "SharedSecret": base64.b64encode(shared).decode("ascii"),
                "KeyAgreementAlgorithm": "ECDH",
                "KeyOrigin": "AWS_KMS",
            }
        # Any other action on a key pair of ours: KMS refuses key agreement
        # keys for encryption and signing.
        return _error("InvalidKeyUsageException", f"{action} is not valid for a KEY_AGREEMENT key")

    def _reply(self, status: int, headers: Dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        body = self._body()
        target = self.headers.get("X-Amz-Target", "")
        if target.startswith("TrentService."):
            action = target[len("TrentService.") :]
            if action in ("GetPublicKey", "DeriveSharedSecret"):
                try:
                    request = json.loads(body or b"{}")
                except ValueError:
                    request = {}
                answer = self._local(action, request) if isinstance(request, dict) else None
                if answer is not None:
                    status, payload = answer
                    self._reply(
                        status,
                        {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": str(uuid.uuid4())},
                        json.dumps(payload).encode(),
                    )
                    return
        self._forward(body)

    def _forward(self, body: bytes) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        request = urllib.request.Request(
            self.server.upstream + self.path,
            data=body if (body or self.command not in ("GET", "HEAD", "DELETE")) else None,
            headers=headers,
            method=self.command,
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                status, reply_headers, payload = answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as e:
            status, reply_headers, payload = e.code, e.headers, e.read()
        except (urllib.error.URLError, OSError) as e:
            self._reply(502, {"Content-Type": "text/plain"}, f"upstream unreachable: {e}".encode())
            return
        passed = {k: v for k, v in reply_headers.items() if k.lower() not in _HOP_BY_HOP}
        self._reply(status, passed, payload)

    do_POST = _handle
    do_GET = _handle
    do_PUT = _handle
    do_DELETE = _handle
    do_HEAD = _handle


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", default=os.environ.get("CDCMASK_KMS_PROXY_UPSTREAM"))
    parser.add_argument("--keys", type=int, default=1, help="how many P-256 key pairs to make")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION") or "us-east-1")
    parser.add_argument("--account", default="123456789012")
    args = parser.parse_args(argv)
    if not args.upstream:
        parser.error("give --upstream URL (the moto server) or CDCMASK_KMS_PROXY_UPSTREAM")
    pairs = [KeyPair(args.region, args.account) for _ in range(max(args.keys, 0))]
    server = Proxy(("127.0.0.1", args.port), args.upstream, {p.key_id: p for p in pairs})
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    print(
        json.dumps(
            {
                "endpoint": endpoint,
                "keys": [{"KeyId": p.key_id, "Arn": p.arn, "PublicKeyPem": p.pem} for p in pairs],
            }
        ),
        flush=True,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
