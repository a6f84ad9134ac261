"""The main-job demo: a real Scrapy crawl over a loopback stand-in for the web.

``python -m examples.demo`` starts :mod:`examples.standin_web` (one local HTTP
server that answers for every demo hostname, acting as the crawl's HTTP proxy),
crawls it with :class:`examples.spider.DemoSpider` through the
``crawler_compliance`` add-on, and then shows what was decided, what the server
actually received, and whether the audit log's hash chain is intact.
"""
