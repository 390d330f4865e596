"""How Elasticsearch stores every field the Elastic ingest models write: its mapped type.

A query is only verified if it does in Elasticsearch what it does here, and Elasticsearch decides
by the mapping, not by the JSON value: EQL refuses `text` fields that have no keyword form, a
`keyword` value longer than `ignore_above` is not indexed (no query finds it), a field mapped
`index: false` cannot be searched. This table gives each field written by
`converter.execute.ingest.ecs`, `ecs_auditd` and `ecs_zeek` its mapping, from the vendor's own
definition (read in 2026; each group below names its file):

- ECS: elastic/ecs `generated/elasticsearch/composable/component/*.json` (ECS 8.17). ECS keyword
  fields carry `ignore_above: 1024`; `process.command_line` and `registry.data.strings` are
  `wildcard`; paths and names have a `.text` multi-field of type `match_only_text`; the x509
  public key exponent is `long` with `index: false`.
- The integration packages' `fields.yml` (elastic/integrations `packages/<package>/data_stream/
  <stream>/fields/`): windows `powershell_operational` (`fields.yml`: `script_block_text` is
  `text` with analyzer `powershell_script_analyzer` and no keyword sub-field; `winlog.yml`:
  `winlog.event_data` is `object_type: keyword`), auditd `log` (`fields.yml`,
  `package-fields.yml`), zeek `ssl` and `x509` (`fields.yml`).
- Fields a package writes but does not declare are mapped dynamically by the `logs@mappings`
  component template of Elasticsearch's data streams (`strings_as_keyword`: keyword with
  `ignore_above: 1024`; JSON numbers `long`, booleans `boolean`).

Fleet gives every keyword field a package declares `ignore_above: 1024` unless the field says
otherwise (Kibana `fleet/server/services/epm/elasticsearch/template/template.ts`).

How to add a field: when an ingest model starts writing a new field, add it to the group of the
file that declares it (or `_DYNAMIC`); `tests/test_elastic_fields.py` fails until it is here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

# Types whose values are searched as exact strings (Elasticsearch's `DataType.isString` family
# with an exact form); `text` and `match_only_text` are analysed and have none of their own.
EXACT_STRING_TYPES = frozenset({"keyword", "constant_keyword", "wildcard"})
ANALYSED_TYPES = frozenset({"text", "match_only_text"})
NUMERIC_TYPES = frozenset({"long", "integer", "float", "double"})
DEFAULT_IGNORE_ABOVE = 1024


@dataclass(frozen=True)
class ElasticField:
    """One field's mapping: type, options, multi-fields, and the file that defines it."""

    type: str
    source: str
    ignore_above: int | None = None
    analyzer: str | None = None
    indexed: bool = True
    # sub-field name -> its type, e.g. ("text", "match_only_text") for `file.path.text`
    multi_fields: tuple[tuple[str, str], ...] = ()

    @property
    def exact(self) -> bool:
        """Whether EQL can compare it exactly: its own type, or a keyword multi-field."""
        return self.type in EXACT_STRING_TYPES or any(
            kind in EXACT_STRING_TYPES for _, kind in self.multi_fields
        )

    @property
    def family(self) -> str:
        """string, numeric, boolean, date or ip: what a literal compared with it must be."""
        if self.type in EXACT_STRING_TYPES or self.type in ANALYSED_TYPES:
            return "string"
        if self.type in NUMERIC_TYPES:
            return "numeric"
        return self.type


_ECS = "elastic/ecs generated/elasticsearch/composable/component (ECS 8.17)"
_POWERSHELL = "elastic/integrations packages/windows/data_stream/powershell_operational/fields"
_SYSMON_FIELDS = "elastic/integrations packages/windows/data_stream/sysmon_operational/fields"
_WINLOG = "elastic/integrations packages/windows/data_stream/*/fields/winlog.yml"
_AUDITD = "elastic/integrations packages/auditd/data_stream/log/fields"
_ZEEK_SSL = "elastic/integrations packages/zeek/data_stream/ssl/fields/fields.yml"
_ZEEK_X509 = "elastic/integrations packages/zeek/data_stream/x509/fields/fields.yml"
_DYNAMIC = "Elasticsearch logs@mappings dynamic templates (undeclared field)"

_TEXT_SUB = (("text", "match_only_text"),)


def _group(
    source: str,
    kind: str,
    names: str,
    *,
    ignore_above: int | None = None,
    multi_fields: tuple[tuple[str, str], ...] = (),
    indexed: bool = True,
) -> Iterable[tuple[str, ElasticField]]:
    if kind == "keyword" and ignore_above is None:
        ignore_above = DEFAULT_IGNORE_ABOVE
    mapping = ElasticField(
        kind, source, ignore_above=ignore_above, multi_fields=multi_fields, indexed=indexed
    )
    return ((name, mapping) for name in names.split())


_PROCESS_PATHS = "command_line executable name working_directory"

