"""Elastic model for Linux audit records: the `_source` documents of Elastic's auditd integration.

The Auditd Logs integration (elastic/integrations, `packages/auditd`, data stream `auditd.log`)
reads `/var/log/audit/audit.log` line by line: every record of an audit event (SYSCALL, EXECVE,
CWD, PATH, PROCTITLE, ...) becomes its own document. `to_ecs` returns them as a `DocumentGroup`,
one document per record, replaying the data stream's ingest pipeline
`packages/auditd/data_stream/log/elasticsearch/ingest_pipeline/default.yml` step by step:

- grok/kv: `auditd.log.record_type` (the type, as logged), `auditd.log.sequence` (the serial, a
  long), `auditd.log.node`, `@timestamp` from the stamp's epoch; every `key=value` of the record
  lands in `auditd.log.<key>`, `old-auid`/`old-ses` renamed with underscores;
- the `script_process_fields` script, per value: `?`, `(null)` and empty values are dropped;
  for the `possibleHexKeys` only (exe, cmd, comm, cwd, name, path, proctitle, ... but no EXECVE
  argument) an unquoted even-length hex value is decoded byte by byte (each byte one character,
  control characters written `^X`) when a decoded byte needed encoding (a control character, a
  space, a double quote or DEL), otherwise kept as hex; `success` and `key_enforce` become
  booleans; one leading and one trailing quote are trimmed; `arch=c000003e` is `x86_64`;
- the go-libaudit record-type script: a SYSCALL record takes the syscall table's entry for its
  `syscall` value, and a numeric syscall (what raw logs hold) takes the `'*'` entry,
  `event.category: ["process"]`, `event.type: ["info"]`; a syscall named `execve` sets both as
  the plain strings `process`/`info`; `network.direction` from the socket syscalls;
- the ECS renames: uid/gid/auid/euid/suid/fsuid/egid/sgid/fsgid/ouid/ogid/agid to `user.*`,
  acct/user to `user.name`, comm to `process.name`, exe to `process.executable`, pid/ppid to
  `process.pid`/`process.parent.pid` (longs), cmd to `process.args` (split on whitespace), argc
  to `process.args_count` (long), exit to `process.exit_code` (long), cwd to
  `process.working_directory`, terminal to `user.terminal`, msg to `message`, arch copied to
  `host.architecture`, `event.outcome` from res, src/addr/dst to `source`/`destination`;
- the `script_execve_process_args` script, EXECVE records only: every `aN`, `aN_len` and
  `aN[i]` key leaves `auditd.log`; the values, in argument order and raw (quotes trimmed, hex
  kept: a0..aN are not hex keys), become `process.args`, each piece of a split argument
  (`a3[0]`, `a3[1]`) its own entry; `process.executable` is `args[0]` when `a0` is there, and a
  record that starts at argument N > 0 begins with `[... N truncated arguments ...]`;
- `event.action` is the lower-cased record type and `auditd.log.record_type` stays (the pipeline
  copies it since elastic/integrations#10829), `event.kind: event`, `event.original` removed.

The expected documents of the pipeline's own tests pin this: `_dev/test/pipeline/
test-auditd-raw.log-expected.json` (SYSCALL, EXECVE, CWD, PATH, PROCTITLE records),
`test-oversized-execve.log-expected.json` (split arguments, continuation records) and
`test-truncated-execve.log-expected.json`; `tests/test_ingest_ecs_auditd.py` replays their
records.

Not modelled: record types that the go-libaudit table maps to an action (USER_CMD, SERVICE_START,
AVC, ... get no `event.action`, `event.category`, `event.type` or `user` copies here), syscall
names other than execve (raw logs write numbers), repeated keys in one record (Elasticsearch's kv
processor makes an array; the record keeps the last value), the enriched format's interpreted
fields, a `convert` that fails on a non-numeric value (the pipeline then marks the document
`pipeline_error`), Unicode digits in hex values (Painless `Character.digit` accepts them), GeoIP,
the agent's metadata (`agent`, `host.name`, `data_stream`, `log.file`), and the integration's
optional coalesce mode (one document per event, `ingest_pipeline/coalesced.yml`).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from converter.core.auditd import AuditdEvent, AuditdRecord
from converter.core.documents import DocumentGroup, EcsDocument

ECS_VERSION = "8.17.0"
DATASET = "auditd.log"

# The pipeline's `possibleHexKeys`: the only values it decodes from hex.
HEX_KEYS = frozenset(
    {
        "exe", "cmd", "data", "path", "comm", "file", "name", "watch", "cwd", "acct", "dir", "vm",
        "old-chardev", "new-chardev", "old-disk", "new-disk", "old-fs", "new-fs", "old-net",
        "new-net", "device", "cgroup", "apparmor", "operation", "denied_mask", "info", "profile",
        "requested_mask", "old-rng", "new-rng", "ocomm", "grp", "new_group", "invalid_context",
        "sw", "root_dir", "proctitle",
    }
)  # fmt: skip
BOOLEAN_KEYS = frozenset({"success", "key_enforce"})
LONG_KEYS = ("sequence", "lport", "rport", "entries", "dst_prefixlen", "ksize", "size",
             "src_prefixlen")  # fmt: skip
DROPPED_VALUES = frozenset({"?", "(null)", ""})

# Record types the go-libaudit table gives an action of its own (the pipeline's `types`
# parameter): their `event.*` and `user` copies are not modelled (see the module docstring).
TABLE_TYPES = frozenset(
    {
        "ACCT_LOCK", "ACCT_UNLOCK", "ADD_GROUP", "ADD_USER", "ANOM_ABEND", "ANOM_EXEC",
        "ANOM_LINK", "ANOM_LOGIN_FAILURES", "ANOM_LOGIN_LOCATION", "ANOM_LOGIN_SESSIONS",
        "ANOM_LOGIN_TIME", "ANOM_PROMISCUOUS", "ANOM_RBAC_INTEGRITY_FAIL", "AVC", "CHGRP_ID",
        "CHUSER_ID", "CONFIG_CHANGE", "CRED_ACQ", "CRED_DISP", "CRED_REFR", "CRYPTO_KEY_USER",
        "CRYPTO_LOGIN", "CRYPTO_LOGOUT", "CRYPTO_SESSION", "DAC_CHECK", "DAEMON_ABORT",
        "DAEMON_ACCEPT", "DAEMON_CLOSE", "DAEMON_CONFIG", "DAEMON_END", "DAEMON_ERR",
        "DAEMON_RECONFIG", "DAEMON_RESUME", "DAEMON_ROTATE", "DAEMON_START", "DEL_GROUP",
        "DEL_USER", "FEATURE_CHANGE", "FS_RELABEL", "GRP_AUTH", "GRP_CHAUTHTOK", "GRP_MGMT",
        "KERNEL", "KERN_MODULE", "LABEL_LEVEL_CHANGE", "LABEL_OVERRIDE", "LOGIN", "MAC_CHECK",
        "MAC_CONFIG_CHANGE", "MAC_POLICY_LOAD", "MAC_STATUS", "NETFILTER_CFG", "ROLE_ASSIGN",
        "ROLE_MODIFY", "ROLE_REMOVE", "SECCOMP", "SELINUX_ERR", "SERVICE_START",
        "SERVICE_STOP", "SOFTWARE_UPDATE", "SYSTEM_BOOT", "SYSTEM_RUNLEVEL", "SYSTEM_SHUTDOWN",
        "TEST", "TRUSTED_APP", "TTY", "USER", "USER_ACCT", "USER_AUTH", "USER_AVC",
        "USER_CHAUTHTOK", "USER_CMD", "USER_END", "USER_ERR", "USER_LOGIN", "USER_LOGOUT",
        "USER_MAC_CONFIG_CHANGE", "USER_MAC_POLICY_LOAD", "USER_MGMT", "USER_ROLE_CHANGE",
        "USER_SELINUX_ERR", "USER_START", "USER_TTY", "USYS_CONFIG", "VIRT_CONTROL",
        "VIRT_CREATE", "VIRT_DESTROY", "VIRT_INTEGRITY_CHECK", "VIRT_MACHINE_ID",
        "VIRT_MIGRATE_IN", "VIRT_MIGRATE_OUT", "VIRT_RESOURCE",
    }
)  # fmt: skip
# The syscall table's entries for the syscalls of process creation; any other syscall value
# (raw logs hold numbers) takes the '*' entry.
_SYSCALL_ACTIONS: dict[str, tuple[list[str] | None, list[str], list[str]]] = {
    "execve": (["executed"], ["process"], ["start"]),
    "execveat": (["executed"], ["process"], ["start"]),
    "*": (None, ["process"], ["info"]),
}
_INGRESS = frozenset({"accept", "43", "recvfrom", "45", "recvmsg", "47", "accept4", "288"})
_EGRESS = frozenset({"connect", "42", "sendto", "44", "sendmsg", "46"})

# (auditd.log key, ECS field, convert to long): the pipeline's renames, in its order. A rename
# fails (ignore_failure) when the target exists, and the key then stays in auditd.log.
_RENAMES: tuple[tuple[str, str, bool], ...] = (
    ("acct", "user.name", False),
    ("user", "user.name", False),
    ("uid", "user.id", False),
    ("gid", "user.group.id", False),
    ("agid", "user.audit.group.id", False),
    ("auid", "user.audit.id", False),
    ("fsgid", "user.filesystem.group.id", False),
    ("fsuid", "user.filesystem.id", False),
    ("egid", "user.effective.group.id", False),
    ("euid", "user.effective.id", False),
    ("sgid", "user.saved.group.id", False),
    ("suid", "user.saved.id", False),
    ("ogid", "user.owner.group.id", False),
    ("ouid", "user.owner.id", False),
    ("comm", "process.name", False),
    ("exe", "process.executable", False),
    ("pid", "process.pid", True),
    ("ppid", "process.parent.pid", True),
)
_LATER_RENAMES: tuple[tuple[str, str, bool], ...] = (
    ("exit", "process.exit_code", True),
    ("cwd", "process.working_directory", False),
    ("terminal", "user.terminal", False),
    ("msg", "message", False),
)
_ARGUMENT = re.compile(r"a([0-9]+)(.*)", re.DOTALL)
_PIECE = re.compile(r"\[([0-9]+)\]")
_IPV4 = re.compile(r"(?:\d{1,3}\.){3}\d{1,3}")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def to_ecs(event: AuditdEvent) -> DocumentGroup:
    """The documents the auditd integration stores for `event`: one per record."""
    return DocumentGroup(_document(event, record) for record in event.records)


def decode_hex(value: str) -> str:
    """The pipeline's `convertHexToString`: the text when a byte needed encoding, else `value`."""
    out: list[str] = []
    needed_encoding = False
    for i in range(0, len(value) - 1, 2):
        code = int(value[i : i + 2], 16)
        if code < 33 or code == 34 or code == 127:
            needed_encoding = True
        if code < 32 or code == 127:
            out.append("^")
            code ^= 64
        out.append(chr(code))
    return "".join(out) if needed_encoding else value


