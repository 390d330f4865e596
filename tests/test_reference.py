"""The Sigma reference evaluator against the Sigma specification, case by case.

Case ids name the section they encode: RULES = SigmaHQ/sigma-specification
`specification/sigma-rules-specification.md` (v2.0.0), MODS = `sigma-appendix-modifiers.md`
(v2.1.0), TAXO = `sigma-appendix-taxonomy.md` (v2.1.0). Cases marked "reference choice" encode a
decision the specification leaves open; `converter/reference/` documents each.
"""

from __future__ import annotations

import json
import re
from base64 import b64encode
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from sigma.plugins import InstalledSigmaPlugins
from sigma.rule import SigmaRule

from converter.core.events import WindowsEvent, parse_windows_event
from converter.core.zeek import ZeekRecord
from converter.reference import ReferenceRule, UnsupportedRuleError, compile_reference

FILES = Path(__file__).resolve().parent / "files" / "reference"
SYSMON = "Microsoft-Windows-Sysmon/Operational"
RULE_ID = "0b7f2a5e-1c6d-4e8f-9a0b-3c4d5e6f7a81"


def rule_yaml(
    detection: dict[str, Any], category: str = "process_creation", product: str = "windows"
) -> str:
    rule = {
        "title": "reference test",
        "id": RULE_ID,
        "status": "test",
        "logsource": {"product": product, "category": category},
        "detection": detection,
    }
    return yaml.safe_dump(rule, sort_keys=False, allow_unicode=True)


def compile_yaml(
    detection: dict[str, Any], category: str = "process_creation", product: str = "windows"
) -> ReferenceRule:
    return compile_reference(SigmaRule.from_yaml(rule_yaml(detection, category, product)))


def event(
    event_id: int = 1,
    channel: str = SYSMON,
    provider: str = "Microsoft-Windows-Sysmon",
    **data: str,
) -> WindowsEvent:
    return WindowsEvent(
        provider=provider,
        event_id=event_id,
        channel=channel,
        computer="WKS-0142.corp.example.com",
        time_created="2026-11-20T10:15:02.114Z",
        record_id=1,
        data=data,
    )


def sysmon1(**data: str) -> WindowsEvent:
    return event(1, **data)


def sec4688(**data: str) -> WindowsEvent:
    return event(4688, "Security", "Microsoft-Windows-Security-Auditing", **data)


def linux1(**data: str) -> WindowsEvent:
    return event(1, "Linux-Sysmon/Operational", "Linux-Sysmon", **data)


def ps4104(channel: str = "Microsoft-Windows-PowerShell/Operational", **data: str) -> WindowsEvent:
    return event(4104, channel, "Microsoft-Windows-PowerShell", **data)


CERTUTIL = r"C:\Windows\System32\certutil.exe"
ADDSTORE = "certutil -addstore root"


@dataclass(frozen=True)
class Case:
    id: str
    detection: dict[str, Any]
    event: WindowsEvent
    expected: bool
    category: str = "process_creation"
    product: str = "windows"


def sel(selection: dict[str, Any] | list[Any], condition: str = "selection") -> dict[str, Any]:
    return {"selection": selection, "condition": condition}


def one(field: str, value: Any) -> dict[str, Any]:
    return sel({field: value})


def keywords(*values: str, condition: str = "keywords") -> dict[str, Any]:
    return {"keywords": list(values), "condition": condition}


IMAGE_A = {"Image|endswith": r"\openssl.exe"}
IMAGE_B = {"Image|endswith": r"\certutil.exe"}
SHARP_S = "Straße"

