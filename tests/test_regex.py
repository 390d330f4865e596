r"""`|re` class escapes for RE2 (Kusto): Python's Unicode `\s` and `\d` written out as code point
ranges (converter/convert/backends/regex.py), checked against Python's documented definitions
and executed by RE2 (DuckDB's regexp_matches, the engine under the KQL engine)."""

from __future__ import annotations

import re

import duckdb
import pytest

from converter.convert.backends.refusals import UnsupportedShape
from converter.convert.backends.regex import RE2, translate_regex, unicode_class_ranges

# docs.python.org/3/library/re.html: for str patterns `\s` matches what str.isspace() accepts,
# `\d` "any character in Unicode character category [Nd]" (str.isdecimal())
DEFINITIONS = {
    "CATEGORY_SPACE": str.isspace,
    "CATEGORY_NOT_SPACE": lambda c: not c.isspace(),
    "CATEGORY_DIGIT": str.isdecimal,
    "CATEGORY_NOT_DIGIT": lambda c: not c.isdecimal(),
}


@pytest.mark.parametrize("category", sorted(DEFINITIONS))
def test_class_ranges_are_pythons_documented_classes(category: str) -> None:
    holds = DEFINITIONS[category]
    inside = {code for low, high in unicode_class_ranges(category) for code in range(low, high + 1)}
    wanted = {c for c in range(0x110000) if not 0xD800 <= c < 0xE000 and holds(chr(c))}
    assert inside == wanted


SAMPLES = " \t\n\v\f\r\x1c\x1f\x85\xa0\u1680\u2000\u200a\u200b\u2028\u202f\u3000\ufeff" + (
    "09a_\u0660\u00b2\u0966\uff10\U0001d7ce"
)


@pytest.mark.parametrize("pattern", [r"\s", r"\S", r"\d", r"\D", r"[^\s\d]", r"[\S\d]", r"x\s*y"])
def test_re2_reads_the_written_class_as_python_reads_the_escape(pattern: str) -> None:
    translated = translate_regex(pattern, set(), RE2)
    with duckdb.connect() as con:
        for char in SAMPLES:
            text = f"x{char}y" if pattern.startswith("x") else char
            (got,) = con.execute("SELECT regexp_matches(?, ?)", [text, translated]).fetchone()
            assert got is bool(re.search(pattern, text)), (pattern, hex(ord(char)))


@pytest.mark.parametrize("pattern", [r"\w", r"\bx", r"[\W]"])
def test_word_classes_and_boundaries_stay_refused_for_re2(pattern: str) -> None:
    with pytest.raises(UnsupportedShape, match=r"\\w and \\b as ASCII classes"):
        translate_regex(pattern, set(), RE2)
