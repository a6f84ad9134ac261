"""The decision core runs with Scrapy and Twisted unimportable (the adapters' rooms stay theirs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import sys

class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("scrapy", "twisted"):
            raise ImportError(f"{name} is blocked in this test")
        return None

sys.meta_path.insert(0, Refuse())

from crawler_compliance import Enforcer, Route, crawl_identity, decide_url, load_policy
from crawler_compliance import robots, audit  # noqa: F401

policy = load_policy(sys.argv[1])
identity = crawl_identity(
    user_agent_header=None, compliance_user_agent=None,
    policy_token=policy.config.crawler.product_token,
)
enforcer = Enforcer.from_policy(policy, identity=identity)
youtube = decide_url(enforcer, "https://www.youtube.com/watch?v=1", offline=True, timeout=1)
assert not youtube.allowed, youtube
plan = enforcer.plan("https://open.example/x", Route(host_headers=("www.youtube.com",)))
assert plan.pre.denied, plan
assert not [m for m in sys.modules if m.split(".")[0] in ("scrapy", "twisted")]
print("core ok")
"""


def test_the_core_decides_with_scrapy_and_twisted_unimportable() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(REPO / "policies")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "core ok"


def test_import_crawler_compliance_is_cheap() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, crawler_compliance; "
            "print(sorted(m for m in ('scrapy', 'twisted', 'pydantic', 'tldextract') "
            "if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert done.stdout.strip() == "[]", done.stderr


def test_a_proxy_setting_nobody_can_read_denies() -> None:
    from crawler_compliance import Enforcer, Route, crawl_identity, load_policy
    from crawler_compliance._route import UNREADABLE_PROXY, proxy_host

    policy = load_policy(REPO / "policies")
    identity = crawl_identity(
        user_agent_header=None,
        compliance_user_agent=None,
        policy_token=policy.config.crawler.product_token,
    )
    enforcer = Enforcer.from_policy(policy, identity=identity)
    assert proxy_host("http://user:pa#ss?x@proxy.example:3128") == "proxy.example:3128"
    assert proxy_host("") == UNREADABLE_PROXY
    plan = enforcer.plan("https://open.example/x", Route(proxy=proxy_host("")))
    assert plan.pre.denied
    assert "Host header or proxy" in str(plan.pre.reasons)