_ENTRIES: list[tuple[str, ElasticField]] = [
    # --- ECS
    *_group(_ECS, "date", "@timestamp event.created file.x509.not_after file.x509.not_before"),
    *_group(_ECS, "constant_keyword", "data_stream.dataset data_stream.namespace data_stream.type"),
    *_group(
        _ECS,
        "keyword",
        "client.address server.address source.address destination.address ecs.version "
        "event.action event.category event.code event.dataset event.id event.kind event.module "
        "event.provider event.type file.code_signature.status file.code_signature.subject_name "
        "file.directory file.extension file.hash.md5 file.hash.sha1 file.hash.sha256 file.name "
        "file.pe.company file.pe.description file.pe.file_version file.pe.imphash "
        "file.pe.original_file_name file.pe.product "
        "file.x509.alternative_names "
        "file.x509.issuer.common_name file.x509.issuer.country file.x509.issuer.organization "
        "file.x509.issuer.organizational_unit file.x509.public_key_algorithm "
        "file.x509.serial_number file.x509.signature_algorithm file.x509.subject.common_name "
        "file.x509.subject.country file.x509.subject.locality file.x509.subject.organization "
        "file.x509.subject.state_or_province file.x509.version_number host.architecture "
        "host.hostname host.name host.os.type network.transport process.args "
        "source.domain destination.domain network.protocol network.direction network.type "
        "dns.question.name dns.answers.data dns.answers.type related.hosts "
        "process.entity_id process.hash.md5 process.hash.sha1 process.hash.sha256 "
        "process.parent.args process.parent.entity_id process.pe.company process.pe.description "
        "process.pe.file_version process.pe.imphash process.pe.original_file_name "
        "process.pe.product registry.data.type registry.hive registry.key registry.path "
        "registry.value related.hash related.user rule.name tls.cipher tls.curve tls.version "
        "tls.version_protocol user.domain user.effective.domain user.effective.group.id "
        "user.effective.id user.effective.name user.group.id user.id",
    ),
    # `event.original` is stored, not indexed (`index: false`, `doc_values: false`)
    *_group(_ECS, "keyword", "event.original", indexed=False),
    # written for the Sysmon service (255) and Defender Antivirus events
    *_group(_ECS, "keyword", "error.code event.outcome event.reference"),
    *_group(
        _ECS,
        "keyword",
        "file.path user.name "
        + " ".join(f"process.{n} process.parent.{n}" for n in _PROCESS_PATHS.split()[1:]),
        multi_fields=_TEXT_SUB,
    ),
    *_group(
        _ECS,
        "wildcard",
        "process.command_line process.parent.command_line",
        multi_fields=_TEXT_SUB,
    ),
    *_group(_ECS, "wildcard", "registry.data.strings"),
    *_group(
        _ECS,
        "long",
        "source.port destination.port file.x509.public_key_size process.args_count "
        "process.exit_code process.parent.args_count process.parent.pid process.pid "
        "process.thread.id",
    ),
    *_group(_ECS, "long", "file.x509.public_key_exponent", indexed=False),
    *_group(_ECS, "ip", "source.ip destination.ip related.ip dns.resolved_ip"),
    *_group(
        _ECS,
        "boolean",
        "file.code_signature.signed file.code_signature.valid tls.established tls.resumed",
    ),
    # --- windows integration
    (
        "powershell.file.script_block_text",
        ElasticField("text", _POWERSHELL + "/fields.yml", analyzer="powershell_script_analyzer"),
    ),
    *_group(_POWERSHELL + "/fields.yml", "keyword", "powershell.file.script_block_id"),
    *_group(_POWERSHELL + "/fields.yml", "long", "powershell.sequence powershell.total"),
    *_group(
        _SYSMON_FIELDS + "/fields.yml", "boolean", "sysmon.file.archived sysmon.file.is_executable"
    ),
    *_group(
        _WINLOG,
        "keyword",
        "winlog.channel winlog.computer_name winlog.event_id winlog.provider_name "
        "winlog.record_id winlog.logon.id",
    ),
    # --- auditd integration
    *_group(
        _AUDITD + "/fields.yml",
        "keyword",
        "auditd.log.a0 auditd.log.items auditd.log.item auditd.log.tty",
    ),
    *_group(_AUDITD + "/fields.yml", "long", "auditd.log.sequence"),
    *_group(
        _AUDITD + "/package-fields.yml",
        "keyword",
        "user.audit.id user.filesystem.id user.filesystem.group.id user.owner.id "
        "user.owner.group.id user.saved.id user.saved.group.id",
    ),
    # --- zeek integration
    *_group(
        _ZEEK_SSL,
        "keyword",
        "zeek.ssl.cipher zeek.ssl.curve zeek.ssl.last_alert zeek.ssl.next_protocol "
        "zeek.ssl.server.name zeek.ssl.validation.status zeek.ssl.version",
    ),
    *_group(_ZEEK_SSL, "boolean", "zeek.ssl.established zeek.ssl.resumed"),
    *_group(
        _ZEEK_X509,
        "keyword",
        "zeek.x509.certificate.curve zeek.x509.certificate.exponent "
        "zeek.x509.certificate.issuer.common_name zeek.x509.certificate.issuer.country "
        "zeek.x509.certificate.issuer.organization "
        "zeek.x509.certificate.issuer.organizational_unit zeek.x509.certificate.key.algorithm "
        "zeek.x509.certificate.key.type zeek.x509.certificate.serial "
        "zeek.x509.certificate.signature_algorithm zeek.x509.certificate.subject.common_name "
        "zeek.x509.certificate.subject.country zeek.x509.certificate.subject.locality "
        "zeek.x509.certificate.subject.organization zeek.x509.certificate.subject.state "
        "zeek.x509.san.dns zeek.x509.san.email zeek.x509.san.uri",
    ),
    *_group(
        _ZEEK_X509,
        "integer",
        "zeek.x509.certificate.version zeek.x509.certificate.key.length "
        "zeek.x509.basic_constraints.path_length",
    ),
    *_group(
        _ZEEK_X509, "date", "zeek.x509.certificate.valid.from zeek.x509.certificate.valid.until"
    ),
    *_group(_ZEEK_X509, "ip", "zeek.x509.san.ip"),
    # --- written by the ingest pipelines, declared by no fields file read
    *_group(
        _DYNAMIC,
        "keyword",
        "auditd.log.a1 auditd.log.a2 auditd.log.a3 auditd.log.cap_fe auditd.log.cap_fi "
        "auditd.log.cap_fp auditd.log.cap_frootid auditd.log.cap_fver auditd.log.dev "
        "auditd.log.inode auditd.log.key auditd.log.mode auditd.log.name auditd.log.nametype "
        "auditd.log.obj auditd.log.proctitle auditd.log.rdev auditd.log.record_type "
        "auditd.log.ses auditd.log.subj auditd.log.syscall zeek.session_id "
        "zeek.ssl.cert_chain_fps zeek.ssl.client_cert_chain_fps zeek.ssl.ssl_history "
        "zeek.x509.fingerprint",
    ),
    *_group(
        _DYNAMIC,
        "boolean",
        "auditd.log.success zeek.ssl.sni_matches_cert zeek.x509.basic_constraints.ca "
        "zeek.x509.client_cert zeek.x509.host_cert",
    ),
]


