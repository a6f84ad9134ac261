"""Policy files: loading, validation, models and JSON Schema.

A policy directory holds ``policy.yaml`` (crawl-wide settings), ``notices/*.yaml``
(cease-and-desist notices, one per file) and ``sites/*.yaml`` (per-site
records). :func:`load_policy` reads it with a safe, position-keeping YAML reader
and validates it; every problem in every file is reported at once, gcc-style
(``path:line:col: field.path: message``)::

    policies/notices/google.yaml:12:5: scopes.0.domains.2: 'goo gle.com' is not a
    domain name (it contains a space)
"""

from __future__ import annotations

from crawler_compliance.policy._errors import PolicyError, PolicyIssue
from crawler_compliance.policy._load import MAX_FILE_BYTES, Policy, load_policy, validate_file
from crawler_compliance.policy._models import (
    DEFAULT_REDACT_QUERY_PARAMS,
    AuditConfig,
    Block,
    CrawlerConfig,
    Issuer,
    Notice,
    Permission,
    PolicyConfig,
    PolicyModel,
    Reference,
    RobotsConfig,
    Scope,
    SignalOverride,
    SiteRecord,
    SourceRef,
    Terms,
    TermsConfig,
)
from crawler_compliance.policy._schema import policy_json_schema

__all__ = [
    "DEFAULT_REDACT_QUERY_PARAMS",
    "MAX_FILE_BYTES",
    "AuditConfig",
    "Block",
    "CrawlerConfig",
    "Issuer",
    "Notice",
    "Permission",
    "Policy",
    "PolicyConfig",
    "PolicyError",
    "PolicyIssue",
    "PolicyModel",
    "Reference",
    "RobotsConfig",
    "Scope",
    "SignalOverride",
    "SiteRecord",
    "SourceRef",
    "Terms",
    "TermsConfig",
    "load_policy",
    "validate_file",
    "policy_json_schema",
]
