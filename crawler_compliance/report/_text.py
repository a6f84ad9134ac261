"""The report as plain text, for a terminal or an e-mail body.

Every value from the log is passed through ``safe`` (control and bidi
characters shown as escapes), so a forged record cannot rewrite the screen.
"""

from __future__ import annotations

from crawler_compliance.report._model import Report

TOP_HOSTS = 20


def _safe(value: str) -> str:
    from crawler_compliance.cli._output import safe

    return safe(value)


def _clip(value: str, width: int) -> str:
    value = _safe(value) or "-"
    return value if len(value) <= width else value[: width - 1] + "…"


def render_text(report: Report) -> str:
    lines: list[str] = []
    add = lines.append
    totals = report.totals()
    add(f"audit report: {_safe(report.path)}")
    chain = report.chain
    if chain is not None:
        if chain.ok:
            add(f"chain: intact ({chain.files} file(s)), checkpoint {chain.checkpoint}")
            if chain.tree_size:
                add(
                    f"tree: {chain.tree_size} record(s), root {chain.root}; "
                    f"{chain.checkpoints} checkpoint(s): {chain.signature}"
                )
        else:
            add(f"chain: {chain.status}: {_safe(chain.problem or '')}")
    f = report.filters
    if f.since or f.until or f.spider:
        parts = []
        if f.since:
            parts.append(f"since {f.since.isoformat()}")
        if f.until:
            parts.append(f"until {f.until.isoformat()}")
        if f.spider:
            parts.append(f"spider {_safe(f.spider)}")
        add("selection: " + ", ".join(parts))
    add(f"time range: {_safe(report.first) or '-'} .. {_safe(report.last) or '-'}")
    add(f"records: {totals['records']}   runs: {totals['runs']}")
    add("")
    add("verdicts:")
    for verdict, count in report.verdicts.most_common():
        add(f"  {_clip(verdict, 30):<30} {count:>8}")
    if report.disabled:
        add("")
        add(
            f"CHECKS DISABLED: {len(report.disabled)} crawl(s) ran with the compliance checks "
            "switched off; their requests were NOT checked:"
        )
        for ts, spider, message in report.disabled:
            add(f"  {_safe(ts)}  {_safe(spider) or '-'}  {_safe(message)}")
    add("")
    add("page decisions:")
    add(f"  {'allowed':<30} {totals['pages-allow']:>8}")
    add(f"  {'denied':<30} {totals['pages-deny']:>8}")
    add(f"  {'total':<30} {totals['pages']:>8}")
    add("")
    add("page denials by check:")
    if not report.denials_by_check:
        add("  (none)")
    for check, count in report.denials_by_check.most_common():
        add(f"  {_clip(check, 30):<30} {count:>8}")
    add("")
    add("page denials by cease-and-desist notice:")
    if not report.notices:
        add("  (none)")
    else:
        add(f"  {'NOTICE':<32} {'DENIED':>8}  {'ISSUER':<28} LETTER REFERENCE")
    for notice in report.notice_rows():
        add(
            f"  {_clip(notice.notice, 32):<32} {notice.denied:>8}  "
            f"{_clip(notice.issuer, 28):<28} {_safe(notice.reference) or '-'}"
        )
    add("")
    rows = report.host_rows()
    more = f", top {TOP_HOSTS} of {len(rows)}" if len(rows) > TOP_HOSTS else ""
    add(f"hosts (most denied first{more}):")
    add(f"  {'HOST':<40} {'DENIED':>8} {'ALLOWED':>8}")
    for host, denied, allowed in rows[:TOP_HOSTS]:
        add(f"  {_clip(host, 40):<40} {denied:>8} {allowed:>8}")
    add("")
    add("robots.txt failures (denied because robots.txt could not be read):")
    if not report.robots_failures:
        add("  (none)")
    for (host, message), count in report.robots_failures.most_common():
        add(f"  {_clip(host, 30):<30} {count:>6}  {_safe(message)}")
    add("")
    add("terms flags awaiting review:")
    if not report.terms_flags:
        add("  (none)")
    for (host, message), count in report.terms_flags.most_common():
        add(f"  {_clip(host, 30):<30} {count:>6}  {_safe(message)}")
    add("")
    add(f"crawler-compliance's own fetches (not page decisions): {totals['own-fetches']}")
    for name, counts in sorted(report.own_fetches.items()):
        add(f"  {name:<30} allowed {counts['allow']:>6}   denied {counts['deny']:>6}")
    add(
        "robots.txt requests of the spider / Scrapy's ROBOTSTXT_OBEY (duplicates of our "
        f"own fetch): {totals['scrapy-robots']}"
    )
    others = {
        k: v
        for k, v in report.kinds.items()
        if k not in ("page", "own-fetch", "scrapy-robots", "control")
    }
    if others:
        add("other records: " + ", ".join(f"{_safe(k)} {v}" for k, v in sorted(others.items())))
    add("")
    add("runs:")
    for run in report.runs.values():
        flag = "  CHECKS DISABLED" if run.checks_disabled else ""
        add(
            f"  {_clip(run.run, 36):<36} {_safe(run.first) or '-'} .. {_safe(run.last) or '-'}  "
            f"{run.records} record(s)  {_safe(', '.join(sorted(run.spiders))) or '-'}{flag}"
        )
    return "\n".join(lines) + "\n"
