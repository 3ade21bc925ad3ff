"""The email domain a CRM account is looked up by when the ticket event's customer id is the
help desk's own (`zd-org-…`, `fd-company-…`): pure, no I/O.

The domain goes into a HubSpot search filter and a Salesforce SOQL string literal, so only a
plain DNS hostname passes (letters, digits and inner hyphens per label, at least two labels, an
alphabetic top-level label, 253 characters at most): a quote, a space, a backslash or a percent
sign can never reach a query. Free-mail domains (`FREE_MAIL_DOMAINS`, the one list) name a
mailbox provider, not the customer's company, so they are never looked up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["FREE_MAIL_DOMAINS", "DomainCheck", "is_hostname", "requester_domain"]

# Mailbox providers whose domain says nothing about the requester's company. One place: the
# README's CRM enrichment paragraph points here. Subdomains (`mail.yahoo.com`) count too.
FREE_MAIL_DOMAINS: Final[frozenset[str]] = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "yahoo.com",
        "ymail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.net",
        "gmx.de",
        "web.de",
        "mail.com",
        "yandex.com",
        "yandex.ru",
        "zoho.com",
        "qq.com",
        "163.com",
    }
)

_LABEL: Final = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_TOP_LABEL: Final = re.compile(r"^[a-z]{2,63}$")


def is_hostname(domain: str) -> bool:
    """True for a lower-case DNS hostname with at least two labels and an alphabetic TLD."""
    if not domain or len(domain) > 253 or not domain.isascii():
        return False
    labels = domain.split(".")
    if len(labels) < 2 or not _TOP_LABEL.match(labels[-1]):
        return False
    return all(_LABEL.match(label) for label in labels)


def _free_mail(domain: str) -> bool:
    labels = domain.split(".")
    return any(".".join(labels[i:]) in FREE_MAIL_DOMAINS for i in range(len(labels) - 1))


@dataclass(frozen=True, slots=True)
class DomainCheck:
    """The domain to look up, or why there is none (`reason`, naming no personal data)."""

    domain: str | None
    reason: str | None = None


def requester_domain(email: str | None) -> DomainCheck:
    """The lookup domain of a requester's email address (lower-cased, trailing dot dropped)."""
    if not email:
        return DomainCheck(None, "the event has no requester email")
    local, sep, host = email.strip().rpartition("@")
    if not sep or not local:
        return DomainCheck(None, "the requester email has no domain")
    domain = host.lower().rstrip(".")
    if not is_hostname(domain):
        return DomainCheck(None, "the requester email's domain is not a valid hostname")
    if _free_mail(domain):
        return DomainCheck(None, f"{domain} is a free-mail domain, not a company's")
    return DomainCheck(domain)
