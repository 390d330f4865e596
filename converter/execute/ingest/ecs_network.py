"""Elastic model, network steps: what the Sysmon pipeline makes of network connections (3) and
DNS queries (22).

`converter.execute.ingest.ecs` builds the Sysmon document; this module replays the steps of the
windows integration's `sysmon_operational` pipeline that only network events reach
(elastic/integrations `packages/windows/data_stream/sysmon_operational/elasticsearch/
ingest_pipeline/default.yml`, section "Network, Destination, and Source fields", its "Related
fields" appends and its "Cleanup" removals; read in 2026), in the same order:

- `Protocol` is renamed to `network.transport`; `DestinationPortName`, then `SourcePortName`,
  to `network.protocol` (a rename onto an existing field fails and is ignored, so the
  destination's name wins; the other is removed by the cleanup).
- `SourceIp`/`DestinationIp` are converted to `source.ip`/`destination.ip` (type `ip`: a value
  that is no address is left out), `SourcePort`/`DestinationPort` to `long`; the host names are
  renamed to `source.domain`/`destination.domain`.
- `Initiated` "true"/"false" becomes `network.direction` "egress"/"ingress", and
  `SourceIsIpv6` "false"/"true" `network.type` "ipv4"/"ipv6"; both raw fields are removed, as
  are `DestinationIsIpv6`, the IPs, ports and port names.
- `related.ip` gets the source and then the destination IP, without duplicates.
- DNS (22): `network.protocol` is "dns"; `QueryName` is renamed to `dns.question.name` (and
  appended to `related.hosts`). `QueryResults` is split on ";": a `type:  <n> <name>` entry is an
  answer `{type, data}` (the type's number named from the pipeline's table; the name also goes
  to `related.hosts`), any other entry an address for `dns.resolved_ip` (`::ffff:` prefixes cut,
  what is no address dropped), each of which also becomes an answer of type "A" or "AAAA" and a
  `related.ip`. `QueryResults` and `QueryStatus` are removed.

Not modelled: `network.community_id` (the `community_id` processor's hash of the flow);
`dns.question.registered_domain`, `top_level_domain` and `subdomain` (the `registered_domain`
processor needs the public suffix list); `sysmon.dns.status`, the status code translated to a
name by the pipeline's table of some 200 Windows error codes (`0` becomes "SUCCESS").
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

# event ID -> the pipeline's categorization (event.category, event.type)
NETWORK_CATEGORIZATION: dict[int, tuple[list[str], list[str]]] = {
    3: (["network"], ["start", "connection", "protocol"]),
    22: (["network"], ["connection", "protocol", "info"]),
}

# Removed by the pipeline's cleanup step, whether or not a rename took them.
NETWORK_CLEANUP = (
    "SourceIp",
    "SourcePort",
    "SourcePortName",
    "DestinationIp",
    "DestinationPort",
    "DestinationPortName",
    "Initiated",
    "SourceIsIpv6",
    "DestinationIsIpv6",
    "QueryStatus",
    "QueryResults",
)
# The pipeline's DNS record type names, for the numbers Windows writes in QueryResults.
_DNS_TYPES = {
    "1": "A", "2": "NS", "3": "MD", "4": "MF", "5": "CNAME", "6": "SOA", "7": "MB", "8": "MG",
    "9": "MR", "10": "NULL", "11": "WKS", "12": "PTR", "13": "HINFO", "14": "MINFO", "15": "MX",
    "16": "TXT", "17": "RP", "18": "AFSDB", "19": "X25", "20": "ISDN", "21": "RT", "22": "NSAP",
    "23": "NSAPPTR", "24": "SIG", "25": "KEY", "26": "PX", "27": "GPOS", "28": "AAAA",
    "29": "LOC", "30": "NXT", "31": "EID", "32": "NIMLOC", "33": "SRV", "34": "ATMA",
    "35": "NAPTR", "36": "KX", "37": "CERT", "38": "A6", "39": "DNAME", "40": "SINK", "41": "OPT",
    "43": "DS", "46": "RRSIG", "47": "NSEC", "48": "DNSKEY", "49": "DHCID", "100": "UINFO",
    "101": "UID", "102": "GID", "103": "UNSPEC", "248": "ADDRS", "249": "TKEY", "250": "TSIG",
    "251": "IXFR", "252": "AXFR", "253": "MAILB", "254": "MAILA", "255": "ANY", "65281": "WINS",
    "65282": "WINSR",
}  # fmt: skip
_V4_MAPPED = re.compile(r"^\[?::ffff:([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)(?:\](?::[0-9]+)?)?$")
_DIRECTION = {"true": "egress", "false": "ingress"}
_IP_TYPE = {"false": "ipv4", "true": "ipv6"}


def network_fields(doc: dict[str, Any], data: dict[str, str], code: int) -> None:
    """Set the network, source, destination and DNS fields from `data` (values "" and "-"
    already dropped), popping what the pipeline renames."""
    network: dict[str, Any] = {}
    if "Protocol" in data:
        network["transport"] = data.pop("Protocol")
    for name in ("DestinationPortName", "SourcePortName"):
        if code != 22 and name in data and "protocol" not in network:
            network["protocol"] = data.pop(name)
    if code == 22:
        network["protocol"] = "dns"
    for side, prefix in (("source", "Source"), ("destination", "Destination")):
        node: dict[str, Any] = {}
        address = _ip(data.get(f"{prefix}Ip"))
        if address is not None:
            node["ip"] = address
        if f"{prefix}Hostname" in data:
            node["domain"] = data.pop(f"{prefix}Hostname")
        port = _port(data.get(f"{prefix}Port"))
        if port is not None:
            node["port"] = port
        if node:
            doc[side] = node
    direction = _DIRECTION.get(data.get("Initiated", ""))
    if direction is not None:
        network["direction"] = direction
    ip_type = _IP_TYPE.get(data.get("SourceIsIpv6", ""))
    if ip_type is not None:
        network["type"] = ip_type
    if network:
        doc["network"] = network
    resolved = _dns(doc, data)
    related = [doc[side]["ip"] for side in ("source", "destination") if "ip" in doc.get(side, {})]
    for address in resolved + related:  # the pipeline appends the resolved IPs first
        ips = doc.setdefault("related", {}).setdefault("ip", [])
        if address not in ips:
            ips.append(address)


def _dns(doc: dict[str, Any], data: dict[str, str]) -> list[str]:
    """The DNS fields; returns the resolved IPs."""
    answers: list[dict[str, str]] = []
    resolved: list[str] = []
    hosts: list[str] = []
    for entry in data.get("QueryResults", "").split(";"):
        if entry == "":
            continue
        if entry.startswith("type:"):
            parts = entry.split()
            if len(parts) < 2:
                continue  # the script throws; the event is not indexed as modelled here
            answer = {"type": _DNS_TYPES.get(parts[1])}
            if len(parts) == 3:
                answer["data"] = parts[2]
                hosts.append(parts[2])
            answers.append({k: v for k, v in answer.items() if v is not None})
        else:
            mapped = _V4_MAPPED.match(entry)
            address = _ip(mapped.group(1) if mapped else entry)
            if address is not None:
                resolved.append(address)
    answers += [{"type": "AAAA" if ":" in ip else "A", "data": ip} for ip in resolved]
    dns: dict[str, Any] = {}
    if "QueryName" in data:
        dns["question"] = {"name": data.pop("QueryName")}
        if dns["question"]["name"] not in hosts:
            hosts.append(dns["question"]["name"])
    if answers:
        dns["answers"] = answers
    if resolved:
        dns["resolved_ip"] = resolved
    if dns:
        doc["dns"] = dns
    if hosts:
        doc.setdefault("related", {})["hosts"] = hosts
    return resolved


def _ip(text: str | None) -> str | None:
    # The convert processor's `ip` type: InetAddresses.forString, IPv4 or IPv6 text only.
    if text is None:
        return None
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return None
    return text  # the processor checks the text and stores it unchanged


def _port(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
