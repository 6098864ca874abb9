"""deploy/: the compose file, Dockerfile and systemd units name real commands and settings.

The static checks run everywhere; building and starting the compose stack runs only where a
container engine answers (skipped with a message otherwise).
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tenure.cli.main import app
from tenure.config import Settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("tenure-*.service"))
TENURE_SERVICES = {"init", "app", "worker", "scheduler", "consumer"}
OTHER_VARIABLES = {"MLFLOW_DISABLE_TELEMETRY", "PYTHONUNBUFFERED", "PATH"}


def compose() -> dict:
    """Return the parsed compose file."""
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def assert_command_exists(args: list[str]) -> None:
    """Check that `tenure ARGS` parses: the command and every option exist."""
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, f"tenure {' '.join(args)}: {result.output}"


def assert_setting(name: str) -> None:
    """Check that a TENURE_* variable is a setting (pydantic-settings ignores unknown ones)."""
    if name in OTHER_VARIABLES:
        return
    assert name.startswith("TENURE_"), name
    assert name.removeprefix("TENURE_").lower() in Settings.model_fields, f"no setting {name}"


def test_compose_runs_every_role_on_real_commands_and_settings() -> None:
    """App, worker, scheduler, consumer and the services they need; commands and env exist."""
    services = compose()["services"]
    assert set(services) == TENURE_SERVICES | {"postgres", "redis", "nats"}
    for name in TENURE_SERVICES:
        service = services[name]
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert_command_exists(service["command"])
        for variable in service["environment"]:
            assert_setting(variable)
        assert service["environment"]["TENURE_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert services["app"]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert "-js" in services["nats"]["command"]  # JetStream: the consumer needs it


def test_dockerfile_is_multi_stage_non_root_and_runs_tenure() -> None:
    """Two stages, the runtime user is not root, the entry point is the tenure command."""
    text = (DEPLOY / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+ AS (\w+)", text, flags=re.MULTILINE)
    assert stages == ["build", "runtime"]
    runtime = text.split("AS runtime", 1)[1]
    users = re.findall(r"^USER (\S+)", runtime, flags=re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["tenure"]' in runtime
    default = re.search(r"^CMD (\[.*\])", runtime, flags=re.MULTILINE).group(1)
    assert_command_exists(yaml.safe_load(default))
    for variable in re.findall(r"\b(TENURE_\w+)=", runtime):
        assert_setting(variable)


def _unit_command(path: Path) -> list[str]:
    parser = configparser.ConfigParser(strict=True, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(path)
    assert parser["Service"]["User"] == "tenure"
    assert parser["Install"]["WantedBy"] == "tenure.target"
    executable, *args = parser["Service"]["ExecStart"].split()
    assert executable == "/opt/tenure/bin/tenure"
    return args


def test_systemd_units_parse_and_run_real_commands(tmp_path: Path) -> None:
    """Every unit parses (systemd-analyze verify where present) and runs an existing command."""
    assert {p.name for p in UNITS} == {
        f"tenure-{role}.service" for role in ("web", "worker", "scheduler", "consume")
    }
    for unit in UNITS:
        assert_command_exists(_unit_command(unit))
    for line in (DEPLOY / "systemd" / "tenure.env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            assert_setting(line.split("=", 1)[0])
    if shutil.which("systemd-analyze") is None:
        return  # configparser above is the parser then
    tenure = Path(sys.executable).parent / "tenure"  # verify wants an executable that exists
    for unit in [*UNITS, DEPLOY / "systemd" / "tenure.target"]:
        text = unit.read_text().replace("/opt/tenure/bin/tenure", str(tenure))
        (tmp_path / unit.name).write_text(text)
    checked = subprocess.run(
        ["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        check=False,
    )
    problems = checked.returncode != 0 or re.search(r"Unknown (key|section)", checked.stderr)
    assert not problems, checked.stderr


def _engine() -> str | None:
    """Return the container engine that answers (docker or podman), or None."""
    for engine in ("docker", "podman"):
        if shutil.which(engine) is None:
            continue
        info = subprocess.run([engine, "info"], capture_output=True, check=False, timeout=30)
        if info.returncode == 0:
            return engine
    return None


@pytest.mark.slow
def test_compose_stack_builds_and_answers() -> None:
    """Build the image, start the stack, see /healthz answer (where an engine runs)."""
    engine = _engine()
    if engine is None:
        pytest.skip("no container engine answers here (docker/podman info failed)")
    file = ["-f", str(DEPLOY / "compose.yaml")]
    env = {"TENURE_SECRET_KEY": "compose-test-key-" + "c" * 32, "PATH": "/usr/bin:/bin"}
    run = {"env": env, "check": True, "timeout": 1800}
    subprocess.run([engine, "compose", *file, "up", "-d", "--build", "--wait", "app"], **run)
    try:
        probe = (
            "import urllib.request as u; print(u.urlopen('http://127.0.0.1:8000/healthz').read())"
        )
        out = subprocess.run(
            [engine, "compose", *file, "exec", "-T", "app", "python", "-c", probe],
            capture_output=True, text=True, **run,
        )  # fmt: skip
        assert "ok" in out.stdout
    finally:
        subprocess.run([engine, "compose", *file, "down", "-v"], env=env, check=False)
