"""The Scrapy adapter: add-on, downloader middleware and the denial exception."""

from crawler_compliance.scrapy._addon import Addon
from crawler_compliance.scrapy._config import ComplianceConfigError, Config
from crawler_compliance.scrapy._exceptions import RequestDenied
from crawler_compliance.scrapy._guard import ComplianceGuardMiddleware
from crawler_compliance.scrapy._middleware import ComplianceMiddleware

__all__ = [
    "Addon",
    "ComplianceConfigError",
    "ComplianceGuardMiddleware",
    "ComplianceMiddleware",
    "Config",
    "RequestDenied",
]
