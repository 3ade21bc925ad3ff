"""The AES-256-GCM payload codec, its keyring and the project's data converter."""

from __future__ import annotations

import base64
import dataclasses
import os

import pytest
from pydantic import BaseModel
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError

from worker.codec import (
    ENCODING,
    KEY_ID_METADATA,
    CodecError,
    CodecKeyError,
    EncryptionCodec,
    Keyring,
    data_converter,
    generate_key,
    keyring_from_env,
)

SENTENCE = "Our CFO Jane Roe cannot log in and the board meeting starts in ten minutes"
K1 = os.urandom(32)
K2 = os.urandom(32)


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


class TicketSnapshot(BaseModel):
    ticket_id: str
    description: str
    priority: str


def plain(data: bytes = b'"hello"') -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


def codec_with(active: str, **keys: bytes) -> EncryptionCodec:
    return EncryptionCodec(Keyring(keys=keys, active_key_id=active))


# --- codec ----------------------------------------------------------------------------------


async def test_round_trip_preserves_the_original_payload() -> None:
    codec = codec_with("k1", k1=K1)
    originals = [plain(SENTENCE.encode()), Payload(metadata={"encoding": b"binary/null"})]
    encoded = await codec.encode(originals)
    assert len(encoded) == 2
    for payload in encoded:
        assert payload.metadata["encoding"] == ENCODING
        assert payload.metadata[KEY_ID_METADATA] == b"k1"
    assert await codec.decode(encoded) == originals


async def test_plaintext_is_not_in_the_encoded_bytes() -> None:
    codec = codec_with("k1", k1=K1)
    [encoded] = await codec.encode([plain(SENTENCE.encode())])
    wire = encoded.SerializeToString()
    assert SENTENCE.encode() not in wire
    assert b"Jane Roe" not in wire
    assert b"json/plain" not in wire  # the original metadata is encrypted too


async def test_same_payload_encrypts_differently_each_time() -> None:
    codec = codec_with("k1", k1=K1)
    first, second = await codec.encode([plain(), plain()])
    assert first.data != second.data  # fresh nonce per payload


async def test_rotation_old_payloads_decode_after_a_new_key_becomes_active() -> None:
    old = codec_with("k1", k1=K1)
    [written_before] = await old.encode([plain(SENTENCE.encode())])

    rotated = codec_with("k2", k2=K2, k1=K1)
    [written_after] = await rotated.encode([plain(b'"after"')])
    assert written_after.metadata[KEY_ID_METADATA] == b"k2"

    assert await rotated.decode([written_before, written_after]) == [
        plain(SENTENCE.encode()),
        plain(b'"after"'),
    ]


async def test_unknown_key_id_is_a_clear_error() -> None:
    [encoded] = await codec_with("k1", k1=K1).encode([plain()])
    retired = codec_with("k2", k2=K2)
    with pytest.raises(CodecKeyError, match=r"key id 'k1'.*not in the keyring.*known: k2"):
        await retired.decode([encoded])


async def test_same_id_with_a_different_key_fails_authentication() -> None:
    [encoded] = await codec_with("k1", k1=K1).encode([plain()])
    with pytest.raises(CodecError, match="failed authentication"):
        await codec_with("k1", k1=K2).decode([encoded])


@pytest.mark.parametrize("position", [0, 12, -1])
async def test_tampered_ciphertext_is_rejected(position: int) -> None:
    codec = codec_with("k1", k1=K1)
    [encoded] = await codec.encode([plain(SENTENCE.encode())])
    data = bytearray(encoded.data)
    data[position] ^= 0x01
    tampered = Payload(metadata=dict(encoded.metadata), data=bytes(data))
    with pytest.raises(CodecError, match=r"key id 'k1'.*failed authentication"):
        await codec.decode([tampered])


async def test_truncated_ciphertext_is_rejected() -> None:
    codec = codec_with("k1", k1=K1)
    [encoded] = await codec.encode([plain()])
    truncated = Payload(metadata=dict(encoded.metadata), data=encoded.data[:20])
    with pytest.raises(CodecError, match="truncated"):
        await codec.decode([truncated])


async def test_encrypted_payload_without_key_id_is_rejected() -> None:
    codec = codec_with("k1", k1=K1)
    [encoded] = await codec.encode([plain()])
    stripped = Payload(metadata={"encoding": ENCODING}, data=encoded.data)
    with pytest.raises(CodecError, match=KEY_ID_METADATA):
        await codec.decode([stripped])


async def test_unencrypted_payloads_pass_through_unchanged() -> None:
    codec = codec_with("k1", k1=K1)
    legacy = [plain(SENTENCE.encode()), Payload(metadata={"encoding": b"binary/null"}), Payload()]
    decoded = await codec.decode(legacy)
    assert decoded == legacy
    assert SENTENCE.encode() in decoded[0].data


