"""escalation/crm_domain.py: which requester emails give a CRM lookup domain."""

from __future__ import annotations

import pytest

from escalation.crm_domain import FREE_MAIL_DOMAINS, is_hostname, requester_domain


@pytest.mark.parametrize(
    ("email", "domain"),
    [
        ("it@globex.example", "globex.example"),
        ("IT@Globex.Example.", "globex.example"),
        ("a.b+c@eu.globex-corp.co.uk", "eu.globex-corp.co.uk"),
        ('"odd@local"@globex.example', "globex.example"),
    ],
)
def test_company_domains(email: str, domain: str) -> None:
    assert requester_domain(email).domain == domain


@pytest.mark.parametrize("email", ["jane@gmail.com", "x@mail.yahoo.com", "x@HOTMAIL.COM"])
def test_free_mail_is_never_looked_up(email: str) -> None:
    check = requester_domain(email)
    assert check.domain is None and "free-mail" in str(check.reason)


@pytest.mark.parametrize(
    "email",
    [
        None,
        "",
        "no-at-sign",
        "@globex.example",
        "it@globex.example'OR'1'='1",
        "it@globex.example\\",
        "it@globex",
        "it@globex.123",
        "it@-globex.example",
        "it@globex-.example",
        "it@gl\u00f6bex.example",
        "it@" + "a" * 64 + ".example",
        "it@" + ".".join(["abcdefghi"] * 26) + ".example",
    ],
)
def test_no_domain(email: str | None) -> None:
    check = requester_domain(email)
    assert check.domain is None and check.reason


def test_the_free_mail_list_holds_hostnames_only() -> None:
    assert {"gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com"} <= (
        FREE_MAIL_DOMAINS
    )
    assert all(is_hostname(d) for d in FREE_MAIL_DOMAINS)
