"""docker-compose.yml, checked without a Docker engine: valid against the Compose
Specification's JSON schema (vendored in tests/fixtures/compose-spec/, see its README), every
service built from our image runs a command that exists in our CLI, and no secret is written
in the file."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer.main
import yaml

from escalation.cli import app

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SCHEMA = ROOT / "tests" / "fixtures" / "compose-spec" / "compose_spec.json"


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def _schema() -> dict[str, Any]:
    schema = json.loads(SCHEMA.read_text())
    # The one property the Compose Specification added after this 2021 snapshot, as the
    # current specification defines it (top-level project name).
    schema = copy.deepcopy(schema)
    schema["properties"]["name"] = {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$"}
    return schema


def _our_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if "build" in service or str(service.get("image", "")).startswith("escalation-routing")
    }


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    validator = jsonschema.Draft201909Validator(_schema())
    errors = sorted(validator.iter_errors(_compose()), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors
    )


def test_the_validation_catches_a_broken_file() -> None:
    broken = _compose()
    broken["services"]["worker"]["restart"] = ["always"]  # must be a string
    broken["services"]["api"]["helthcheck"] = {}  # misspelt key
    errors = list(jsonschema.Draft201909Validator(_schema()).iter_errors(broken))
    assert len(errors) >= 2


def test_every_service_of_ours_runs_a_command_of_our_cli() -> None:
    group: Any = typer.main.get_command(app)  # a click-style group of subcommands
    services = _our_services(_compose())
    assert {"api", "worker", "migrate"} <= set(services)
    for name, service in services.items():
        command = service.get("command")
        assert isinstance(command, list), f"{name}: command must be an exec-form list"
        program, subcommand, *args = command
        assert program == "escalation", f"{name}: runs {program!r}, not our CLI"
        assert subcommand in group.commands, f"{name}: `escalation {subcommand}` does not exist"
        # Parse (without running) the arguments as the CLI would: unknown options fail here.
        cli_command = group.commands[subcommand]
        with cli_command.make_context(subcommand, list(args), parent=None) as ctx:
            assert ctx.command is cli_command


def test_api_and_worker_are_built_from_one_image_and_workers_can_scale() -> None:
    services = _our_services(_compose())
    images = {service["image"] for service in services.values()}
    assert len(images) == 1
    worker = services["worker"]
    assert "container_name" not in worker and "ports" not in worker  # --scale worker=N
    assert worker["environment"]["ESCALATION_WORKER_METRICS_ADDRESS"].endswith(":9464")
    # One worker service runs the workflows, the other the activities: together, all of it.
    roles = {
        name: services[name]["environment"]["ESCALATION_WORKER_ROLE"]
        for name in ("worker", "activity-worker")
    }
    assert roles == {"worker": "workflows", "activity-worker": "activities"}
    assert services["activity-worker"]["command"] == worker["command"]
    assert "container_name" not in services["activity-worker"]
    for name in ("api", "worker", "activity-worker"):
        assert services[name]["healthcheck"]["test"]
        assert services[name]["depends_on"]["temporal-setup"]["condition"] == (
            "service_completed_successfully"
        )


@pytest.mark.parametrize("path", [COMPOSE, ROOT / "Dockerfile"])
def test_no_secret_is_written_in_the_deployment_files(path: Path) -> None:
    secret_names = re.compile(r"(PASSWORD|PASSWD|PWD|TOKEN|SECRET|_KEY|_KEYS|PEPPER|_SID)\b")
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = re.match(r"\s*([A-Z_]+):\s*(.+)$", line)
        if not match or not secret_names.search(match.group(1)):
            continue
        value = match.group(2).strip()
        assert value.startswith("${"), f"{path.name}:{number}: {match.group(1)} has a literal value"
    text = COMPOSE.read_text()
    assert "${POSTGRES_PASSWORD:?" in text  # required from the environment, no default
