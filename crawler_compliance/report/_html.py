"""The report as one self-contained HTML page a lawyer can open from an e-mail.

No external assets, no script: styles inline, charts as inline SVG, and a
Content-Security-Policy that forbids scripts, so even a value that somehow
escaped escaping could not run. Every value from the log goes through
``html.escape`` (quotes included) on its way into the page. ``@page`` sets A4
with margins; tables do not split rows across pages.

Each headline figure sits in an element with ``data-total="NAME"`` (the keys
of :meth:`Report.totals`), so a test can read the page a browser rendered and
compare it with the text report.
"""

from __future__ import annotations

import html

from crawler_compliance.report._model import Report

_CSS = """
@page { size: A4; margin: 15mm; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.4 "DejaVu Sans", Arial, sans-serif; color: #111; margin: 0 auto;
       max-width: 180mm; padding: 8mm 0; }
h1 { font-size: 17pt; margin: 0 0 2mm; }
h2 { font-size: 12.5pt; margin: 7mm 0 2mm; border-bottom: 1px solid #999; }
table { border-collapse: collapse; width: 100%; margin: 1mm 0 3mm; }
th, td { text-align: left; padding: 1mm 2mm; border-bottom: 1px solid #ddd;
         vertical-align: top; overflow-wrap: break-word; }
td.n, th.n { text-align: right; white-space: nowrap; }
tr { page-break-inside: avoid; break-inside: avoid; }
.ok { color: #0a6b2d; } .bad { color: #a30d0d; font-weight: bold; }
.alert { border: 2px solid #a30d0d; padding: 2mm 3mm; margin: 3mm 0; }
.cards { display: flex; flex-wrap: wrap; gap: 3mm; margin: 3mm 0; }
.card { border: 1px solid #bbb; padding: 2mm 3mm; min-width: 38mm; }
.card b { display: block; font-size: 15pt; }
.muted { color: #555; }
svg { display: block; max-width: 100%; }
@media print { body { padding: 0; } h2 { page-break-after: avoid; } }
"""

