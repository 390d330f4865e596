"""Elastic model, network steps: what the Sysmon pipeline makes of a network connection (3).

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

Not modelled: `network.community_id` (the `community_id` processor's hash of the flow).
"""

from __future__ import annotations

import ipaddress
from typing import Any

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
)
_DIRECTION = {"true": "egress", "false": "ingress"}
_IP_TYPE = {"false": "ipv4", "true": "ipv6"}


def network_fields(doc: dict[str, Any], data: dict[str, str]) -> None:
    """Set the network, source and destination fields from `data` (values "" and "-" already
    dropped), popping what the pipeline renames."""
    network: dict[str, Any] = {}
    if "Protocol" in data:
        network["transport"] = data.pop("Protocol")
    for name in ("DestinationPortName", "SourcePortName"):
        if name in data and "protocol" not in network:
            network["protocol"] = data.pop(name)
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
    related = [doc[side]["ip"] for side in ("source", "destination") if "ip" in doc.get(side, {})]
    for address in related:
        ips = doc.setdefault("related", {}).setdefault("ip", [])
        if address not in ips:
            ips.append(address)


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
