"""/codec/encode and /codec/decode: Temporal's remote codec protocol, for the Temporal UI and CLI.

Payloads in the body use Temporal's protobuf JSON (``{"payloads": [{"metadata": {"encoding":
"<base64>"}, "data": "<base64>"}]}``), answered in the same shape. Decoding reveals ticket text,
so both endpoints need an API key that may read (viewer or better) and every call is logged with
the key's name. CORS answers only the Temporal UI's origin (``TEMPORAL_UI_URL``; for a loopback
UI both ``localhost`` and ``127.0.0.1``), for these two paths only.

Wire the CLI with ``temporal workflow show --codec-endpoint http://127.0.0.1:8000/codec
--codec-auth "Bearer <key>"``. A Temporal UI behind a login passes its user's token only, which
is not an API key; the dev server's UI has no login at all, so ``escalation dev`` sets
``ESCALATION_CODEC_TRUST_LOCAL_UI``: then a request without credentials is accepted when it comes
from loopback with the UI's ``Origin`` (exactly as open as the dev UI itself, which anyone on the
machine can already open).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

import structlog
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials
from google.protobuf import json_format
from pydantic import BaseModel, ConfigDict, Field
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payload, Payloads

from api.auth import Principal, authenticate, bearer_scheme, is_loopback
from escalation.apikeys import Permission, Role
from escalation.settings import Settings
from worker.client import payload_codec
from worker.codec import CodecError, EncryptionCodec

log = structlog.get_logger("escalation.api.codec")

router = APIRouter(prefix="/codec", tags=["codec"])

MAX_PAYLOADS = 10_000
LOCAL_UI_PRINCIPAL = Principal(key_id="-", name="temporal-ui (dev)", role=Role.VIEWER)


# Protobuf JSON writes bytes as base64 and reads the standard and the URL-safe alphabet.
Base64 = Annotated[str, Field(pattern=r"^[A-Za-z0-9+/_-]*={0,2}$")]


class CodecPayload(BaseModel):
    """One ``temporal.api.common.v1.Payload`` in protobuf JSON (bytes as base64)."""

    model_config = ConfigDict(extra="allow")

    metadata: dict[str, Base64] = Field(default_factory=dict)
    data: Base64 = ""


class CodecPayloads(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payloads: list[CodecPayload] = Field(default_factory=list, max_length=MAX_PAYLOADS)


def ui_origins(settings: Settings) -> list[str]:
    """The browser origins of the Temporal UI (CORS allow-list of /codec)."""
    parts = urlsplit(settings.temporal_ui_url)
    if not parts.scheme or not parts.hostname:
        return []
    port = f":{parts.port}" if parts.port else ""
    hosts = [parts.hostname]
    if parts.hostname in ("localhost", "127.0.0.1"):
        hosts = ["localhost", "127.0.0.1"]
    return [f"{parts.scheme}://{host}{port}" for host in hosts]


async def codec_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """A key that may read; or, in dev only, the local Temporal UI (see the module docstring)."""
    settings: Settings = request.app.state.settings
    if (
        credentials is None
        and settings.escalation_codec_trust_local_ui
        and request.headers.get("origin") in ui_origins(settings)
        and is_loopback(request.client.host if request.client else None)
    ):
        return LOCAL_UI_PRINCIPAL
    principal = await authenticate(request, credentials)
    if not principal.allows(Permission.READ):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"API key {principal.name!r} has role {principal.role.value!r}, which may not read",
        )
    return principal


codec_principal.required_permission = Permission.READ  # type: ignore[attr-defined]

CodecPrincipal = Annotated[Principal, Depends(codec_principal)]
Namespace = Annotated[str | None, Header(alias="x-namespace", max_length=256)]


def _codec(request: Request, namespace: str | None) -> EncryptionCodec:
    codec: EncryptionCodec | None = request.app.state.codec
    if codec is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "payload encryption is not configured on this server (ESCALATION_CODEC_KEYS)",
        )
    settings: Settings = request.app.state.settings
    if namespace is not None and namespace != settings.temporal_namespace:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {
                    "loc": ["header", "x-namespace"],
                    "msg": f"this codec serves namespace {settings.temporal_namespace!r}",
                    "type": "value_error",
                }
            ],
        )
    return codec


def _parse(body: CodecPayloads) -> list[Payload]:
    try:
        message = json_format.ParseDict(
            {"payloads": [p.model_dump() for p in body.payloads]}, Payloads()
        )
    except json_format.ParseError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"loc": ["body", "payloads"], "msg": str(exc)[:300], "type": "value_error"}],
        ) from None
    return list(message.payloads)


def _answer(payloads: list[Payload]) -> CodecPayloads:
    return CodecPayloads.model_validate(
        {"payloads": [json_format.MessageToDict(p) for p in payloads]}
    )


@router.post("/encode", response_model=CodecPayloads, response_model_exclude_unset=True)
async def encode(
    body: CodecPayloads, request: Request, principal: CodecPrincipal, namespace: Namespace = None
) -> CodecPayloads:
    """Encrypt payloads with the active key (Temporal remote codec protocol)."""
    codec = _codec(request, namespace)
    encoded = await codec.encode(_parse(body))
    log.info("codec_encode", key=principal.name, payloads=len(encoded))
    return _answer(encoded)


@router.post("/decode", response_model=CodecPayloads, response_model_exclude_unset=True)
async def decode(
    body: CodecPayloads, request: Request, principal: CodecPrincipal, namespace: Namespace = None
) -> CodecPayloads:
    """Decrypt payloads (any key still in the keyring); unencrypted payloads pass unchanged."""
    codec = _codec(request, namespace)
    try:
        decoded = await codec.decode(_parse(body))
    except CodecError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"loc": ["body", "payloads"], "msg": str(exc), "type": "value_error"}],
        ) from None
    log.info("codec_decode", key=principal.name, payloads=len(decoded))
    return _answer(decoded)


class CodecCORSMiddleware:
    """CORS for the Temporal UI origin on /codec/ only; every other path gets no CORS headers."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self._app = app
        self._cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["POST"],
            allow_headers=["content-type", "x-namespace", "authorization"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(f"{router.prefix}/"):
            await self._cors(scope, receive, send)
        else:
            await self._app(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    """Mount /codec with its CORS policy; the codec itself comes from ``ESCALATION_CODEC_KEYS``
    (an invalid keyring fails here, at start)."""
    app.state.codec = payload_codec(settings)
    app.include_router(router)
    app.add_middleware(CodecCORSMiddleware, origins=ui_origins(settings))