def _is_hex(value: str) -> bool:
    return bool(value) and len(value) % 2 == 0 and all(c in _HEX_DIGITS for c in value)


def _trim_quotes(value: str) -> str:
    if value.startswith(("'", '"')):
        value = value[1:]
    if value.endswith(("'", '"')):
        value = value[:-1]
    return value


def field_value(name: str, logged: str, quoted: bool) -> Any:
    """`processFieldValue` on one value as the kv processor leaves it (quotes still on)."""
    raw = f'"{logged}"' if quoted else logged
    if raw in DROPPED_VALUES:
        return None
    value: Any = raw
    if name in HEX_KEYS and _is_hex(raw):
        value = decode_hex(raw)
    if name in BOOLEAN_KEYS:
        value = value.lower() in ("yes", "true", "1")
    if isinstance(value, str):
        value = _trim_quotes(value)
    if name == "arch" and value == "c000003e":
        value = "x86_64"
    return value


def _timestamp(epoch: float) -> str:
    # The date processor's UNIX format: millisecond precision (auditd writes three decimals).
    millis = round(epoch * 1000)
    moment = datetime.fromtimestamp(millis // 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"


def _put(document: EcsDocument, dotted: str, value: Any) -> None:
    node = document
    *parents, last = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def _has(document: EcsDocument, dotted: str) -> bool:
    node: Any = document
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _long(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value  # not modelled: the pipeline fails the document (module docstring)


def _rename(document: EcsDocument, log: dict[str, Any], key: str, target: str, long: bool) -> None:
    if key in log and not _has(document, target):
        value = log.pop(key)
        _put(document, target, _long(value) if long else value)


def _document(event: AuditdEvent, record: AuditdRecord) -> EcsDocument:
    log: dict[str, Any] = {"record_type": record.type, "sequence": event.serial}
    if event.node is not None:
        log["node"] = event.node
    for name, logged in record.fields.items():
        key = {"old-auid": "old_auid", "old-ses": "old_ses"}.get(name, name)
        value = field_value(key, logged, name in record.quoted)
        if value is not None:
            log[key] = value
    for key in LONG_KEYS:
        if key in log:
            log[key] = _long(log[key])
    event_fields: dict[str, Any] = {"kind": "event", "dataset": DATASET}
    document: EcsDocument = {
        "@timestamp": _timestamp(event.timestamp),
        "ecs": {"version": ECS_VERSION},
        "event": event_fields,
        "auditd": {"log": log},
    }
    syscall = log.get("syscall")
    if record.type not in TABLE_TYPES and isinstance(syscall, str):
        action, category, kind = _SYSCALL_ACTIONS.get(syscall, _SYSCALL_ACTIONS["*"])
        if action is not None:
            event_fields["action"] = list(action)
        event_fields["category"], event_fields["type"] = list(category), list(kind)
    if record.type == "SYSCALL" and syscall == "execve":
        event_fields["category"], event_fields["type"] = "process", "info"
    if record.type == "SYSCALL" and syscall in _INGRESS:
        _put(document, "network.direction", "ingress")
    if record.type == "SYSCALL" and syscall in _EGRESS:
        _put(document, "network.direction", "egress")
    if "arch" in log:
        _put(document, "host.architecture", log["arch"])
    for key, target, long in _RENAMES:
        _rename(document, log, key, target, long)
    if "cmd" in log and not _has(document, "process.args"):
        _put(document, "process.args", re.split(r"\s+", str(log.pop("cmd"))))
    _rename(document, log, "argc", "process.args_count", True)
    args = document.get("process", {}).get("args")
    if isinstance(args, list):
        document["process"]["args_count"] = len(args)
    for key, target, long in _LATER_RENAMES:
        _rename(document, log, key, target, long)
    _outcome(document, log)
    if record.type == "EXECVE":
        _execve_arguments(document, log)
    if "action" not in event_fields and record.type not in TABLE_TYPES:
        event_fields["action"] = record.type.lower()
    elif isinstance(event_fields.get("action"), list):
        event_fields["action"] = [action.lower() for action in event_fields["action"]]
    _addresses(document, log)
    for key in ("arch", "res"):
        log.pop(key, None)
    return document


def _outcome(document: EcsDocument, log: dict[str, Any]) -> None:
    res = log.get("res")
    if res is None:
        return
    if res in ("1", "success"):
        document["event"]["outcome"] = "success"
    elif res in ("0", "failed"):
        document["event"]["outcome"] = "failure"
    else:
        document["event"]["outcome"] = "unknown"


def _execve_arguments(document: EcsDocument, log: dict[str, Any]) -> None:
    found: list[tuple[int, int, Any]] = []
    for key in [key for key in log if _ARGUMENT.fullmatch(key)]:
        match = _ARGUMENT.fullmatch(key)
        assert match is not None
        value = log.pop(key)
        if match.group(2) == "_len":
            continue
        # Pieces of one argument keep their order (assumed: the script's sort is stable over
        # the map's key order, which the pipeline's tests do not pin for two pieces in one record).
        piece = _PIECE.fullmatch(match.group(2))
        found.append((int(match.group(1)), int(piece.group(1)) if piece else 0, value))
    if not found:
        return
    found.sort(key=lambda item: (item[0], item[1]))
    args = [value for _, _, value in found]
    process = document.setdefault("process", {})
    if found[0][0] == 0:
        process["args"] = args
        process["executable"] = args[0]
    else:
        process["args"] = [f"[... {found[0][0]} truncated arguments ...]", *args]


def _addresses(document: EcsDocument, log: dict[str, Any]) -> None:
    if "src" in log:
        _put(document, "source.address", log.pop("src"))
    if "addr" in log and not _has(document, "source.address"):
        _put(document, "source.address", log.pop("addr"))
    if "dst" in log:
        _put(document, "destination.address", log.pop("dst"))
    address = document.get("source", {}).get("address")
    if isinstance(address, str) and _IPV4.fullmatch(address):
        document["source"]["ip"] = address
