"""C2SP signed notes, checkpoints and cosignatures (Ed25519, via ``cryptography``).

- ``signed-note``: text ending in a newline, a blank line, then signature lines
  ``— <key name> base64(key ID || signature)``; key ID =
  ``SHA-256(name || 0x0A || type || public key)[:4]``; verifier keys are
  ``<name>+<key ID hex>+base64(type || public key)`` and private keys
  ``PRIVATE+KEY+<name>+<key ID hex>+base64(type || seed)``.
- ``tlog-checkpoint``: the note text is origin, tree size, base64 root hash.
- ``tlog-cosignature`` (type ``0x04``): the signature is ``u64 timestamp ||
  Ed25519 signature`` over ``"cosignature/v1\\ntime <t>\\n" + checkpoint text``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass
from enum import IntEnum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MAX_NOTE_BYTES = 64 * 1024
MAX_SIGNATURES = 64
_PRIVATE_PREFIX = "PRIVATE+KEY+"
_DASH = "\u2014 "
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f]")
_NAME_BAD = re.compile(r"[\s+]")


class NoteError(ValueError):
    """A note, key or checkpoint is malformed, or a signature does not verify."""


class SignatureType(IntEnum):
    """C2SP signed-note signature type identifier bytes (the ones used here)."""

    ED25519 = 0x01
    COSIGNATURE_V1 = 0x04


def key_id(name: str, kind: SignatureType, public: bytes) -> int:
    """``SHA-256(name || 0x0A || type || public key)[:4]`` as a big-endian uint32."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public).digest()
    return int.from_bytes(digest[:4], "big")


def _check_name(name: str) -> str:
    if not name or _NAME_BAD.search(name) or _CONTROL.search(name):
        raise NoteError(f"{name!r} is not a key name: it must be non-empty, without spaces or '+'")
    return name


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise NoteError(f"{what} is not valid base64") from None


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    """A public key that checks note signatures of one type for one key name."""

    name: str
    kind: SignatureType
    public: bytes

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.kind, self.public)

    @property
    def text(self) -> str:
        """The C2SP verifier key: ``name+keyid+base64(type || public key)``."""
        data = base64.b64encode(bytes([self.kind]) + self.public).decode()
        return f"{self.name}+{self.key_id:08x}+{data}"

    @classmethod
    def parse(cls, text: str) -> Verifier:
        """Read a verifier key (``name+hex+base64``); raise :class:`NoteError`."""
        text = text.strip()
        name, sep, rest = text.partition("+")
        id_text, sep2, data = rest.partition("+")
        if not sep or not sep2 or not re.fullmatch(r"[0-9a-f]{8}", id_text):
            raise NoteError(
                f"{text[:80]!r} is not a verifier key (expected NAME+KEYID+BASE64, as printed "
                "by 'crawler-compliance audit keygen')"
            )
        _check_name(name)
        raw = _b64decode(data, "the verifier key")
        if len(raw) != 33 or raw[0] not in (SignatureType.ED25519, SignatureType.COSIGNATURE_V1):
            raise NoteError("the verifier key is not an Ed25519 key (type 0x01 or 0x04)")
        verifier = cls(name, SignatureType(raw[0]), raw[1:])
        if verifier.key_id != int(id_text, 16):
            raise NoteError(f"the verifier key for {name!r} has a key ID that does not match it")
        return verifier

    def _ed25519(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.public)

    def verify(self, text: str, signature: bytes) -> int | None:
        """Check ``signature`` (without its key ID) over note ``text``.

        Returns ``None`` when it does not verify; for an Ed25519 note signature
        ``0``, for a cosignature its timestamp.
        """
        try:
            if self.kind is SignatureType.ED25519:
                if len(signature) != 64:
                    return None
                self._ed25519().verify(signature, text.encode())
                return 0
            if len(signature) != 72:
                return None
            timestamp: int = struct.unpack(">Q", signature[:8])[0]
            if timestamp >= 1 << 63:
                return None
            self._ed25519().verify(signature[8:], cosigned_message(text, timestamp))
            return timestamp
        except InvalidSignature:
            return None


def cosigned_message(text: str, timestamp: int) -> bytes:
    """What a ``cosignature/v1`` signs: header, time line, then the checkpoint text."""
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


