"""Download handlers that fetch through their own clients, checked at start-up.

A download handler is where a request leaves Scrapy. Scrapy's own handlers
fetch exactly the request they are given (redirects come back to
``RedirectMiddleware`` as responses, and are decided as new requests). A
handler that drives its own client may fetch more than that: a browser loads
a page's images, scripts, frames and XHR itself. The rule, applied to every
entry of ``DOWNLOAD_HANDLERS`` when the crawl starts:

- Scrapy's built-in handlers: accepted.
- scrapy-playwright's handler: accepted with the browser hook
  (:mod:`crawler_compliance.scrapy._browser`), which decides every request
  the browser makes; settings that would stop the hook from working are
  refused here, naming the setting.
- scrapy-impersonate's handler: accepted; it fetches only the request it is
  given and never follows redirects itself. The meta keys that could change
  that (``impersonate_args`` naming the URL, its query, redirects or a proxy;
  raw ``impersonate_curl_options``) are denied per request.
- any other handler: the crawl does not start, unless the handler's class is
  listed in ``COMPLIANCE_VERIFIED_DOWNLOAD_HANDLERS``: the project vouches that
  it fetches only the request it is given, and follows no redirect itself.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from scrapy.utils.misc import load_object

from crawler_compliance.scrapy._config import ComplianceConfigError

PLAYWRIGHT_HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
IMPERSONATE_HANDLER = "scrapy_impersonate.handler.ImpersonateDownloadHandler"
# The oldest versions the browser hook was verified with (route_web_socket: Playwright 1.48).
MIN_SCRAPY_PLAYWRIGHT = (0, 0, 48)
MIN_PLAYWRIGHT = (1, 48)

NOWHERE = "http://127.0.0.1:9"
# Chromium's own traffic (updates, sync, metrics, safe browsing, pings) is
# switched off at launch; Playwright passes several of these already, they are
# repeated so that a project's ignore_default_args cannot drop them silently.
BROWSER_ARGS = (
    "--disable-background-networking",  # variations, update checks, GCM, translate
    "--disable-component-update",  # component updater (CRLSets, Widevine, ...)
    "--disable-sync",  # Google account sync
    "--disable-domain-reliability",  # Domain Reliability beacons to Google
    "--no-pings",  # <a ping> hyperlink auditing
    "--disable-breakpad",  # crash reports
    "--disable-client-side-phishing-detection",
    "--disable-default-apps",
    "--disable-extensions",  # the Debian wrapper loads /usr/share/chromium/extensions
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",  # UMA recorded locally, never uploaded
    "--no-service-autorun",
    # Chromium 15x still calls Google with all of the above: the component
    # updater (update.googleapis.com) and Gaia's ListAccounts
    # (accounts.google.com). Their service URLs are pointed at a port Chromium
    # refuses to connect to (9, "discard": ERR_UNSAFE_PORT), on loopback.
    f"--component-updater=url-source={NOWHERE}/",
    f"--gaia-url={NOWHERE}",
    f"--google-apis-url={NOWHERE}",
    f"--lso-url={NOWHERE}",
    f"--apps-gallery-update-url={NOWHERE}/",
    f"--variations-server-url={NOWHERE}/",
    f"--sync-url={NOWHERE}/",
    # Chromium's own network reaches nothing. Every request a page makes is
    # routed, fetched by Playwright (route.fetch, which uses the launch proxy,
    # not these switches) and fulfilled; what Playwright does not route goes
    # to that dead port: favicons (Playwright leaves them out of interception
    # on purpose: microsoft/playwright#7493), preconnects. Playwright puts the
    # launch proxy's --proxy-server before the project's arguments, so these,
    # appended after, are the ones Chromium uses; "<-loopback>" keeps loopback
    # from bypassing them.
    f"--proxy-server={NOWHERE}",
    "--proxy-bypass-list=<-loopback>",
)
# Playwright default arguments a project must not drop with ignore_default_args.
_KEPT_DEFAULTS = (*BROWSER_ARGS, "--disable-features")
_PLAYWRIGHT_SETTING_CONFLICTS = (
    ("PLAYWRIGHT_CDP_URL", "a browser crawler-compliance did not launch"),
    ("PLAYWRIGHT_CONNECT_URL", "a browser crawler-compliance did not launch"),
    ("_PLAYWRIGHT_THREADED_LOOP", "route handlers in another thread than the crawl"),
)
_DEFAULT_PROVIDER = "scrapy_playwright.provider.PlaywrightBrowserProvider"
# impersonate_args keys that are safe: they do not change what is fetched or where.
IMPERSONATE_SAFE_ARGS = frozenset(
    {"timeout", "verify", "http_version", "default_headers", "ja3", "akamai", "extra_fp"}
)


class HandlerKind(str, enum.Enum):
    BUILTIN = "builtin"
    PLAYWRIGHT = "playwright"
    IMPERSONATE = "impersonate"
    VERIFIED = "verified"  # listed in COMPLIANCE_VERIFIED_DOWNLOAD_HANDLERS


def _path(value: Any) -> str:
    if isinstance(value, str):
        return value
    return f"{value.__module__}.{value.__qualname__}"


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(c for c in piece if c.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def classify(scheme: str, value: Any, verified: frozenset[str]) -> HandlerKind:
    """The kind of one ``DOWNLOAD_HANDLERS`` entry; refuses one nobody vouched for."""
    path = _path(value)
    try:
        cls = load_object(value) if isinstance(value, str) else value
    except (ImportError, NameError, ValueError) as exc:
        raise ComplianceConfigError(
            f"DOWNLOAD_HANDLERS[{scheme!r}] = {path!r} does not load ({exc})"
        ) from exc
    path = _path(cls)
    if path in verified:
        return HandlerKind.VERIFIED
    for kind, expected in (
        (HandlerKind.PLAYWRIGHT, PLAYWRIGHT_HANDLER),
        (HandlerKind.IMPERSONATE, IMPERSONATE_HANDLER),
    ):
        module, _, name = expected.rpartition(".")
        if path == expected or (
            cls.__module__.split(".")[0] == module.split(".")[0]
            and any(_path(base) == expected for base in getattr(cls, "__mro__", ()))
        ):
            return kind
    if cls.__module__.startswith("scrapy.core.downloader.handlers."):
        return HandlerKind.BUILTIN
    raise ComplianceConfigError(
        f"DOWNLOAD_HANDLERS[{scheme!r}] = {path!r}: crawler-compliance cannot see the "
        "requests this handler may make through its own client, so it will not crawl with "
        "it. If it fetches only the request it is given and follows no redirect itself, "
        "list it in COMPLIANCE_VERIFIED_DOWNLOAD_HANDLERS"
    )


def download_handlers(settings: Any) -> dict[str, HandlerKind]:
    """Every enabled download handler of the crawl, by scheme, checked."""
    verified = frozenset(
        _path(load_object(v) if isinstance(v, str) else v)
        for v in settings.getlist("COMPLIANCE_VERIFIED_DOWNLOAD_HANDLERS")
    )
    handlers = settings.getwithbase("DOWNLOAD_HANDLERS")
    return {
        scheme: classify(scheme, value, verified)
        for scheme, value in handlers.items()
        if value is not None
    }


def uses_playwright(settings: Any) -> bool:
    """Is scrapy-playwright's handler configured (checked loosely, before start-up)?"""
    for value in settings.getwithbase("DOWNLOAD_HANDLERS").values():
        if value is None:
            continue
        try:
            cls = load_object(value) if isinstance(value, str) else value
        except Exception:
            continue  # reported, naming the setting, when the crawl starts
        if any(_path(base) == PLAYWRIGHT_HANDLER for base in getattr(cls, "__mro__", ())):
            return True
    return False