def _event_data() -> Iterable[tuple[str, ElasticField]]:
    # `winlog.event_data` is `type: object, object_type: keyword`: every key is a keyword
    names = (
        "CommandLine Company CreationUtcTime Description Details EventType FileVersion "
        "IntegrityLevel LogonGuid LogonId MandatoryLabel NewName ParentUser ProcessId Product "
        "SubjectDomainName SubjectLogonId SubjectUserName SubjectUserSid TargetDomainName "
        "TargetLogonId TargetUserName TargetUserSid TerminalSessionId TokenElevationType"
    )
    return _group(_WINLOG, "keyword", " ".join(f"winlog.event_data.{n}" for n in names.split()))


def _table(entries: Iterable[tuple[str, ElasticField]]) -> Mapping[str, ElasticField]:
    table: dict[str, ElasticField] = {}
    for name, mapping in entries:
        if name in table:
            raise ValueError(f"{name} is mapped twice")
        table[name] = mapping
    return MappingProxyType(table)


ELASTIC_FIELDS: Mapping[str, ElasticField] = _table([*_ENTRIES, *_event_data()])

# `winlog.event_data.*` keys not listed above are keywords too (the `object_type`).
EVENT_DATA_PREFIX = "winlog.event_data."


def elastic_field(
    name: str, fields: Mapping[str, ElasticField] = ELASTIC_FIELDS
) -> ElasticField | None:
    """The mapping of a field, a multi-field (`file.path.text`) or an event_data key; None if
    the schema has none (Elasticsearch: an unknown column)."""
    found = fields.get(name)
    if found is not None:
        return found
    if name.startswith(EVENT_DATA_PREFIX) and "." not in name[len(EVENT_DATA_PREFIX) :]:
        return ElasticField("keyword", _WINLOG, ignore_above=DEFAULT_IGNORE_ABOVE)
    parent, _, sub = name.rpartition(".")
    owner = fields.get(parent)
    if owner is not None:
        for sub_name, kind in owner.multi_fields:
            if sub_name == sub:
                return ElasticField(kind, owner.source)
    return None


def renamed(
    fields: Mapping[str, ElasticField], renames: Mapping[str, str]
) -> Mapping[str, ElasticField]:
    """The schema after an environment's field renames: each new name has its source's mapping."""
    table = {name: mapping for name, mapping in fields.items() if name not in renames}
    for source, target in renames.items():
        mapping = elastic_field(source, fields)
        if mapping is not None:
            table[target] = mapping
    return MappingProxyType(table)
