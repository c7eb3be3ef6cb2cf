from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from contato.settings import DEV_SECRET_KEY, Settings, SettingsError, SuspectConversion
from tests.servers import migrated_sqlite_template


def test_dev_defaults_are_embedded() -> None:
    settings = Settings.from_env({})
    assert settings.effective_database_url == "sqlite://data/contato.sqlite3"
    assert settings.broadcast_url == "memory://"
    assert settings.secret_key == DEV_SECRET_KEY
    assert settings.graphiql and settings.introspection
    assert settings.suspect_conversion is SuspectConversion.ASK
    # No proxy is believed until one is named: X-Forwarded-For is ignored.
    assert settings.trusted_proxies == () and settings.login_max_failures_per_address == 100


def test_trusted_proxies_are_addresses_or_networks() -> None:
    settings = Settings.from_env({"TRUSTED_PROXIES": "10.0.0.5, 172.16.0.0/12,::1"})
    assert [str(network) for network in settings.trusted_proxy_networks] == ["10.0.0.5/32", "172.16.0.0/12", "::1/128"]


def test_production_needs_a_real_secret_and_turns_off_the_ide() -> None:
    with pytest.raises(SettingsError, match="SECRET_KEY is required"):
        Settings.from_env({"CONTATO_ENV": "production"})
    with pytest.raises(SettingsError, match="at least 32"):
        Settings.from_env({"CONTATO_ENV": "production", "SECRET_KEY": "short"})
    settings = Settings.from_env({"CONTATO_ENV": "production", "SECRET_KEY": "x" * 40})
    assert not settings.graphiql and not settings.introspection


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TOKEN_TTL_SECONDS": "soon"}, "TOKEN_TTL_SECONDS='soon' is not a whole number"),
        ({"GRAPHIQL": "maybe"}, "GRAPHIQL='maybe' is not a boolean"),
        ({"SUSPECT_CONVERSION": "SOMETIMES"}, "SUSPECT_CONVERSION='SOMETIMES' must be one of DELETE, KEEP, ASK"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL scheme 'mysql' is not supported"),
        ({"BROADCAST_URL": "kafka://x"}, "BROADCAST_URL scheme 'kafka' is not supported"),
        ({"CONTATO_TIMEZONE": "Mars/Olympus"}, "not a known time zone"),
        ({"APQ_CACHE_SIZE": "-1"}, "APQ_CACHE_SIZE=-1 must be between 0 and 100000"),
        ({"ATTACHMENT_LINK_TTL_SECONDS": "5"}, "ATTACHMENT_LINK_TTL_SECONDS=5 must be between 10 and 604800"),
        ({"TRUSTED_PROXIES": "10.0.0.1, proxy.local"}, "TRUSTED_PROXIES entry 'proxy.local' is not an IP address"),
        ({"LOGIN_MAX_FAILURES_PER_ADDRESS": "-1"}, "LOGIN_MAX_FAILURES_PER_ADDRESS=-1 must be >= 0"),
    ],
)
def test_bad_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env(env)
    assert message in str(error.value)


def test_bad_settings_stop_the_command_with_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "contato", "migrate"],
        check=False,
        env={"PATH": "", "TOKEN_TTL_SECONDS": "soon"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == "contato: configuration error: TOKEN_TTL_SECONDS='soon' is not a whole number\n"


def test_secrets_stay_out_of_repr() -> None:
    settings = Settings.from_env(
        {"SECRET_KEY": "s3cret-" * 6, "DATABASE_URL": "postgres://u:pw@db/contato", "SMTP_PASSWORD": "mailpw"}
    )
    assert "s3cret" not in repr(settings)
    assert "pw@" not in repr(settings) and "mailpw" not in repr(settings)


def _contato(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "contato", *args],
        check=False,
        env={"PATH": "", "PASSWORD_HASH_PROFILE": "CHEAPEST", "CONTATO_DATA_DIR": str(cwd / "data"), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _run_contato(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "contato", *args],
        check=False, env={"PATH": os.environ.get("PATH", ""), **env}, cwd=cwd, capture_output=True, text=True,
        timeout=120,
    )


def test_a_missing_metrics_directory_is_made(tmp_path: Path) -> None:
    # given: PROMETHEUS_MULTIPROC_DIR names a folder that does not exist yet
    directory = tmp_path / "metrics" / "contato"
    (tmp_path / "data").mkdir()
    shutil.copyfile(migrated_sqlite_template(), tmp_path / "data" / "contato.sqlite3")
    # when
    result = _contato(["seed"], {"PROMETHEUS_MULTIPROC_DIR": str(directory)}, tmp_path)
    # then: the command ran, and the folder is there for the metrics
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert directory.is_dir()


@pytest.mark.parametrize("command", ["seed", "serve"])
def test_a_metrics_directory_that_cannot_be_made_stops_the_command_with_one_line(
    tmp_path: Path, command: str
) -> None:
    # given: the folder would have to be made under a file
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    # when
    result = _contato([command], {"PROMETHEUS_MULTIPROC_DIR": str(blocker / "metrics")}, tmp_path)
    # then
    assert result.returncode == 2
    assert result.stderr.startswith(f"contato: configuration error: PROMETHEUS_MULTIPROC_DIR='{blocker / 'metrics'}'")
    assert result.stderr.count("\n") == 1, result.stderr


def test_production_refuses_the_demo_logins_unless_told(tmp_path: Path) -> None:
    # issue 11: `contato seed` in production created six logins with the password the README publishes
    production = {"CONTATO_ENV": "production", "SECRET_KEY": "p" * 40, "CONTATO_DATA_DIR": str(tmp_path / "data")}
    for command in (("seed",), ("seed", "--size", "10"), ("serve", "--demo", "--port", "1")):
        refused = _run_contato(*command, env=production, cwd=tmp_path)
        assert refused.returncode == 2, (command, refused.stderr)
        assert refused.stderr.count("\n") == 1 and "--allow-demo-in-production" in refused.stderr, refused.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was written
    (tmp_path / "data").mkdir()
    shutil.copyfile(migrated_sqlite_template(), tmp_path / "data" / "contato.sqlite3")
    allowed = _run_contato("seed", "--allow-demo-in-production", env=production, cwd=tmp_path)
    assert allowed.returncode == 0, allowed.stderr
    assert "Demo data ready" in allowed.stdout
