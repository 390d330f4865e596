"""`certdetect verify` on SigmaHQ-style rules of the Sysmon log sources beyond process creation:
each target is verified on the recorded events or unsupported with its reason, never disagrees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from converter.cli import main

from .conftest import FILES, REPO

SYSMON = FILES / "verify" / "sysmon"

NO_DNS_TABLE = "Defender XDR advanced hunting has no DNS query table"
NO_THREAD_COLUMNS = "Defender XDR advanced hunting has no table of remote thread creation"
NO_DRIVER_TABLE = "pySigma's microsoft_xdr pipeline maps no table for driver loads"
NO_RAW_ACCESS_TABLE = "pySigma's microsoft_xdr pipeline maps no table for raw disk reads"
NO_TERMINATION_TABLE = "pySigma's microsoft_xdr pipeline maps no table for process terminations"
NO_STREAM_TABLE = "pySigma's microsoft_xdr pipeline maps no table for alternate data stream"
NO_CREATION_TIME_ACTION = "Defender XDR's DeviceFileEvents records no change of a file's creation"

# rule file stem -> (events file, reference matches, target -> status or the reason's start)
EXPECTED = {
    "net_connection_win_rdp_outbound_unusual_process": (
        "network_connection.jsonl",
        1,
        {"eql": "verified", "spl": "verified", "kql": "RemoteIP|cidr: the KQL engine"},
    ),
    "net_connection_win_tunnel_domain": (
        "network_connection.jsonl",
        1,
        {"eql": "verified", "spl": "verified", "kql": "verified"},
    ),
    "net_connection_win_powershell_https_outbound": (
        "network_connection.jsonl",
        1,
        {"eql": "verified", "spl": "verified", "kql": "verified"},
    ),
    # `Initiated: true` as a YAML boolean made the stock Defender pipeline fail
    "net_connection_win_powershell_https_outbound_boolean": (
        "network_connection.jsonl",
        1,
        {"eql": "verified", "spl": "verified", "kql": "verified"},
    ),
    "net_connection_win_link_local_destination": (
        "network_connection.jsonl",
        1,
        {"eql": "Elastic maps destination.ip as ip", "spl": "verified", "kql": "verified"},
    ),
    "net_connection_win_script_host_uncommon_port": (
        "network_connection.jsonl",
        1,
        {"eql": "verified", "spl": "verified", "kql": "verified"},
    ),
    "dns_query_win_tunnel_domain": (
        "dns_query.jsonl",
        1,
        {"eql": "verified", "spl": "verified", "kql": NO_DNS_TABLE},
    ),
    "dns_query_win_script_host_paste_site": (
        "dns_query.jsonl",
        1,
        {"eql": "verified", "spl": "verified", "kql": NO_DNS_TABLE},
    ),
    "dns_query_win_domain_controller_srv_lookup": (
        "dns_query.jsonl",
        1,
        {"eql": "verified", "spl": "verified", "kql": NO_DNS_TABLE},
    ),
    # the integration translates QueryStatus into a name (sysmon.dns.status), not modelled
    "dns_query_win_failed_lookup_status": (
        "dns_query.jsonl",
        1,
        {"eql": "eql: field(s) 'sysmon.dns.status'", "spl": "verified", "kql": NO_DNS_TABLE},
    ),
    "create_remote_thread_win_lsass_target": (
        "create_remote_thread.jsonl",
        1,
        {"eql": "verified", "spl": "verified", "kql": NO_THREAD_COLUMNS},
    ),
    "create_remote_thread_win_loadlibrary": (
        "create_remote_thread.jsonl",
        1,
        {"eql": "verified", "spl": "verified", "kql": NO_THREAD_COLUMNS},
    ),
    "create_remote_thread_win_start_address_suffix": (
        "create_remote_thread.jsonl",
        1,
        {"eql": "verified", "spl": "verified", "kql": NO_THREAD_COLUMNS},
    ),
    "driver_load_win_from_temp": (
        "driver_load.jsonl",
        1,
        {"eql": "verified", "spl": "verified", "kql": NO_DRIVER_TABLE},
    ),
    "driver_load_win_unsigned_signature_status": (
        "driver_load.jsonl",
        1,
        {"eql": "verified", "spl": "verified", "kql": NO_DRIVER_TABLE},
    ),
    "driver_load_win_signed_system_driver": (
        "driver_load.jsonl",
        1,
        {"eql": "verified", "spl": "verified", "kql": NO_DRIVER_TABLE},
    ),
    # the integration moves Hashes into file.hash.* and drops the string
    "driver_load_win_vulnerable_hash": (
        "driver_load.jsonl",
        1,
        {
            "eql": "eql: field(s) 'winlog.event_data.Hashes'",
            "spl": "verified",
            "kql": NO_DRIVER_TABLE,
        },
    ),
    "raw_access_thread_win_unusual_reader": (
        "raw_access_thread.jsonl",
        1,
        {"eql": "verified", "spl": "verified", "kql": NO_RAW_ACCESS_TABLE},
    ),
    "raw_access_thread_win_script_host_reader": (
        "raw_access_thread.jsonl",
        1,
        {"eql": "verified", "spl": "verified", "kql": NO_RAW_ACCESS_TABLE},
    ),
    "proc_termination_win_security_tool_killed": (
        "process_termination.jsonl",
        1,
        {"eql": "verified", "spl": "verified", "kql": NO_TERMINATION_TABLE},
    ),
    "proc_termination_win_temp_process_ends": (
        "process_termination.jsonl",
        1,
        {"eql": "verified", "spl": "verified", "kql": NO_TERMINATION_TABLE},
    ),
    "create_stream_hash_win_zone_identifier_exe": (
        "create_stream_hash.jsonl",
        1,
        {"eql": "verified", "spl": "verified", "kql": NO_STREAM_TABLE},
    ),
    "create_stream_hash_win_stream_contents": (
        "create_stream_hash.jsonl",
        1,
        {"eql": "verified", "spl": "verified", "kql": NO_STREAM_TABLE},
    ),
    # the integration renames Hash to Hashes, splits it into file.hash.* and drops the string
    "create_stream_hash_win_hash": (
        "create_stream_hash.jsonl",
        1,
        {
            "eql": "eql: field(s) 'winlog.event_data.Hash'",
            "spl": "verified",
            "kql": NO_STREAM_TABLE,
        },
    ),
    "file_change_win_timestomp_system32": (
        "file_change.jsonl",
        1,
        {"eql": "verified", "spl": "verified", "kql": NO_CREATION_TIME_ACTION},
    ),
    "file_change_win_backdated_dll": (
        "file_change.jsonl",
        1,
        {"eql": "verified", "spl": "verified", "kql": NO_CREATION_TIME_ACTION},
    ),
    # the Sysmon 26 event of file_delete.jsonl is file_delete_detected: no target reads it
    "file_delete_win_event_log_file": (
        "file_delete.jsonl",
        2,
        {"eql": "verified", "spl": "verified", "kql": "verified"},
    ),
    "file_delete_win_console_history": (
        "file_delete.jsonl",
        1,
        {"eql": "verified", "spl": "verified", "kql": "verified"},
    ),
}


def verify(rule: str, events: str | Path) -> dict[str, object]:
    result = CliRunner().invoke(
        main,
        [
            "verify",
            "--project",
            str(REPO),
            "--rules",
            str(SYSMON / "rules" / f"{rule}.yml"),
            "--format",
            "jsonl",
            str(SYSMON / events),  # an absolute path stays itself
        ],
    )
    assert result.exit_code == 0, result.output
    line: dict[str, object] = json.loads(result.stdout)
    return line


@pytest.mark.parametrize("rule", sorted(EXPECTED))
def test_each_target_is_verified_or_unsupported_with_the_reason(rule: str) -> None:
    events, sigma, expected = EXPECTED[rule]
    line = verify(rule, events)
    matches, status, reasons = line["matches"], line["status"], line["reasons"]
    assert isinstance(matches, dict) and isinstance(status, dict) and isinstance(reasons, dict)
    assert matches["sigma"] == sigma
    for target, want in expected.items():
        if want == "verified":
            assert status[target] == "verified", reasons.get(target)
            assert matches[target] == sigma
        else:
            assert status[target] == "unsupported"
            assert reasons[target].startswith(want)


def test_every_rule_file_has_an_expectation() -> None:
    assert sorted(path.stem for path in (SYSMON / "rules").glob("*.yml")) == sorted(EXPECTED)


def test_real_sysmon_3_events_agree_on_every_target(shared_dir: Path) -> None:
    # splunk/attack_data's T1027 baseline: 20 real Sysmon 3 events of powershell.exe to 443
    baseline = shared_dir / "real-logs" / "splunk-attack-data" / "baseline_T1027.tgz"
    line = verify("net_connection_win_powershell_https_outbound", baseline)
    assert line["matches"] == {"sigma": 20, "eql": 20, "spl": 20, "kql": 20}
    assert set(line["status"].values()) == {"verified"}  # type: ignore[union-attr]


def test_real_sysmon_6_events_agree_where_the_target_stores_them(shared_dir: Path) -> None:
    # the same baseline: 3 real driver loads from System32\drivers with a valid signature
    baseline = shared_dir / "real-logs" / "splunk-attack-data" / "baseline_T1027.tgz"
    line = verify("driver_load_win_signed_system_driver", baseline)
    assert line["matches"] == {"sigma": 3, "eql": 3, "spl": 3, "kql": None}
    assert line["status"] == {"eql": "verified", "spl": "verified", "kql": "unsupported"}


def test_real_sysmon_22_events_agree_where_the_target_stores_them(shared_dir: Path) -> None:
    # the same baseline: 10 real DC-locator SRV queries (_ldap._tcp...._msdcs...)
    baseline = shared_dir / "real-logs" / "splunk-attack-data" / "baseline_T1027.tgz"
    line = verify("dns_query_win_domain_controller_srv_lookup", baseline)
    assert line["matches"] == {"sigma": 10, "eql": 10, "spl": 10, "kql": None}
    assert line["status"] == {"eql": "verified", "spl": "verified", "kql": "unsupported"}
