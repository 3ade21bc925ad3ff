"""Payload encryption for everything the service stores in Temporal (AES-256-GCM).

Temporal keeps workflow inputs, results, signals and activity payloads in its history. Ticket
text and customer data must not sit there in clear, so every payload passes through
:class:`EncryptionCodec` on the way to the server and back. (Search attributes bypass codecs:
they must never carry personal data.)

Wire format, the same as Temporal's samples-python ``encryption`` sample so its tooling can read
ours: the encrypted payload has metadata ``encoding: binary/encrypted`` and
``encryption-key-id: <key id>``, and its data is a 12-byte random nonce followed by the
AES-GCM ciphertext and tag of the *serialised original payload* (metadata included).

Keys rotate without breaking running workflows: the keyring holds several keys by id, one of them
active. Encoding always uses the active key; decoding picks the key named in the payload, so
histories written under an older key stay readable as long as that key stays in the keyring.
Rotate by putting the new key first and keeping the old ones until no open workflow (and no
retained history you want to read) uses them. Payloads not marked ``binary/encrypted`` decode
unchanged, so history written before encryption was enabled still replays.

``ESCALATION_CODEC_KEYS`` format
    Comma-separated ``<key id>:<base64 of 32 random bytes>`` entries; the **first** entry is the
    active key, e.g. ``ESCALATION_CODEC_KEYS="k2:<base64>,k1:<base64>"``. Key ids are 1-64
    characters from ``A-Z a-z 0-9 . _ -``, unique. Standard or URL-safe base64, padding
    optional. Make a key with ``python -c "from worker.codec import generate_key;
    print(generate_key())"``. Errors name the entry and never echo key material.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

__all__ = [
    "CODEC_KEYS_ENV",
    "ENCODING",
    "KEY_ID_METADATA",
    "CodecError",
    "CodecKeyError",
    "EncryptionCodec",
    "Keyring",
    "data_converter",
    "generate_key",
    "keyring_from_env",
]

CODEC_KEYS_ENV = "ESCALATION_CODEC_KEYS"
ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
KEY_BYTES = 32
NONCE_BYTES = 12
_TAG_BYTES = 16
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class CodecError(ValueError):
    """A payload could not be decrypted (tampered, truncated or malformed)."""


class CodecKeyError(CodecError):
    """A payload names a key id the keyring does not hold, or the keyring is invalid."""


def generate_key() -> str:
    """A new random AES-256 key, base64-encoded for ``ESCALATION_CODEC_KEYS``."""
    return base64.b64encode(AESGCM.generate_key(bit_length=KEY_BYTES * 8)).decode("ascii")


@dataclasses.dataclass(frozen=True)
class Keyring:
    """AES-256 keys by id; ``active_key_id`` is the one new payloads are encrypted with."""

    keys: Mapping[str, bytes]
    active_key_id: str

    def __post_init__(self) -> None:
        if not self.keys:
            raise CodecKeyError("the keyring holds no keys")
        for key_id, key in self.keys.items():
            if not _KEY_ID.fullmatch(key_id):
                raise CodecKeyError(
                    f"invalid key id {key_id!r}: use 1-64 characters from A-Z a-z 0-9 . _ -"
                )
            if len(key) != KEY_BYTES:
                raise CodecKeyError(
                    f"key {key_id!r} is {len(key)} bytes; AES-256 needs {KEY_BYTES}"
                )
        if self.active_key_id not in self.keys:
            raise CodecKeyError(f"active key id {self.active_key_id!r} is not in the keyring")
        object.__setattr__(self, "keys", MappingProxyType(dict(self.keys)))

    def __repr__(self) -> str:  # never print key material
        return f"Keyring(active_key_id={self.active_key_id!r}, key_ids={list(self.keys)!r})"


def _decode_key(text: str) -> bytes:
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    return base64.b64decode(cleaned, validate=True)


def keyring_from_env(value: str, env_name: str = CODEC_KEYS_ENV) -> Keyring:
    """Build a keyring from ``id:base64key,id:base64key`` (first entry active; see module doc)."""
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for position, raw in enumerate(value.split(","), start=1):
        entry = raw.strip()
        if not entry:
            continue
        key_id, sep, material = entry.partition(":")
        key_id = key_id.strip()
        if not sep:
            raise CodecKeyError(f"{env_name} entry {position}: expected <key id>:<base64 key>")
        where = f"{env_name} entry {position} (key id {key_id!r})"
        if not _KEY_ID.fullmatch(key_id):
            raise CodecKeyError(
                f"{where}: invalid key id; use 1-64 characters from A-Z a-z 0-9 . _ -"
            )
        if key_id in keys:
            raise CodecKeyError(f"{where}: duplicate key id")
        try:
            key = _decode_key(material)
        except (binascii.Error, ValueError):
            raise CodecKeyError(f"{where}: the key is not valid base64") from None
        if len(key) != KEY_BYTES:
            raise CodecKeyError(
                f"{where}: the key decodes to {len(key)} bytes; AES-256 needs {KEY_BYTES}"
            )
        keys[key_id] = key
        order.append(key_id)
    if not order:
        raise CodecKeyError(f"{env_name} holds no keys")
    return Keyring(keys=keys, active_key_id=order[0])


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM payload codec with a rotating keyring (see the module docstring)."""

    def __init__(self, keyring: Keyring) -> None:
        super().__init__()
        self._keyring = keyring
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keyring.keys.items()}

    @property
    def keyring(self) -> Keyring:
        return self._keyring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        key_id = self._keyring.active_key_id
        cipher = self._ciphers[key_id]
        encoded: list[Payload] = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            ciphertext = cipher.encrypt(nonce, payload.SerializeToString(), None)
            encoded.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id.encode("ascii")},
                    data=nonce + ciphertext,
                )
            )
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decode_one(payload) for payload in payloads]

    def _decode_one(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        raw_id = payload.metadata.get(KEY_ID_METADATA)
        if not raw_id:
            raise CodecError(f"encrypted payload has no {KEY_ID_METADATA!r} metadata")
        key_id = raw_id.decode("utf-8", errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            known = ", ".join(self._ciphers)
            raise CodecKeyError(
                f"payload was encrypted with key id {key_id!r}, which is not in the keyring "
                f"(known: {known}); add that key to {CODEC_KEYS_ENV} to read it"
            )
        data = payload.data
        if len(data) < NONCE_BYTES + _TAG_BYTES:
            raise CodecError(f"encrypted payload (key id {key_id!r}) is truncated")
        try:
            plaintext = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], None)
        except InvalidTag:
            raise CodecError(
                f"encrypted payload (key id {key_id!r}) failed authentication: "
                "it was altered, or the key under that id is not the one it was written with"
            ) from None
        return Payload.FromString(plaintext)


def data_converter(codec: EncryptionCodec | None) -> DataConverter:
    """The project's data converter: pydantic payloads, encrypted when ``codec`` is given.

    With a codec, failures are converted with
    :class:`~temporalio.converter.DefaultFailureConverterWithEncodedAttributes`: by default
    Temporal stores an exception's message and stack trace in clear next to the encrypted
    payloads, and those can quote ticket text. The UI shows "Encoded failure" for them unless it
    is wired to the codec server; clients and workers using this converter see the real message.
    """
    if codec is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