@dataclass(frozen=True)
class Signer:
    """A private Ed25519 key that signs notes (type 0x01) or cosigns checkpoints (0x04)."""

    name: str
    kind: SignatureType
    seed: bytes

    @classmethod
    def generate(cls, name: str, kind: SignatureType = SignatureType.ED25519) -> Signer:
        key = Ed25519PrivateKey.generate()
        seed = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return cls(_check_name(name), kind, seed)

    @classmethod
    def parse(cls, text: str) -> Signer:
        """Read a private key (``PRIVATE+KEY+name+hex+base64``); raise :class:`NoteError`."""
        text = text.strip()
        if not text.startswith(_PRIVATE_PREFIX):
            raise NoteError("not a private key file (expected PRIVATE+KEY+NAME+KEYID+BASE64)")
        parts = text[len(_PRIVATE_PREFIX) :].split("+", 2)
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
            raise NoteError("not a private key file (expected PRIVATE+KEY+NAME+KEYID+BASE64)")
        name, id_text, data = parts
        _check_name(name)
        raw = _b64decode(data, "the private key")
        if len(raw) != 33 or raw[0] not in (SignatureType.ED25519, SignatureType.COSIGNATURE_V1):
            raise NoteError("the private key is not an Ed25519 key (type 0x01 or 0x04)")
        signer = cls(name, SignatureType(raw[0]), raw[1:])
        if signer.verifier().key_id != int(id_text, 16):
            raise NoteError("the private key's key ID does not match the key")
        return signer

    @property
    def text(self) -> str:
        """The private key file's content (a secret: never logged)."""
        data = base64.b64encode(bytes([self.kind]) + self.seed).decode()
        return f"{_PRIVATE_PREFIX}{self.name}+{self.verifier().key_id:08x}+{data}"

    def _key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    def verifier(self) -> Verifier:
        return Verifier(self.name, self.kind, _raw_public(self._key().public_key()))

    def signature_line(self, text: str, timestamp: int | None = None) -> str:
        """The note signature line for ``text`` (a cosignature needs ``timestamp``)."""
        if self.kind is SignatureType.ED25519:
            raw = self._key().sign(text.encode())
        else:
            if timestamp is None or not 0 <= timestamp < 1 << 63:
                raise ValueError("a cosignature needs a POSIX timestamp")
            raw = struct.pack(">Q", timestamp) + self._key().sign(cosigned_message(text, timestamp))
        sig = struct.pack(">I", self.verifier().key_id) + raw
        return f"{_DASH}{self.name} {base64.b64encode(sig).decode()}\n"

    def __repr__(self) -> str:  # never the seed
        return f"Signer(name={self.name!r}, kind={self.kind.name})"


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a note."""

    name: str
    key_id: int
    signature: bytes
    line: str


@dataclass(frozen=True)
class Note:
    """A note split into its text and signature lines (nothing verified yet)."""

    text: str
    signatures: tuple[NoteSignature, ...]

    @classmethod
    def parse(cls, data: str | bytes, *, allow_unsigned: bool = False) -> Note:
        """Split a signed note; raise :class:`NoteError` when it is malformed.

        With ``allow_unsigned``, text without any signature (an unsigned
        checkpoint, which this log writes when it has no key) is accepted too.
        """
        if isinstance(data, bytes):
            if len(data) > MAX_NOTE_BYTES:
                raise NoteError(f"the note is over {MAX_NOTE_BYTES} bytes")
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError:
                raise NoteError("the note is not UTF-8") from None
        if len(data) > MAX_NOTE_BYTES:
            raise NoteError(f"the note is over {MAX_NOTE_BYTES} bytes")
        if _CONTROL.search(data):
            raise NoteError("the note holds control characters")
        if not data.endswith("\n"):
            raise NoteError("the note does not end with a newline")
        at = data.rfind("\n\n")
        if at < 0:
            if allow_unsigned:
                return cls(data, ())
            raise NoteError("the note has no signatures (no blank line before signature lines)")
        text, block = data[: at + 1], data[at + 2 :]
        lines = block.split("\n")[:-1]
        if not lines:
            if allow_unsigned:
                return cls(text, ())
            raise NoteError("the note has no signature lines")
        if len(lines) > MAX_SIGNATURES:
            raise NoteError(f"the note has more than {MAX_SIGNATURES} signatures")
        signatures = []
        for line in lines:
            if not line.startswith(_DASH):
                raise NoteError(f"{line[:60]!r} is not a signature line")
            name, sep, data64 = line[len(_DASH) :].partition(" ")
            if not sep or not name or _NAME_BAD.search(name):
                raise NoteError(f"{line[:60]!r} is not a signature line")
            raw = _b64decode(data64, "a signature")
            if base64.b64encode(raw).decode() != data64:  # one spelling per signature
                raise NoteError("a signature is not canonical base64")
            if len(raw) < 5:
                raise NoteError("a signature is too short")
            key = int.from_bytes(raw[:4], "big")
            signatures.append(NoteSignature(name, key, raw[4:], line + "\n"))
        return cls(text, tuple(signatures))

    def verified_by(self, verifiers: list[Verifier]) -> dict[str, int]:
        """``{key name: timestamp}`` of the known keys whose signature verifies.

        Signatures from unknown keys are ignored (signed-note). A signature that
        matches a known key's name and ID but does not verify raises
        :class:`NoteError`: the whole note is rejected.
        """
        known = {(v.name, v.key_id): v for v in verifiers}
        good: dict[str, int] = {}
        for sig in self.signatures:
            verifier = known.get((sig.name, sig.key_id))
            if verifier is None:
                continue
            stamp = verifier.verify(self.text, sig.signature)
            if stamp is None:
                raise NoteError(
                    f"the signature of {sig.name} does not verify: the note was altered"
                )
            good[sig.name] = stamp
        return good

    def render(self) -> str:
        if not self.signatures:
            return self.text
        return self.text + "\n" + "".join(s.line for s in self.signatures)


@dataclass(frozen=True)
class TreeHead:
    """The body of a C2SP checkpoint: origin, tree size and root hash."""

    origin: str
    size: int
    root: bytes

    @property
    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> TreeHead:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
            raise NoteError("a checkpoint needs origin, size and root hash lines")
        origin, size_text, root_text = lines[0], lines[1], lines[2]
        if not re.fullmatch(r"0|[1-9][0-9]{0,18}", size_text):
            raise NoteError(f"{size_text[:30]!r} is not a checkpoint tree size")
        root = _b64decode(root_text, "the checkpoint root hash")
        if len(root) != 32:
            raise NoteError("the checkpoint root hash is not 32 bytes")
        if base64.b64encode(root).decode() != root_text:
            raise NoteError("the checkpoint root hash is not canonical base64")
        return cls(origin, int(size_text), root)


def make_checkpoint(head: TreeHead, signer: Signer | None) -> str:
    """The checkpoint note: signed when there is a key, else its bare text."""
    if signer is None:
        return head.text
    return head.text + "\n" + signer.signature_line(head.text)
