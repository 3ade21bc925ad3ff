"""API key roles, generation, hashing and ESCALATION_API_KEYS parsing."""

from __future__ import annotations

import re

import pytest

from escalation.apikeys import (
    MAX_TOKEN_LENGTH,
    ApiKeyConfigError,
    Permission,
    Role,
    generate_token,
    hash_token,
    key_id_for,
    new_api_key,
    parse_api_keys,
    record_for,
    records_from_env,
    role_allows,
    verify_api_key,
)

PEPPER = b"test-pepper-0123456789abcdef"
OTHER_PEPPER = b"another-pepper-0123456789abcdef"

# --- roles ----------------------------------------------------------------------------------

EXPECTED: dict[Role, set[Permission]] = {
    Role.TICKET_SYSTEM: {Permission.INTAKE, Permission.START_ESCALATION, Permission.READ},
    Role.RESPONDER: {Permission.RESPOND, Permission.READ},
    Role.MANAGER: {Permission.MANAGE, Permission.RESPOND, Permission.READ},
    Role.VIEWER: {Permission.READ},
    Role.ADMIN: set(Permission),
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_role_matrix(role: Role, permission: Permission) -> None:
    assert role_allows(role, permission) is (permission in EXPECTED[role])


def test_role_spellings_match_the_env_format() -> None:
    assert {r.value for r in Role} == {"ticket-system", "responder", "manager", "viewer", "admin"}
    assert Role("ticket-system") is Role.TICKET_SYSTEM


def test_only_admin_may_administer() -> None:
    assert [r for r in Role if role_allows(r, Permission.ADMIN)] == [Role.ADMIN]


# --- generation and hashing -----------------------------------------------------------------


def test_generated_token_shape_and_uniqueness() -> None:
    tokens = {generate_token()[0] for _ in range(200)}
    assert len(tokens) == 200
    token, key_id = generate_token()
    assert re.fullmatch(r"esc_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", token)
    assert token.startswith(f"esc_{key_id}_")


def test_new_key_round_trip() -> None:
    token, record = new_api_key("helpdesk", Role.TICKET_SYSTEM, PEPPER)
    assert record.name == "helpdesk" and record.role is Role.TICKET_SYSTEM
    assert key_id_for(token, PEPPER) == record.key_id
    assert verify_api_key(token, record, PEPPER)


def test_record_never_holds_the_token() -> None:
    token, record = new_api_key("helpdesk", Role.ADMIN, PEPPER)
    secret_part = token.rsplit("_", 1)[-1]
    dumped = record.model_dump_json()
    assert token not in dumped and secret_part not in dumped
    assert record.secret_hash.startswith("hmac-sha256$")


def test_generated_key_id_does_not_need_the_pepper() -> None:
    token, record = new_api_key("x", Role.VIEWER, PEPPER)
    assert key_id_for(token, OTHER_PEPPER) == record.key_id


def test_wrong_token_is_rejected() -> None:
    token, record = new_api_key("oncall", Role.RESPONDER, PEPPER)
    other, _ = new_api_key("oncall", Role.RESPONDER, PEPPER)
    assert not verify_api_key(other, record, PEPPER)
    assert not verify_api_key(token[:-1] + ("A" if token[-1] != "A" else "B"), record, PEPPER)
    assert not verify_api_key("", record, PEPPER)


def test_token_with_a_forged_key_id_is_rejected() -> None:
    _, record = new_api_key("a", Role.ADMIN, PEPPER)
    forged = f"esc_{record.key_id}_{'A' * 43}"
    assert key_id_for(forged, PEPPER) == record.key_id  # finds the row ...
    assert not verify_api_key(forged, record, PEPPER)  # ... but does not verify


def test_wrong_pepper_is_rejected() -> None:
    token, record = new_api_key("a", Role.ADMIN, PEPPER)
    assert not verify_api_key(token, record, OTHER_PEPPER)


def test_oversized_token_is_rejected_without_error() -> None:
    _, record = new_api_key("a", Role.ADMIN, PEPPER)
    assert not verify_api_key("x" * (MAX_TOKEN_LENGTH + 1), record, PEPPER)


def test_short_pepper_is_refused() -> None:
    with pytest.raises(ValueError, match="pepper"):
        new_api_key("a", Role.ADMIN, b"short")
    with pytest.raises(ValueError, match="pepper"):
        key_id_for("s3cret", b"")


def test_seeded_secret_gets_a_keyed_derived_id() -> None:
    record = record_for("helpdesk", Role.TICKET_SYSTEM, "s3cret", PEPPER)
    assert re.fullmatch(r"ext-[0-9a-f]{16}", record.key_id)
    assert key_id_for("s3cret", PEPPER) == record.key_id
    assert key_id_for("s3cret", OTHER_PEPPER) != record.key_id
    assert verify_api_key("s3cret", record, PEPPER)
    assert not verify_api_key("s3cret ", record, PEPPER)
    assert not verify_api_key("S3cret", record, PEPPER)


def test_equal_secrets_in_two_rows_hash_differently() -> None:
    assert hash_token("same", "id-one", PEPPER) != hash_token("same", "id-two", PEPPER)


def test_tampered_record_does_not_verify() -> None:
    token, record = new_api_key("a", Role.VIEWER, PEPPER)
    flipped = "0" if record.secret_hash[-1] != "0" else "1"
    tampered = record.model_copy(update={"secret_hash": record.secret_hash[:-1] + flipped})
    assert not verify_api_key(token, tampered, PEPPER)


@pytest.mark.parametrize("name", ["", "-leading", "has space", "x" * 65, "col:on"])
def test_invalid_names_are_refused(name: str) -> None:
    with pytest.raises(ApiKeyConfigError, match="name"):
        new_api_key(name, Role.ADMIN, PEPPER)


# --- ESCALATION_API_KEYS ---------------------------------------------------------------------


def test_parse_design_example() -> None:
    seeds = parse_api_keys("helpdesk:ticket-system:s3cret,oncall:responder:t0ken")
    assert [(s.name, s.role, s.secret.get_secret_value()) for s in seeds] == [
        ("helpdesk", Role.TICKET_SYSTEM, "s3cret"),
        ("oncall", Role.RESPONDER, "t0ken"),
    ]
    assert "s3cret" not in repr(seeds)


def test_parse_tolerates_whitespace_blank_entries_and_colons_in_secrets() -> None:
    seeds = parse_api_keys(" a : admin : p:a:ss , ,b:viewer:x,")
    assert [(s.name, s.role, s.secret.get_secret_value()) for s in seeds] == [
        ("a", Role.ADMIN, "p:a:ss"),
        ("b", Role.VIEWER, "x"),
    ]


@pytest.mark.parametrize("value", ["", "  ", ",", " , "])
def test_parse_empty(value: str) -> None:
    assert parse_api_keys(value) == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a:admin:x,oncall:resp:t0ken", r"entry 2 \(oncall:resp:\*\*\*\): unknown role 'resp'"),
        ("a:admin:x,b:viewer:", r"entry 2 \(b:viewer:\*\*\*\): the secret is empty"),
        ("a:admin:x,b:viewer:   ", r"entry 2 \(b:viewer:\*\*\*\): the secret is empty"),
        (":admin:x", r"entry 1 \(<empty name>:admin:\*\*\*\): invalid key name"),
        ("bad name:admin:x", r"entry 1 \(bad name:admin:\*\*\*\): invalid key name"),
        ("a:admin:x,a:viewer:y", r"entry 2 \(a:viewer:\*\*\*\): duplicate name 'a' \(also entry 1"),
        ("a:admin:x,b:viewer:x", r"entry 2 \(b:viewer:\*\*\*\): same secret as key 'a'"),
        ("a:admin:x,b:viewer:" + "y" * (MAX_TOKEN_LENGTH + 1), r"entry 2 .*longer than"),
    ],
)
def test_parse_errors_name_the_entry(value: str, message: str) -> None:
    with pytest.raises(ApiKeyConfigError, match=message):
        parse_api_keys(value)


