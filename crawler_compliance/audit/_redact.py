"""Keep credentials out of the audit log.

The log names every site a crawler touched, so it must not also hand out the
keys to them. Before a record is written:

- **userinfo** (``https://user:pass@host/``) is replaced by ``REDACTED``
  (``https://REDACTED@host/``): the user name alone is often an API key. The
  same goes for the shapes browsers and URL parsers repair (leading or
  trailing blanks, ``https:/u:p@h``, ``https:u:p@h``, ``//u:p@h``,
  ``https:\\\\u:p@h``): anything before the last ``@`` of the authority;
- **query parameters** whose name is in the redact list — compared
  case-insensitively after percent-decoding (and cut at a NUL), either the
  whole name or its last part separated by anything but letters and digits,
  so ``access_token``, ``X-Amz-Signature`` and ``user[password]`` are all
  caught by ``token``, ``signature`` and ``password`` — have their value
  replaced by ``REDACTED-<12 hex>``; ``&`` and ``;`` both separate parameters;
- the same applies to ``;name=value`` path parameters (``;jsessionid=…``), to
  a fragment written as a query (OAuth's ``#access_token=…``) and to the
  query of a single-page-app route in the fragment (``#/cb?token=…``);
- URLs inside reason texts (a robots.txt URL, a message) get the same treatment;
  a URL in text runs from its scheme to the next whitespace (a quote does not
  end it: ``'`` is a legal URL character, and stopping there once let the
  query after it through).

Redaction is *structural*: the core redacts each URL before it builds a
message from it (``ComplianceChecker(redactor=...)``), the writer redacts the
``url`` field and, as a second line of defence, any URL left in a text.
Redacting twice changes nothing (a ``REDACTED-…`` value is kept), so both may
run. Every step is linear in the input's length: hostile redirect chains and
megabyte URLs cost milliseconds, not seconds. :func:`safe_for_log` is the same
redaction for log lines, with control characters escaped.

The 12 hex digits are a digest of the value, so one URL still groups with
itself across records, files and runs. Without a key the digest is a plain
(domain-separated) SHA-256: a long random token cannot be recovered from it,
but a short or guessable value (a password, a PIN) can be found by trying
candidates. Passing ``key`` (``AuditLog(redact_key=...)``), kept away from the
log, turns the digest into an HMAC nobody holding only the log can test
guesses against, while keeping tokens stable for as long as the key is.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

DEFAULT_REDACT_PARAMS: frozenset[str] = frozenset(
    {
        "access_token",
        "api_key",
        "apikey",
        "auth",
        "authorization",
        "client_secret",
        "code",  # OAuth authorization codes
        "code_verifier",
        "credential",
        "credentials",
        "id_token",
        "jsessionid",
        "key",
        "pass",
        "passwd",
        "password",
        "phpsessid",
        "pwd",
        "refresh_token",
        "secret",
        "session",
        "sessionid",
        "sid",
        "sig",
        "signature",
        "token",
        "x-amz-credential",
        "x-amz-security-token",
        "x-amz-signature",
        "x-goog-credential",
        "x-goog-signature",
    }
)
"""Query-parameter names redacted by default (see the module docstring for matching)."""

REDACTED = "REDACTED"
_DOMAIN = b"crawler-compliance/redact/v1\x00"
_NAME_PARTS = re.compile(r"[^a-z0-9]+")
# Where the authority starts: a special scheme followed by any run of slashes
# or backslashes, none included (parsers repair "https:/h", "https:h",
# "https:\\h"); any other scheme followed by two; or a bare "//". It runs to
# the path, query or fragment. Tabs and newlines are tolerated, as browsers
# drop them.
_AUTHORITY = re.compile(
    r"""(?:
        (?i:h[\t\r\n]*t[\t\r\n]*t[\t\r\n]*p[\t\r\n]*s?|wss?|ftp|file)[\t\r\n]*:[/\\\t\r\n]*
      | [A-Za-z][A-Za-z0-9+.\-\t\r\n]*:[\t\r\n]*[/\\][\t\r\n]*[/\\][/\\\t\r\n]*
      | [/\\][\t\r\n]*[/\\][/\\\t\r\n]*
    )([^/?#]*)""",
    re.VERBOSE,
)
_BLANKS = " \t\r\n\x0b\x0c"  # what canonicalisation strips from both ends
_QUERY_SEPARATORS = re.compile(r"([&;])")
_PATH_PARAM = re.compile(r";([^/;=?#]+)=([^/;?#]*)")
_WHITESPACE = re.compile(r"\s")
_SCHEME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+.-")
_MAX_SCHEME = 64  # a scheme is short; a longer run of letters is text before it
_ALREADY = re.compile(r"REDACTED(?:-[0-9a-f]{12})?")
_MAX_NAME_DECODES = 8  # "%2574oken" is "token" to a chain of decoders
# Characters a log line must not carry raw: C0/C1 controls (newlines forge
# records, ESC drives terminals), and the line and paragraph separators.
_UNSAFE_FOR_LOG = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_MAX_CACHED_NAMES = 4096
_MAX_CACHED_TEXTS = 1024


class Redactor:
    """Redaction for one log: the parameter list and key, with a per-name cache."""

    __slots__ = ("_params", "_key", "_cache", "_texts", "_queries")

    def __init__(
        self, params: Iterable[str] = DEFAULT_REDACT_PARAMS, key: bytes | None = None
    ) -> None:
        if isinstance(params, str):
            raise TypeError("redact params must be a collection of names, not one string")
        self._params = frozenset(p.strip().lower() for p in params if p.strip())
        self._key = key
        self._cache: dict[str, bool] = {}
        # Reason texts repeat (one robots.txt URL per host): remember recent ones.
        self._texts: dict[str, str] = {}
        self._queries: dict[str, str] = {}

    def is_secret(self, name: str) -> bool:
        cached = self._cache.get(name)
        if cached is None:
            lowered = name
            for _ in range(_MAX_NAME_DECODES):
                if "%" not in lowered:
                    break
                lowered = unquote(lowered)
            # Fullwidth and other compatibility forms name the same parameter.
            lowered = unicodedata.normalize("NFKC", lowered.partition("\x00")[0]).strip().lower()
            parts = [p for p in _NAME_PARTS.split(lowered) if p]
            cached = lowered in self._params or (bool(parts) and parts[-1] in self._params)
            if len(self._cache) < _MAX_CACHED_NAMES:
                self._cache[name] = cached
        return cached

    def token(self, value: str) -> str:
        data = value.encode("utf-8", "surrogatepass")
        if self._key is None:
            digest = hashlib.sha256(_DOMAIN + data).hexdigest()
        else:
            digest = hmac.new(self._key, data, hashlib.sha256).hexdigest()
        return f"{REDACTED}-{digest[:12]}"

    def url(self, url: str) -> str:
        """The URL with credentials replaced; everything else byte for byte."""
        if "@" not in url and "#" not in url and ";" not in url:
            # Fast paths: nothing that could hold a credential, or only a query
            # (a crawl's usual URL): the same as the general case below.
            if "?" not in url:
                return url
            if url[0] not in _BLANKS and url[-1] not in _BLANKS:
                rest, _, query = url.partition("?")
                redacted = self._queries.get(query)  # _query's memo, read in line
                if redacted is None:
                    redacted = self._query(query)
                return url if redacted == query else f"{rest}?{redacted}"
        core = url.strip(_BLANKS)
        if len(core) != len(url):  # keep the blanks, redact what they surround
            start = len(url) - len(url.lstrip(_BLANKS))
            return f"{url[:start]}{self.url(core)}{url[start + len(core) :]}"
        rest, hash_sign, fragment = url.partition("#")
        rest, question, query = rest.partition("?")
        if "@" in rest:
            match = _AUTHORITY.match(rest)
            if match and "@" in match.group(1):
                # The last '@' ends the userinfo (as urllib and browsers split it).
                host = match.group(1).rpartition("@")[2]
                rest = f"{rest[: match.start(1)]}{REDACTED}@{host}{rest[match.end(1) :]}"
        if ";" in rest:
            rest = _PATH_PARAM.sub(self._path_param, rest)
        if query:
            query = self._query(query)
        if fragment and "=" in fragment:
            # "#access_token=..." (OAuth) or "#/route?token=..." (single-page apps).
            route, mark, route_query = fragment.partition("?")
            if mark:
                fragment = f"{self._query(route)}?{self._query(route_query)}"
            else:
                fragment = self._query(fragment)
        return f"{rest}{question}{query}{hash_sign}{fragment}"

    def _path_param(self, match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2)
        if value and self.is_secret(name) and not _ALREADY.fullmatch(value):
            return f";{name}={self.token(value)}"
        return match.group(0)

    def _query(self, query: str) -> str:
        if "=" not in query:
            return query
        # Queries repeat across a crawl (?page=2): each is worked out once.
        return _remembered(self._queries, query, self._redact_query)

    def _redact_query(self, query: str) -> str:
        # Both '&' and ';' separate parameters (servers accept either).
        pieces = _QUERY_SEPARATORS.split(query) if ";" in query else query.split("&")
        changed = False
        for i, piece in enumerate(pieces):
            name, eq, value = piece.partition("=")
            if eq and value and self.is_secret(name) and not _ALREADY.fullmatch(value):
                pieces[i] = f"{name}={self.token(value)}"
                changed = True
        if not changed:
            return query
        return "".join(pieces) if ";" in query else "&".join(pieces)

    def text(self, text: str) -> str:
        """Redact every URL found inside free text, in one forward pass."""
        if "://" not in text:
            return text
        return _remembered(self._texts, text, self._scan)

    def _scan(self, text: str) -> str:
        # Each "://" starts a URL: its scheme is the run of scheme characters
        # before it (at most _MAX_SCHEME, never before the previous URL's end),
        # and it ends at the next whitespace. Every character is looked at a
        # bounded number of times, so the cost is linear in the text.
        out: list[str] = []
        done = 0
        find = text.find
        mark = find("://")
        while mark >= 0:
            start = mark
            floor = max(done, mark - _MAX_SCHEME)
            while start > floor and text[start - 1] in _SCHEME_CHARS:
                start -= 1
            while start < mark and not text[start].isalpha():
                start += 1
            if start == mark:
                start = mark + 1  # no scheme: redact it as "//authority..."
            found = _WHITESPACE.search(text, mark + 3)
            end = found.start() if found else len(text)
            out.append(text[done:start])
            out.append(self.url(text[start:end]))
            done = end
            mark = find("://", end)
        out.append(text[done:])
        return "".join(out)

    def reason(self, data: dict[str, Any]) -> dict[str, Any]:
        """Redact URLs in a fresh ``Reason.to_dict()`` in place (the hot path)."""
        for key, value in data.items():
            if isinstance(value, str):
                if type(value) is not str:  # a str subclass: its text, as JSON writes it
                    value = data[key] = str.__str__(value)
                if "://" in value:
                    data[key] = self.text(value)
            elif isinstance(value, (dict, list, tuple)):
                data[key] = self.value(value)
        return data

    def value(self, value: Any) -> Any:
        """Redact URLs in a JSON-like value (strings, lists, dicts), recursively."""
        if isinstance(value, str):
            return self.text(str.__str__(value))
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        return value


def _remembered(cache: dict[str, str], text: str, work: Callable[[str], str]) -> str:
    """``work(text)``, kept in *cache* (cleared when full: bounded memory)."""
    done = cache.get(text)
    if done is None:
        done = work(text)
        if len(cache) >= _MAX_CACHED_TEXTS:
            cache.clear()
        cache[text] = done
    return done


def redact_url(
    url: str, params: Iterable[str] = DEFAULT_REDACT_PARAMS, *, key: bytes | None = None
) -> str:
    """Return ``url`` with userinfo and secret-looking parameters redacted.

    ``https://bob:hunter2@example.com/a?q=1&token=abc`` becomes
    ``https://REDACTED@example.com/a?q=1&token=REDACTED-<12 hex digits>``,
    the digits depending only on the value (and ``key``).
    """
    return Redactor(params, key).url(url)


def safe_for_log(url: str, redactor: Redactor | None = None) -> str:
    """*url* fit for a log line: redacted, and with control characters escaped.

    Use the audit log's redactor (``AuditLog.redactor``) so log lines and
    records show the same tokens. Newlines, ``ESC`` and other controls are
    written as ``\\xNN`` / ``\\uNNNN``: a URL cannot start a forged log line or
    drive a terminal. Linear in the length of *url*.
    """
    redacted = (redactor or _DEFAULT).url(url)
    if not _UNSAFE_FOR_LOG.search(redacted):
        return redacted
    return _UNSAFE_FOR_LOG.sub(_escape_char, redacted)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_DEFAULT = Redactor()
