"""A loopback stand-in for the web: the sites the demo crawls, served by one local server.

The server is the test suite's loopback server
(:mod:`crawler_compliance._testing.loopback`); this module holds the demo's
sites and the view of what they received.

Why a proxy: the demo wants the spider to request the real names
(``http://www.youtube.com/watch?v=1``) so the compliance checks see exactly
what they would see in production, yet nothing may leave the machine. Scrapy's
HTTP proxy support (``meta["proxy"]``) sends such a request to us in absolute
form (``GET http://www.youtube.com/watch?v=1 HTTP/1.1``); we answer it from a
per-host table instead of forwarding it. Requests in origin form are routed by
their ``Host`` header, and ``CONNECT`` (what an ``https://`` URL would send) is
counted and refused: this server never opens an outbound connection.

Every request is counted per host, so a zero for a blocked host is the proof
that the block happened *before* anything was sent.

Run it on its own to poke at it with curl::

    python -m examples.standin_web
    curl -x http://127.0.0.1:PORT http://news.example/robots.txt
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from crawler_compliance._testing.loopback import LoopbackServer, Route

__all__ = ["SHOP_TERMS_NOW", "SITES", "Page", "SeenRequest", "StandInWeb"]


@dataclass(frozen=True)
class Page:
    """One canned response: status, body, extra headers, and an optional redirect target."""

    status: int = 200
    body: str = ""
    content_type: str = "text/html; charset=utf-8"
    location: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SeenRequest:
    """A request as the stand-in received it.

    ``recorded_before`` is what the ``on_request`` hook answered while the
    request was still waiting for its response (the demo asks "does the audit
    log already hold an allow record for this URL?"); ``None`` without a hook.
    """

    method: str
    host: str
    target: str
    url: str
    recorded_before: bool | None = None

    @property
    def is_robots_txt(self) -> bool:
        return self.target == "/robots.txt"


def html(title: str, *links: str, text: str = "", embeds: str = "") -> Page:
    """A small HTML page whose links the spider will try to follow.

    *embeds* is markup a browser loads by itself (images, frames, scripts):
    only a crawl that renders pages (``python -m examples.demo --browser``) fetches it.
    """
    items = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    body = (
        f"<!doctype html><html><head><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>{text}</p><ul>{items}</ul>{embeds}</body></html>"
    )
    return Page(body=body)


def robots(text: str, status: int = 200) -> Page:
    return Page(status=status, body=text, content_type="text/plain; charset=utf-8")


ALLOW_ALL = robots("User-agent: *\nAllow: /\n")

# shop.example's terms page as it reads now. Legal reviewed an earlier version
# (policies/terms/shop-example.txt); since then a clause against automated
# access was added, so policies/sites/shop.example.yaml no longer matches it.
SHOP_TERMS_NOW = """<!doctype html><html><head><title>Shop Example - Terms of Use</title>
<script>window.build = "2026-11-30.4";</script></head><body>
<nav><a href="/">Shop</a> <a href="/catalogue/">Catalogue</a></nav>
<div class="cookie-banner">We use cookies. <button>OK</button></div>
<main><h1>Terms of Use</h1>
<p>Last updated: 28 November 2026</p>
<p>These terms govern your use of shop.example (example data).</p>
<p>You may browse, index and link to our catalogue pages.</p>
<p>You may not use any robot, spider, scraper or other automated means to copy our
prices or catalogue.</p>
<p>Please identify your crawler with a User-Agent that names you and a contact address.</p>
<p>Prices and availability may change without notice.</p>
</main><footer><a href="/terms">Terms</a></footer></body></html>"""

# Host -> path (with query, if any) -> response. Anything not listed is a 404.
# The covered hosts (YouTube, Twitter, LinkedIn, blocked.example) serve real
# pages and permissive robots.txt files on purpose: if they are never
# contacted, it is because of the registry or legal's records, not robots.txt.
SITES: dict[str, dict[str, Page]] = {
    "www.youtube.com": {
        "/robots.txt": ALLOW_ALL,
        "/": html("YouTube (stand-in)", "/watch?v=1"),
        "/watch?v=1": html("A video (stand-in)", "/watch?v=2"),
        "/watch?v=2": html("Another video (stand-in)"),
    },
    "twitter.com": {
        "/robots.txt": ALLOW_ALL,
        "/home": html("Twitter (stand-in)", "/someone"),
        "/someone": html("@someone (stand-in)"),
    },
    "www.linkedin.com": {
        "/robots.txt": ALLOW_ALL,
        "/in/someone": html("A LinkedIn profile (stand-in)"),
    },
    "news.example": {
        "/robots.txt": robots("User-agent: *\nDisallow: /private/\n"),
        "/": html("News", "/articles/"),
        "/articles/": html("Articles", "/articles/1", "/articles/2"),
        "/articles/1": html(
            "Article 1",
            "/private/x",
            "https://www.linkedin.com/in/someone",
            "http://twitter.com/someone",
            text="Links to a disallowed section, a LinkedIn profile and a tweet.",
        ),
        "/articles/2": html(
            "Article 2",
            "/articles/1",
            text="Embeds a YouTube player, profile pictures from Twitter and LinkedIn, "
            "a tracker from a disallowed path and a photo of its own.",
            embeds='<iframe src="http://www.youtube.com/embed/1"></iframe>'
            '<img src="http://twitter.com/profile_images/1.jpg">'
            '<div style="width:9px;height:9px;'
            "background-image:url('http://www.linkedin.com/media/2.jpg')\"></div>"
            '<script src="/private/tracker.js"></script>'
            '<script>fetch("http://twitter.com/i/api/1").catch(() => {})</script>'
            '<img src="/images/photo.png">',
        ),
        "/images/photo.png": Page(body="PNG", content_type="image/png"),
        "/private/x": html("Subscribers only"),
    },
    "flaky.example": {
        # RFC 9309 §2.3.1.4: a 5xx robots.txt means "assume complete disallow".
        "/robots.txt": robots("Service Unavailable\n", status=503),
        "/": html("Flaky", "/page"),
        "/page": html("Flaky page"),
    },
    "partner.example": {
        # robots.txt forbids everyone, but legal holds a written permission for
        # /catalogue/ and /press/ (policies/sites/partner.example.yaml); /team is
        # outside the agreement, so robots.txt decides there.
        "/robots.txt": robots("User-agent: *\nDisallow: /\n"),
        "/catalogue/": html("Partner catalogue", "/catalogue/item-1", "/team"),
        "/catalogue/item-1": html("Partner item 1"),
        "/team": html("Partner team page (outside the agreement)"),
    },
    "blocked.example": {
        "/robots.txt": ALLOW_ALL,
        "/": html("Blocked", "/page"),
        "/page": html("Blocked page"),
    },
    "open.example": {
        # No robots.txt at all: RFC 9309 §2.3.1.3, a 4xx means "allow all".
        "/": html("Open", "/about"),
        "/about": html("About Open"),
    },
    "aisignals.example": {
        "/robots.txt": robots("User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n"),
        "/": html("AI signals", "/post"),
        "/post": html("A post that may be indexed but not used for AI training"),
    },
    "shop.example": {
        "/robots.txt": ALLOW_ALL,
        "/catalogue/": html("Shop catalogue", "/catalogue/item-1"),
        "/catalogue/item-1": html("Shop item 1"),
        "/terms": Page(body=SHOP_TERMS_NOW),
    },
    "redirect.example": {
        "/go": Page(status=302, location="http://www.youtube.com/"),
    },
}


def _route(page: Page) -> Route:
    return Route(
        status=page.status,
        body=page.body,
        headers=dict(page.headers),
        location=page.location,
        content_type=page.content_type,
    )


class StandInWeb:
    """The stand-in web, served on ``127.0.0.1`` (a free port) by the test suite's
    :class:`~crawler_compliance._testing.loopback.LoopbackServer`.

    ``on_request(url)`` is called for every request, before it is answered,
    from the server's worker thread; its answer is kept in
    :attr:`SeenRequest.recorded_before`. A host not in ``sites`` gets a 502
    (as from a proxy that cannot reach it), a path not listed a 404.
    """

    def __init__(
        self,
        sites: Mapping[str, Mapping[str, Page]] = SITES,
        *,
        on_request: Callable[[str], bool] | None = None,
    ) -> None:
        self.sites = sites
        self.on_request = on_request
        self._server: LoopbackServer | None = None

    def start(self) -> StandInWeb:
        server = LoopbackServer(unknown_host_status=502)
        for host, pages in self.sites.items():
            for target, page in pages.items():
                server.routes[(host, target)] = _route(page)
        if self.on_request is not None:
            hook = self.on_request
            server.on_request = lambda received: hook(received.url)
        self._server = server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._server = None

    def __enter__(self) -> StandInWeb:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def proxy_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the stand-in web is not running")
        return self._server.proxy

    @property
    def requests(self) -> list[SeenRequest]:
        """Every request received so far, in arrival order (a copy)."""
        if self._server is None:
            return []
        with self._server._lock:
            received = list(self._server.received)
        return [
            SeenRequest(
                r.method,
                r.host,
                r.path,
                f"https://{r.host}/" if r.method == "CONNECT" else r.url,
                None if r.answer is None else bool(r.answer),
            )
            for r in received
        ]

    def counts(self) -> Counter[str]:
        """Requests received per host, robots.txt fetches included."""
        return Counter(seen.host for seen in self.requests)


def main() -> None:
    """Serve until interrupted, for trying the stand-in by hand."""
    with StandInWeb() as web:
        print(f"stand-in web on {web.proxy_url}; use it as an HTTP proxy. Ctrl-C stops.")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
        for host, count in sorted(web.counts().items()):
            print(f"{host:24} {count}")


if __name__ == "__main__":
    main()
