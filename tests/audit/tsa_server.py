"""An RFC 3161 time-stamping authority on loopback, for the tests.

The tokens are made by OpenSSL's own TSA (``openssl ts -reply``), so they are
what a real TSA issues, not something these tests made up: a root and a TSA
certificate (EKU id-kp-timeStamping, critical) are generated per server.
"""

from __future__ import annotations

import datetime
import shutil
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

OPENSSL = shutil.which("openssl")


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _usage(**on: bool) -> x509.KeyUsage:
    names = [
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    ]
    return x509.KeyUsage(**{n: on.get(n, False) for n in names})


class TsaServer:
    def __init__(self) -> None:
        assert OPENSSL is not None
        self.dir = Path(tempfile.mkdtemp(prefix="tsa-"))
        now = datetime.datetime.now(datetime.timezone.utc)
        day = datetime.timedelta(days=1)
        root_key = ec.generate_private_key(ec.SECP256R1())
        self.root = (
            x509.CertificateBuilder()
            .subject_name(_name("Test TSA Root"))
            .issuer_name(_name("Test TSA Root"))
            .public_key(root_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - day)
            .not_valid_after(now + 30 * day)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_usage(key_cert_sign=True, crl_sign=True), critical=True)
            .sign(root_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name("Test TSA"))
            .issuer_name(self.root.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - day)
            .not_valid_after(now + 30 * day)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(digital_signature=True, content_commitment=True), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
            )
            .sign(root_key, hashes.SHA256())
        )
        pem = serialization.Encoding.PEM
        (self.dir / "tsa.pem").write_bytes(cert.public_bytes(pem))
        (self.dir / "tsa.key").write_bytes(
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        self.root_pem = self.dir / "root.pem"
        self.root_pem.write_bytes(self.root.public_bytes(pem))
        (self.dir / "serial").write_text("01\n")
        (self.dir / "tsa.cnf").write_text(
            "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\n"
            f"dir = {self.dir}\nserial = $dir/serial\nsigner_cert = $dir/tsa.pem\n"
            "signer_key = $dir/tsa.key\nsigner_digest = sha256\ncrypto_device = builtin\n"
            "default_policy = 1.2.3.4.1\nother_policies = 1.2.3.4.5\n"
            "digests = sha256, sha384, sha512\naccuracy = secs:1\nordering = yes\n"
            "tsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n"
        )
        self.requests = 0
        self.fail = False  # answer 503 to everything
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                query = self.rfile.read(min(length, 1 << 16))
                status, body = server.reply(self.headers.get("Content-Type", ""), query)
                self.send_response(status)
                kind = "application/timestamp-reply" if status == 200 else "text/plain"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/tsr"

    def reply(self, content_type: str, query: bytes) -> tuple[int, bytes]:
        self.requests += 1
        if self.fail:
            return 503, b"unavailable\n"
        if content_type != "application/timestamp-query":
            return 415, b"not a timestamp query\n"
        with self._lock, tempfile.TemporaryDirectory() as tmp:
            q, r = Path(tmp) / "q.tsq", Path(tmp) / "r.tsr"
            q.write_bytes(query)
            done = subprocess.run(
                [
                    str(OPENSSL),
                    "ts",
                    "-reply",
                    "-config",
                    str(self.dir / "tsa.cnf"),
                    "-queryfile",
                    str(q),
                    "-out",
                    str(r),
                ],
                capture_output=True,
                check=False,
            )
            if done.returncode != 0 or not r.exists():
                return 400, b"bad query\n"
            return 200, r.read_bytes()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        shutil.rmtree(self.dir, ignore_errors=True)
