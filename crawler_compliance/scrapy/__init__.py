"""The Scrapy adapter: add-on, downloader middleware and the denial exception."""

from crawler_compliance.scrapy._addon import Addon
from crawler_compliance.scrapy._config import ComplianceConfigError, Config
from crawler_compliance.scrapy._middleware import ComplianceMiddleware, RequestDenied

__all__ = ["Addon", "ComplianceConfigError", "ComplianceMiddleware", "Config", "RequestDenied"]
