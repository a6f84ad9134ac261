"""Domain names, brand labels and IP networks as policy files write them.

Shared by the models (validation, with plain-words errors) and the registry
(matching). Hosts are compared in the form Scrapy's downloader connects to:
lower-case ASCII, internationalised names encoded with NFKC + Python's ``idna``
codec (IDNA 2003), exactly what w3lib's ``safe_url_string`` does, so a policy
entry written in Unicode matches the request Scrapy actually sends.

The public suffix list comes from tldextract's bundled snapshot; nothing is
downloaded and nothing is written to a cache directory.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import unicodedata
from pathlib import Path
from typing import Any

import requests
import tldextract
from requests_file import FileAdapter

_LABEL_CHARS = re.compile(r"[a-z0-9_-]+")
_BAD_CHAR = re.compile(r"[^a-z0-9_-]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


class _ClosingFileAdapter(FileAdapter):
    """requests-file's adapter, but the file is read and closed at once.

    tldextract reads ``response.text`` and never closes the response, which
    with the stock adapter leaks the open file (a ``ResourceWarning``).
    """

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        response: requests.Response = super().send(request, *args, **kwargs)
        raw = response.raw
        if raw is not None:
            try:
                response._content = raw.read()
            finally:
                raw.close()
        return response


def make_extractor(suffix_list_file: str | None = None) -> tldextract.TLDExtract:
    """An offline :class:`tldextract.TLDExtract`.

    Without ``suffix_list_file`` it uses the snapshot bundled with tldextract.
    With one, it reads that local public suffix list file (through tldextract's
    own ``file://`` support) and never falls back silently: an unreadable file
    is an error at construction, not a silent downgrade.
    """
    if suffix_list_file is None:
        extractor = tldextract.TLDExtract(
            cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True
        )
    else:
        path = Path(suffix_list_file)
        if not path.is_file():
            raise ValueError(f"public suffix list file {suffix_list_file!r} does not exist")
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise ValueError(
                f"public suffix list file {suffix_list_file!r} cannot be read: {exc}"
            ) from None
        # A cut-off list would silently narrow brand matching (fail open):
        # require the whole ICANN section, as publicsuffix.org publishes it.
        if b"===END ICANN DOMAINS===" not in text:
            raise ValueError(
                f"public suffix list file {suffix_list_file!r} is incomplete: it lacks the "
                "'===END ICANN DOMAINS===' line of publicsuffix.org's list"
            )
        extractor = tldextract.TLDExtract(
            cache_dir=None,
            suffix_list_urls=(path.resolve().as_uri(),),
            fallback_to_snapshot=False,
        )
    session = requests.Session()
    session.mount("file://", _ClosingFileAdapter())
    try:
        with session:
            # Load the list now, not on the first request; later calls reuse it.
            extractor.extract_str("example.com", session=session)
    except Exception as exc:
        raise ValueError(
            f"public suffix list {suffix_list_file!r} cannot be loaded: {exc}"
        ) from exc
    return extractor


@functools.lru_cache(maxsize=1)
def default_extractor() -> tldextract.TLDExtract:
    """The shared offline extractor over tldextract's bundled suffix list."""
    return make_extractor(None)


def describe(value: Any) -> str:
    """Name a YAML value's kind in plain words, for error messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{'true' if value else 'false'} (a yes/no value)"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def to_ascii(text: str) -> str:
    """Lower-case ASCII form of a host name, encoding Unicode as Scrapy (w3lib) does."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKC", text).encode("idna").decode("ascii").lower()


def normalize_domain(value: Any) -> str:
    """Validate a domain name and return its lower-case ASCII (IDNA) form.

    Raises ``ValueError`` with a plain-words reason for anything that is not a
    registrable-or-deeper domain name: spaces, schemes, paths, ports, wildcards,
    IP addresses, empty or over-long labels, hyphens at a label's edge, a single
    label, or a bare public suffix such as ``com`` or ``co.uk``.
    """
    if not isinstance(value, str):
        raise ValueError(f"expected a domain name, found {describe(value)}")
    shown = repr(value)

    def bad(reason: str) -> ValueError:
        return ValueError(f"{shown} is not a domain name ({reason})")

    if not value:
        raise ValueError("an empty text is not a domain name")
    if _SCHEME.match(value):
        scheme = value.split("://", 1)[0]
        raise bad(f"write the host only, without '{scheme}://'")
    if any(ch.isspace() for ch in value):
        raise bad("it contains a space")
    if any(ch in value for ch in "/?#"):
        raise bad("write the host only, without a path")
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        pass
    else:
        raise ValueError(f"{shown} is an IP address; list it under 'addresses'")
    if "@" in value or ":" in value:
        raise bad("write the host only, without a port or user name")
    if value.startswith("*."):
        raise bad(f"drop the '*.'; a domain already covers every host under it: {value[2:]!r}")
    text = value[:-1] if value.endswith(".") else value
    try:
        ascii_name = to_ascii(text)
    except UnicodeError:
        raise bad("it cannot be encoded as an internationalised domain name") from None
    labels = ascii_name.split(".")
    for label in labels:
        if not label:
            raise bad("it has an empty label: two dots in a row, or a leading dot")
        if len(label) > 63:
            raise bad(f"the label {label[:20]!r}... is longer than 63 characters")
        if not _LABEL_CHARS.fullmatch(label):
            char = _BAD_CHAR.search(label)
            raise bad(f"{char.group() if char else label!r} is not allowed in a domain name")
        if label.startswith("-") or label.endswith("-"):
            raise bad(f"the label {label!r} starts or ends with a hyphen")
    if len(ascii_name) > 253:
        raise bad("it is longer than 253 characters")
    if labels[-1].isdigit():
        raise bad("the last label is a number")
    parts = default_extractor()(ascii_name)
    if not parts.domain and parts.suffix:
        raise ValueError(
            f"{shown} is a public suffix; listing it would cover every site registered "
            "under it (list the issuer's own domains instead)"
        )
    if len(labels) < 2:
        raise ValueError(
            f"{shown} is a single label; write a full domain name such as 'example.com'"
        )
    return ascii_name