# A table reads best one case per row: keep the formatter out of it.
# fmt: off
CASES = [
    # --- RULES Detection / General: values are case-insensitive strings, matched whole
    Case("RULES-General-case-insensitive", one("Image", CERTUTIL),
         sysmon1(Image=r"c:\WINDOWS\system32\CertUtil.EXE"), True),
    Case("RULES-General-whole-value-not-substring", one("Image", "certutil.exe"),
         sysmon1(Image=CERTUTIL), False),
    Case("RULES-FieldUsage-field-names-case-sensitive (reference choice)",
         one("image|endswith", r"\certutil.exe"), sysmon1(Image=CERTUTIL), False),
    # --- RULES String Wildcard
    Case("RULES-Wildcard-star", one("Image", r"C:\\*\cert*.exe"), sysmon1(Image=CERTUTIL), True),
    Case("RULES-Wildcard-star-spans-line-breaks", one("CommandLine", "openssl*-x509"),
         sysmon1(CommandLine="openssl req\n-new -x509"), True),
    Case("RULES-Wildcard-question-one-char", one("Image|endswith", r"\cert?til.exe"),
         sysmon1(Image=CERTUTIL), True),
    Case("RULES-Wildcard-question-not-zero-chars", one("OriginalFileName", "CertUtil?.exe"),
         sysmon1(OriginalFileName="CertUtil.exe"), False),
    Case("RULES-Wildcard-question-not-two-chars", one("OriginalFileName", "Cert?il.exe"),
         sysmon1(OriginalFileName="CertUtil.exe"), False),
    # --- RULES Escaping
    Case("RULES-Escaping-star-literal", one("CommandLine", r"a\*b"), sysmon1(CommandLine="a*b"),
         True),
    Case("RULES-Escaping-star-literal-is-no-wildcard", one("CommandLine", r"a\*b"),
         sysmon1(CommandLine="axb"), False),
    Case("RULES-Escaping-question-literal", one("CommandLine", r"a\?b"),
         sysmon1(CommandLine="axb"), False),
    Case("RULES-Escaping-backslash-before-wildcard", one("Image", r"C:\\*"),
         sysmon1(Image=CERTUTIL), True),
    Case("RULES-Escaping-single-backslash-escapes-star", one("Image", r"C:\*"),
         sysmon1(Image=CERTUTIL), False),
    Case("RULES-Escaping-three-backslashes", one("CommandLine", r"x\\\*"),
         sysmon1(CommandLine=r"x\*"), True),
    Case("RULES-Escaping-three-backslashes-no-wildcard", one("CommandLine", r"x\\\*"),
         sysmon1(CommandLine=r"x\abc"), False),
    Case("RULES-Escaping-double-backslash-is-one",
         one("Image", r"C:\\Windows\\System32\\certutil.exe"), sysmon1(Image=CERTUTIL), True),
    # --- RULES Lists and Maps
    Case("RULES-Lists-values-or", one("Image|endswith", [r"\openssl.exe", r"\certutil.exe"]),
         sysmon1(Image=CERTUTIL), True),
    Case("RULES-Maps-and", sel({**IMAGE_B, "CommandLine|contains": "addstore"}),
         sysmon1(Image=CERTUTIL, CommandLine="certutil -urlcache"), False),
    Case("RULES-Lists-maps-or", sel([IMAGE_A, {"CommandLine|contains": "addstore"}]),
         sysmon1(Image=CERTUTIL, CommandLine=ADDSTORE), True),
    # --- MODS Generic modifiers
    Case("MODS-contains", one("CommandLine|contains", "ADDSTORE"), sysmon1(CommandLine=ADDSTORE),
         True),
    Case("MODS-contains-absent", one("CommandLine|contains", "importpfx"),
         sysmon1(CommandLine=ADDSTORE), False),
    Case("MODS-startswith", one("CommandLine|startswith", "certutil"),
         sysmon1(CommandLine=ADDSTORE), True),
    Case("MODS-startswith-not-inside", one("CommandLine|startswith", "addstore"),
         sysmon1(CommandLine=ADDSTORE), False),
    Case("MODS-endswith", one("Image|endswith", r"\CERTUTIL.exe"), sysmon1(Image=CERTUTIL), True),
    Case("MODS-endswith-not-prefix", one("Image|endswith", r"C:\Windows"),
         sysmon1(Image=CERTUTIL), False),
    Case("MODS-all", one("CommandLine|contains|all", ["-new", "-x509"]),
         sysmon1(CommandLine="openssl req -new -x509 -nodes"), True),
    Case("MODS-all-one-missing", one("CommandLine|contains|all", ["-new", "-x509"]),
         sysmon1(CommandLine="openssl req -new -nodes"), False),
    Case("MODS-cased", one("CommandLine|contains|cased", "X509"),
         sysmon1(CommandLine="openssl req -x509"), False),
    Case("MODS-cased-exact-case", one("CommandLine|contains|cased", "X509"),
         sysmon1(CommandLine="openssl req -X509"), True),
    Case("MODS-neq", one("IntegrityLevel|neq", "low"), sysmon1(IntegrityLevel="High"), True),
    Case("MODS-neq-case-insensitive", one("IntegrityLevel|neq", "low"),
         sysmon1(IntegrityLevel="Low"), False),
    # --- MODS String modifiers: windash (-, /, en dash, em dash, horizontal bar)
    Case("MODS-windash-slash", one("CommandLine|windash|contains", " -addstore "),
         sysmon1(CommandLine="certutil /addstore root x.cer"), True),
    Case("MODS-windash-en-dash", one("CommandLine|windash|contains", " -addstore "),
         sysmon1(CommandLine="certutil \u2013addstore root x.cer"), True),
    Case("MODS-windash-horizontal-bar", one("CommandLine|windash|contains", " -addstore "),
         sysmon1(CommandLine="certutil \u2015addstore root x.cer"), True),
    Case("MODS-windash-only-those-chars", one("CommandLine|windash|contains", " -addstore "),
         sysmon1(CommandLine="certutil +addstore root x.cer"), False),
    Case("MODS-windash-all-each-expansion-or",
         one("CommandLine|windash|contains|all", [" -f ", " -p "]),
         sysmon1(CommandLine="certutil /f -p pw -importpfx x.pfx"), True),
    # --- MODS Regular expression: PCRE subset, case-sensitive unless |i, matched anywhere
    Case("MODS-re-unanchored", one("CommandLine|re", r"req\s+-new"),
         sysmon1(CommandLine="openssl req  -new -x509"), True),
    Case("MODS-re-case-sensitive", one("CommandLine|re", "REQ"),
         sysmon1(CommandLine="openssl req -new"), False),
    Case("MODS-re-i", one("CommandLine|re|i", "REQ"), sysmon1(CommandLine="openssl req -new"),
         True),
    Case("MODS-re-anchor", one("CommandLine|re", "^req"), sysmon1(CommandLine="openssl req -new"),
         False),
    Case("MODS-re-metachars-kept", one("CommandLine|re", r"gen(rsa|pkey) .*?-out [a-z]+\.pem$"),
         sysmon1(CommandLine="openssl genpkey -algorithm RSA -out key.pem"), True),
    Case("MODS-re-s-dotall", one("CommandLine|re|s", "req.-new"),
         sysmon1(CommandLine="req\n-new"), True),
    Case("MODS-re-without-s", one("CommandLine|re", "req.-new"), sysmon1(CommandLine="req\n-new"),
         False),
    # --- MODS Encoding
    Case("MODS-base64offset-contains", one("CommandLine|base64offset|contains", "http://"),
         sysmon1(CommandLine="powershell -enc " + b64encode(b"Xhttp://evil.test/a").decode()),
         True),
    # --- MODS Numeric modifiers
    Case("MODS-gt", one("TerminalSessionId|gt", 0), sysmon1(TerminalSessionId="1"), True),
    Case("MODS-gt-equal", one("TerminalSessionId|gt", 0), sysmon1(TerminalSessionId="0"), False),
    Case("MODS-gte", one("TerminalSessionId|gte", 0), sysmon1(TerminalSessionId="0"), True),
    Case("MODS-lt", one("TerminalSessionId|lt", 2), sysmon1(TerminalSessionId="10"), False),
    Case("MODS-lte", one("TerminalSessionId|lte", 10), sysmon1(TerminalSessionId="10"), True),
    Case("MODS-gt-non-numeric", one("TerminalSessionId|gt", 0), sysmon1(TerminalSessionId="n/a"),
         False),
    Case("MODS-gt-absent", one("TerminalSessionId|gt", 0), sysmon1(), False),
    # --- MODS IP modifiers
    Case("MODS-cidr-v4", one("IpAddress|cidr", "10.0.0.0/8"), sysmon1(IpAddress="10.20.30.40"),
         True),
    Case("MODS-cidr-v4-outside", one("IpAddress|cidr", "10.0.0.0/8"),
         sysmon1(IpAddress="11.0.0.1"), False),
    Case("MODS-cidr-v6", one("IpAddress|cidr", "fe80::/10"), sysmon1(IpAddress="fe80::1"), True),
    Case("MODS-cidr-not-an-ip", one("IpAddress|cidr", "10.0.0.0/8"), sysmon1(IpAddress="10.x"),
         False),
    # --- RULES Field Existence (presence only, "be it empty or null")
    Case("RULES-Exists-true-empty-value", one("ParentUser|exists", True), sysmon1(ParentUser=""),
         True),
    Case("RULES-Exists-true-absent", one("ParentUser|exists", True), sysmon1(), False),
    Case("RULES-Exists-false-absent", one("ParentUser|exists", False), sysmon1(), True),
    Case("RULES-Exists-false-present", one("ParentUser|exists", False),
         sysmon1(ParentUser="x"), False),
    # --- RULES Special Field Values: null (absent or empty) and '' (empty)
    Case("RULES-Special-null-absent", one("ParentCommandLine", None), sysmon1(), True),
    Case("RULES-Special-null-empty", one("ParentCommandLine", None),
         sysmon1(ParentCommandLine=""), True),
    Case("RULES-Special-null-present", one("ParentCommandLine", None),
         sysmon1(ParentCommandLine="cmd.exe"), False),
    Case("RULES-Special-empty-string", one("ParentCommandLine", ""),
         sysmon1(ParentCommandLine=""), True),
    Case("RULES-Special-empty-string-absent", one("ParentCommandLine", ""), sysmon1(), False),
    Case("RULES-Special-not-null", sel({"ParentCommandLine": None}, "not selection"),
         sysmon1(ParentCommandLine="cmd.exe"), True),
    # --- RULES General: numbers are strings ("all values are treated as ... strings")
    Case("RULES-General-number-as-text", one("TerminalSessionId", 1),
         sysmon1(TerminalSessionId="1"), True),
    Case("RULES-General-number-text-form-only", one("TerminalSessionId", 1),
         sysmon1(TerminalSessionId="01"), False),
    # --- RULES Field Usage 3.i: System fields as Tag_Attribute
    Case("RULES-FieldUsage-system-EventID", one("EventID", 1), sysmon1(), True),
    Case("RULES-FieldUsage-system-EventID-other", one("EventID", 11), sysmon1(), False),
    Case("RULES-FieldUsage-system-Provider_Name",
         one("Provider_Name", "microsoft-windows-sysmon"), sysmon1(), True),
    Case("RULES-FieldUsage-system-Computer", one("Computer|startswith", "wks-0142."), sysmon1(),
         True),
    Case("RULES-FieldUsage-system-Channel", one("Channel", SYSMON), sysmon1(), True),
    # --- RULES Keywords search: unbound values, any field of the event
    Case("RULES-Keywords-any-field", keywords("*addstore root*"),
         sysmon1(Image=CERTUTIL, CommandLine=ADDSTORE), True),
    Case("RULES-Keywords-whole-field-value (reference choice)", keywords("addstore"),
         sysmon1(CommandLine=ADDSTORE), False),
    Case("RULES-Keywords-case-insensitive", keywords(r"corp\alice"),
         sysmon1(User=r"CORP\Alice"), True),
    Case("RULES-Keywords-all-across-fields",
         {"keywords": {"|all": ["*certutil*", r"CORP\alice"]}, "condition": "keywords"},
         sysmon1(Image=CERTUTIL, User=r"CORP\alice"), True),
    Case("RULES-Keywords-all-one-missing",
         {"keywords": {"|all": ["*certutil*", r"CORP\alice"]}, "condition": "keywords"},
         sysmon1(Image=CERTUTIL, User=r"CORP\bob"), False),
    Case("RULES-Keywords-system-fields", keywords("wks-0142*"), sysmon1(), True),
    Case("RULES-Keywords-not", keywords("*mimikatz*", condition="not keywords"),
         sysmon1(CommandLine=ADDSTORE), True),
    # --- RULES Condition
    Case("RULES-Condition-1-of-pattern",
         {"sel_a": IMAGE_A, "sel_b": IMAGE_B, "condition": "1 of sel_*"},
         sysmon1(Image=CERTUTIL), True),
    Case("RULES-Condition-all-of-pattern",
         {"sel_a": IMAGE_A, "sel_b": IMAGE_B, "condition": "all of sel_*"},
         sysmon1(Image=CERTUTIL), False),
    Case("RULES-Condition-pattern-only-matching-names",
         {"sel_a": IMAGE_A, "other": IMAGE_B, "condition": "1 of sel_* or 1 of sel*"},
         sysmon1(Image=CERTUTIL), False),
    Case("RULES-Condition-not",
         {"selection": IMAGE_B, "filter": {"CommandLine|contains": "root"},
          "condition": "selection and not filter"},
         sysmon1(Image=CERTUTIL, CommandLine=ADDSTORE), False),
    Case("RULES-Condition-them-skips-underscore",
         {"sel": IMAGE_A, "_helper": IMAGE_B, "condition": "1 of them"},
         sysmon1(Image=CERTUTIL), False),
    Case("RULES-Condition-all-of-them",
         {"sel": IMAGE_B, "cli": {"CommandLine|contains": "root"}, "condition": "all of them"},
         sysmon1(Image=CERTUTIL, CommandLine=ADDSTORE), True),
    Case("RULES-Condition-and-binds-tighter-than-or",
         {"a": IMAGE_B, "b": {"User": "x"}, "c": {"User": "y"}, "condition": "a or b and c"},
         sysmon1(Image=CERTUTIL, User="x"), True),
    Case("RULES-Condition-not-binds-tighter-than-and",
         {"a": IMAGE_B, "b": {"User": "x"}, "condition": "not a and b"},
         sysmon1(Image=CERTUTIL, User="x"), False),
    Case("RULES-Condition-brackets",
         {"a": IMAGE_B, "b": {"User": "x"}, "condition": "not (a and b)"},
         sysmon1(Image=CERTUTIL, User="y"), True),
    Case("RULES-Condition-list-is-or",
         {"a": IMAGE_A, "b": IMAGE_B, "condition": ["a", "b"]}, sysmon1(Image=CERTUTIL), True),
    # --- RULES General, Unicode: full case folding; `?` is one character of the event value
    Case("RULES-General-unicode-umlaut", one("Image|endswith", r"\Ä.exe"),
         sysmon1(Image=r"C:\Tools\ä.EXE"), True),
    Case("RULES-General-unicode-sharp-s-folds-to-ss", one("User|contains", "straße"),
         sysmon1(User=r"CORP\STRASSE"), True),
    Case("RULES-General-unicode-capital-sharp-s", one("User", "STRAẞE"), sysmon1(User=SHARP_S),
         True),
    Case("RULES-Wildcard-question-is-sharp-s", one("User", "stra?e"), sysmon1(User=SHARP_S), True),
    Case("RULES-Wildcard-question-not-ss", one("User", "stra?e"), sysmon1(User="STRASSE"), False),
    Case("RULES-Wildcard-question-not-two-chars-beside-sharp-s", one("User", "stra?e"),
         sysmon1(User="Straßxe"), False),
    Case("RULES-Wildcard-star-beside-sharp-s", one("User", "s*ss?n"), sysmon1(User="Straßen"),
         True),
    Case("RULES-Wildcard-literal-not-half-of-sharp-s (reference choice)", one("User", "stras?e"),
         sysmon1(User=SHARP_S), False),
    Case("RULES-Wildcard-endswith-not-half-of-sharp-s (reference choice)",
         one("User|endswith", "s"), sysmon1(User="Straß"), False),
    Case("RULES-Wildcard-question-is-dotted-capital-I", one("User", "?stanbul"),
         sysmon1(User="\u0130stanbul"), True),
    Case("RULES-General-unicode-kelvin-sign", one("User", "kelvin"), sysmon1(User="\u212aelvin"),
         True),
    Case("RULES-General-unicode-final-sigma", one("User", "ΟΔΟΣ"), sysmon1(User="οδος"), True),
    # --- TAXO log sources (Windows and Linux folders)
    Case("TAXO-file-event-never-process-creation", sel(IMAGE_B),
         event(11, Image=CERTUTIL, TargetFilename=r"C:\x.cer"), False),
    Case("TAXO-process-creation-wrong-channel", sel(IMAGE_B),
         event(1, "Microsoft-Windows-Other/Operational", Image=CERTUTIL), False),
    Case("TAXO-file-event-sysmon-11", one("TargetFilename|endswith", ".cer"),
         event(11, Image=CERTUTIL, TargetFilename=r"C:\x.cer"), True, "file_event"),
    Case("TAXO-file-event-not-sysmon-1", one("TargetFilename|endswith", ".cer"),
         sysmon1(TargetFilename=r"C:\x.cer"), False, "file_event"),
    Case("TAXO-registry-add-12", one("TargetObject|contains", "\\Certificates\\"),
         event(12, EventType="CreateKey", TargetObject=r"HKLM\x\Certificates\AB"), True,
         "registry_add"),
    Case("TAXO-registry-set-13", one("TargetObject|endswith", r"\Blob"),
         event(13, EventType="SetValue", TargetObject=r"HKLM\x\AB\Blob"), True, "registry_set"),
    Case("TAXO-registry-set-not-12", one("TargetObject|endswith", r"\Blob"),
         event(12, EventType="CreateKey", TargetObject=r"HKLM\x\AB\Blob"), False, "registry_set"),
    Case("TAXO-registry-event-14", one("TargetObject|contains", r"\AB"),
         event(14, EventType="RenameKey", TargetObject=r"HKLM\x\AB"), True, "registry_event"),
    Case("TAXO-registry-delete-deletevalue (reference choice)",
         one("TargetObject|endswith", r"\Blob"),
         event(12, EventType="DeleteValue", TargetObject=r"HKLM\x\AB\Blob"), True,
         "registry_delete"),
    Case("TAXO-registry-delete-not-createkey (reference choice)",
         one("TargetObject|contains", r"\AB"),
         event(12, EventType="CreateKey", TargetObject=r"HKLM\x\AB"), False, "registry_delete"),
    Case("TAXO-ps-script-4104", one("ScriptBlockText|contains", "New-SelfSignedCertificate"),
         ps4104(ScriptBlockText="New-SelfSignedCertificate -DnsName x"), True, "ps_script"),
    Case("TAXO-ps-script-powershell-core", one("ScriptBlockText|contains", "New-SelfSigned"),
         ps4104("PowerShellCore/Operational", ScriptBlockText="New-SelfSignedCertificate"), True,
         "ps_script"),
    Case("TAXO-ps-script-not-4103", one("Payload|contains", "New-SelfSigned"),
         event(4103, "Microsoft-Windows-PowerShell/Operational", Payload="New-SelfSigned"), False,
         "ps_script"),
    Case("TAXO-linux-process-creation", one("Image|endswith", "/openssl"),
         linux1(Image="/usr/bin/openssl"), True, "process_creation", "linux"),
    Case("TAXO-linux-rule-not-windows-event", one("Image|endswith", "/openssl"),
         sysmon1(Image="/usr/bin/openssl"), False, "process_creation", "linux"),
    Case("TAXO-windows-rule-not-linux-event", one("Image|endswith", "/openssl"),
         linux1(Image="/usr/bin/openssl"), False),
    # --- RULES Field Usage mapping example: Security 4688 under the process_creation taxonomy
    Case("RULES-FieldUsage-4688-Image", sel(IMAGE_B), sec4688(NewProcessName=CERTUTIL), True),
    Case("RULES-FieldUsage-4688-ParentImage", one("ParentImage|endswith", r"\cmd.exe"),
         sec4688(ParentProcessName=r"C:\Windows\System32\cmd.exe"), True),
    Case("RULES-FieldUsage-4688-CommandLine", one("CommandLine|contains", "-addstore"),
         sec4688(CommandLine=ADDSTORE), True),
    Case("RULES-FieldUsage-4688-User", one("User", "alice"), sec4688(SubjectUserName="ALICE"),
         True),
    Case("RULES-FieldUsage-4688-raw-mapped-name-hidden (reference choice)",
         one("NewProcessName|endswith", r"\certutil.exe"), sec4688(NewProcessName=CERTUTIL),
         False),
    Case("RULES-FieldUsage-4688-ProcessId-is-not-new-process (reference choice)",
         one("ProcessId", "0x1a2c"), sec4688(ProcessId="0x1a2c"), False),
    Case("RULES-FieldUsage-4688-unmapped-raw-name", one("TokenElevationType", "%%1937"),
         sec4688(TokenElevationType="%%1937"), True),
    Case("RULES-FieldUsage-4688-sysmon-only-field-absent", one("OriginalFileName", "CertUtil.exe"),
         sec4688(NewProcessName=CERTUTIL), False),
    Case("RULES-FieldUsage-4688-EventID", one("EventID", 4688), sec4688(), True),
]
# fmt: on


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_case(case: Case) -> None:
    reference = compile_yaml(case.detection, case.category, case.product)
    assert reference.matches(case.event) is case.expected