# -- settings the browser hook needs -------------------------------------------


def _with_args(options: Mapping[str, Any]) -> dict[str, Any]:
    options = dict(options)
    args = list(options.get("args") or ())
    args.extend(a for a in BROWSER_ARGS if a not in args)
    options["args"] = args
    return options


def _set(settings: Any, name: str, value: Any) -> None:
    """Set *name* at the priority it already has (never lower than "addon")."""
    priority = max(settings.getpriority(name) or 0, settings.getpriority("COMPLIANCE_ENABLED"))
    settings.set(name, value, priority=priority)


def prepare_playwright_settings(settings: Any, backstop: Any) -> None:
    """What the add-on sets for scrapy-playwright (composed with the project's values).

    Launch arguments that switch off Chromium's own traffic, service workers
    blocked in every configured context, and the abort predicate replaced by
    one that runs the project's own predicate first.
    """
    _set(
        settings,
        "PLAYWRIGHT_LAUNCH_OPTIONS",
        _with_args(settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS")),
    )
    contexts = {}
    for name, kwargs in settings.getdict("PLAYWRIGHT_CONTEXTS").items():
        contexts[name] = context_kwargs(kwargs)
    if contexts:
        _set(settings, "PLAYWRIGHT_CONTEXTS", contexts)
    current = settings.get("PLAYWRIGHT_ABORT_REQUEST")
    if current is not backstop and getattr(current, "crawler_compliance_backstop", False):
        current = getattr(current, "user_predicate", None)
    backstop.user_predicate = current
    _set(settings, "PLAYWRIGHT_ABORT_REQUEST", backstop)


def context_kwargs(kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    """A context's kwargs with service workers blocked (and launch args, if persistent)."""
    kwargs = dict(kwargs or {})
    kwargs.setdefault("service_workers", "block")
    if kwargs.get("user_data_dir"):
        # A persistent context is a browser launch of its own: launch options apply there.
        kwargs = _with_args(kwargs)
    return kwargs


def context_conflict(where: str, kwargs: Mapping[str, Any]) -> str | None:
    """Why a context's kwargs cannot be rendered under the hook, or None."""
    if kwargs.get("service_workers", "block") != "block":
        return (
            f"{where} sets service_workers={kwargs.get('service_workers')!r}: a service "
            "worker fetches outside the page's routes, so crawler-compliance needs 'block'"
        )
    if kwargs.get("user_data_dir"):
        problem = _launch_conflict(f"{where}", kwargs)
        if problem:
            return problem
    return None


def _launch_conflict(where: str, options: Mapping[str, Any]) -> str | None:
    ignored = options.get("ignore_default_args")
    if ignored is True:
        return (
            f"{where} sets ignore_default_args=True: Playwright's default arguments switch "
            "off Chromium's background traffic, which crawler-compliance needs"
        )
    if ignored:
        dropped = [a for a in ignored if str(a).startswith(_KEPT_DEFAULTS)]
        if dropped:
            return (
                f"{where} drops {', '.join(map(str, dropped))} with ignore_default_args: "
                "crawler-compliance needs Chromium's background traffic switched off"
            )
    args = list(options.get("args") or ())
    missing = [a for a in BROWSER_ARGS if a not in args]
    if missing:
        return f"{where} lacks {', '.join(missing)} in args (set by the add-on, then changed)"
    return None


# Chromium preconnects to the origin of a navigation (a page's <iframe>) when
# it starts, before the request reaches any route: a TCP/TLS connection, or a
# proxy CONNECT naming the host. Only the NetworkPredictionOptions policy
# (2: never) turns that off; Chromium reads it from this directory on Linux.
CHROMIUM_POLICY_DIR = "/etc/chromium/policies/managed"


def preconnect_policy_problem(policy_dir: str = CHROMIUM_POLICY_DIR) -> str | None:
    """Why Chromium may still preconnect (Linux), or None."""
    import json
    import sys
    from pathlib import Path

    if not sys.platform.startswith("linux"):
        return None
    directory = Path(policy_dir)
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else ():
        try:
            if json.loads(path.read_text()).get("NetworkPredictionOptions") == 2:
                return None
        except (OSError, ValueError, AttributeError):
            continue
    return (
        f"no Chromium policy in {policy_dir} sets NetworkPredictionOptions to 2: Chromium "
        "would open connections to a page's frames before they are decided; run "
        'tools/ensure-chromium.sh, or write {"NetworkPredictionOptions": 2} to '
        f"{policy_dir}/crawler-compliance.json"
    )


def playwright_conflicts(settings: Any, backstop_type: type) -> list[str]:
    """Settings that would let the browser fetch undecided; each a sentence naming it."""
    problems = []
    from importlib.metadata import version

    sp_version = version("scrapy-playwright")
    if _version(sp_version) < MIN_SCRAPY_PLAYWRIGHT:
        problems.append(
            f"scrapy-playwright {sp_version} is older than "
            f"{'.'.join(map(str, MIN_SCRAPY_PLAYWRIGHT))}, the oldest version the browser "
            "hook was verified with"
        )
    pw_version = version("playwright")
    if _version(pw_version)[:2] < MIN_PLAYWRIGHT:
        problems.append(
            f"playwright {pw_version} is older than {'.'.join(map(str, MIN_PLAYWRIGHT))} "
            "(WebSocket routes)"
        )
    for name, what in _PLAYWRIGHT_SETTING_CONFLICTS:
        if settings.get(name):
            problems.append(f"{name} is set: the browser hook cannot work with {what}; unset it")
    browser = settings.get("PLAYWRIGHT_BROWSER_TYPE") or "chromium"
    if browser != "chromium":
        problems.append(
            f"PLAYWRIGHT_BROWSER_TYPE = {browser!r}: crawler-compliance can switch off the "
            "background traffic of Chromium only"
        )
    provider = settings.get("PLAYWRIGHT_BROWSER_PROVIDER")
    if provider and _path(provider) != _DEFAULT_PROVIDER:
        problems.append(
            f"PLAYWRIGHT_BROWSER_PROVIDER = {_path(provider)!r}: a provider of its own may "
            "launch a browser without the arguments that switch off its background traffic"
        )
    problem = _launch_conflict(
        "PLAYWRIGHT_LAUNCH_OPTIONS", settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS")
    )
    if problem:
        problems.append(problem)
    for name, kwargs in settings.getdict("PLAYWRIGHT_CONTEXTS").items():
        problem = context_conflict(f"PLAYWRIGHT_CONTEXTS[{name!r}]", kwargs or {})
        if problem:
            problems.append(problem)
    problem = preconnect_policy_problem()
    if problem:
        problems.append(problem)
    if not isinstance(settings.get("PLAYWRIGHT_ABORT_REQUEST"), backstop_type):
        problems.append(
            "PLAYWRIGHT_ABORT_REQUEST was changed after the add-on composed it with the "
            "project's predicate; set it before the add-on runs (project settings)"
        )
    return problems
