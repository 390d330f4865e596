from __future__ import annotations

from converter.core.project import Project
from converter.core.status import Status
from converter.publish.artifacts import render
from converter.publish.deploy import deployable_files
from converter.verify.build import run_build

from .conftest import REPO


def test_deployable_files_are_deterministic_and_do_not_collide_with_dist() -> None:
    build = run_build(Project.at(REPO))
    files = deployable_files(build)
    assert files == deployable_files(build)
    stems = sorted(r.rule.stem for r in build.rules if r.targets["kql"].status == Status.VERIFIED)
    assert list(files) == sorted(
        [
            "attack-navigator-layer.json",
            "elastic/certdetect-rules.ndjson",
            "splunk/certdetect/README.txt",
            "splunk/certdetect/app.manifest",
            "splunk/certdetect/default/app.conf",
            "splunk/certdetect/default/savedsearches.conf",
            "splunk/certdetect/metadata/default.meta",
            *(f"sentinel/{stem}.yaml" for stem in stems),
        ]
    )
    queries = {name for name in render(build) if name.split("/")[0] in ("eql", "spl", "kql")}
    assert not set(files) & queries
    for content in files.values():
        assert content.endswith(b"\n")
        content.decode("utf-8")