def test_case_ids_unique() -> None:
    assert len({case.id for case in CASES}) == len(CASES)


def test_compiled_rule_identity_and_sources() -> None:
    reference = compile_yaml(sel(IMAGE_B))
    assert reference.rule_id == RULE_ID
    assert reference.title == "reference test"
    assert reference.sources == ("Sysmon 1", "Security 4688")
    assert reference.applies_to(sec4688()) is True
    assert reference.applies_to(event(11)) is False


def test_yaml_text_escapes_reach_the_evaluator() -> None:
    # The cases above build YAML with a dumper; this one is hand-written rule text.
    text = (
        f"title: t\nid: {RULE_ID}\n"
        "logsource:\n    product: windows\n    category: process_creation\n"
        "detection:\n    selection:\n        Image|endswith: '\\certutil.exe'\n"
        "        CommandLine|contains: 'a\\*b'\n    condition: selection\n"
    )
    reference = compile_reference(SigmaRule.from_yaml(text))
    assert reference.matches(sysmon1(Image=CERTUTIL, CommandLine="x a*b y")) is True
    assert reference.matches(sysmon1(Image=CERTUTIL, CommandLine="x azb y")) is False


def test_recorded_event_through_parser() -> None:
    record = json.loads((FILES / "sysmon1_certutil_addstore.json").read_text(encoding="utf-8"))
    parsed = parse_windows_event(record)
    reference = compile_yaml(
        {
            "selection_img": [IMAGE_B, {"OriginalFileName": "CertUtil.exe"}],
            "selection_cli": {"CommandLine|windash|contains": ["-addstore", "-importpfx"]},
            "selection_pid": {"ProcessId": 4242, "TerminalSessionId|gte": 1},
            "condition": "all of selection_*",
        }
    )
    assert reference.matches(parsed) is True
    assert compile_yaml(one("ProcessId", 4243)).matches(parsed) is False


