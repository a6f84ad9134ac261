"""The three kinds of policy file as pydantic models.

Every model forbids unknown keys (a misspelt key must never be silently
ignored) and is frozen. Field descriptions are the JSON Schema documentation
editors show on hover, so they are written for the legal teams who edit the
files.

Where a model was loaded from a file, :attr:`PolicyModel.source` says where
(``SourceRef(path, line)``); it is kept in a pydantic private attribute, so it is
not part of the data, the schema or equality.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)

from crawler_compliance._domains import (
    describe,
    normalize_brand,
    normalize_domain,
    normalize_network,
)
from crawler_compliance.audit import DEFAULT_REDACT_PARAMS

__all__ = [
    "notice_cross_field_errors",
    "AuditConfig",
    "Block",
    "CrawlerConfig",
    "FieldError",
    "Issuer",
    "Notice",
    "Permission",
    "PolicyConfig",
    "PolicyModel",
    "Reference",
    "RobotsConfig",
    "Scope",
    "SignalOverride",
    "SiteRecord",
    "SourceRef",
    "Terms",
    "TermsConfig",
]

# The names of crawler_compliance._purpose.Purpose, spelt out so pydantic reports a
# misspelt purpose as "not one of ..." (a test keeps the two in step).
Purpose = Literal[
    "search-indexing", "ai-training", "ai-input", "research", "archiving", "monitoring", "other"
]
# The opt-out signals a permission may lift (crawler_compliance.signals.Signal values).
SignalName = Literal["content-signal", "content-usage", "tdmrep", "rsl", "robots-tag"]
TermsAction = Literal["deny", "allow", "warn"]

# The audit log's built-in list is the single source of truth; a policy can only add to it.
DEFAULT_REDACT_QUERY_PARAMS: tuple[str, ...] = tuple(sorted(DEFAULT_REDACT_PARAMS))

_SLUG = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class SourceRef:
    """Where a loaded record is defined: the file (as displayed in errors) and a 1-based line."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


class FieldError(ValueError):
    """A cross-field check failed; ``field`` names the field to point the error at."""

    def __init__(self, field: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.field = field


def _slug(value: Any) -> Any:
    if isinstance(value, str) and not _SLUG.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid id: use up to 100 lower-case letters, digits, '-', '_' "
            "and '.', starting with a letter or digit"
        )
    return value


