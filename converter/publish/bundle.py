"""The release bundle: `certdetect-<version>.tar.gz` with the rules, the cases every query was
executed on (the manifest names them), dist/, the licence, the changelog, every document the
bundled documents link to, and a SHA256SUMS over every other file.

The same commit gives the same bytes on any machine, at any time, under any umask: entries are
sorted, every file is 0644 and every folder 0755, owned by uid/gid 0 without names, and every
entry carries one timestamp, midnight UTC of the version's release date in CHANGELOG.md (never
the checkout's mtimes or the clock). The tar is plain POSIX ustar, written with an explicit
UTF-8 name encoding, and the gzip header has no file name and a zero mtime. The compressed
bytes also depend on the zlib that Python links; SHA256SUMS inside holds either way.

A bundle is only made from a checkout whose dist/ is exactly what a build writes.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from converter.core.errors import InputError, VerificationFailed
from converter.core.project import Project
from converter.publish.artifacts import differences, render
from converter.publish.deploy import splunk_app
from converter.verify.build import BuildResult, run_build

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DOCUMENTS = ("LICENSE", "CHANGELOG.md", "README.md")
# A relative Markdown link target: `[text](path)` without a scheme, anchor-only or absolute path.
_LINK = re.compile(r"\]\((?![a-z][a-z0-9+.-]*:|#|/)([^)\s#]+)")
SUMS = "SHA256SUMS"
FILE_MODE = 0o644
DIR_MODE = 0o755

_HEADING = re.compile(r"^## \[?(?P<version>[^\]\s]+)\]? +- +(?P<date>\d{4}-\d{2}-\d{2}) *$")
# Commit subject prefixes (the project's convention) -> Keep a Changelog section names.
CHANGE_KINDS = {"new": "Added", "update": "Changed", "fix": "Fixed", "remove": "Removed"}


class DistOutOfDate(VerificationFailed):
    """dist/ differs from what a build writes; `changed` names each differing path."""

    def __init__(self, changed: list[str]) -> None:
        super().__init__("dist/ is out of date; run `certdetect build` and commit it")
        self.changed = changed


def project_version(root: Path) -> str:
    """The version pyproject.toml declares: `project.version`, or the `__version__` attribute
    its setuptools dynamic version names, read from the source without importing it."""
    path = root / "pyproject.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise InputError(path, f"cannot read the project version: {error}") from None
    project = data.get("project", {})
    if "version" in project:
        return str(project["version"])
    attr = data.get("tool", {}).get("setuptools", {}).get("dynamic", {}).get("version", {})
    target = attr.get("attr") if isinstance(attr, dict) else None
    if not isinstance(target, str) or "." not in target:
        raise InputError(path, "no project.version and no tool.setuptools.dynamic version attr")
    module, name = target.rsplit(".", 1)
    source = root / Path(*module.split("."))
    source = source / "__init__.py" if source.is_dir() else source.with_suffix(".py")
    try:
        tree = ast.parse(source.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError) as error:
        raise InputError(source, f"cannot read {name}: {error}") from None
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    raise InputError(source, f"no string assignment to {name}")


def release_date(changelog: str, version: str) -> date:
    """The date of the version's section heading, `## [0.1.0] - 2026-11-28`."""
    for line in changelog.splitlines():
        match = _HEADING.match(line)
        if match and match["version"] == version:
            return date.fromisoformat(match["date"])
    raise ValueError(f"no section '## [{version}] - YYYY-MM-DD'")


def changelog_section(changelog: str, version: str) -> str:
    """The body of the version's section (for release notes), without its heading."""
    lines = changelog.splitlines()
    for index, line in enumerate(lines):
        match = _HEADING.match(line)
        if match and match["version"] == version:
            body = []
            for following in lines[index + 1 :]:
                if following.startswith("## "):
                    break
                body.append(following)
            return "\n".join(body).strip() + "\n"
    raise ValueError(f"no section '## [{version}] - YYYY-MM-DD'")


def changelog_from_git(repo: Path, version: str, day: date, since: str | None = None) -> str:
    """A changelog section from the commit subjects after `since` (a tag or commit; all
    commits when None), grouped by their `new:` / `update:` / `fix:` / `remove:` prefix."""
    revisions = f"{since}..HEAD" if since else "HEAD"
    subjects = subprocess.run(
        ["git", "-C", str(repo), "log", "--no-merges", "--reverse", "--format=%s", revisions],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    groups: dict[str, list[str]] = {}
    for subject in subjects:
        prefix, _, rest = subject.partition(":")
        kind = CHANGE_KINDS.get(prefix.strip().lower())
        if kind is None or not rest.strip():
            kind, rest = "Other", subject
        groups.setdefault(kind, []).append(rest.strip())
    lines = [f"## [{version}] - {day.isoformat()}"]
    for kind in (*CHANGE_KINDS.values(), "Other"):
        if kind in groups:
            lines += ["", f"### {kind}", ""] + [f"- {item}" for item in groups[kind]]
    return "\n".join(lines) + "\n"


def sha256sums(files: Mapping[str, bytes]) -> bytes:
    """`sha256sum` text format, sorted by path: `sha256sum -c SHA256SUMS` checks it."""
    lines = [f"{hashlib.sha256(files[name]).hexdigest()}  {name}\n" for name in sorted(files)]
    return "".join(lines).encode("utf-8")


def _entry(name: str, mtime: int, size: int = 0, directory: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.mode = DIR_MODE if directory else FILE_MODE
    info.size = size
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def tar_gz(prefix: str, files: Mapping[str, bytes], mtime: int) -> bytes:
    """A reproducible .tar.gz of `files` under the folder `prefix`."""
    folders = {prefix}
    for name in files:
        parts = name.split("/")
        folders.update("/".join([prefix, *parts[:index]]) for index in range(1, len(parts)))
    entries = sorted(
        [(folder, None) for folder in folders]
        + [(f"{prefix}/{name}", content) for name, content in files.items()]
    )
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT, encoding="utf-8") as tar:
        for name, content in entries:
            if content is None:
                tar.addfile(_entry(name, mtime, directory=True))
            else:
                tar.addfile(_entry(name, mtime, size=len(content)), io.BytesIO(content))
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, compresslevel=9, mtime=0) as gz:
        gz.write(raw.getvalue())
    return packed.getvalue()