async def test_mixed_batch_decodes_each_payload_by_its_marking() -> None:
    codec = codec_with("k1", k1=K1)
    [encrypted] = await codec.encode([plain(b'"secret"')])
    assert await codec.decode([plain(b'"legacy"'), encrypted]) == [
        plain(b'"legacy"'),
        plain(b'"secret"'),
    ]


# --- data converter -------------------------------------------------------------------------


async def test_data_converter_round_trips_pydantic_models_encrypted() -> None:
    codec = codec_with("k1", k1=K1)
    converter = data_converter(codec)
    assert converter.payload_codec is codec
    assert converter.payload_converter_class is pydantic_data_converter.payload_converter_class
    snapshot = TicketSnapshot(ticket_id="T-1", description=SENTENCE, priority="P1")

    [encoded] = await converter.encode([snapshot])
    assert encoded.metadata["encoding"] == ENCODING
    assert SENTENCE.encode() not in encoded.SerializeToString()

    [decoded] = await converter.decode([encoded], [TicketSnapshot])
    assert decoded == snapshot


async def test_data_converter_encrypts_failure_messages_too() -> None:
    converter = data_converter(codec_with("k1", k1=K1))
    failure = Failure()
    await converter.encode_failure(ApplicationError(f"cannot update ticket: {SENTENCE}"), failure)
    assert SENTENCE.encode() not in failure.SerializeToString()
    decoded = await converter.decode_failure(failure)
    assert SENTENCE in str(decoded)


async def test_data_converter_without_codec_is_the_pydantic_converter() -> None:
    converter = data_converter(None)
    assert converter is pydantic_data_converter
    assert converter.payload_codec is None


def test_data_converter_does_not_mutate_the_shared_pydantic_converter() -> None:
    data_converter(codec_with("k1", k1=K1))
    assert pydantic_data_converter.payload_codec is None
    assert dataclasses.is_dataclass(pydantic_data_converter)


# --- keyring --------------------------------------------------------------------------------


def test_keyring_from_env_first_entry_is_active() -> None:
    keyring = keyring_from_env(f"k2:{b64(K2)}, k1:{b64(K1)}")
    assert keyring.active_key_id == "k2"
    assert dict(keyring.keys) == {"k2": K2, "k1": K1}


def test_keyring_from_env_accepts_urlsafe_and_unpadded_base64() -> None:
    urlsafe = base64.urlsafe_b64encode(K1).decode().rstrip("=")
    assert keyring_from_env(f"k1:{urlsafe}").keys["k1"] == K1


def test_generate_key_makes_a_usable_entry() -> None:
    key = generate_key()
    assert len(base64.b64decode(key)) == 32
    assert keyring_from_env(f"fresh:{key},").active_key_id == "fresh"


def test_keyring_repr_hides_key_material() -> None:
    keyring = keyring_from_env(f"k1:{b64(K1)}")
    assert b64(K1) not in repr(keyring) and repr(K1) not in repr(keyring)
    assert "k1" in repr(keyring)


def test_keyring_is_immutable() -> None:
    keyring = Keyring(keys={"k1": K1}, active_key_id="k1")
    with pytest.raises(TypeError):
        keyring.keys["k2"] = K2  # type: ignore[index]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "holds no keys"),
        (" , ", "holds no keys"),
        (b64(K1), r"entry 1: expected <key id>:<base64 key>"),
        (f"k1:{b64(K1)},k1:{b64(K2)}", r"entry 2 \(key id 'k1'\): duplicate key id"),
        (f"k1:{b64(K1)},k2:not base64!", r"entry 2 \(key id 'k2'\): the key is not valid base64"),
        (f"k1:{b64(os.urandom(16))}", r"entry 1 \(key id 'k1'\): .*16 bytes; AES-256 needs 32"),
        (f"k1:{b64(K1)},:{b64(K2)}", r"entry 2 \(key id ''\): invalid key id"),
        (f"bad id:{b64(K1)}", r"entry 1 \(key id 'bad id'\): invalid key id"),
    ],
)
def test_keyring_from_env_errors_name_the_entry(value: str, message: str) -> None:
    with pytest.raises(CodecKeyError, match=message) as info:
        keyring_from_env(value)
    assert "ESCALATION_CODEC_KEYS" in str(info.value) or "no keys" in str(info.value)
    assert b64(K1) not in str(info.value) and b64(K2) not in str(info.value)


def test_keyring_rejects_missing_active_key_and_bad_lengths() -> None:
    with pytest.raises(CodecKeyError, match="active key id 'k9'"):
        Keyring(keys={"k1": K1}, active_key_id="k9")
    with pytest.raises(CodecKeyError, match="needs 32"):
        Keyring(keys={"k1": b"x" * 16}, active_key_id="k1")
    with pytest.raises(CodecKeyError, match="no keys"):
        Keyring(keys={}, active_key_id="k1")
