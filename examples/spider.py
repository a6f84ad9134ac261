"""The demo spider: an ordinary, compliance-unaware crawler.

It does what a careless crawler does — starts from a list of URLs and follows
every link it sees, to any host — so that everything it is *not* allowed to do
is stopped by the ``crawler_compliance`` add-on, not by the spider's own
restraint. Every request is routed through the stand-in web with
``meta["proxy"]``; nothing else in the spider knows about the stand-in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from twisted.python.failure import Failure

__all__ = ["DEFAULT_START_URLS", "DemoSpider"]

# One entry point per situation the demo shows; links found on the pages add
# the rest (a disallowed section, a LinkedIn profile over https, a tweet).
DEFAULT_START_URLS = (
    "http://www.youtube.com/watch?v=1",  # cease-and-desist notice (Google / YouTube)
    "http://twitter.com/home",  # cease-and-desist notice (Twitter)
    "http://news.example/articles/",  # robots.txt disallows /private/
    "http://flaky.example/",  # robots.txt answers 503
    "http://partner.example/catalogue/",  # robots.txt disallows all; legal holds a permission
    "http://blocked.example/",  # legal's site record: explicit block
    "http://open.example/",  # no robots.txt (404): allowed
    "http://aisignals.example/",  # Content-Signal: search=yes, ai-train=no
    "http://redirect.example/go",  # 302 to YouTube: decided again before it is followed
    "http://shop.example/catalogue/",  # terms changed since legal's review
)


class DemoSpider(scrapy.Spider):
    """Crawl the demo hosts through an HTTP proxy, following every link.

    Arguments (``-a name=value`` on the command line, keywords to
    ``CrawlerProcess.crawl``): ``proxy``, the proxy URL (default: the
    ``DEMO_PROXY`` setting); ``start_urls``, a comma-separated list overriding
    :data:`DEFAULT_START_URLS`.
    """

    name = "demo"

    def __init__(
        self, *args: Any, proxy: str | None = None, start_urls: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.proxy = proxy
        if isinstance(start_urls, str):
            start_urls = [url.strip() for url in start_urls.split(",") if url.strip()]
        self.start_urls = list(start_urls or DEFAULT_START_URLS)

    def _meta(self) -> dict[str, Any]:
        proxy = self.proxy or self.settings.get("DEMO_PROXY")
        if not proxy:
            # Without the stand-in these requests would go to the real web.
            raise ValueError("DemoSpider needs a proxy: the 'proxy' argument or DEMO_PROXY")
        if self.settings.getbool("DEMO_PLAYWRIGHT"):
            # Rendered by scrapy-playwright (python -m examples.demo --browser).
            return {"proxy": proxy, "playwright": True}
        return {"proxy": proxy}

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls:
            yield scrapy.Request(url, meta=self._meta(), errback=self.on_error)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        yield {
            "url": response.url,
            "status": response.status,
            "title": response.css("title::text").get(),
        }
        for href in response.css("a::attr(href)").getall():
            yield response.follow(href, meta=self._meta(), errback=self.on_error)

    def on_error(self, failure: Failure) -> None:
        """Denials are expected here; the audit log holds their reasons, so keep quiet."""
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        if failure.check(IgnoreRequest):
            self.logger.debug("Not fetched: %(url)s (%(why)s)", {"url": url, "why": failure.value})
        else:
            self.logger.warning(
                "Fetch failed: %(url)s (%(why)s)", {"url": url, "why": failure.getErrorMessage()}
            )