def test_one_compiled_rule_evaluates_many_events() -> None:
    reference = compile_yaml(one("CommandLine|contains", "addstore"))
    events = [sysmon1(CommandLine=text) for text in ("x addstore", "x", "ADDSTORE", "")]
    assert [reference.matches(item) for item in events] == [True, False, True, False]


@pytest.mark.parametrize(
    ("logsource", "named"),
    [
        ({"product": "windows", "category": "process_tampering"}, "process_tampering"),
        ({"product": "windows", "service": "system"}, "system"),
        ({"category": "process_creation"}, "process_creation"),
        ({"product": "macos", "category": "process_creation"}, "macos"),
        ({"product": "windows", "category": "process_creation", "service": "x"}, "service: x"),
    ],
)
def test_other_log_sources_unsupported(logsource: dict[str, str], named: str) -> None:
    rule = {"title": "t", "logsource": logsource, "detection": one("Image", "x")}
    with pytest.raises(UnsupportedRuleError, match=named):
        compile_reference(SigmaRule.from_yaml(yaml.safe_dump(rule)))


def compile_service(service: str, detection: dict[str, Any]) -> ReferenceRule:
    rule = {"title": "t", "logsource": {"product": "windows", "service": service}}
    return compile_reference(SigmaRule.from_yaml(yaml.safe_dump({**rule, "detection": detection})))


