"""The Splunk app (issue 16, item 3): the layout Splunk installs, its settings read by Splunk's
own conf parser, and the packaged app passing Splunk's `splunk-appinspect` with no failure,
error or warning."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from addonfactory_splunk_conf_parser_lib import TABConfigParser

from converter import __version__
from converter.core.project import Project
from converter.publish.bundle import archives, make_bundle
from converter.publish.deploy import splunk_app

from .conftest import REPO

APP = "splunk/certdetect"


@pytest.fixture(scope="module")
def package() -> bytes:
    made = archives(make_bundle(Project.at(REPO)))
    return made[f"certdetect-splunk-app-{__version__}.tgz"]


def _conf(text: str) -> TABConfigParser:
    parser = TABConfigParser()
    parser.read_string(text)
    return parser


def test_the_app_holds_what_splunk_installs(package: bytes) -> None:
    with tarfile.open(fileobj=io.BytesIO(package), mode="r:gz") as tar:
        names = sorted(member.name for member in tar.getmembers() if member.isfile())
    assert names == [
        "certdetect/README.txt",
        "certdetect/app.manifest",
        "certdetect/default/app.conf",
        "certdetect/default/savedsearches.conf",
        "certdetect/metadata/default.meta",
    ]


def test_app_conf_names_the_app_and_its_version() -> None:
    conf = _conf(splunk_app.app_conf("1.2.3"))
    assert conf["id"]["name"] == conf["package"]["id"] == "certdetect"
    assert conf["id"]["version"] == conf["launcher"]["version"] == "1.2.3"
    assert conf["package"]["check_for_updates"] == "false"
    assert conf["ui"]["is_visible"] == "false"
    manifest = json.loads(splunk_app.app_manifest("1.2.3"))
    assert manifest["info"]["id"] == {"group": None, "name": "certdetect", "version": "1.2.3"}


def test_the_committed_app_is_the_one_the_build_writes() -> None:
    for name in ("app.manifest", "README.txt", "default/app.conf", "metadata/default.meta"):
        assert (REPO / "dist" / APP / name).is_file(), name
    conf = _conf((REPO / "dist" / APP / "default/app.conf").read_text())
    assert conf["id"]["version"] == __version__


BAD = ("failure", "error", "future_failure", "warning")


def _appinspect(package: bytes, tmp_path: Path) -> tuple[dict[str, int], list[str]]:
    """Result counts of `splunk-appinspect inspect --mode precert`, and each bad check's name."""
    tool = Path(sys.executable).parent / "splunk-appinspect"  # a test extra, beside python
    path = tmp_path / "certdetect.tgz"
    path.write_bytes(package)
    report = tmp_path / "report.json"
    done = subprocess.run(
        [
            str(tool),
            "inspect",
            str(path),
            "--mode",
            "precert",
            "--data-format",
            "json",
            "--output-file",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert report.is_file(), done.stdout + done.stderr
    counts: dict[str, int] = {}
    bad: list[str] = []
    for app in json.loads(report.read_text())["reports"]:
        for group in app["groups"]:
            for check in group["checks"]:
                counts[check["result"]] = counts.get(check["result"], 0) + 1
                if check["result"] in BAD:
                    bad.append(f"{check['result']} {check['name']}: {check['messages']}")
    return counts, bad


def test_splunk_appinspect_passes_the_packaged_app(package: bytes, tmp_path: Path) -> None:
    counts, bad = _appinspect(package, tmp_path)
    assert counts.get("success", 0) > 50, counts
    assert bad == []


def test_splunk_appinspect_catches_a_broken_app(package: bytes, tmp_path: Path) -> None:
    # the same app with app.conf's [package] id disagreeing with the folder: a failure
    raw = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(package), mode="r:gz") as source:
        with tarfile.open(fileobj=raw, mode="w:gz") as broken:
            for member in source.getmembers():
                data = source.extractfile(member).read() if member.isfile() else None
                if member.name == "certdetect/default/app.conf" and data is not None:
                    data = data.replace(b"id = certdetect", b"id = not-this-app")
                    member.size = len(data)
                broken.addfile(member, io.BytesIO(data) if data is not None else None)
    counts, bad = _appinspect(raw.getvalue(), tmp_path)
    assert counts.get("failure", 0) + counts.get("error", 0) >= 1, counts
