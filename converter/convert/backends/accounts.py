"""Sigma's Windows `User` on the targets that store its domain and name apart.

Sysmon writes `User` as one value, `DOMAIN\\name` ("NT AUTHORITY\\SYSTEM"), and the reference
compares the whole of it; Security 4688 gives the reference `SubjectUserName`, a name with no
domain. Elastic's Sysmon pipelines split the value into `user.domain` and `user.name` (the
`split` processor, `converter.execute.ingest.ecs`), the Security pipeline fills them from
SubjectDomainName and SubjectUserName, and Defender XDR keeps `AccountDomain`/`AccountName`
(and `InitiatingProcessAccount*`) apart for both. The stock backends test the whole Sigma value
on the name column: `User|contains: 'AUTHORI'` (SigmaHQ's "covers many language settings")
never matches, and pySigma's Defender split turns `*\\SYSTEM` into a domain wildcard that also
matches a name with no domain. Only one shape means the same on every stored form: a name
suffix without a backslash (`User|endswith: 'SYSTEM'`). Every other value on these columns is
refused with the reason, on Windows log sources; Linux names have no domain part.
"""

from __future__ import annotations

from sigma.types import SigmaString, SpecialChars

from converter.convert.backends.refusals import UnsupportedShape

ACCOUNT_NAME_FIELDS = frozenset({"user.name"})
KUSTO_ACCOUNT_FIELDS = frozenset(
    {
        "AccountName",
        "AccountDomain",
        "InitiatingProcessAccountName",
        "InitiatingProcessAccountDomain",
    }
)


def check_account_value(language: str, field: str, value: object) -> None:
    """Raise UnsupportedShape unless `value` is `*suffix` with no backslash and no other
    wildcard: the one form that tests a Windows `User` faithfully on a split name column."""
    if isinstance(value, SigmaString):
        parts = value.s
        if (
            len(parts) == 2
            and parts[0] is SpecialChars.WILDCARD_MULTI
            and isinstance(parts[1], str)
            and "\\" not in parts[1]
            and not field.endswith("Domain")
        ):
            return
        shown = str(value)
    else:
        shown = str(getattr(value, "regexp", value))
    raise UnsupportedShape(
        f"{language}: {field} value {shown!r}: the SIEM stores a Windows User's domain and name "
        "apart (Sysmon writes DOMAIN\\name, Security 4688 a name alone), so only a name suffix "
        "without a backslash (User|endswith) means the same on every stored form"
    )
