"""Connecting to Temporal with our data converter (pydantic models, and the payload codec
when encryption keys are configured)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from escalation.settings import Settings


def data_converter(settings: Settings) -> DataConverter:
    del settings  # the codec issue adds encryption here
    return pydantic_data_converter


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
    )
