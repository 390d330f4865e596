"""The rule catalog's files (`converter.publish.catalog`) as the build writes them: one page per
rule, deterministic bytes, escaped text, nothing loaded from outside, each query exactly its
dist/ file. `tests/test_catalog_browser.py` drives the same pages in Chromium."""

from __future__ import annotations

import dataclasses
import shutil
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath

import pytest

from converter.core.project import Project
from converter.core.status import Status
from converter.publish import catalog
from converter.publish.artifacts import differences, render
from converter.publish.catalog.model import catalog_of
from converter.publish.catalog.rule_page import render_rule
from converter.publish.deploy.navigator import layer
from converter.verify.build import BuildResult, run_build

from .conftest import REPO


@pytest.fixture(scope="module")
def build() -> BuildResult:
    return run_build(Project.at(REPO))


@pytest.fixture(scope="module")
def files(build: BuildResult) -> dict[str, bytes]:
    return catalog.render(build)


class _Page(HTMLParser):
    """The resources a page loads, the text of each `<code id>` and the ids of hidden elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.loads: list[str] = []
        self.texts: dict[str, str] = {}
        self._open: list[str] = []
        self.hidden: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("script", "img", "iframe", "source") and values.get("src"):
            self.loads.append(str(values["src"]))
        if tag == "link" and values.get("href"):
            self.loads.append(str(values["href"]))
        if "hidden" in values:
            self.hidden.add(str(values.get("id") or values.get("data-copy")))
        if tag == "code" and values.get("id"):
            self._open.append(str(values["id"]))
            self.texts[str(values["id"])] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "code" and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for ident in self._open:
            self.texts[ident] += data


def parse(content: bytes) -> _Page:
    page = _Page()
    page.feed(content.decode("utf-8"))
    return page


def test_the_catalog_has_an_index_an_attack_view_and_one_page_per_rule(
    build: BuildResult, files: dict[str, bytes]
) -> None:
    pages = {f"catalog/rules/{result.rule.stem}.html" for result in build.rules}
    expected = {
        "catalog/index.html",
        "catalog/attack.html",
        *(f"catalog/{name}" for name in catalog.ASSETS),
        *pages,
    }
    assert set(files) == expected


def test_the_build_writes_the_catalog_into_dist(build: BuildResult) -> None:
    assert "catalog/index.html" in render(build)


def test_rendering_the_same_build_twice_gives_the_same_bytes(build: BuildResult) -> None:
    assert catalog.render(build) == catalog.render(build)


def test_the_committed_catalog_is_what_the_build_writes(files: dict[str, bytes]) -> None:
    on_disk = {
        path.relative_to(REPO / "dist").as_posix(): path.read_bytes()
        for path in (REPO / "dist" / "catalog").rglob("*")
        if path.is_file()
    }
    assert on_disk == files


def test_build_check_names_a_stale_catalog_page(
    build: BuildResult, project_copy: Project, files: dict[str, bytes]
) -> None:
    index = project_copy.dist_dir / "catalog" / "index.html"
    index.write_bytes(index.read_bytes().replace(b"<h1>", b"<h1>edited "))
    assert differences(project_copy.dist_dir, render(build)) == ["catalog/index.html (differs)"]


def test_no_page_loads_anything_from_outside_the_catalog(files: dict[str, bytes]) -> None:
    for name, content in files.items():
        if not name.endswith(".html"):
            continue
        loads = parse(content).loads
        assert loads, name  # the stylesheet and the script at least
        for src in loads:
            assert "://" not in src and not src.startswith("//"), (name, src)
            resolved = (PurePosixPath(name).parent / src).as_posix()
            normal = str(PurePosixPath(*_normalise(resolved.split("/"))))
            assert normal in files, (name, src)


def _normalise(parts: list[str]) -> list[str]:
    out: list[str] = []
    for part in parts:
        if part == "..":
            out.pop()
        elif part not in ("", "."):
            out.append(part)
    return out


def test_each_query_on_a_rule_page_is_its_dist_file_byte_for_byte(
    build: BuildResult, files: dict[str, bytes]
) -> None:
    dist = render(build)
    compared = 0
    for result in build.rules:
        texts = parse(files[f"catalog/rules/{result.rule.stem}.html"]).texts
        for target in build.targets:
            path = f"{target.name}/{result.rule.stem}{target.extension}"
            if path in dist:
                assert texts[f"query-{target.name}"] == dist[path].decode("utf-8"), path
                compared += 1
            else:
                assert f"query-{target.name}" not in texts
        assert texts["sigma-rule"] == result.rule.text
    assert compared >= len(build.rules)


def test_the_filters_and_copy_buttons_stay_hidden_until_the_script_runs(
    files: dict[str, bytes],
) -> None:
    assert "filters" in parse(files["catalog/index.html"]).hidden
    page = parse(files["catalog/rules/proc_creation_win_certutil_certificate_import.html"])
    assert {"query-eql", "query-spl", "query-kql", "sigma-rule"} <= page.hidden


def test_text_from_a_rule_is_escaped_on_its_page(build: BuildResult) -> None:
    view = catalog_of(build).rules[0]
    hostile = '<script>alert("x")</script> & <b>'
    meta = dataclasses.replace(view.meta, title=hostile, falsepositives=(hostile,))
    html = render_rule(dataclasses.replace(view, meta=meta, text=hostile))
    assert "<script>alert" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;" in html


def test_a_verified_query_names_the_deployable_file_it_ships_in(build: BuildResult) -> None:
    views = {view.meta.stem: view for view in catalog_of(build).rules}
    certutil = {t.name: t for t in views["proc_creation_win_certutil_certificate_import"].targets}
    assert [d.path for d in certutil["eql"].deployments] == ["elastic/certdetect-rules.ndjson"]
    assert [d.path for d in certutil["spl"].deployments] == [
        "splunk/certdetect/default/savedsearches.conf"
    ]
    assert [d.path for d in certutil["kql"].deployments] == [
        "sentinel/proc_creation_win_certutil_certificate_import.yaml"
    ]
    auditd = {t.name: t for t in views["lnx_auditd_trust_store_update"].targets}
    assert auditd["eql"].entry.status == Status.UNSUPPORTED
    assert auditd["eql"].deployments == () and auditd["eql"].query is None


def test_a_rule_page_lists_its_cases_with_their_origin_and_counts_the_others(
    build: BuildResult,
) -> None:
    view = next(
        v for v in catalog_of(build).rules if v.meta.stem == "lnx_auditd_trust_store_update"
    )
    folder = [case for case in build.cases if case.folder == view.meta.stem]
    listed = {case.id: case for case in view.cases}
    assert {case.id for case in folder} <= set(listed)
    assert view.other_cases == len(build.cases) - len(view.cases)
    for case in folder:
        kind = case.origin["kind"]
        assert listed[case.id].origin.startswith("recorded" if kind == "recorded" else "written")
        assert listed[case.id].expected == (view.meta.id in case.expect)


def test_the_attack_view_shows_every_scored_technique_of_the_navigator_layer(
    build: BuildResult, files: dict[str, bytes]
) -> None:
    page = files["catalog/attack.html"].decode("utf-8")
    scored = [t for t in layer(build)["techniques"] if "score" in t]  # type: ignore[union-attr]
    assert scored
    for technique in scored:
        noun = "rule" if technique["score"] == 1 else "rules"
        assert f">{technique['techniqueID']}</a>" in page
        assert f'<span class="score">{technique["score"]} {noun}</span>' in page


def test_the_catalog_opens_from_a_copy_of_dist_alone(tmp_path: Path) -> None:
    """The release bundle ships dist/ as it is: every link between the pages stays inside it."""
    copy = tmp_path / "dist"
    shutil.copytree(REPO / "dist", copy)
    for page in (copy / "catalog").rglob("*.html"):
        for src in parse(page.read_bytes()).loads:
            assert (page.parent / src).resolve().is_file(), (page, src)


class _Outline(HTMLParser):
    """What assistive technology relies on: the language, the title, headings, labels."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lang: str | None = None
        self.headings: list[int] = []
        self.controls: list[str] = []
        self.labelled: set[str] = set()
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang")
        if tag in ("h1", "h2", "h3", "h4"):
            self.headings.append(int(tag[1]))
        if tag in ("input", "select", "textarea"):
            self.controls.append(str(values.get("id")))
        if tag == "label":
            self.labelled.add(str(values.get("for")))
        self._in_title = tag == "title"

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def test_every_page_has_a_language_a_title_one_h1_no_skipped_heading_and_labelled_controls(
    files: dict[str, bytes],
) -> None:
    for name, content in files.items():
        if not name.endswith(".html"):
            continue
        outline = _Outline()
        outline.feed(content.decode("utf-8"))
        assert outline.lang == "en" and outline.title.strip(), name
        assert outline.headings.count(1) == 1 and outline.headings[0] == 1, name
        steps = zip(outline.headings, outline.headings[1:], strict=False)
        assert all(after <= before + 1 for before, after in steps), name
        assert set(outline.controls) <= outline.labelled, name