@dataclass(frozen=True)
class Bundle:
    version: str
    released: date
    files: dict[str, bytes]  # path inside the bundle folder -> content, SHA256SUMS included

    @property
    def name(self) -> str:
        return f"certdetect-{self.version}"

    @property
    def filename(self) -> str:
        return f"{self.name}.tar.gz"

    @property
    def mtime(self) -> int:
        midnight = datetime(*self.released.timetuple()[:3], tzinfo=timezone.utc)
        return int(midnight.timestamp())

    def archive(self) -> bytes:
        return tar_gz(self.name, self.files, self.mtime)


def _read(project: Project, relative: str) -> bytes:
    path = project.root / relative
    try:
        return path.read_bytes()
    except OSError as error:
        raise InputError(relative, f"cannot read it for the bundle: {error.strerror}") from None


def collect(project: Project, build: BuildResult, dist: Mapping[str, bytes]) -> Bundle:
    """The bundle's files: the rules the build loaded, dist/, the documents, SHA256SUMS."""
    version = project_version(project.root)
    changelog = _read(project, "CHANGELOG.md").decode("utf-8", errors="replace")
    try:
        released = release_date(changelog, version)
    except ValueError as error:
        raise InputError("CHANGELOG.md", f"{error} for the release of {version}") from None
    files: dict[str, bytes] = {}
    sources = [result.rule.path for result in build.rules] + [case.path for case in build.cases]
    for source in sources:
        if Path(source).is_absolute() or source.startswith("../"):
            raise InputError(source, "file is outside the project; cannot bundle it")
        files[source] = _read(project, source)
    files.update({f"dist/{name}": content for name, content in dist.items()})
    for document in linked_documents(project, DOCUMENTS):
        files[document] = _read(project, document)
    files[SUMS] = sha256sums(files)
    return Bundle(version=version, released=released, files=dict(sorted(files.items())))


def linked_documents(project: Project, documents: tuple[str, ...]) -> list[str]:
    """`documents` and every project file their relative Markdown links reach, transitively, so
    that each link in the bundled README opens inside the bundle. A link to a missing file or
    outside the project is an error: it would be a dead link in the release."""
    found: list[str] = []
    queue = list(documents)
    root = project.root.resolve()
    while queue:
        name = queue.pop(0)
        if name in found:
            continue
        found.append(name)
        if not name.endswith(".md"):
            continue
        text = _read(project, name).decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            for match in _LINK.finditer(line):
                target = (project.root / name).parent / match.group(1)
                try:
                    relative = target.resolve().relative_to(root).as_posix()
                except ValueError:
                    message = f"links outside the project: {match.group(1)}"
                    raise InputError(name, message, number) from None
                if not (root / relative).is_file():
                    raise InputError(name, f"links to a missing file: {match.group(1)}", number)
                queue.append(relative)
    return found


def make_bundle(project: Project) -> Bundle:
    """Build, check that dist/ is what the build writes, and collect the bundle."""
    build = run_build(project)
    if not build.ok:
        raise VerificationFailed(
            f"{len(build.failures)} disagreement(s) with the cases; run `certdetect build`"
        )
    dist = render(build)
    changed = differences(project.dist_dir, dist)
    if changed:
        raise DistOutOfDate(changed)
    return collect(project, build, dist)


class ArchiveExists(InputError):
    """A different archive of the same name is already there: a release is never replaced."""


def archives(bundle: Bundle) -> dict[str, bytes]:
    """What a release publishes: the bundle, and the Splunk app as the package Splunk installs
    (its folder under dist/, packed under the app id with the bundle's timestamp)."""
    made = {bundle.filename: bundle.archive()}
    prefix = f"dist/{splunk_app.APP_DIR}/"
    app = {
        name[len(prefix) :]: data for name, data in bundle.files.items() if name.startswith(prefix)
    }
    if app:
        made[splunk_app.PACKAGE.format(version=bundle.version)] = tar_gz(
            splunk_app.APP_ID, app, bundle.mtime
        )
    return made


def write_bundle(bundle: Bundle, out_dir: Path) -> list[tuple[Path, bool]]:
    """Write each archive into out_dir in one step (a temporary file renamed into place); for
    each, its path and whether it was already there with the same bytes.

    An archive of the same name with the same bytes is left as it is (the bundle is
    reproducible); one with other bytes is refused before anything is written, so a published
    release is never replaced by a rebuilt one without a word."""
    made = archives(bundle)
    out_dir.mkdir(parents=True, exist_ok=True)
    existing = {}
    for name, data in made.items():
        target = out_dir / name
        if target.exists():
            if not (target.is_file() and target.read_bytes() == data):
                raise ArchiveExists(
                    str(target),
                    "a different archive of this version is already there; remove it first",
                )
            existing[name] = True
    written = []
    for name, data in made.items():
        target = out_dir / name
        if not existing.get(name):
            _write_file(target, data)
        written.append((target, existing.get(name, False)))
    return written


def _write_file(target: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
