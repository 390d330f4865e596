"""Splunk's classic WinEventLog text: a block per event, a date line, `Key=Value` header lines,
then `Message=` and the rendered message to the end of the block, e.g.

    01/14/2021 11:41:39 PM
    LogName=Microsoft-Windows-PowerShell/Operational
    SourceName=Microsoft-Windows-PowerShell
    EventCode=4104
    ...
    Message=Creating Scriptblock text (1 of 1):
    certutil.exe -p password1234 .\\powershellcert.pfx

    ScriptBlock ID: 5a4fa6b8-2478-401a-be72-d1d40c3c754c
    Path:

The text carries the rendered message, not the EventData. The EventData can be recovered only
where the message template is known and unambiguous; that is done for PowerShell 4104, whose
template is "Creating Scriptblock text (%1 of %2):\\r\\n%3\\r\\n\\r\\nScriptBlock ID:
%4\\r\\nPath: %5" (MessageNumber, MessageTotal, ScriptBlockText, ScriptBlockId, Path), and for
Security 4688, whose message lists "Label: value" lines under section titles: the labels whose
value is the EventData text as logged map back to their EventData names (`SECURITY_4688`).
Token Elevation Type is left out: its message shows the %%1936 code translated to words.

Any other event is reported as unsupported rather than evaluated without its EventData, unless
the key filter says no evaluator reads its channel and ID (then it is only counted).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from converter.core.events import WindowsEvent
from converter.core.logsources import POWERSHELL_CHANNEL, SECURITY_CHANNEL
from converter.formats.base import FILTERED, Filtered, KeyFilter, RecordError

DATE_LINE = re.compile(r"(\d{2})/(\d{2})/(\d{4}) (\d{1,2}):(\d{2}):(\d{2}) ([AP]M)")
_HEADER = re.compile(r"([A-Za-z]+)=(.*)")
_SCRIPT_BLOCK = re.compile(
    r"Creating Scriptblock text \((\d+) of (\d+)\):\n(.*)\n\nScriptBlock ID: ([^\n]*)\nPath:"
    r" ?(.*)",
    re.DOTALL,
)

# (section title, label) -> EventData name; "Subject" is the title before Windows 8 / 2012.
_SUBJECT = {
    "Security ID": "SubjectUserSid",
    "Account Name": "SubjectUserName",
    "Account Domain": "SubjectDomainName",
    "Logon ID": "SubjectLogonId",
}
SECURITY_4688: dict[tuple[str, str], str] = {
    **{("Subject", label): name for label, name in _SUBJECT.items()},
    **{("Creator Subject", label): name for label, name in _SUBJECT.items()},
    ("Target Subject", "Security ID"): "TargetUserSid",
    ("Target Subject", "Account Name"): "TargetUserName",
    ("Target Subject", "Account Domain"): "TargetDomainName",
    ("Target Subject", "Logon ID"): "TargetLogonId",
    ("Process Information", "New Process ID"): "NewProcessId",
    ("Process Information", "New Process Name"): "NewProcessName",
    ("Process Information", "Creator Process ID"): "ProcessId",
    ("Process Information", "Creator Process Name"): "ParentProcessName",
    ("Process Information", "Process Command Line"): "CommandLine",
    ("Process Information", "Mandatory Label"): "MandatoryLabel",
}
_LABELLED = re.compile(r"\s+([A-Za-z][A-Za-z ]*):\s*(.*)")


def is_block_start(line: str, next_line: str) -> bool:
    return DATE_LINE.fullmatch(line) is not None and next_line.startswith("LogName=")


def _time(line: str) -> str:
    match = DATE_LINE.fullmatch(line)
    if match is None:
        return ""
    month, day, year, hour, minute, second, half = match.groups()
    hour24 = int(hour) % 12 + (12 if half == "PM" else 0)
    return f"{year}-{month}-{day}T{hour24:02d}:{minute}:{second}"


def _powershell_4104(message: str) -> dict[str, str]:
    match = _SCRIPT_BLOCK.fullmatch(message)
    if match is None:
        raise RecordError("EventCode=4104 message is not a script block text message")
    number, total, text, block_id, path = match.groups()
    return {
        "MessageNumber": number,
        "MessageTotal": total,
        "ScriptBlockText": text,
        "ScriptBlockId": block_id,
        "Path": path,
    }


def _security_4688(message: str) -> dict[str, str]:
    data: dict[str, str] = {}
    section = ""
    for line in message.split("\n"):
        if line and not line[0].isspace() and line.endswith(":"):
            section = line[:-1]
            continue
        match = _LABELLED.fullmatch(line)
        if match is not None:
            name = SECURITY_4688.get((section, match.group(1)))
            if name is not None:
                data[name] = match.group(2).rstrip("\t ")
    if "NewProcessName" not in data:
        raise RecordError("EventCode=4688 message has no Process Information: New Process Name")
    return data


def parse_block(lines: Sequence[str], wanted: KeyFilter | None = None) -> WindowsEvent | Filtered:
    """One block (its lines, without line ends) as a `WindowsEvent`."""
    header: dict[str, str] = {}
    message: list[str] | None = None
    for line in lines[1:]:
        if message is not None:
            message.append(line)
            continue
        match = _HEADER.fullmatch(line)
        if match is None:
            raise RecordError(f"not a Key=Value header line: {line[:60]!r}")
        if match.group(1) == "Message":
            message = [match.group(2)]
        else:
            header[match.group(1)] = match.group(2)
    try:
        event_id = int(header.get("EventCode", ""))
    except ValueError:
        raise RecordError("block has no numeric EventCode") from None
    channel = header.get("LogName", "")
    if wanted is not None and not wanted(channel, event_id):
        return FILTERED
    text = "\n".join(message or []).rstrip("\n")
    if (channel, event_id) == (POWERSHELL_CHANNEL, 4104):
        data = _powershell_4104(text)
    elif (channel, event_id) == (SECURITY_CHANNEL, 4688):
        data = _security_4688(text)
    else:
        raise RecordError(
            f"classic WinEventLog text of {channel} {event_id} is not supported (its EventData "
            "is only in the rendered message); export it as XmlWinEventLog"
        )
    try:
        record_id: int | None = int(header.get("RecordNumber", ""))
    except ValueError:
        record_id = None
    return WindowsEvent(
        provider=header.get("SourceName", ""),
        event_id=event_id,
        channel=channel,
        computer=header.get("ComputerName", ""),
        time_created=_time(lines[0]),
        record_id=record_id,
        data=data,
    )
