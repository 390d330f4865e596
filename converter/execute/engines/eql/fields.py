"""A field's values in an ECS document, as an Elasticsearch index holds them.

A dotted field is found in nested objects, under dotted keys and in arrays of objects; arrays
flatten and nulls vanish. A field missing from a document is null whether or not the query
marks it `?`; whether the index maps it at all is the field schema's question (`schema_checks`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# A document -> None (no value), one value, or a list of two or more values.
Getter = Callable[[Any], Any]

MISSING = object()


def field_getter(keys: tuple[str, ...]) -> Getter:
    """Values of a dotted field in nested objects, dotted keys and arrays of objects."""
    n = len(keys)
    # joins[i]: the keys a field can hide under at depth i, e.g. "process", "process.name"
    joins = tuple(tuple((j, ".".join(keys[i:j])) for j in range(i + 1, n + 1)) for i in range(n))

    def resolve(doc: Any) -> Any:
        found: list[Any] = []
        _collect(doc, joins, 0, n, found)
        if not found:
            return None
        return found[0] if len(found) == 1 else found

    # steps[i]: the key at depth i, and the dotted keys that would start there
    steps = tuple((keys[i], tuple(key for end, key in joins[i] if end > i + 1)) for i in range(n))

    def miss(doc: Any) -> Any:
        # The nested path is broken. A value can still hide under a dotted key or in an array of
        # objects: look for those first, and run the general walk only if there is one.
        node = doc
        for key, dotted in steps:
            if type(node) is not dict:
                return resolve(doc) if type(node) is list else None
            for alternative in dotted:
                if alternative in node:
                    return resolve(doc)
            node = node.get(key, MISSING)
            if node is MISSING:
                return None
        return resolve(doc)

    # Fast path: plain nested objects. This is the hot path of a scan, so the common depths are
    # spelled out (a loop costs twice as much, an exception more). A broken path goes to `miss`.
    # A field present both nested and as a dotted key in one document yields only the nested
    # value here.
    if n == 2:
        k0, k1 = keys

        def get(doc: Any) -> Any:
            node = doc.get(k0, MISSING)
            if type(node) is dict:
                node = node.get(k1, MISSING)
                kind = type(node)
                if kind is str or kind is int or kind is float or kind is bool:
                    return node
                if node is not MISSING:
                    return _flattened(node)
            return miss(doc)

    elif n == 3:
        k0, k1, k2 = keys

        def get(doc: Any) -> Any:
            node = doc.get(k0, MISSING)
            if type(node) is dict:
                node = node.get(k1, MISSING)
                if type(node) is dict:
                    node = node.get(k2, MISSING)
                    kind = type(node)
                    if kind is str or kind is int or kind is float or kind is bool:
                        return node
                    if node is not MISSING:
                        return _flattened(node)
            return miss(doc)

    else:

        def get(doc: Any) -> Any:
            node = doc
            for key in keys:
                if type(node) is not dict:
                    return miss(doc)
                node = node.get(key, MISSING)
            kind = type(node)
            if kind is str or kind is int or kind is float or kind is bool:
                return node
            if node is MISSING:
                return miss(doc)
            return _flattened(node)

    return get


def _flattened(node: Any) -> Any:
    if type(node) is list and len(node) == 1:
        # one value in an array (ECS keeps event.category and event.type as arrays)
        item = node[0]
        kind = type(item)
        if kind is str or kind is int or kind is float or kind is bool:
            return item
    found: list[Any] = []
    _add_values(node, found)
    if not found:
        return None
    return found[0] if len(found) == 1 else found


def _collect(node: Any, joins: tuple, depth: int, n: int, found: list[Any]) -> None:
    if type(node) is list:
        for item in node:
            _collect(item, joins, depth, n, found)
        return
    if type(node) is not dict:
        return
    for end, key in joins[depth]:
        value = node.get(key, MISSING)
        if value is MISSING:
            continue
        if end == n:
            _add_values(value, found)
        else:
            _collect(value, joins, end, n, found)


def _add_values(value: Any, found: list[Any]) -> None:
    # Arrays flatten and nulls vanish, as in an Elasticsearch index; an object is not a value.
    if type(value) is list:
        for item in value:
            _add_values(item, found)
    elif value is not None and type(value) is not dict:
        found.append(value)


def lucene_lowercase(text: str) -> str:
    """Lucene's lowercase normalizer: Character.toLowerCase, one code point at a time."""
    if text.isascii():
        return text.lower()
    # str.lower() differs per code point only for U+0130 (two code points) and final sigma.
    return "".join("i" if c == "\u0130" else c.lower() for c in text)


def caseless_getter(base: Getter) -> Getter:
    """A `.caseless` multi-field: `base`'s strings through Lucene's lowercase normalizer."""

    def get(doc: Any) -> Any:
        value = base(doc)
        if type(value) is str:
            return lucene_lowercase(value)
        if type(value) is list:
            return [lucene_lowercase(v) if type(v) is str else v for v in value]
        return value

    return get
