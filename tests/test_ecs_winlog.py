"""`prune` (every ECS document passes through it) against its plain recursive definition."""

from __future__ import annotations

from collections import OrderedDict
from types import MappingProxyType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from converter.execute.ingest.ecs_winlog import prune


def reference_prune(value: Any, blanks: bool = False) -> Any:
    """The definition: drop None and empty objects; with `blanks`, also "" and []."""

    def empty(item: Any) -> bool:
        if item is None or item == {}:
            return True
        return blanks and (item == "" or item == [])

    if isinstance(value, dict):
        pruned = ((key, reference_prune(item, blanks)) for key, item in value.items())
        return {key: item for key, item in pruned if not empty(item)}
    if isinstance(value, list) and blanks:
        return [v for v in (reference_prune(item, blanks) for item in value) if not empty(v)]
    return value


leaves = st.one_of(
    st.none(),
    st.just(""),
    st.text(max_size=3),
    st.integers(-2, 2),
    st.booleans(),
    st.just([]),
    st.just({}),
)
documents = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=2), children, max_size=4),
    ),
    max_leaves=30,
)


@settings(max_examples=600, deadline=None)
@given(documents, st.booleans())
def test_prune_gives_what_the_recursive_definition_gives(document: Any, blanks: bool) -> None:
    assert prune(document, blanks) == reference_prune(document, blanks)


def test_prune_drops_mappings_of_other_types_that_are_empty() -> None:
    document = {"a": MappingProxyType({}), "b": OrderedDict(), "c": [MappingProxyType({})]}
    for blanks in (False, True):
        assert prune(document, blanks) == reference_prune(document, blanks)
    assert prune(document, True) == {}


def test_prune_keeps_zero_false_and_lists_without_blanks() -> None:
    document = {"n": 0, "f": False, "l": [None, ""], "e": "", "d": {"x": None}}
    assert prune(document) == {"n": 0, "f": False, "l": [None, ""], "e": ""}
    assert prune(document, blanks=True) == {"n": 0, "f": False}
