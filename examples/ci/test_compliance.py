"""Compliance tests for a Scrapy project: copy this file into your project's tests/.

It needs only crawler-compliance installed (its pytest plugin provides the
``compliance_*`` fixtures) and, in pytest.ini / pyproject.toml, the policy
directory relative to the rootdir::

    [pytest]
    compliance_policies = policies

Each failure names the spider, the URL, the notice, and the notice's file and
line, in full.
"""

from crawler_compliance.pytest_plugin import (
    assert_denied,
    assert_notices_deny,
    assert_spiders_compliant,
)


def test_every_spider_starts_only_where_it_may(compliance_spiders):
    # "." is the rootdir: the directory holding scrapy.cfg in a usual project.
    assert_spiders_compliant(compliance_spiders("."))


def test_every_active_notice_denies_its_domains(compliance_notices):
    assert_notices_deny(compliance_notices())


def test_covered_sites_stay_off_limits(compliance_check):
    assert_denied(compliance_check("https://www.youtube.com/"), by="google-youtube-2020-02")
