"""Settings of the sample project: crawler-compliance on with one line."""

BOT_NAME = "sample"
SPIDER_MODULES = ["sample.spiders"]
NEWSPIDER_MODULE = "sample.spiders"

ADDONS = {"crawler_compliance.Addon": 0}
# Relative to this project's directory (the one holding scrapy.cfg), wherever
# `scrapy crawl` or `crawler-compliance spiders` is started from.
COMPLIANCE_POLICY_DIR = "../../policies"
COMPLIANCE_AUDIT_LOG = "compliance-audit.jsonl"
# The product token robots.txt is matched for; it agrees with the policy's
# crawler.product_token, so `crawler-compliance check` and a crawl agree too.
USER_AGENT = "ComplianceDemoBot/1.0 (+https://example.invalid/bot)"
# crawler-compliance fetches robots.txt itself (and checks that fetch first).
ROBOTSTXT_OBEY = False