def _date(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        raise ValueError(f"expected a date written YYYY-MM-DD, found a date and time ({value})")
    if isinstance(value, datetime.date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a date written YYYY-MM-DD, found {describe(value)}")
    if not _ISO_DATE.fullmatch(value):
        raise ValueError(f"{value!r} is not a date written YYYY-MM-DD")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid date ({exc})") from None


def _version(value: Any) -> Any:
    # Literal[1] alone would take true (== 1) and 1.0; YAML 1.2 keeps them apart.
    if type(value) is not int:
        raise ValueError(f"must be 1, found {describe(value)}")
    return value


def _product_token(value: Any) -> Any:
    if isinstance(value, str) and not re.fullmatch(r"[A-Za-z_-]+", value):
        raise ValueError(
            f"{value!r} is not a robots.txt product token (RFC 9309 §2.2.1 allows only "
            "letters, '_' and '-', e.g. 'ComplianceDemoBot')"
        )
    return value


def _url(value: Any) -> Any:
    if isinstance(value, str) and not re.match(r"https?://[^\s/]+", value):
        raise ValueError(f"{value!r} is not a web address starting with http:// or https://")
    return value


def _sha256(value: Any) -> Any:
    if isinstance(value, str):
        if not _SHA256.fullmatch(value):
            raise ValueError(f"{value!r} is not a SHA-256 hash (64 hexadecimal characters)")
        return value.lower()
    return value


def _snapshot(value: Any) -> Any:
    if isinstance(value, str):
        parts = value.split("/")
        if (
            value.startswith("/")
            or "\\" in value
            or ":" in value
            or any(part in ("", ".", "..") for part in parts)
        ):
            raise ValueError(
                f"{value!r} is not a relative path inside the policy directory "
                "(write it like terms/news-example.txt: '/' between names, no '..')"
            )
    return value


def _path(value: Any) -> Any:
    if isinstance(value, str) and not value.startswith("/"):
        raise ValueError(f"{value!r} is not a URL path; paths start with '/'")
    return value


Text = Annotated[str, StringConstraints(min_length=1)]
Slug = Annotated[str, BeforeValidator(_slug)]
Date = Annotated[datetime.date, BeforeValidator(_date)]
Url = Annotated[str, BeforeValidator(_url)]
Domain = Annotated[str, BeforeValidator(normalize_domain)]
Brand = Annotated[str, BeforeValidator(normalize_brand)]
Network = Annotated[str, BeforeValidator(normalize_network)]
ProductToken = Annotated[str, BeforeValidator(_product_token)]
UrlPath = Annotated[str, BeforeValidator(_path)]
Sha256 = Annotated[str, BeforeValidator(_sha256)]
SnapshotPath = Annotated[str, BeforeValidator(_snapshot)]
# YAML 1.2 semantics: only true/false are booleans, only unquoted numbers are numbers.
# pydantic's lax mode would read the text 'no' as false, true as 1 and '100' as 100.
# A seconds value may be written 60 or 60.0, never '60', true, .inf or .nan.
Seconds = Annotated[float, Strict()]


class PolicyModel(BaseModel):
    """Base of every policy model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    _source: SourceRef | None = PrivateAttr(default=None)
    _lines: dict[tuple[str | int, ...], int] = PrivateAttr(default_factory=dict)

    @property
    def source(self) -> SourceRef:
        """Where this record was loaded from; ``SourceRef("<python>", 0)`` if built in code."""
        return self._source or SourceRef("<python>", 0)

    def line_of(self, *path: str | int) -> int:
        """The 1-based line of a field inside this record (``line_of("scopes", 0,
        "domains", 2)``), or the record's own line when unknown."""
        return self._lines.get(path, self.source.line)

    def _set_source(self, source: SourceRef, lines: dict[tuple[str | int, ...], int]) -> None:
        self._source = source
        self._lines = lines


# --- policy.yaml ------------------------------------------------------------------------


class CrawlerConfig(PolicyModel):
    """Who is crawling and why."""

    product_token: ProductToken = Field(
        description="The crawler's robots.txt product token (RFC 9309 §2.2.1): letters, '_' "
        "and '-' only, e.g. 'ComplianceDemoBot'. robots.txt groups are matched against it.",
    )
    purpose: Purpose = Field(
        description="The declared purpose of the crawl. Recorded with every decision; "
        "'ai-training' also honours AI opt-outs (see robots.ai_training_opt_out) and is "
        "checked against site permissions that are limited to some purposes.",
    )


class TermsConfig(PolicyModel):
    """What to do when a site's terms of service have not been cleared, and how the
    terms pages are watched."""

    unreviewed: TermsAction = Field(
        default="deny",
        description="When a site record has terms but no review verdict yet (or a review "
        "older than max_review_age): 'deny' (default), 'allow', or 'warn' (allow and record "
        "a warning).",
    )
    changed: TermsAction = Field(
        default="deny",
        description="When the terms text has changed since it was reviewed (its fingerprint "
        "no longer matches terms.sha256): 'deny' (default), 'allow' or 'warn'.",
    )
    on_unreachable: TermsAction = Field(
        default="deny",
        description="When the terms page of a watched site (a record with terms.url and "
        "terms.sha256) cannot be fetched or read (network error, error status, too large, "
        "not a page): 'deny' (default), 'allow' or 'warn'.",
    )
    refetch_interval: StrictInt = Field(
        default=86400,
        ge=60,
        description="How long a fetched terms page is trusted before it is fetched again, in "
        "seconds (default 86400, 24 hours; at least 60).",
    )
    max_review_age: StrictInt | None = Field(
        default=None,
        ge=1,
        description="A review older than this many days counts as unreviewed (terms.unreviewed "
        "applies); null (default) means reviews do not expire.",
    )
    discovery: Literal["off", "flag", "deny"] = Field(
        default="flag",
        description="Sites without a record: find their terms page in pages the crawl fetches "
        "anyway and look for clauses restricting automated access. 'off'; 'flag' (default): "
        "record the evidence in the audit log for legal's review queue; 'deny': also deny "
        "further requests to that registrable domain until legal records a review.",
    )


class RobotsConfig(PolicyModel):
    """robots.txt handling. The defaults fail closed."""

    on_unreachable: Literal["deny"] = Field(
        default="deny",
        description="When robots.txt cannot be fetched (network error, 5xx): always 'deny'. "
        "Failing closed is not negotiable (RFC 9309 §2.3.1.4); the key exists so the "
        "policy states it.",
    )
    on_429: Literal["deny", "allow"] = Field(
        default="deny",
        description="When the robots.txt fetch answers 429 Too Many Requests: 'deny' "
        "(default) or 'allow'.",
    )
    obey_crawl_delay: StrictBool = Field(
        default=True, description="Honour the Crawl-delay directive (default true)."
    )
    max_crawl_delay: Seconds = Field(
        default=60.0,
        ge=0,
        le=60,
        allow_inf_nan=False,
        description="Largest Crawl-delay honoured, in seconds (default and maximum 60, the "
        "engine's own cap); longer delays are capped to this.",
    )
    cache_ttl: StrictInt = Field(
        default=86400,
        gt=0,
        le=86400,
        description="How long a fetched robots.txt is used before it is fetched again, in "
        "seconds (default and maximum 86400, the 24 hours of RFC 9309 §2.4).",
    )
    max_stale: StrictInt = Field(
        default=30 * 86400,
        ge=0,
        description="How long the last good copy may still be used while robots.txt is "
        "unreachable, in seconds (default 30 days).",
    )
    ai_training_opt_out: StrictBool = Field(
        default=True,
        description="When the purpose is 'ai-training', honour Content-Signal / Content-Usage "
        "lines and robots.txt groups addressed to AI crawlers (default true).",
    )


class AuditConfig(PolicyModel):
    """The audit log written for every decision."""

    redact_query_params: list[Text] = Field(
        default_factory=lambda: list(DEFAULT_REDACT_QUERY_PARAMS),
        description="Query parameters whose values are replaced by a placeholder before a "
        "URL is written to the audit log. Added to the audit log's built-in list (the "
        "default: common secrets such as token, key, sig, session, password, access_token, "
        "api_key); listing a name here can only add redaction, never remove it.",
    )
    fsync_interval: Seconds = Field(
        default=1.0,
        ge=0,
        allow_inf_nan=False,
        description="Sync the audit log to disk at least this often, in seconds (default 1.0).",
    )
    fsync_every: StrictInt = Field(
        default=1000,
        ge=1,
        description="... and at least every this many records (default 1000).",
    )
    max_bytes: StrictInt | None = Field(
        default=100 * 1024 * 1024,
        gt=0,
        description="Rotate the audit log when it grows past this many bytes (default 100 MiB); "
        "null never rotates.",
    )


class PolicyConfig(PolicyModel):
    """``policy.yaml``: crawl-wide settings owned by legal."""

    version: Annotated[Literal[1], BeforeValidator(_version)] = Field(
        default=1, description="Format version of this file; 1."
    )
    crawler: CrawlerConfig = Field(description="Who is crawling and why (required).")
    terms: TermsConfig = Field(
        default_factory=TermsConfig, description="Handling of unreviewed or changed terms."
    )
    robots: RobotsConfig = Field(
        default_factory=RobotsConfig, description="robots.txt handling; fails closed by default."
    )
    audit: AuditConfig = Field(default_factory=AuditConfig, description="The audit log.")


# --- notices/*.yaml ---------------------------------------------------------------------


class Issuer(PolicyModel):
    """Who sent the notice."""

    name: Text = Field(description="The sender, e.g. 'LinkedIn Corporation'.")
    parent: Text | None = Field(
        default=None, description="The sender's parent company, e.g. 'Microsoft Corporation'."
    )


class Scope(PolicyModel):
    """One labelled part of what a notice covers."""

    label: Text = Field(description="A name for this part of the scope, e.g. 'YouTube'.")
    kind: Literal["named-service", "parent-company", "affiliate"] = Field(
        description="'named-service' for the service the letter names, 'parent-company' for "
        "the sender's parent's own domains, 'affiliate' for other companies of the group.",
    )
    domains: list[Domain] = Field(
        default_factory=list,
        description="Domain names; each covers itself and every host under it (youtube.com "
        "covers www.youtube.com and m.youtube.com, not notyoutube.com). Unicode names are "
        "accepted and matched in their IDNA form. A bare public suffix (com, co.uk) is refused.",
    )
    brands: list[Brand] = Field(
        default_factory=list,
        description="Brand labels matched under every public suffix: 'google' covers "
        "google.com, google.co.uk, google.com.au and the hosts under them, but not "
        "google.evil.example or google.blogspot.com (private suffixes do not count).",
    )
    addresses: list[Network] = Field(
        default_factory=list,
        description="IP addresses or CIDR networks (IPv4 or IPv6). Requests to an IP-literal "
        "host are matched only against these.",
    )

    @model_validator(mode="after")
    def _not_empty(self) -> Scope:
        if not (self.domains or self.brands or self.addresses):
            raise FieldError(
                ("domains",),
                "a scope must list at least one of 'domains', 'brands' or 'addresses'",
            )
        return self


class Reference(PolicyModel):
    """A document about the notice: the letter itself, a press report, a ticket."""

    title: Text = Field(description="Title of the document.")
    url: Url | None = Field(default=None, description="Where to find it (http or https).")
    date: Date | None = Field(default=None, description="Its date, YYYY-MM-DD.")


class Notice(PolicyModel):
    """``notices/*.yaml``: one cease-and-desist notice. An active notice denies every
    request to a host in its scope."""

    id: Slug = Field(
        description="Unique id, e.g. 'microsoft-linkedin-2020-02' (lower-case letters, digits, "
        "'-', '_', '.'). Appears in every decision the notice causes."
    )
    issuer: Issuer = Field(description="Who sent the notice: its name and parent company.")
    received: Date = Field(description="When the notice was received, YYYY-MM-DD.")
    effective: Date | None = Field(
        default=None,
        description="From when the notice applies, YYYY-MM-DD (default: the received date).",
    )
    expires: Date | None = Field(
        default=None,
        description="Last day the notice applies, YYYY-MM-DD (inclusive); null never expires.",
    )
    status: Literal["active", "withdrawn", "superseded"] = Field(
        description="'active' denies; 'withdrawn' and 'superseded' are kept for the record "
        "and deny nothing."
    )
    superseded_by: Slug | None = Field(
        default=None,
        description="The id of the notice that replaces this one (required when status is "
        "'superseded').",
    )
    demands: list[
        Literal[
            "stop-collection",
            "delete-data",
            "delete-derived-data",
            "no-scraping",
            "preserve-evidence",
            "other",
        ]
    ] = Field(default_factory=list, description="What the notice demands.")
    scopes: list[Scope] = Field(
        min_length=1,
        description="What the notice covers, in labelled parts (at least one).",
    )
    references: list[Reference] = Field(
        default_factory=list, description="The letter, press reports, tickets."
    )
    notes: str | None = Field(
        default=None, description="Free text; say here what could not be confirmed."
    )

    @property
    def effective_date(self) -> datetime.date:
        """``effective``, or ``received`` when no effective date is given."""
        return self.effective or self.received

    def is_active(self, on: datetime.date) -> bool:
        """Whether this notice denies on day ``on``: status active, effective date reached,
        expiry date (inclusive) not passed."""
        return (
            self.status == "active"
            and self.effective_date <= on
            and (self.expires is None or on <= self.expires)
        )

    @model_validator(mode="after")
    def _dates_and_status(self) -> Notice:
        errors = notice_cross_field_errors(dict(self))
        if errors:
            raise errors[0]
        return self


def notice_cross_field_errors(values: dict[str, Any]) -> list[FieldError]:
    """Every cross-field problem of a notice, from the fields that are themselves valid
    (a missing key is skipped), so ``validate`` reports them next to field errors."""
    errors = []
    received, expires = values.get("received"), values.get("expires")
    effective = values.get("effective") or received
    status, superseded_by = values.get("status"), values.get("superseded_by")
    if expires is not None and received is not None and expires < received:
        errors.append(
            FieldError(
                ("expires",),
                f"the notice expires ({expires}) before it was received ({received})",
            )
        )
    elif expires is not None and effective is not None and expires < effective:
        errors.append(
            FieldError(
                ("expires",),
                f"the notice expires ({expires}) before it takes effect ({effective})",
            )
        )
    if status == "superseded" and "superseded_by" in values and not superseded_by:
        errors.append(
            FieldError(
                ("superseded_by",),
                "status is 'superseded' but superseded_by does not name the replacing notice",
            )
        )
    if superseded_by and status is not None and status != "superseded":
        errors.append(
            FieldError(
                ("superseded_by",),
                f"superseded_by is set but status is {status!r}, not 'superseded'",
            )
        )
    if superseded_by and superseded_by == values.get("id"):
        errors.append(FieldError(("superseded_by",), "a notice cannot supersede itself"))
    return errors


# --- sites/*.yaml -----------------------------------------------------------------------


class Block(PolicyModel):
    """Legal says: do not crawl this site."""

    reason: Text = Field(description="Why, in a sentence; shown in every denial.")
    since: Date | None = Field(default=None, description="Since when, YYYY-MM-DD.")
    reference: Text | None = Field(
        default=None, description="A ticket, letter or decision to look up."
    )


class SignalOverride(PolicyModel):
    """One machine-readable opt-out that an agreement lifts, and where the agreement says so."""

    signal: SignalName = Field(
        description="The opt-out this agreement overrides: 'content-signal' or 'content-usage' "
        "(robots.txt lines and the Content-Usage response header), 'tdmrep' (tdmrep.json, "
        "tdm-reservation header and meta tag), 'rsl' (an RSL licence) or 'robots-tag' "
        "(X-Robots-Tag header and robots meta tags)."
    )
    reference: Text = Field(
        description="Where the agreement grants this use despite the signal, e.g. "
        "'DPA-2024-017 clause 4.2'. Written into every decision the override allows."
    )
    licence: Url | None = Field(
        default=None,
        description="For signal 'rsl': the URL of the RSL licence the agreement covers "
        "(required for 'rsl', not allowed for other signals). A licence that requires payment "
        "or a licence server is honoured as satisfied only for this exact URL.",
    )

    @model_validator(mode="after")
    def _licence_for_rsl(self) -> SignalOverride:
        if self.signal == "rsl" and self.licence is None:
            raise FieldError(("licence",), "an 'rsl' override must name the licence URL it covers")
        if self.signal != "rsl" and self.licence is not None:
            raise FieldError(
                ("licence",), f"'licence' is only for signal 'rsl', not {self.signal!r}"
            )
        return self


class Permission(PolicyModel):
    """An agreement that allows crawling this site."""

    agreement: Text = Field(description="Reference of the agreement, e.g. 'DPA-2024-017'.")
    granted: Date | None = Field(default=None, description="Date signed, YYYY-MM-DD.")
    expires: Date | None = Field(
        default=None, description="Last day it applies, YYYY-MM-DD; null never expires."
    )
    paths: list[UrlPath] = Field(
        default_factory=lambda: ["/"],
        min_length=1,
        description="URL path prefixes it covers (default ['/'], the whole site).",
    )
    purposes: list[Purpose] | None = Field(
        default=None, description="Crawl purposes it covers; null (default) means any."
    )
    overrides: list[SignalOverride] = Field(
        default_factory=list,
        description="Machine-readable opt-outs this agreement lifts (default none). Without an "
        "entry naming a signal, that signal still binds the crawl even under this permission.",
    )

    @model_validator(mode="after")
    def _dates(self) -> Permission:
        if self.granted and self.expires and self.expires < self.granted:
            raise FieldError(
                ("expires",),
                f"the permission expires ({self.expires}) before it was granted ({self.granted})",
            )
        return self


class Terms(PolicyModel):
    """The site's terms of service and legal's review of them."""

    url: Url = Field(description="Where the terms are published.")
    reviewed: Date | None = Field(default=None, description="When legal reviewed them, YYYY-MM-DD.")
    reviewer: Text | None = Field(default=None, description="Who reviewed them.")
    verdict: Literal["allowed", "prohibited", "conditional"] | None = Field(
        default=None,
        description="The review's outcome: 'allowed', 'prohibited', 'conditional' (see "
        "conditions), or null when not reviewed yet (see terms.unreviewed in policy.yaml).",
    )
    sha256: Sha256 | None = Field(
        default=None,
        description="SHA-256 (hex) of the reviewed terms text, normalised (the fingerprint "
        "'crawler-compliance terms snapshot' prints). With url, the site is watched: its terms "
        "page is fetched before the crawl relies on it and compared.",
    )
    snapshot: SnapshotPath | None = Field(
        default=None,
        description="The normalised terms text legal reviewed, a file under the policy "
        "directory, e.g. terms/news-example.txt (written by 'crawler-compliance terms snapshot "
        "--out'). Needs sha256, which must be the SHA-256 of the file.",
    )
    conditions: str | None = Field(
        default=None, description="The conditions of a 'conditional' verdict."
    )
    notes: str | None = Field(default=None, description="Free text.")

    @model_validator(mode="after")
    def _reviewed(self) -> Terms:
        if self.verdict is not None and self.reviewed is None:
            raise FieldError(
                ("reviewed",), f"verdict {self.verdict!r} needs the date of the review"
            )
        if self.snapshot is not None and self.sha256 is None:
            raise FieldError(
                ("sha256",),
                "a snapshot needs sha256: the SHA-256 of the snapshot file, which "
                "'crawler-compliance terms snapshot' prints",
            )
        return self


class SiteRecord(PolicyModel):
    """``sites/*.yaml``: what legal decided about one site."""

    id: Slug = Field(description="Unique id of this record, e.g. 'partner-example'.")
    domains: list[Domain] = Field(
        min_length=1,
        description="Domain names this record covers, each with every host under it.",
    )
    name: Text | None = Field(default=None, description="The site's name, for people.")
    block: Block | None = Field(default=None, description="Set to block the site outright.")
    permissions: list[Permission] = Field(
        default_factory=list, description="Agreements that allow crawling the site."
    )
    terms: Terms | None = Field(default=None, description="Terms of service and their review.")
    notes: str | None = Field(default=None, description="Free text.")
