"""docker-compose.yml is checked against the real program: every service that runs `tbot` runs a
real subcommand, and every variable it sets is a real setting whose value the settings accept;
Prometheus scrapes every tbot process where it serves its metrics, and the Grafana dashboard
queries only metrics tbot defines, from the provisioned datasource, and shows each of them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry
from typer.testing import CliRunner

from infrastructure.metrics import Metrics, projection_lag_families
from infrastructure.settings import Settings
from interfaces.cli import app

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
SERVICES: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
TBOT_SERVICES = {name: s for name, s in SERVICES.items() if s.get("command", [None])[0] == "tbot"}


def _help(args: list[str]) -> str:
    """What `tbot <args> --help` prints; a command that does not exist fails with exit code 2."""
    result = CliRunner().invoke(app, [*args, "--help"], prog_name="tbot", terminal_width=200)
    assert result.exit_code == 0, f"`tbot {' '.join(args)}`: {result.output}"
    return result.output


def test_a_command_that_is_not_there_is_refused() -> None:
    assert CliRunner().invoke(app, ["execution", "walk", "--help"]).exit_code == 2


def test_the_whole_system_is_there() -> None:
    commands = {tuple(s["command"][1:]) for s in TBOT_SERVICES.values()}
    assert {
        ("db", "init"),
        ("serve",),
        ("projections", "run"),
        ("execution", "run"),
        ("marketdata", "run"),
        ("strategies", "run"),
        ("protection", "run"),
        ("backtest", "worker"),
        ("notifications", "run"),
        ("telegram", "run"),
    } <= commands
    assert SERVICES["db"]["image"].startswith("timescale/timescaledb")
    assert "redis" in SERVICES


@pytest.mark.parametrize("service", sorted(TBOT_SERVICES))
def test_each_service_runs_a_real_subcommand(service: str) -> None:
    args = TBOT_SERVICES[service]["command"][1:]
    [usage] = [line.strip() for line in _help(args).splitlines() if "Usage:" in line]
    assert usage.startswith(f"Usage: tbot {' '.join(args)} ") and "COMMAND" not in usage, usage


@pytest.mark.parametrize("service", sorted(TBOT_SERVICES))
def test_each_variable_is_a_real_setting_with_a_valid_value(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment: dict[str, str] = TBOT_SERVICES[service].get("environment", {})
    unknown = set(map(str.upper, environment)) - set(Settings.variables())
    assert not unknown, f"{service} sets variables that are no setting: {sorted(unknown)}"
    for name, value in environment.items():
        # compose fills in ${VAR:-default} with its default when VAR is unset, and ${VAR:?message}
        # with what must be set: a stand-in of a valid shape
        filled = re.sub(r"\$\{[^}:]*:-([^}]*)\}", r"\1", str(value))
        monkeypatch.setenv(name, re.sub(r"\$\{[^}]*\}", "x" * 32, filled))
    Settings()


MONITORING = COMPOSE.parent / "infrastructure" / "monitoring"
PROMETHEUS: dict[str, Any] = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
DATASOURCES: dict[str, Any] = yaml.safe_load(
    (MONITORING / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
)
DASHBOARDS: dict[str, Any] = yaml.safe_load(
    (MONITORING / "grafana" / "provisioning" / "dashboards" / "tbot.yml").read_text()
)
DASHBOARD: dict[str, Any] = json.loads((MONITORING / "grafana" / "dashboards" / "tbot.json").read_text())
LONG_RUNNING = {name: s for name, s in TBOT_SERVICES.items() if s["command"][1:] != ["db", "init"]}
SAMPLE_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "and", "or", "unless", "offset"}


def _targets() -> dict[str, str]:
    """Each scrape target of the tbot job, by its service label."""
    [job] = [job for job in PROMETHEUS["scrape_configs"] if job["job_name"] == "tbot"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    found = {}
    for config in job["static_configs"]:
        [target] = config["targets"]
        found[config["labels"]["service"]] = target
    return found


def _defined_metrics() -> dict[str, set[str]]:
    """Every metric tbot defines (infrastructure/metrics.py), with the sample names it exposes."""
    registry = CollectorRegistry()
    Metrics(registry)
    families = [*registry.collect(), *projection_lag_families([])]
    return {f.name: {f.name + suffix for suffix in SAMPLE_SUFFIXES[f.type]} for f in families}


def _queried_metrics() -> set[str]:
    """The metric names in the dashboard's queries: the names left once label lists (``by (...)``,
    ``{...}``), ranges and functions are taken out, less PromQL's own words."""
    exprs = [t["expr"] for panel in DASHBOARD["panels"] for t in panel.get("targets", [])]
    assert exprs
    names = set()
    for expr in exprs:
        bare = re.sub(r"\b(by|without)\s*\([^)]*\)|\{[^}]*\}|\[[^\]]*\]", " ", expr)
        bare = re.sub(r"\b[a-z_]+\s*\(", " ", bare)
        names |= set(re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*", bare))
    return names - PROMQL_WORDS


@pytest.mark.parametrize("service", sorted(LONG_RUNNING))
def test_every_tbot_process_is_scraped_on_the_port_it_serves_metrics_on(service: str) -> None:
    environment: dict[str, str] = LONG_RUNNING[service].get("environment", {})
    if LONG_RUNNING[service]["command"][1:] == ["serve"]:
        port = environment["TBOT_API_PORT"]  # the API's /metrics is on its own port
    else:
        port = environment["TBOT_METRICS_PORT"]
        assert environment["TBOT_METRICS_HOST"] == "0.0.0.0"  # reachable from Prometheus's container
    assert _targets()[service] == f"{service}:{port}"


def test_prometheus_scrapes_nothing_but_tbots_processes() -> None:
    assert set(_targets()) == set(LONG_RUNNING)


def test_prometheus_and_grafana_run_with_their_files_and_listen_on_this_machine_only() -> None:
    prometheus, grafana = SERVICES["prometheus"], SERVICES["grafana"]
    assert prometheus["image"].startswith("prom/prometheus:")
    assert grafana["image"].startswith("grafana/grafana:")
    mounts: dict[str, str] = {}
    for service in (prometheus, grafana):
        assert all(port.startswith("127.0.0.1:") for port in service["ports"]), service["ports"]
        for volume in service["volumes"]:
            source, target = volume.split(":")[:2]
            if source.startswith("./"):
                assert (COMPOSE.parent / source).exists(), source
                mounts[source.removeprefix("./infrastructure/monitoring/")] = target
    assert mounts["prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    assert mounts["grafana/provisioning"] == "/etc/grafana/provisioning"
    [provider] = DASHBOARDS["providers"]
    assert mounts["grafana/dashboards"] == provider["options"]["path"]


def test_the_dashboard_queries_the_provisioned_prometheus() -> None:
    [source] = DATASOURCES["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    panels = [panel for panel in DASHBOARD["panels"] if panel["type"] != "row"]
    assert panels
    for panel in panels:
        uids = {panel["datasource"]["uid"], *(t["datasource"]["uid"] for t in panel["targets"])}
        assert uids == {source["uid"]}, panel["title"]


def test_the_dashboard_queries_only_tbots_metrics_and_shows_every_one() -> None:
    defined = _defined_metrics()
    queried = _queried_metrics()
    exposed = set().union(*defined.values())
    assert queried <= exposed, f"not tbot's metrics: {sorted(queried - exposed)}"
    unseen = {name for name, samples in defined.items() if not samples & queried}
    assert not unseen, f"metrics no panel shows: {sorted(unseen)}"