def test_a_security_service_rule_reads_every_security_event_and_raw_names() -> None:
    # service: security is the whole channel (4624 is modelled nowhere) under EventData names;
    # category: process_creation reads only 4688, under the taxonomy's names.
    service = compile_service("security", one("NewProcessName", CERTUTIL))
    logon = event(4624, "Security", "Microsoft-Windows-Security-Auditing", NewProcessName=CERTUTIL)
    assert service.matches(logon)
    assert service.matches(sec4688(NewProcessName=CERTUTIL))
    assert not service.matches(sysmon1(NewProcessName=CERTUTIL))
    category = compile_yaml(one("Image", CERTUTIL))
    assert category.matches(sec4688(NewProcessName=CERTUTIL))
    assert not category.matches(
        event(4624, "Security", "Microsoft-Windows-Security-Auditing", NewProcessName=CERTUTIL)
    )
    assert not compile_yaml(one("NewProcessName", CERTUTIL)).matches(
        sec4688(NewProcessName=CERTUTIL)
    )


def test_a_windefend_rule_names_defender_fields_without_their_spaces() -> None:
    reference = compile_service("windefend", one("ThreatName|endswith", "EICAR_Test_File"))
    defender = "Microsoft-Windows-Windows Defender/Operational"
    detected = event(1116, defender, "Microsoft-Windows-Windows Defender")
    hit = event(1116, defender, "x", **{"Threat Name": "Virus:DOS/EICAR_Test_File"})
    assert reference.matches(hit)
    assert not reference.matches(detected)
    # the Sysmon service is not Defender's channel: names stay exact there
    sysmon = compile_service("sysmon", one("ThreatName|endswith", "EICAR_Test_File"))
    assert not sysmon.matches(event(16, **{"Threat Name": "Virus:DOS/EICAR_Test_File"}))


