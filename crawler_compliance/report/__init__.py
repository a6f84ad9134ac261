"""The audit report: a model of what a log says, rendered as text or as one HTML page.

Plain Python (no Scrapy import). ``crawler-compliance audit report`` is the
command line; see README.md.
"""

from __future__ import annotations

from crawler_compliance.report._html import render_html
from crawler_compliance.report._model import Chain, Filters, Report, build_report, classify
from crawler_compliance.report._text import render_text

__all__ = ["Chain", "Filters", "Report", "build_report", "classify", "render_html", "render_text"]
