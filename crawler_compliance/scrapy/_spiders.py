"""Check a Scrapy project's spiders against the policy, without crawling.

Each spider's ``start_urls`` and ``allowed_domains`` are decided offline
(registry and site records), and so is every request its ``async def
start()`` and ``start_requests()`` yield: they are run in-process with the
network refused (name lookups and connections fail), bounded in time and in
number of requests. A spider whose start cannot be evaluated (it raises,
needs the network, runs too long or yields too much) is reported by name as
*unchecked*, never silently passed.
"""

from __future__ import annotations

import asyncio
import configparser
import contextlib
import enum
import errno
import inspect
import os
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler_compliance._decision import Decision

DEFAULT_POLICY_DIR = "policies"
DEFAULT_START_TIMEOUT = 10.0
DEFAULT_MAX_START_REQUESTS = 10_000


class Source(str, enum.Enum):
    """Where a checked URL came from."""

    START_URLS = "start_urls"
    ALLOWED_DOMAINS = "allowed_domains"
    START = "start()"
    START_REQUESTS = "start_requests()"


@dataclass(frozen=True)
class SpiderFinding:
    """One URL of one spider and its decision; ``decision`` is ``None`` when the
    spider's start could not be evaluated (``unchecked`` then says why)."""

    spider: str
    source: str
    decision: Decision | None
    unchecked: str | None = None
    defined_at: str | None = None  # "path/to/spiders.py:12", when known

    @property
    def allowed(self) -> bool:
        return self.decision is not None and self.decision.allowed

    @property
    def denied(self) -> bool:
        return self.decision is not None and not self.decision.allowed

    def describe(self) -> str:
        """One readable paragraph: what was decided and why, with notice, file and line."""
        where = f" (defined at {self.defined_at})" if self.defined_at else ""
        if self.decision is None:
            return f"spider {self.spider!r}{where}: UNCHECKED: {self.unchecked}"
        verdict = "allowed" if self.decision.allowed else "DENIED"
        head = f"spider {self.spider!r}{where} {self.source}: {self.decision.url} is {verdict}"
        reasons = self.decision.denying_reasons or self.decision.reasons
        return "\n".join([head, *(f"    {reason}" for reason in reasons)])


# --- the project ------------------------------------------------------------------------


@dataclass
class Project:
    """A Scrapy project on disk: the directory holding ``scrapy.cfg`` and its settings."""

    root: Path
    settings: Any
    policy_dir: Path = field(default=Path(DEFAULT_POLICY_DIR))


def find_project_root(start: str | os.PathLike[str] = ".") -> Path | None:
    """The closest directory at or above ``start`` that holds ``scrapy.cfg``."""
    path = Path(start).resolve()
    for candidate in (path, *path.parents):
        if (candidate / "scrapy.cfg").is_file():
            return candidate
    return None


def resolve_policy_dir(value: str | os.PathLike[str] | None, base: Path | None) -> Path:
    """``COMPLIANCE_POLICY_DIR`` (default ``policies``) as an absolute path: a relative
    value is relative to ``base`` (the project directory), else to the current directory."""
    path = Path(os.path.expanduser(os.fspath(value or DEFAULT_POLICY_DIR)))
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    return Path(os.path.abspath(path))


def _settings_module(root: Path) -> str:
    parser = configparser.ConfigParser()
    parser.read(root / "scrapy.cfg", encoding="utf-8")
    project = os.environ.get("SCRAPY_PROJECT", "default")
    if not parser.has_option("settings", project):
        raise FileNotFoundError(
            f"{root / 'scrapy.cfg'}: no [settings] {project} = MODULE entry, "
            "not a Scrapy project configuration"
        )
    return parser.get("settings", project)


