"""The terms core is sans-I/O and adapter-free: it imports with Scrapy and Twisted blocked."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_terms_core_imports_without_scrapy_or_twisted() -> None:
    code = textwrap.dedent(
        """
        import importlib.abc, sys

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("scrapy", "twisted"):
                    raise ImportError(f"blocked: {name}")
                return None

        sys.meta_path.insert(0, Block())
        import crawler_compliance.terms as terms
        import crawler_compliance._sites, crawler_compliance._checker
        page = terms.terms_from_fetch("https://a.example/terms", status=200, body=b"<p>Hi</p>")
        assert page.text == "Hi\\n", page
        assert not any(m.split(".")[0] in ("scrapy", "twisted") for m in sys.modules)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
