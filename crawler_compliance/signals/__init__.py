"""Machine-readable opt-outs on one purpose model (sans-I/O).

Readers for robots.txt ``Content-Signal`` / ``Content-Usage``, W3C TDMRep
(``/.well-known/tdmrep.json``, headers, meta), RSL 1.0 licences,
``X-Robots-Tag`` and robots meta tags turn what a site says into
:class:`Finding` objects; :data:`TABLE` says which purposes each value binds;
:class:`OptOuts` turns findings into decision reasons for one crawl, before
the fetch and (:meth:`OptOuts.observe`) after it.
"""

from __future__ import annotations

from crawler_compliance.signals._aipref import parse_preferences, preference_findings
from crawler_compliance.signals._files import SignalFiles
from crawler_compliance.signals._html import MAX_HEAD_BYTES, head_metas, is_html
from crawler_compliance.signals._reasons import Override, reasons_for
from crawler_compliance.signals._robots_tag import header_directives, meta_directives
from crawler_compliance.signals._rsl import (
    RslLicence,
    RslState,
    licence_from_fetch,
    licence_from_fetched,
    link_licences,
)
from crawler_compliance.signals._rules import OptOuts, ResponseLike, ResponseView
from crawler_compliance.signals._table import (
    ALL_PURPOSES,
    TABLE,
    TDM_PURPOSES,
    Finding,
    Row,
    Signal,
    render_table,
)
from crawler_compliance.signals._tdmrep import (
    TdmRepFile,
    TdmState,
    page_findings,
    tdmrep_from_fetch,
    tdmrep_from_fetched,
    tdmrep_url,
)

__all__ = [
    "ALL_PURPOSES",
    "MAX_HEAD_BYTES",
    "TABLE",
    "TDM_PURPOSES",
    "Finding",
    "OptOuts",
    "Override",
    "ResponseLike",
    "ResponseView",
    "Row",
    "RslLicence",
    "RslState",
    "Signal",
    "SignalFiles",
    "TdmRepFile",
    "TdmState",
    "head_metas",
    "header_directives",
    "is_html",
    "licence_from_fetch",
    "licence_from_fetched",
    "link_licences",
    "meta_directives",
    "page_findings",
    "parse_preferences",
    "preference_findings",
    "reasons_for",
    "render_table",
    "tdmrep_from_fetch",
    "tdmrep_from_fetched",
    "tdmrep_url",
]
