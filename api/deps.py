"""FastAPI dependencies: everything a route needs comes from app.state, set in the lifespan."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.temporal_gateway import TemporalGateway
from escalation.policy import Policy
from escalation.settings import Settings
from store.repository import Repository


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_gateway(request: Request) -> TemporalGateway:
    gateway: TemporalGateway = request.app.state.gateway
    return gateway


def get_repository(request: Request) -> Repository:
    repository: Repository = request.app.state.repository
    return repository


def get_policy(request: Request) -> Policy:
    policy: Policy = request.app.state.policy
    return policy


SettingsDep = Annotated[Settings, Depends(get_settings)]
GatewayDep = Annotated[TemporalGateway, Depends(get_gateway)]
RepositoryDep = Annotated[Repository, Depends(get_repository)]
PolicyDep = Annotated[Policy, Depends(get_policy)]
