from __future__ import annotations

import pytest

from converter.core.errors import InputError
from converter.core.rules import load_rule
from converter.publish.deploy.attack import (
    TACTICS,
    TECHNIQUES,
    UnknownAttackTag,
    resolve,
    technique,
)
from converter.publish.deploy.metadata import RuleMetadata, release_number

from .conftest import FILES


def test_tags_resolve_to_tactics_in_kill_chain_order_and_techniques_in_tag_order() -> None:
    mapping = resolve(
        [
            ("attack", "t1553.004"),
            ("attack", "resource-development"),
            ("attack", "t1587.003"),
            ("attack", "g0016"),  # groups and software are not detections
            ("attack", "s0002"),
            ("cve", "2021-44228"),
        ]
    )
    assert [(t.id, t.name) for t in mapping.tactics] == [
        ("TA0042", "Resource Development"),
        ("TA0005", "Defense Evasion"),  # brought along by T1553.004
    ]
    assert [t.id for t in mapping.techniques] == ["T1553.004", "T1587.003"]
    assert [t.id for t in mapping.techniques_of(mapping.tactics[1])] == ["T1553.004"]


def test_references_and_parents() -> None:
    sub = technique("T1587.003")
    assert (sub.name, sub.parent_id, sub.reference) == (
        "Digital Certificates",
        "T1587",
        "https://attack.mitre.org/techniques/T1587/003/",
    )
    assert technique("T1587").parent_id is None
    assert TACTICS[1].reference == "https://attack.mitre.org/tactics/TA0042/"


def test_every_sub_technique_has_its_parent_and_the_parents_tactics() -> None:
    for item in TECHNIQUES:
        for shortname in item.tactics:
            assert shortname in {tactic.shortname for tactic in TACTICS}
        if item.parent_id:
            assert technique(item.parent_id).tactics == item.tactics


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("t9999.001", "T9999.001 is not in the offline table"),
        ("resource_development", "neither an ATT&CK tactic nor a technique id"),
    ],
)
def test_unknown_tags_fail(tag: str, message: str) -> None:
    with pytest.raises(UnknownAttackTag, match=message) as caught:
        resolve([("attack", tag)])
    assert caught.value.tag == f"attack.{tag}"


def test_an_unknown_technique_in_a_rule_is_an_input_error_at_its_line() -> None:
    path = FILES / "deploy" / "rule_unknown_technique.yml"
    rule = load_rule(path, "rule_unknown_technique.yml")
    with pytest.raises(InputError) as caught:
        RuleMetadata.of(rule)
    assert str(caught.value) == (
        "rule_unknown_technique.yml:10: ATT&CK technique T9999.001 is not in the offline table; "
        "add its name and tactics to converter/publish/deploy/attack.py"
    )


@pytest.mark.parametrize(
    ("version", "number"), [("0.1.0", 100), ("1.2.3", 10203), ("0.0.0", 1), ("2.0.0rc1", 20000)]
)
def test_release_number(version: str, number: int) -> None:
    assert release_number(version) == number


def test_release_number_refuses_what_it_cannot_order() -> None:
    with pytest.raises(ValueError):
        release_number("1.100.0")
    with pytest.raises(ValueError):
        release_number("dev")