@pytest.mark.parametrize(
    ("detection", "message"),
    [
        (one("User|expand", "%Administrators%"), "placeholder"),
        (one("User|fieldref|contains", "ParentUser"), "fieldref with startswith"),
        (one("UtcTime|hour", 10), "SigmaTimestampPart"),
        ({"sel_a": {"User": "x"}, "condition": "1 of filter_*"}, "selects no detection"),
    ],
)
def test_constructs_without_tool_independent_meaning(
    detection: dict[str, Any], message: str
) -> None:
    with pytest.raises(UnsupportedRuleError, match=re.escape(message)):
        compile_yaml(detection)


def test_processed_rule_is_refused() -> None:
    rule = SigmaRule.from_yaml(rule_yaml(sel(IMAGE_B)))
    resolver = InstalledSigmaPlugins.autodiscover().get_pipeline_resolver()
    resolver.resolve(["sysmon"]).apply(rule)
    with pytest.raises(UnsupportedRuleError, match="pipeline"):
        compile_reference(rule)


# Textbook wildcard matching on ASCII, written independently of the evaluator, as an oracle.
def _wildcard_oracle(pattern: str, value: str) -> bool:
    pattern, value = pattern.lower(), value.lower()
    memo: dict[tuple[int, int], bool] = {}

    def match(i: int, j: int) -> bool:
        if (i, j) not in memo:
            if i == len(pattern):
                result = j == len(value)
            elif pattern[i] == "*":
                result = match(i + 1, j) or (j < len(value) and match(i, j + 1))
            elif j < len(value) and pattern[i] in ("?", value[j]):
                result = match(i + 1, j + 1)
            else:
                result = False
            memo[(i, j)] = result
        return memo[(i, j)]

    return match(0, 0)


