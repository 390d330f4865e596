from __future__ import annotations

import io

import pytest

from converter.formats import json_stream
from converter.formats.json_stream import StreamError, values


@pytest.fixture(params=[7, 1 << 20], ids=["tiny chunks", "one chunk"])
def chunk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(json_stream, "CHUNK", request.param)
    return request.param


def test_concatenated_documents_arrays_and_scalars(chunk: int) -> None:
    text = '{"a": 1}\n\n[ {"b": 2},\n  {"c": 3} ]\n12345 "x"\n{}'
    assert list(values(io.StringIO(text))) == [
        (1, {"a": 1}, False),
        (3, {"b": 2}, False),
        (4, {"c": 3}, False),
        (5, 12345, False),  # a number at a chunk's end is not cut short
        (5, "x", False),
        (6, {}, False),
    ]


def test_results_of_a_hunting_response_are_streamed_as_rows(chunk: int) -> None:
    text = '{"Schema": [{"Name": "A"}],\n "Results": [\n  {"A": 1},\n  {"A": 2}\n ], "x": []}'
    assert list(values(io.StringIO(text))) == [(3, {"A": 1}, True), (4, {"A": 2}, True)]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('[{"a": 1}\n{"b": 2}]', 2, "invalid JSON: expected ']' at '{\"b\": 2}]'"),
        ('{"a": 1,\n 2: 3}', 2, "invalid JSON: expected a member name"),
        ('{"a" 1}', 1, "invalid JSON: expected ':' at '1}'"),
        ("[1,\n\n tru]", 3, "invalid JSON: Expecting value"),
        ('[{"a": 1}', 1, "invalid JSON: expected ']' at 'end of file'"),
    ],
)
def test_syntax_errors_stop_with_their_line(chunk: int, text: str, line: int, message: str) -> None:
    with pytest.raises(StreamError) as error:
        list(values(io.StringIO(text)))
    assert (error.value.line, str(error.value)) == (line, message)
