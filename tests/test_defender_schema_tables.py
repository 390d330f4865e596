from __future__ import annotations

from sigma.pipelines.microsoftxdr.tables import MICROSOFT_XDR_TABLES

from converter.core import defender_schema


def test_the_tables_read_from_their_module_alone_are_pysigmas() -> None:
    assert defender_schema.MICROSOFT_XDR_TABLES == MICROSOFT_XDR_TABLES
    assert set(defender_schema.DEFENDER_TABLES) == set(MICROSOFT_XDR_TABLES)
    process = defender_schema.DEFENDER_TABLES["DeviceProcessEvents"]
    assert process.columns["ProcessCommandLine"] == "string"