@contextlib.contextmanager
def open_project(project_dir: str | os.PathLike[str] = ".") -> Iterator[Project]:
    """Import a project's settings for the length of the ``with`` block.

    The project directory is put first on ``sys.path`` and made the current
    directory (as ``scrapy`` does); afterwards both are restored and the
    project's modules are forgotten, so one process can check several projects.
    """
    from scrapy.settings import Settings

    root = find_project_root(project_dir)
    if root is None:
        raise FileNotFoundError(
            f"{Path(project_dir).resolve()}: no scrapy.cfg here or in a parent directory, "
            "not a Scrapy project"
        )
    module = _settings_module(root)
    before = set(sys.modules)
    previous_cwd = os.getcwd()
    sys.path.insert(0, str(root))
    try:
        os.chdir(root)
        settings = Settings()
        with _NetworkRefused().applied():  # importing settings must not reach out either
            settings.setmodule(module, priority="project")
        yield Project(
            root, settings, resolve_policy_dir(settings.get("COMPLIANCE_POLICY_DIR"), root)
        )
    finally:
        os.chdir(previous_cwd)
        with contextlib.suppress(ValueError):
            sys.path.remove(str(root))
        for name in set(sys.modules) - before:
            file = getattr(sys.modules.get(name), "__file__", None) or ""
            if file.startswith(str(root) + os.sep):
                del sys.modules[name]


def _spider_classes(settings: Any) -> list[type]:
    """The project's spider classes, imported with the network refused (offline)."""
    from scrapy.spiderloader import get_spider_loader

    with _NetworkRefused().applied():
        loader = get_spider_loader(settings)
        return [loader.load(name) for name in sorted(loader.list())]


# --- running start() with the network refused -----------------------------------------


class _NetworkRefused:
    """Refuse name lookups and connections while active, and forever in the threads
    that ran a spider's start and did not finish (they may still be running)."""

    def __init__(self) -> None:
        self.attempts: dict[int, list[str]] = {}  # thread id -> what it tried
        self.stuck: set[int] = set()
        self.active = False
        self._lock = threading.Lock()
        self._saved: dict[str, Any] = {}

    def _refuses(self) -> bool:
        return self.active or threading.get_ident() in self.stuck

    def _note(self, what: str) -> None:
        with self._lock:
            self.attempts.setdefault(threading.get_ident(), []).append(what)

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        real: dict[str, Any] = {
            "getaddrinfo": socket.getaddrinfo,
            "gethostbyname": socket.gethostbyname,
            "gethostbyname_ex": socket.gethostbyname_ex,
            "connect": socket.socket.connect,
            "connect_ex": socket.socket.connect_ex,
        }
        guard = self

        def lookup(name: str) -> Any:
            def refused_lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
                if guard._refuses():
                    guard._note(f"name lookup of {host}")
                    raise socket.gaierror(socket.EAI_NONAME, "network refused while checking")
                return real[name](host, *args, **kwargs)

            return refused_lookup

        def connect(self: socket.socket, address: Any) -> Any:
            if guard._refuses() and self.family in (socket.AF_INET, socket.AF_INET6):
                guard._note(f"connection to {address[0]}")
                raise ConnectionRefusedError(errno.ECONNREFUSED, "network refused while checking")
            return real["connect"](self, address)

        def connect_ex(self: socket.socket, address: Any) -> Any:
            if guard._refuses() and self.family in (socket.AF_INET, socket.AF_INET6):
                guard._note(f"connection to {address[0]}")
                return errno.ECONNREFUSED
            return real["connect_ex"](self, address)

        patched = {
            "getaddrinfo": lookup("getaddrinfo"),
            "gethostbyname": lookup("gethostbyname"),
            "gethostbyname_ex": lookup("gethostbyname_ex"),
        }
        for name, function in patched.items():
            setattr(socket, name, function)
        socket.socket.connect = connect  # type: ignore[method-assign,assignment,unused-ignore]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment,unused-ignore]
        self.active = True
        try:
            yield
        finally:
            self.active = False
            if not self.stuck:  # a stuck thread keeps the refusal: leave the patch
                for name, function in patched.items():
                    if getattr(socket, name) is function:
                        setattr(socket, name, real[name])
                if socket.socket.connect is connect:
                    socket.socket.connect = real["connect"]  # type: ignore[method-assign]
                if socket.socket.connect_ex is connect_ex:
                    socket.socket.connect_ex = real["connect_ex"]  # type: ignore[method-assign]


class _NotBuilt(Exception):
    pass


