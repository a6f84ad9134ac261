"""C2SP signed notes, keys and cosignatures, against the reference implementation's vector."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest

from crawler_compliance.audit._note import (
    Note,
    NoteError,
    SignatureType,
    Signer,
    TreeHead,
    Verifier,
    cosigned_message,
    key_id,
    make_checkpoint,
)

# The signed-note test vector of golang.org/x/mod/sumdb/note (note_test.go).
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIG = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXg"
    "KvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_the_reference_vector_signs_and_verifies_byte_for_byte():
    verifier, signer = Verifier.parse(GO_VKEY), Signer.parse(GO_SKEY)
    assert signer.verifier() == verifier and verifier.text == GO_VKEY and signer.text == GO_SKEY
    assert (
        verifier.key_id
        == 0xC74F20A3
        == key_id("PeterNeumann", SignatureType.ED25519, verifier.public)
    )
    assert signer.signature_line(GO_TEXT) == GO_SIG  # Ed25519 is deterministic
    note = Note.parse(GO_TEXT + "\n" + GO_SIG)
    assert note.text == GO_TEXT and note.verified_by([verifier]) == {"PeterNeumann": 0}


def test_key_id_is_the_spec_hash():
    public = Verifier.parse(GO_VKEY).public
    digest = hashlib.sha256(b"PeterNeumann\n\x01" + public).digest()
    assert key_id("PeterNeumann", SignatureType.ED25519, public) == int.from_bytes(
        digest[:4], "big"
    )


def test_unknown_keys_are_ignored_and_a_bad_known_signature_rejects_the_note():
    verifier = Verifier.parse(GO_VKEY)
    other = Signer.generate("someone.example/k")
    note = Note.parse(GO_TEXT + "\n" + other.signature_line(GO_TEXT) + GO_SIG)
    assert note.verified_by([verifier]) == {"PeterNeumann": 0}
    assert note.verified_by([Signer.generate("x.example/y").verifier()]) == {}
    tampered = Note.parse(GO_TEXT.replace("answer", "Answer") + "\n" + GO_SIG)
    with pytest.raises(NoteError, match="does not verify"):
        tampered.verified_by([verifier])


@pytest.mark.parametrize(
    "text",
    [
        GO_TEXT + "\n",  # no signature lines
        GO_TEXT + "\n" + GO_SIG.replace("\u2014", "-"),
        GO_TEXT + "\n" + GO_SIG.replace("AM=", "AN="),  # non-canonical base64
        GO_TEXT + "\n" + GO_SIG.replace("x08go", "x08g!"),
        GO_TEXT.replace("then", "\x1bthen") + "\n" + GO_SIG,
        GO_TEXT.rstrip("\n") + "\n" + GO_SIG.rstrip("\n"),
        GO_TEXT + "\n" + GO_SIG * 65,
    ],
)
def test_malformed_notes_are_refused(text):
    with pytest.raises(NoteError):
        Note.parse(text)


def test_bad_keys_are_refused():
    for text in [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong key ID
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # type 0x02
        "PeterNeumann",
    ]:
        with pytest.raises(NoteError):
            Verifier.parse(text)
    with pytest.raises(NoteError):
        Signer.parse(GO_VKEY)
    assert "AYEK" not in repr(Signer.parse(GO_SKEY))  # the secret never in a repr


def test_cosignature_is_timestamp_and_signature_over_the_spec_message():
    witness = Signer.generate("witness.example/w1", SignatureType.COSIGNATURE_V1)
    head = TreeHead("example.com/behind-the-sofa", 20852163, bytes(range(32)))
    log = Signer.generate("example.com/behind-the-sofa")
    note = make_checkpoint(head, log)
    line = witness.signature_line(head.text, 1679315147)
    raw = base64.b64decode(line.split(" ")[2])
    assert struct.unpack(">IQ", raw[:12]) == (witness.verifier().key_id, 1679315147)
    assert len(raw) == 4 + 8 + 64
    assert cosigned_message(head.text, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\n"
        b"example.com/behind-the-sofa\n20852163\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
    )
    both = Note.parse(note + line)
    assert both.verified_by([log.verifier(), witness.verifier()]) == {
        "example.com/behind-the-sofa": 0,
        "witness.example/w1": 1679315147,
    }
    assert TreeHead.parse(both.text) == head


@pytest.mark.parametrize(
    "body",
    ["o\n01\n" + "A" * 43 + "=\n", "o\n5\nAAAA\n", "o\n5\n", "\n5\n" + "A" * 43 + "=\n"],
)
def test_malformed_checkpoints_are_refused(body):
    with pytest.raises(NoteError):
        TreeHead.parse(body)
