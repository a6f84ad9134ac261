"""Load a policy directory: ``policy.yaml``, ``notices/*.yaml``, ``sites/*.yaml``.

Every file is read (at most :data:`MAX_FILE_BYTES`; at most :data:`MAX_FILES`
files and :data:`MAX_TOTAL_BYTES` in all), decoded, parsed by the safe
positional reader and validated; then the files are checked against each
other (unique ids, known ``superseded_by`` targets, one site record per
domain). All problems of all files are collected before :class:`PolicyError`
is raised, so one run of ``crawler-compliance validate`` shows everything.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from crawler_compliance.policy._errors import PolicyError, PolicyIssue, issues_from_validation
from crawler_compliance.policy._models import (
    Notice,
    PolicyConfig,
    PolicyModel,
    SiteRecord,
    SourceRef,
    notice_cross_field_errors,
)
from crawler_compliance.policy._yaml import Document, Position, YamlError, decode, parse
from crawler_compliance.policy._yaml import Path as DocPath

MAX_FILE_BYTES = 1024 * 1024  # policy files are a few KiB; anything near this is a mistake
MAX_TOTAL_BYTES = 16 * 1024 * 1024  # a whole directory; real ones are well under 1 MiB
MAX_FILES = 10_000  # notices and site records together; real directories hold tens
MAX_SNAPSHOT_BYTES = 4 * 1024 * 1024  # a terms snapshot is normalised text: tens of KiB
YAML_SUFFIXES = (".yaml", ".yml")

M = TypeVar("M", bound=PolicyModel)


@dataclass(frozen=True)
class Policy:
    """A loaded, valid policy directory.

    ``notices`` and ``sites`` are in file-path order. ``fingerprint`` is the
    SHA-256 (hex) over every loaded file, path-sorted, each contributing its
    relative POSIX path, a NUL byte, its length as 8 big-endian bytes and its
    bytes: any edit, rename, addition or removal changes it (terms snapshot
    files named by site records count as loaded files). ``files`` are the
    loaded files' display paths (``directory`` joined with the relative path).
    ``terms_snapshots`` maps a site record id to the reviewed terms text of its
    ``terms.snapshot`` file (checked against ``terms.sha256``).
    """

    config: PolicyConfig
    notices: tuple[Notice, ...]
    sites: tuple[SiteRecord, ...]
    fingerprint: str
    directory: Path
    files: tuple[str, ...]
    terms_snapshots: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclass
class _Loaded:
    """What the cross-file checks need of one parsed file.

    A file with errors keeps only its ``id`` and that id's position (duplicate ids
    are reported even then); its parsed data is dropped at once, so a directory of
    bad files does not hold all their documents in memory.
    """

    display: str
    ident: str | None
    positions: dict[DocPath, Position]
    model: Any = None  # the validated model, None when the file has errors

    @classmethod
    def of(cls, document: Document, display: str, model: Any) -> _Loaded:
        data = document.data
        value = data.get("id") if isinstance(data, dict) else None
        ident = value if isinstance(value, str) else None
        if model is not None:
            return cls(display, ident, document.positions, model)
        id_pos = document.positions.get(("id",))
        return cls(display, ident, {("id",): id_pos} if id_pos else {})


def _display(directory: str, relative: str) -> str:
    return os.path.join(directory, relative)


def _read(path: Path, display: str) -> bytes | PolicyIssue:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return PolicyIssue(display, 1, 1, "", f"cannot read the file: {exc.strerror or exc}")
    if len(raw) > MAX_FILE_BYTES:
        return PolicyIssue(
            display,
            1,
            1,
            "",
            f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB; policy files are "
            "a few KiB (is this the right file?)",
        )
    return raw


def _load_file(
    raw: bytes, display: str, model: type[M], issues: list[PolicyIssue]
) -> _Loaded | None:
    try:
        document = parse(decode(raw))
    except YamlError as exc:
        issues.extend(
            PolicyIssue(display, i.line, i.col, ".".join(map(str, i.path)), i.message)
            for i in exc.issues
        )
        return None
    file_issues = [
        PolicyIssue(display, i.line, i.col, ".".join(map(str, i.path)), i.message)
        for i in document.issues
    ]
    valid = None
    try:
        instance = model.model_validate(document.data)
    except ValidationError as exc:
        file_issues.extend(
            issues_from_validation(
                exc.errors(include_url=False), model, display, document.positions
            )
        )
        # Cross-field checks run only on a valid model; run them on the fields that
        # are valid, so one run shows every problem of the file.
        seen = {(i.loc, i.message) for i in file_issues}
        for issue in _cross_field_issues(model, document, display):
            if (issue.loc, issue.message) not in seen:
                file_issues.append(issue)
    else:
        lines = {path: pos.line for path, pos in document.positions.items()}
        id_pos = document.positions.get(("id",))
        instance._set_source(SourceRef(display, id_pos.key_line if id_pos else 1), lines)
        if not file_issues:
            valid = instance
    issues.extend(sorted(file_issues, key=lambda i: (i.line, i.col)))
    return _Loaded.of(document, display, valid)


def _cross_field_issues(model: type[M], document: Document, display: str) -> list[PolicyIssue]:
    if model is not Notice or not isinstance(document.data, dict):
        return []
    values: dict[str, Any] = {}
    for name, field in Notice.model_fields.items():
        if name not in document.data:
            if not field.is_required():
                values[name] = field.get_default(call_default_factory=True)
            continue
        annotation: Any = field.annotation
        if field.metadata:
            annotation = Annotated.__class_getitem__((annotation, *field.metadata))  # type: ignore[attr-defined]
        adapter: TypeAdapter[Any] = TypeAdapter(annotation)
        try:
            values[name] = adapter.validate_python(document.data[name])
        except ValidationError:
            continue
    issues = []
    for error in notice_cross_field_errors(values):
        pos = next(
            (
                document.positions[p]
                for p in (error.field, ("status",), ("id",))
                if p in document.positions
            ),
            None,
        )
        line, col = (pos.line, pos.col) if pos else (1, 1)
        issues.append(PolicyIssue(display, line, col, ".".join(map(str, error.field)), str(error)))
    return issues


def _yaml_files(
    directory: Path, sub: str, display_dir: str, issues: list[PolicyIssue], budget: int
) -> list[str]:
    folder = directory / sub
    if not folder.exists():
        return []
    if not folder.is_dir():
        issues.append(
            PolicyIssue(_display(display_dir, sub), 1, 1, "", "expected a directory, found a file")
        )
        return []
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(YAML_SUFFIXES) and not name.startswith(".") and entry.is_file():
            found.append(f"{sub}/{entry.name}")
            if len(found) > budget:
                issues.append(
                    PolicyIssue(
                        _display(display_dir, sub),
                        1,
                        1,
                        "",
                        f"more than {MAX_FILES} policy files (notices and site records "
                        "together); a policy directory holds tens of files (is this the "
                        "right directory?)",
                    )
                )
                return []
    return sorted(found)


def _at(loaded: _Loaded, *path: str | int) -> tuple[int, int]:
    pos = loaded.positions.get(path)
    return (pos.line, pos.col) if pos else (1, 1)


def _cross_checks(notices: list[_Loaded], sites: list[_Loaded], issues: list[PolicyIssue]) -> None:
    def issue(loaded: _Loaded, path: tuple[str | int, ...], message: str) -> None:
        line, col = _at(loaded, *path)
        issues.append(PolicyIssue(loaded.display, line, col, ".".join(map(str, path)), message))

    # Ids are compared even in files with other errors, so one run reports both.
    for kind, records in (("notice", notices), ("site record", sites)):
        seen: dict[str, _Loaded] = {}
        for loaded in records:
            ident = loaded.ident
            if ident is None:
                continue
            if ident in seen:
                first = seen[ident]
                issue(
                    loaded,
                    ("id",),
                    f"duplicate {kind} id {ident!r}; {first.display}:{_at(first, 'id')[0]} "
                    "uses it already",
                )
            else:
                seen[ident] = loaded

    notice_ids = {loaded.ident for loaded in notices}
    for loaded in notices:
        target = loaded.model.superseded_by if loaded.model else None
        if target and target not in notice_ids:
            issue(loaded, ("superseded_by",), f"no notice has the id {target!r}")

    owners: dict[str, tuple[_Loaded, int]] = {}
    for loaded in sites:
        if loaded.model is None:
            continue
        for index, domain in enumerate(loaded.model.domains):
            if domain in owners:
                other, other_index = owners[domain]
                if other is loaded:
                    message = f"{domain!r} is listed twice in this record"
                else:
                    line = _at(other, "domains", other_index)[0]
                    message = (
                        f"{domain!r} is already covered by site record "
                        f"{other.model.id!r} ({other.display}:{line}); "
                        "one record per domain"
                    )
                issue(loaded, ("domains", index), message)
            else:
                owners[domain] = (loaded, index)


def _snapshots(
    root: Path,
    display_dir: str,
    sites: list[_Loaded],
    issues: list[PolicyIssue],
    contents: dict[str, bytes],
    budget: int,
) -> dict[str, str]:
    """Read every ``terms.snapshot`` file and check it against ``terms.sha256``."""
    texts: dict[str, str] = {}
    real_root = root.resolve()
    for loaded in sites:
        model = loaded.model
        terms = model.terms if model is not None else None
        if terms is None or terms.snapshot is None:
            continue
        line, col = _at(loaded, "terms", "snapshot")

        def issue(
            message: str, at: tuple[int, int] = (line, col), display: str = loaded.display
        ) -> None:
            issues.append(PolicyIssue(display, at[0], at[1], "terms.snapshot", message))

        relative = terms.snapshot
        path = root / relative
        try:
            inside = path.resolve().is_relative_to(real_root)
        except OSError:
            inside = False
        if not inside:
            issue(f"{relative!r} leaves the policy directory (through a link?)")
            continue
        if not path.is_file():
            issue(
                f"the snapshot file {_display(display_dir, relative)} does not exist; write it "
                f"with 'crawler-compliance terms snapshot {terms.url} --out "
                f"{_display(display_dir, relative)}'"
            )
            continue
        try:
            with path.open("rb") as handle:
                raw = handle.read(MAX_SNAPSHOT_BYTES + 1)
        except OSError as exc:
            issue(f"cannot read the snapshot file: {exc.strerror or exc}")
            continue
        if len(raw) > MAX_SNAPSHOT_BYTES:
            issue(f"the snapshot file is larger than {MAX_SNAPSHOT_BYTES // (1024 * 1024)} MiB")
            continue
        budget -= len(raw)
        if budget < 0:
            issue(f"the policy files add up to more than {MAX_TOTAL_BYTES // (1024 * 1024)} MiB")
            break
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            issue(f"the snapshot file is not UTF-8 (byte {exc.start}); snapshots are UTF-8 text")
            continue
        digest = hashlib.sha256(raw).hexdigest()
        if digest != terms.sha256:
            issue(
                f"the snapshot file's SHA-256 is {digest}, not terms.sha256 ({terms.sha256}); "
                "the file was edited after the review, or sha256 belongs to another text",
                _at(loaded, "terms", "sha256"),
            )
            continue
        contents[relative] = raw
        texts[model.id] = text
    return texts


def load_policy(directory: str | os.PathLike[str]) -> Policy:
    """Load and validate a policy directory.

    Raises :class:`PolicyError` listing every problem in every file. A missing
    ``policy.yaml`` is an error; missing ``notices/`` or ``sites/`` directories
    mean no notices or no site records. Only ``*.yaml`` / ``*.yml`` files directly
    inside those directories are read; other files are ignored.
    """
    display_dir = os.fspath(directory)
    root = Path(directory)
    if not root.is_dir():
        what = "does not exist" if not root.exists() else "is not a directory"
        raise PolicyError([PolicyIssue(display_dir, 1, 1, "", f"the policy directory {what}")])

    issues: list[PolicyIssue] = []
    relatives = ["policy.yaml"]
    relatives += _yaml_files(root, "notices", display_dir, issues, MAX_FILES)
    relatives += _yaml_files(root, "sites", display_dir, issues, MAX_FILES + 1 - len(relatives))

    contents: dict[str, bytes] = {}
    total_bytes = 0
    config: _Loaded | None = None
    notices: list[_Loaded] = []
    sites: list[_Loaded] = []
    for relative in relatives:
        display = _display(display_dir, relative)
        path = root / relative
        if relative == "policy.yaml" and not path.is_file():
            issues.append(
                PolicyIssue(
                    display,
                    1,
                    1,
                    "",
                    "file not found; every policy directory needs a policy.yaml "
                    "(it declares the crawler's product token and purpose)",
                )
            )
            continue
        raw = _read(path, display)
        if isinstance(raw, PolicyIssue):
            issues.append(raw)
            continue
        total_bytes += len(raw)
        if total_bytes > MAX_TOTAL_BYTES:
            issues.append(
                PolicyIssue(
                    display,
                    1,
                    1,
                    "",
                    f"the policy files add up to more than {MAX_TOTAL_BYTES // (1024 * 1024)} "
                    "MiB; stopped reading here (policy files are a few KiB each; is this the "
                    "right directory?)",
                )
            )
            break
        contents[relative] = raw
        if relative == "policy.yaml":
            config = _load_file(raw, display, PolicyConfig, issues)
        elif relative.startswith("notices/"):
            loaded = _load_file(raw, display, Notice, issues)
            if loaded:
                notices.append(loaded)
        else:
            loaded = _load_file(raw, display, SiteRecord, issues)
            if loaded:
                sites.append(loaded)
        if issues:  # no fingerprint will be computed: do not keep the bytes
            contents.clear()

    _cross_checks(notices, sites, issues)
    budget = MAX_TOTAL_BYTES - total_bytes
    snapshots = _snapshots(root, display_dir, sites, issues, contents, budget)
    if issues or config is None or config.model is None:
        order = {_display(display_dir, relative): n for n, relative in enumerate(relatives)}
        issues.sort(key=lambda i: (order.get(i.path, -1), i.line, i.col))
        raise PolicyError(issues)

    digest = hashlib.sha256()
    for relative in sorted(contents):
        data = contents[relative]
        digest.update(relative.encode("utf-8") + b"\0" + len(data).to_bytes(8, "big") + data)
    return Policy(
        config=config.model,
        notices=tuple(loaded.model for loaded in notices),
        sites=tuple(loaded.model for loaded in sites),
        fingerprint=digest.hexdigest(),
        directory=root,
        files=tuple(_display(display_dir, relative) for relative in sorted(contents)),
        terms_snapshots=snapshots,
    )


FILE_MODELS: dict[str, type[PolicyModel]] = {
    "policy": PolicyConfig,
    "notice": Notice,
    "site": SiteRecord,
}


def validate_file(path: str | os.PathLike[str], kind: str) -> tuple[Any, list[PolicyIssue]]:
    """Validate one file on its own as a ``policy``, ``notice`` or ``site`` file.

    Returns ``(model or None, issues)``; the checks between files of a directory
    (unique ids, superseded_by targets, one record per domain) need
    :func:`load_policy`.
    """
    display = os.fspath(path)
    raw = _read(Path(path), display)
    if isinstance(raw, PolicyIssue):
        return None, [raw]
    issues: list[PolicyIssue] = []
    loaded = _load_file(raw, display, FILE_MODELS[kind], issues)
    return (loaded.model if loaded else None), issues
