"""A C2SP tlog-witness, as the spec describes it, on loopback (for the tests).

It is a real witness, not a mock: it verifies the checkpoint signature against
the log keys it trusts, checks the old size against the latest checkpoint it
cosigned for that origin, verifies the RFC 9162 consistency proof, and only
then persists the new checkpoint and answers with a tlog-cosignature. Status
codes: 404 unknown origin, 403 no trusted signature, 400 old size above the
checkpoint size or a malformed body, 409 (``text/x.tlog.size``) old size not
the latest cosigned one, 422 proof does not verify, 409 same size but a
different root hash.
"""

from __future__ import annotations

import base64
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from crawler_compliance.audit._merkle import ProofError, verify_consistency
from crawler_compliance.audit._note import (
    Note,
    NoteError,
    SignatureType,
    Signer,
    TreeHead,
    Verifier,
)


class WitnessServer:
    def __init__(self, name: str, logs: list[Verifier]) -> None:
        self.signer = Signer.generate(name, SignatureType.COSIGNATURE_V1)
        self.logs: dict[str, list[Verifier]] = {}
        for key in logs:
            self.logs.setdefault(key.name, []).append(key)
        self.state: dict[str, TreeHead] = {}  # origin -> latest cosigned
        self.answers: list[int] = []
        self.gate = threading.Event()  # cleared: requests wait until it is set
        self.gate.set()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                server.gate.wait(30)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, 1 << 20))
                status, ctype, text = server.add_checkpoint(self.path, body)
                server.answers.append(status)
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def verifier(self) -> Verifier:
        return self.signer.verifier()

    @property
    def config(self) -> str:
        """The ``COMPLIANCE_AUDIT_WITNESSES`` entry for this witness."""
        return f"{self.verifier.text} {self.url}"

    def close(self) -> None:
        self.gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def add_checkpoint(self, path: str, body: bytes) -> tuple[int, str, str]:
        plain = "text/plain; charset=utf-8"
        if path != "/add-checkpoint":
            return 404, plain, "not found\n"
        try:
            text = body.decode("utf-8")
            head_block, sep, note_text = text.partition("\n\n")
            if not sep:
                raise ValueError("no blank line")
            lines = (head_block + "\n").split("\n")[:-1]
            if not lines[0].startswith("old ") or len(lines) - 1 > 63:
                raise ValueError("bad old line")
            old_text = lines[0][4:]
            if not old_text.isdigit() or (old_text != "0" and old_text.startswith("0")):
                raise ValueError("bad old size")
            old = int(old_text)
            proof = [base64.b64decode(x, validate=True) for x in lines[1:]]
            note = Note.parse(note_text)
            head = TreeHead.parse(note.text)
        except (ValueError, NoteError):
            return 400, plain, "malformed request\n"
        keys = self.logs.get(head.origin)
        if keys is None:
            return 404, plain, "unknown log\n"
        try:
            if not note.verified_by(keys):
                return 403, plain, "no trusted signature\n"
        except NoteError:
            return 403, plain, "bad signature\n"
        if old > head.size:
            return 400, plain, "old size above checkpoint size\n"
        with self._lock:  # check and persist atomically (the spec's race)
            latest = self.state.get(head.origin)
            latest_size = latest.size if latest is not None else 0
            if old != latest_size:
                return 409, "text/x.tlog.size", f"{latest_size}\n"
            if latest is not None and latest.size == head.size:
                if latest.root != head.root:
                    return 409, plain, "same size, different root hash: a fork\n"
            elif old == 0:
                if proof:
                    return 400, plain, "proof from size 0 must be empty\n"
            else:
                assert latest is not None
                try:
                    verify_consistency(old, head.size, latest.root, head.root, proof)
                except ProofError:
                    return 422, plain, "consistency proof does not verify\n"
            self.state[head.origin] = head
            line = self.signer.signature_line(note.text, int(time.time()))
        return 200, plain, line
