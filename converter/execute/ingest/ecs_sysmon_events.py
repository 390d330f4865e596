"""Elastic model, the Sysmon events beyond process, file, registry and pipe events: file creation
times changed (2), network connections (3), process terminations (5), driver loads (6), remote
threads (8), raw disk reads (9), alternate data streams (15), DNS queries (22), file deletions
(23).

`converter.execute.ingest.ecs` builds every Sysmon document; this module holds what the windows
integration's `sysmon_operational` pipeline (elastic/integrations `packages/windows/data_stream/
sysmon_operational/elasticsearch/ingest_pipeline/default.yml`, read in 2026) does only for these
events, in its order:

- the categorization script's entries for them (`event.category`, `event.type`);
- the network and DNS section (`converter.execute.ingest.ecs_network`);
- "Sysmon fields": `Archived` and `IsExecutable` (23) are converted to the booleans
  `sysmon.file.archived` and `sysmon.file.is_executable` ("true"/"false" in any case; another
  value fails the convert, ignored) and removed by the cleanup;
- "Conformity": `TargetProcessGuid` (8) is renamed to `winlog.event_data.TargetProcessGUID`.

What `ecs` does for them with the shared steps: the terminated process of 5 and the reading
process of 9 fill `process.*`, the device 9 reads (a volume such as `HarddiskVolume2`) is renamed to
`file.path` (and `file.name`, `file.directory` cut from it), the source process of 8 fills
`process.*` (as for 10), `ImageLoaded`, hashes and signature of 6 fill `file.*` (as for 7),
the `Hash` of 15 (renamed to `Hashes` first) is the stream's (`file.hash`; `Contents` stays in
`winlog.event_data`), the hashes of 23 are the deleting process's (`process.hash`, the
pipeline's list "1", "23", "24", "25"), although Sysmon hashes the deleted file; the pipeline's
list for `file.hash` is "6", "7", "15", "26", "29".
"""

from __future__ import annotations

from typing import Any

from converter.execute.ingest import ecs_network

CATEGORIZATION: dict[int, tuple[list[str], list[str]]] = {
    **ecs_network.NETWORK_CATEGORIZATION,
    2: (["file"], ["change"]),
    5: (["process"], ["end"]),
    6: (["driver"], ["start"]),
    8: (["process"], ["change"]),
    9: (["process"], ["access"]),
    15: (["file"], ["access"]),
    23: (["file"], ["deletion"]),
}
CLEANUP = ecs_network.NETWORK_CLEANUP + ("Archived", "IsExecutable")
PROCESS_HASH_EVENTS = frozenset({1, 23, 24, 25})
FILE_HASH_EVENTS = frozenset({6, 7, 15, 26, 29})
_BOOLEANS = {"true": True, "false": False}


def event_fields(doc: dict[str, Any], data: dict[str, str], code: int) -> None:
    """The fields only these events get, from `data` (values "" and "-" already dropped)."""
    if code in ecs_network.NETWORK_CATEGORIZATION:
        ecs_network.network_fields(doc, data, code)
    for source, name in (("Archived", "archived"), ("IsExecutable", "is_executable")):
        value = _BOOLEANS.get(data.get(source, "").lower())
        if value is not None:
            doc.setdefault("sysmon", {}).setdefault("file", {})[name] = value
    if "TargetProcessGuid" in data:
        data["TargetProcessGUID"] = data.pop("TargetProcessGuid")