def normalize_brand(value: Any) -> str:
    """Validate a brand label (``google``) and return its lower-case ASCII form."""
    if not isinstance(value, str):
        raise ValueError(f"expected a brand label, found {describe(value)}")
    shown = repr(value)
    if "." in value:
        raise ValueError(
            f"{shown} is not a brand: a brand is one label such as 'google', matched under "
            "every public suffix (list full names under 'domains')"
        )
    try:
        label = to_ascii(value)
    except UnicodeError:
        raise ValueError(
            f"{shown} is not a brand (it cannot be encoded as an internationalised label)"
        ) from None
    if not label or len(label) > 63 or not _LABEL_CHARS.fullmatch(label):
        raise ValueError(
            f"{shown} is not a brand: use one label of letters, digits and hyphens, "
            "such as 'google'"
        )
    if label.startswith("-") or label.endswith("-"):
        raise ValueError(f"{shown} is not a brand: it starts or ends with a hyphen")
    if len(label) < MIN_BRAND_LENGTH:
        raise ValueError(
            f"{shown} is too short to be a brand (at least {MIN_BRAND_LENGTH} characters); "
            "list the issuer's own domains instead"
        )
    if label in _GENERIC_HOST_LABELS:
        raise ValueError(
            f"{shown} is not a brand but a generic host name label (list the issuer's own "
            "domains instead)"
        )
    examples = _registry_words().get(label)
    if examples:
        raise ValueError(
            f"{shown} is not a brand but a word registries use in public suffixes "
            f"({', '.join(examples)}, ...); it would match sites of unrelated owners "
            "(list the issuer's own brand, such as 'google')"
        )
    return label


MIN_BRAND_LENGTH = 2  # 'hp', 'ge' and 'bt' are brands; 'a' is not
_GENERIC_HOST_LABELS = frozenset({"www", "mail", "api", "cdn", "static", "localhost", "login"})
# A label that is the first of a two-label ICANN public suffix under at least this many
# top-level domains (com.au, com.br, ...; co.uk, co.jp, ...) is a registry word, not a brand.
# Brand top-level domains (google, microsoft) are not refused: they are the brands.
_REGISTRY_WORD_MIN_TLDS = 3


@functools.lru_cache(maxsize=1)
def _registry_words() -> dict[str, tuple[str, ...]]:
    """Registry words (``com``, ``co``, ``gov``...) with two example public suffixes."""
    suffixes: dict[str, list[str]] = {}
    tlds = default_extractor()._get_tld_extractor().tlds_excl_private
    for suffix in tlds:
        labels = suffix.split(".")
        if len(labels) == 2 and labels[0] != "*":
            try:
                word = to_ascii(labels[0])
            except UnicodeError:
                continue
            suffixes.setdefault(word, []).append(suffix)

    def familiar(suffix: str) -> tuple[int, str]:
        tld = suffix.rsplit(".", 1)[-1]
        return (_FAMILIAR_TLDS.index(tld) if tld in _FAMILIAR_TLDS else 99, suffix)

    return {
        word: tuple(sorted(found, key=familiar)[:2])
        for word, found in suffixes.items()
        if len(found) >= _REGISTRY_WORD_MIN_TLDS
    }


_FAMILIAR_TLDS = ("uk", "au", "jp", "br", "in", "fr", "de", "cn")


MIN_PREFIX_IPV4 = 8  # a /8 is 16.7 million addresses, the largest block ever assigned
MIN_PREFIX_IPV6 = 16


def normalize_network(value: Any) -> str:
    """Validate an IP address or CIDR network; return its canonical text."""
    if not isinstance(value, str):
        raise ValueError(f"expected an IP address or network, found {describe(value)}")
    text = value.strip("[]")
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        if "host bits set" in str(exc):
            loose = ipaddress.ip_network(text, strict=False)
            raise ValueError(
                f"{value!r} has host bits set; write the network address, e.g. '{loose}'"
            ) from None
        raise ValueError(
            f"{value!r} is not an IP address or network (write e.g. '192.0.2.1', "
            "'192.0.2.0/24' or '2001:db8::/32')"
        ) from None
    widest = MIN_PREFIX_IPV4 if network.version == 4 else MIN_PREFIX_IPV6
    if network.prefixlen < widest:
        count = (
            f"{network.num_addresses:,}"
            if network.version == 4
            else f"2^{network.max_prefixlen - network.prefixlen}"
        )
        raise ValueError(
            f"{value!r} is too broad: it covers {count} addresses (the widest IPv"
            f"{network.version} network accepted is a /{widest}); list the notice's own networks"
        )
    if network.num_addresses == 1:
        return str(network.network_address)
    return str(network)