@pytest.mark.parametrize("value", ["hunter2", "a:admin:x,hunter2", "helpdesk:hunter2"])
def test_parse_errors_never_echo_secrets(value: str) -> None:
    with pytest.raises(ApiKeyConfigError, match="expected name:role:secret") as info:
        parse_api_keys(value)
    assert "hunter2" not in str(info.value)


def test_unknown_role_lists_the_valid_ones() -> None:
    with pytest.raises(ApiKeyConfigError) as info:
        parse_api_keys("a:superuser:x")
    for role in Role:
        assert role.value in str(info.value)
    assert "ESCALATION_API_KEYS" in str(info.value)


def test_records_from_env_verify_with_the_seeded_secrets() -> None:
    records = records_from_env("helpdesk:ticket-system:s3cret,oncall:responder:t0ken", PEPPER)
    by_name = {r.name: r for r in records}
    assert by_name["helpdesk"].role is Role.TICKET_SYSTEM
    assert verify_api_key("s3cret", by_name["helpdesk"], PEPPER)
    assert verify_api_key("t0ken", by_name["oncall"], PEPPER)
    assert not verify_api_key("t0ken", by_name["helpdesk"], PEPPER)
    # The presented token alone finds the right row.
    assert key_id_for("t0ken", PEPPER) == by_name["oncall"].key_id
    assert "s3cret" not in "".join(r.model_dump_json() for r in records)


def test_seeding_is_deterministic_so_restarts_upsert_the_same_rows() -> None:
    env = "helpdesk:ticket-system:s3cret"
    assert records_from_env(env, PEPPER) == records_from_env(env, PEPPER)