MAX_ROWS = 200  # per table: a page a person reads, not a dump (the JSON has everything)

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _bars(rows: list[tuple[str, int]], colour: str = "#3b6ea8") -> str:
    """A horizontal bar chart as inline SVG (labels escaped)."""
    if not rows:
        return '<p class="muted">(none)</p>'
    rows = rows[:30]
    top = max(count for _, count in rows) or 1
    height = 18
    width, label_w, bar_w = 640, 210, 350
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height * len(rows) + 4}" role="img" viewBox="0 0 {width} '
        f'{height * len(rows) + 4}">'
    ]
    for i, (label, count) in enumerate(rows):
        y = i * height + 2
        length = max(1, round(bar_w * count / top)) if count else 0
        shown = label if len(label) <= 32 else label[:31] + "…"
        parts.append(
            f'<text x="0" y="{y + 13}" font-size="11">{_e(shown)}</text>'
            f'<rect x="{label_w}" y="{y + 2}" width="{length}" height="{height - 5}" '
            f'fill="{colour}"/>'
            f'<text x="{label_w + length + 5}" y="{y + 13}" font-size="11">{count}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: list[str], rows: list[list[object]], numeric: set[int]) -> str:
    if not rows:
        return '<p class="muted">(none)</p>'
    more = ""
    if len(rows) > MAX_ROWS:
        more = (
            f'<p class="muted">… and {len(rows) - MAX_ROWS} more rows '
            "(crawler-compliance audit report --json lists them all).</p>"
        )
        rows = rows[:MAX_ROWS]
    head = "".join(
        f'<th class="n">{_e(h)}</th>' if i in numeric else f"<th>{_e(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="n">{_e(v)}</td>' if i in numeric else f"<td>{_e(v)}</td>"
            for i, v in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def render_html(report: Report) -> str:
    totals = report.totals()
    out: list[str] = []
    add = out.append
    add("<!DOCTYPE html>")
    add('<html lang="en"><head><meta charset="utf-8">')
    add(f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">')
    add('<meta name="viewport" content="width=device-width, initial-scale=1">')
    add(f"<title>Crawl compliance report: {_e(report.path)}</title>")
    add(f"<style>{_CSS}</style></head><body>")
    add("<h1>Crawl compliance report</h1>")
    add(
        f'<p class="muted">Audit log <code>{_e(report.path)}</code>; records from '
        f"{_e(report.first or '-')} to {_e(report.last or '-')} (UTC).</p>"
    )
    f = report.filters
    if f.since or f.until or f.spider:
        parts = []
        if f.since:
            parts.append(f"since {f.since.isoformat()}")
        if f.until:
            parts.append(f"until {f.until.isoformat()}")
        if f.spider:
            parts.append(f"spider {f.spider}")
        add(f"<p>Selection: {_e(', '.join(parts))}</p>")
    chain = report.chain
    if chain is not None:
        if chain.ok:
            add(
                '<p class="ok" id="chain">Integrity: the hash chain verifies '
                f"({chain.files} file(s)). Checkpoint: <code>{_e(chain.checkpoint)}</code></p>"
            )
            if chain.tree_size:
                add(
                    f'<p class="muted">Merkle tree of {chain.tree_size} records, root '
                    f"<code>{_e(chain.root)}</code>; {chain.checkpoints} checkpoint(s) "
                    f"({_e(chain.signature)}).</p>"
                )
        else:
            add(
                f'<p class="bad" id="chain">Integrity: {_e(chain.status)}: '
                f"{_e(chain.problem or '')}</p>"
            )
    if report.disabled:
        add(
            '<div class="alert"><p class="bad">Checks disabled: '
            f'<span data-total="checks-disabled">{totals["checks-disabled"]}</span> '
            "crawl(s) ran with the compliance checks switched off. Their requests were "
            "not checked and are not counted as allowed.</p>"
        )
        add(_table(["Time", "Spider", "Record"], [list(row) for row in report.disabled], set()))
        add("</div>")
    else:
        add('<p>Checks disabled: <span data-total="checks-disabled">0</span> crawls.</p>')

    add('<div class="cards">')
    for key, label in (
        ("pages", "page decisions"),
        ("pages-allow", "allowed"),
        ("pages-deny", "denied"),
        ("own-fetches", "own fetches"),
        ("runs", "runs"),
        ("records", "records"),
    ):
        add(f'<div class="card"><b data-total="{key}">{totals[key]}</b>{_e(label)}</div>')
    add("</div>")

    add("<h2>Page decisions</h2>")
    add(_bars([("allowed", report.pages["allow"]), ("denied", report.pages["deny"])]))
    add("<h2>Denials by check</h2>")
    add(_bars(report.denials_by_check.most_common(), "#a34a0d"))
    add("<h2>Denials by cease-and-desist notice</h2>")
    add(
        _table(
            ["Notice", "Issuer", "Letter reference", "Denied"],
            [[n.notice, n.issuer, n.reference or "-", n.denied] for n in report.notice_rows()],
            {3},
        )
    )
    add("<h2>Page decisions by host</h2>")
    add(_table(["Host", "Denied", "Allowed"], [list(row) for row in report.host_rows()], {1, 2}))
    add("<h2>robots.txt failures</h2>")
    add(
        '<p class="muted">Pages denied because the site\'s robots.txt could not be read '
        f'(total <span data-total="robots-failures">{totals["robots-failures"]}</span>).</p>'
    )
    add(
        _table(
            ["Host", "Reason", "Pages"],
            [[h, m, c] for (h, m), c in report.robots_failures.most_common()],
            {2},
        )
    )
    add("<h2>Terms flags awaiting review</h2>")
    add(
        f'<p class="muted">Total <span data-total="terms-flags">{totals["terms-flags"]}</span>.</p>'
    )
    add(
        _table(
            ["Host", "Flag", "Pages"],
            [[h, m, c] for (h, m), c in report.terms_flags.most_common()],
            {2},
        )
    )
    add("<h2>The tool's own fetches</h2>")
    add(
        '<p class="muted">robots.txt, terms pages and well-known files fetched by '
        "crawler-compliance itself, each checked against the notices first; not page "
        "decisions.</p>"
    )
    add(
        _table(
            ["File", "Allowed", "Denied"],
            [[k, v["allow"], v["deny"]] for k, v in sorted(report.own_fetches.items())],
            {1, 2},
        )
    )
    add(
        "<p>robots.txt requests sent by the spider or by Scrapy's RobotsTxtMiddleware "
        '(ROBOTSTXT_OBEY, a duplicate of our own fetch): <span data-total="scrapy-robots">'
        f"{totals['scrapy-robots']}</span>.</p>"
    )
    add("<h2>Runs</h2>")
    add(
        _table(
            ["Run", "First record", "Last record", "Records", "Spiders", "Checks"],
            [
                [
                    r.run,
                    r.first or "-",
                    r.last or "-",
                    r.records,
                    ", ".join(sorted(r.spiders)) or "-",
                    "DISABLED" if r.checks_disabled else "on",
                ]
                for r in report.runs.values()
            ],
            {3},
        )
    )
    add("</body></html>")
    return "\n".join(out) + "\n"