def _route_of(request: Any) -> tuple[str | None, tuple[str, ...], tuple[str, ...]]:
    """(proxy, Host headers, User-Agent headers) a yielded request carries."""

    def values(name: bytes) -> tuple[str, ...]:
        return tuple(v.decode("latin-1") for v in request.headers.getlist(name))

    proxy = request.meta.get("proxy")
    return (str(proxy) if proxy else None, values(b"Host"), values(b"User-Agent"))


@dataclass
class _StartRun:
    urls: list[tuple[Source, str]] = field(default_factory=list)
    routes: dict[int, tuple[str | None, tuple[str, ...], tuple[str, ...]]] = field(
        default_factory=dict
    )
    problem: str | None = None
    done: bool = False


def _defines(spider_cls: type, name: str) -> bool:
    """Whether ``name`` is defined by the spider class (or a base) other than scrapy.Spider."""
    from scrapy import Spider

    attribute = getattr(spider_cls, name, None)
    return callable(attribute) and attribute is not getattr(Spider, name, None)


async def _collect(spider_cls: type, settings: Any, run: _StartRun, max_requests: int) -> None:
    from scrapy import Request
    from scrapy.crawler import Crawler

    try:
        crawler = Crawler(spider_cls, settings)
        spider = spider_cls.from_crawler(crawler)  # type: ignore[attr-defined]
    except Exception as exc:  # a spider that needs -a arguments, a setting, a service
        raise _NotBuilt(
            f"the spider cannot be built without arguments: {type(exc).__name__}: {exc}"
        ) from exc

    def add(source: Source, item: Any) -> bool:
        if isinstance(item, Request):
            if len(run.urls) >= max_requests:
                run.problem = (
                    f"yields more than {max_requests} requests; only the first "
                    f"{max_requests} were checked (raise --max-start-requests)"
                )
                return False
            run.urls.append((source, item.url))
            run.routes[len(run.urls) - 1] = _route_of(item)
        return True

    if _defines(spider_cls, "start"):
        async for item in spider.start():
            if not add(Source.START, item):
                return
    if _defines(spider_cls, "start_requests"):
        # Scrapy < 2.13 called start_requests(); later versions only call it from a
        # start() that delegates to it. Either way a crawl may send what it yields.
        result = spider.start_requests()
        for item in result or ():
            if not add(Source.START_REQUESTS, item):
                return


def _thread_body(
    spider_cls: type, settings: Any, run: _StartRun, max_requests: int, timeout: float
) -> None:
    try:
        asyncio.run(asyncio.wait_for(_collect(spider_cls, settings, run, max_requests), timeout))
    except asyncio.TimeoutError:
        run.problem = f"start() did not finish within {timeout:g} s"
    except _NotBuilt as exc:
        run.problem = str(exc)
    except BaseException as exc:  # noqa: BLE001 - any failure leaves the spider unchecked
        run.problem = f"start() raised {type(exc).__name__}: {exc}"
    run.done = True


def evaluate_start(
    spider_cls: type,
    settings: Any,
    *,
    timeout: float = DEFAULT_START_TIMEOUT,
    max_requests: int = DEFAULT_MAX_START_REQUESTS,
) -> tuple[list[tuple[Source, str, Any]], str | None]:
    """The requests ``start()`` and ``start_requests()`` yield, as (source, URL,
    (proxy, Host headers, User-Agent headers)), and why they are incomplete
    (``None`` when the whole start was evaluated)."""
    if not (_defines(spider_cls, "start") or _defines(spider_cls, "start_requests")):
        return [], None
    guard = _NetworkRefused()
    run = _StartRun()
    thread = threading.Thread(
        target=_thread_body,
        args=(spider_cls, settings, run, max_requests, timeout),
        name=f"crawler-compliance start() of {getattr(spider_cls, 'name', spider_cls)}",
        daemon=True,
    )
    with guard.applied():
        thread.start()
        # wait_for bounds awaiting code; the join also bounds code that blocks.
        thread.join(timeout + 1.0)
        if thread.is_alive() and thread.ident is not None:
            guard.stuck.add(thread.ident)
    found = [
        (source, url, run.routes.get(i, (None, (), ()))) for i, (source, url) in enumerate(run.urls)
    ]
    if not run.done:
        return found, f"start() did not finish within {timeout:g} s (it blocks)"
    attempts = [what for tried in guard.attempts.values() for what in tried]
    if attempts:
        # The network is refused: what start() yields (or the error it raised)
        # may depend on it, so the spider is unchecked.
        run.problem = f"start() tried to use the network ({attempts[0]}), which is refused " + (
            f"while checking; then {run.problem}" if run.problem else "while checking"
        )
    return found, run.problem