@given(
    pattern=st.text(alphabet="aAb*?", max_size=8),
    value=st.text(alphabet="aAbB", max_size=8),
)
def test_wildcards_agree_with_oracle(pattern: str, value: str) -> None:
    reference = compile_yaml(one("User", pattern))
    assert reference.matches(sysmon1(User=value)) is _wildcard_oracle(pattern, value)


# --- Zeek log sources and field references ------------------------------------------------------


def zeek_rule(detection: dict[str, Any], service: str = "x509") -> ReferenceRule:
    rule = {
        "title": "reference test",
        "id": RULE_ID,
        "status": "test",
        "logsource": {"product": "zeek", "service": service},
        "detection": detection,
    }
    return compile_reference(SigmaRule.from_yaml(yaml.safe_dump(rule, sort_keys=False)))


def x509(**fields: Any) -> ZeekRecord:
    # Zeek's JSON writer: column names as keys, unset fields left out, sets as lists.
    return ZeekRecord("x509", {k.replace("__", "."): v for k, v in fields.items()})


DEFAULT_DN = "O=Internet Widgits Pty Ltd,ST=Some-State,C=AU"


def test_zeek_rules_read_only_rows_of_their_log() -> None:
    reference = zeek_rule(one("certificate.subject|contains", "O=Internet Widgits"))
    row = x509(certificate__subject=DEFAULT_DN)
    assert reference.matches(row)
    assert not reference.matches(ZeekRecord("ssl", dict(row.fields)))
    assert not reference.matches(sysmon1(**{"certificate.subject": DEFAULT_DN}))
    assert reference.sources == ("Zeek x509.log",)


def test_zeek_values_are_the_json_writers() -> None:
    # a set matches when one element does, an empty set is absent, booleans read true/false
    san = zeek_rule(one("san.dns", "*.example.org"))
    assert san.matches(x509(san__dns=["a.example.com", "*.example.org"]))
    assert not san.matches(x509(san__dns=[]))
    absent = zeek_rule(one("san.dns", None))
    assert absent.matches(x509(san__dns=[])) and absent.matches(x509())
    host = zeek_rule(one("host_cert", True))
    assert host.matches(x509(host_cert=True)) and not host.matches(x509(host_cert=False))
    length = zeek_rule(one("certificate.key_length|lt", 1024))
    assert length.matches(x509(certificate__key_length=512))
    assert not length.matches(x509(certificate__key_length=2048))


SELF_SIGNED = one("certificate.issuer|fieldref", "certificate.subject")


def test_fieldref_compares_the_two_values() -> None:
    reference = zeek_rule(SELF_SIGNED)
    assert reference.matches(x509(certificate__subject="CN=bro", certificate__issuer="CN=bro"))
    assert not reference.matches(x509(certificate__subject="CN=bro", certificate__issuer="CN=ca"))


def test_fieldref_reference_choices() -> None:
    # reference choice: compared as they are, case-sensitively (no backend folds them)
    reference = zeek_rule(SELF_SIGNED)
    assert not reference.matches(x509(certificate__subject="CN=bro", certificate__issuer="CN=BRO"))
    # reference choice: an absent or empty field has no value to compare, as for null
    assert not reference.matches(x509(certificate__subject="CN=bro"))
    assert not reference.matches(x509())
    assert not reference.matches(x509(certificate__subject="", certificate__issuer=""))
    # a multivalue field compares each of its values
    sans = zeek_rule(one("san.dns|fieldref", "san.uri"))
    assert sans.matches(x509(san__dns=["a", "b"], san__uri=["b"]))
    assert not sans.matches(x509(san__dns=["a"], san__uri=["b"]))


