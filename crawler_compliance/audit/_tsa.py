"""RFC 3161 trusted time for checkpoints, through the ``rfc3161-client`` library.

The library builds requests and checks responses; it does no network I/O, so
the request is posted here (on the background thread of ``_witness``). What is
timestamped is the checkpoint note's exact text: the token's message imprint
is its SHA-256. A token shows the checkpoint, hence every record it covers,
existed at the token's time, on the word of the TSA rather than the operator.

``rfc3161-client`` is an optional dependency (``crawler-compliance[tsa]``).
"""

from __future__ import annotations

import datetime
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography import x509

MAX_RESPONSE_BYTES = 256 * 1024
QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"


class TimestampError(Exception):
    """A timestamp could not be obtained, or a token does not verify."""


def _library() -> Any:
    try:
        import rfc3161_client
    except ImportError:  # pragma: no cover - the extra is not installed
        raise TimestampError(
            "RFC 3161 timestamps need the rfc3161-client library: "
            "pip install 'crawler-compliance[tsa]'"
        ) from None
    return rfc3161_client


def available() -> bool:
    try:
        _library()
    except TimestampError:
        return False
    return True


@dataclass(frozen=True)
class TimestampAuthority:
    """A TSA reached over HTTP(S) with the RFC 3161 §3.4 media types."""

    url: str

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"{self.url[:80]!r}: a TSA URL must be http:// or https://")


def fetch_token(tsa: TimestampAuthority, data: bytes, timeout: float) -> bytes:
    """Ask ``tsa`` to timestamp ``data``; return the DER TimeStampResp once it checks out.

    Checked here: the status is granted, the nonce and the message imprint are
    the ones asked for. The signature and the TSA's certificate are checked by
    :func:`verify_token` against the roots a verifier trusts.
    """
    lib = _library()
    request = lib.TimestampRequestBuilder().data(data).nonce(nonce=True)
    request = request.cert_request(cert_request=True).build()
    post = urllib.request.Request(
        tsa.url, data=request.as_bytes(), method="POST", headers={"Content-Type": QUERY_TYPE}
    )
    try:
        with urllib.request.urlopen(post, timeout=timeout) as response:  # noqa: S310
            body = response.read(MAX_RESPONSE_BYTES)
            ctype = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        raise TimestampError(f"HTTP {exc.code}") from None
    if ctype.split(";")[0].strip().lower() != REPLY_TYPE:
        raise TimestampError(f"the reply is {ctype or 'untyped'}, not {REPLY_TYPE}")
    try:
        reply = lib.decode_timestamp_response(body)
    except ValueError as exc:
        raise TimestampError(f"the reply is not a TimeStampResp: {exc}") from None
    if reply.status not in (0, 1):  # granted, grantedWithMods (RFC 3161 §2.4.2)
        raise TimestampError(f"the TSA refused (status {reply.status}): {reply.status_string}")
    info = reply.tst_info
    if info.nonce != request.nonce:
        raise TimestampError("the reply's nonce is not the request's")
    if info.message_imprint.message != request.message_imprint.message:
        raise TimestampError("the reply timestamps something else")
    return bytes(reply.as_bytes())


def verify_token(token: bytes, data: bytes, roots: Sequence[x509.Certificate]) -> datetime.datetime:
    """The time ``token`` vouches ``data`` existed at; :class:`TimestampError` if it does not."""
    lib = _library()
    try:
        reply = lib.decode_timestamp_response(token)
    except ValueError as exc:
        raise TimestampError(f"not a timestamp token: {exc}") from None
    errors = []
    for root in roots:
        verifier = lib.VerifierBuilder().add_root_certificate(root).build()
        try:
            if verifier.verify_message(reply, data):
                return reply.tst_info.gen_time  # type: ignore[no-any-return]
        except lib.VerificationError as exc:
            errors.append(str(exc))
    raise TimestampError(
        "the timestamp does not verify against the given TSA root(s)"
        + (f": {errors[0]}" if errors else "")
    )