def _defined_at(spider_cls: type) -> str | None:
    try:
        path = inspect.getsourcefile(spider_cls)
        _, line = inspect.getsourcelines(spider_cls)
    except (OSError, TypeError):
        return None
    return f"{path}:{line}" if path else None


def _decider(checker: Any) -> Any:
    """``decide(url, route)``: through the enforcer (proxy, Host and User-Agent of the
    request decided as the crawl decides them), or a bare checker (proxy only)."""
    if hasattr(checker, "plan"):  # an Enforcer
        from crawler_compliance.cli._check import decide_url

        def decide(url: str, route: Any = (None, (), ())) -> Decision:
            proxy, hosts, agents = route
            return decide_url(
                checker,
                url,
                offline=True,
                timeout=0,
                proxy=proxy,
                host_headers=hosts,
                user_agents=agents,
            )

        return decide

    def decide_plain(url: str, route: Any = (None, (), ())) -> Decision:
        from crawler_compliance._route import proxy_host

        proxy = route[0]
        extra = (proxy_host(proxy),) if proxy else ()
        decision: Decision = checker.decide(
            url, None, offline=True, extra_hosts=(*extra, *route[1])
        )
        return decision

    return decide_plain


def check_spider_classes(
    checker: Any,
    spider_classes: list[type],
    settings: Any,
    *,
    timeout: float = DEFAULT_START_TIMEOUT,
    max_requests: int = DEFAULT_MAX_START_REQUESTS,
) -> list[SpiderFinding]:
    """Decide every start URL, allowed domain and start request of each spider class.

    ``checker`` is an :class:`~crawler_compliance.Enforcer` (the one enforcement
    path: recorded when it has an audit log) or a bare ``ComplianceChecker``.
    """
    decide = _decider(checker)
    findings: list[SpiderFinding] = []
    for spider_cls in spider_classes:
        name = str(getattr(spider_cls, "name", None) or spider_cls.__name__)
        at = _defined_at(spider_cls)
        seen: set[str] = set()

        def add(
            source: Source, url: str, route: Any = None, name: str = name, at: str | None = at
        ) -> None:
            decision = decide(url) if route is None else decide(url, route)
            findings.append(SpiderFinding(name, source.value, decision, None, at))

        start_urls = getattr(spider_cls, "start_urls", ()) or ()
        if isinstance(start_urls, str):
            start_urls = [start_urls]
        for url in start_urls:
            seen.add(str(url))
            add(Source.START_URLS, str(url))
        for domain in getattr(spider_cls, "allowed_domains", ()) or ():
            add(Source.ALLOWED_DOMAINS, f"https://{domain}/")
        urls, problem = evaluate_start(
            spider_cls, settings, timeout=timeout, max_requests=max_requests
        )
        for source, url, route in urls:
            # A start_urls URL is not decided twice, unless the request routes it
            # elsewhere (a proxy, a Host header, its own User-Agent).
            key = url if route == (None, (), ()) else f"{url}\0{route!r}"
            if key not in seen:
                seen.add(key)
                add(source, url, route)
        if problem is not None:
            findings.append(SpiderFinding(name, Source.START.value, None, problem, at))
    return findings


def check_project_spiders(
    checker: Any,
    project_dir: str | os.PathLike[str] = ".",
    *,
    timeout: float = DEFAULT_START_TIMEOUT,
    max_requests: int = DEFAULT_MAX_START_REQUESTS,
) -> list[SpiderFinding]:
    """Decide every start URL, allowed domain and start request of every spider."""
    with open_project(project_dir) as project:
        return check_spider_classes(
            checker,
            _spider_classes(project.settings),
            project.settings,
            timeout=timeout,
            max_requests=max_requests,
        )