def test_fieldref_under_not_and_in_lists() -> None:
    negated = zeek_rule({"selection": SELF_SIGNED["selection"], "condition": "not selection"})
    assert negated.matches(x509(certificate__subject="CN=a", certificate__issuer="CN=b"))
    assert negated.matches(x509())  # no value to compare: the comparison is false
    either = zeek_rule(
        one("certificate.issuer|fieldref", ["certificate.subject", "certificate.cn"])
    )
    assert either.matches(x509(certificate__issuer="x", certificate__cn="x"))
    both = zeek_rule(
        one("certificate.issuer|fieldref|all", ["certificate.subject", "certificate.cn"])
    )
    assert not both.matches(x509(certificate__issuer="x", certificate__cn="x"))
    assert both.matches(
        x509(certificate__issuer="x", certificate__cn="x", certificate__subject="x")
    )


def test_fieldref_on_windows_events() -> None:
    reference = compile_yaml(one("User|fieldref", "ParentUser"))
    assert reference.matches(sysmon1(User="CORP\\alice", ParentUser="CORP\\alice"))
    assert not reference.matches(sysmon1(User="CORP\\alice", ParentUser="CORP\\bob"))


# --- Linux auditd records (reference choice: one record at a time, values as logged) -----------

AUDIT_STAMP = "msg=audit(1795600000.120:3301):"
AUDIT_OPENSSL = [
    f"type=SYSCALL {AUDIT_STAMP} arch=c000003e syscall=59 success=yes exit=0 items=1 "
    'comm="openssl" exe="/usr/bin/openssl" key=(null)',
    f'type=EXECVE {AUDIT_STAMP} argc=4 a0="openssl" a1="req" a2="-subj" a3=2F434E3D6D7920686F7374',
    f'type=CWD {AUDIT_STAMP} cwd="/root"',
    f"type=PROCTITLE {AUDIT_STAMP} proctitle=6F70656E73736C00726571",
]


def compile_auditd(detection: dict[str, Any]) -> ReferenceRule:
    rule = {
        "title": "reference test",
        "id": RULE_ID,
        "status": "test",
        "logsource": {"product": "linux", "service": "auditd"},
        "detection": detection,
    }
    return compile_reference(SigmaRule.from_yaml(yaml.safe_dump(rule, sort_keys=False)))


def audit_event(*lines: str) -> Any:
    from converter.core.events import parse_audit_event

    return parse_audit_event(list(lines or AUDIT_OPENSSL))


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        ({"type": "EXECVE", "a0": "openssl", "a1": "req"}, True),
        ({"type": "execve", "a1": "REQ"}, True),  # values are case-insensitive, as everywhere
        # one record at a time: exe is in SYSCALL, a1 in EXECVE
        ({"exe": "/usr/bin/openssl", "a1": "req"}, False),
        ({"type": "SYSCALL", "exe|endswith": "/openssl"}, True),
        # hex stays hex: the subject is matched as logged, not as text
        ({"a3": "2F434E3D6D7920686F7374"}, True),
        ({"a3|contains": "my host"}, False),
        ({"proctitle|contains": "req"}, False),
        # quoted values without their quotes
        ({"cwd": "/root"}, True),
        ({"cwd": '"/root"'}, False),
        ({"key": "(null)"}, True),
    ],
)
def test_auditd_rule_reads_one_record_with_values_as_logged(
    selection: dict[str, str], expected: bool
) -> None:
    reference = compile_auditd({"sel": selection, "condition": "sel"})
    assert reference.matches(audit_event()) is expected


def test_auditd_event_matches_when_one_record_does_and_only_auditd_events_apply() -> None:
    reference = compile_auditd({"sel": {"type": "CWD"}, "condition": "sel"})
    assert reference.sources == ("auditd",)
    assert reference.applies_to(audit_event())
    assert reference.matches(audit_event(*AUDIT_OPENSSL[:2])) is False
    assert reference.matches(audit_event()) is True
    assert not reference.applies_to(linux1(Image="/usr/bin/openssl"))
    assert reference.matches(linux1(Image="/usr/bin/openssl")) is False
    # and no record-level selection sees a field of another record type
    negated = compile_auditd(
        {
            "sel": {"type": "EXECVE"},
            "filter": {"comm": "openssl"},
            "condition": "sel and not filter",
        }
    )
    assert negated.matches(audit_event()) is True


def test_auditd_keywords_search_the_values_of_one_record() -> None:
    assert compile_auditd({"keywords": ["EXECVE"], "condition": "keywords"}).matches(audit_event())
    assert compile_auditd({"keywords": ["*434E3D6D79*"], "condition": "keywords"}).matches(
        audit_event()
    )
    assert not compile_auditd({"keywords": ["*my host*"], "condition": "keywords"}).matches(
        audit_event()
    )
