"""Connecting to Temporal with our data converter (pydantic models, and the payload codec
when encryption keys are configured)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.converter import DataConverter

from escalation.settings import Settings
from worker import codec


def payload_codec(settings: Settings) -> codec.EncryptionCodec | None:
    """The AES-GCM codec for ``ESCALATION_CODEC_KEYS``, or None when no keys are configured.

    Raises :class:`worker.codec.CodecKeyError` (naming the bad entry) for an invalid keyring.
    """
    if settings.escalation_codec_keys is None:
        return None
    value = settings.escalation_codec_keys.get_secret_value()
    if not value.strip():
        return None
    return codec.EncryptionCodec(codec.keyring_from_env(value))


def data_converter(settings: Settings) -> DataConverter:
    """Pydantic payloads, encrypted when ``ESCALATION_CODEC_KEYS`` is set."""
    return codec.data_converter(payload_codec(settings))


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
    )
