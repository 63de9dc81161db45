from __future__ import annotations

from pathlib import Path

import pytest

from downbeat.settings import load_settings


def test_layers_defaults_env_file_and_environment() -> None:
    settings = load_settings("dev", environ={"DOWNBEAT_MEDIA__HOP": "1024", "REDIS_URL": "redis://x:1/0"})
    assert settings.control_plane.port == 8000  # base.toml
    assert settings.data_dir == "var"  # dev.toml
    assert settings.media.hop == 1024  # prefixed variable
    assert settings.redis.effective_url == "redis://x:1/0" and not settings.redis.embedded
    assert settings.kafka.embedded and settings.kafka.servers == "127.0.0.1:19092"
    assert settings.database_url.startswith("sqlite:////") and settings.database_url.endswith("var/downbeat.db")


def test_prod_refuses_to_start_without_a_secret() -> None:
    with pytest.raises(RuntimeError, match="DOWNBEAT_SECRET_KEY"):
        load_settings("prod", environ={})
    assert load_settings("prod", environ={"DOWNBEAT_SECRET_KEY": "s" * 40}).secret_key == "s" * 40


def test_a_misspelt_variable_stops_start_up_naming_the_nearest_setting() -> None:
    from downbeat.settings import SettingsError

    with pytest.raises(SettingsError, match=r"DOWNBEAT_CONTROL_PLANE__PROT .*DOWNBEAT_CONTROL_PLANE__PORT"):
        load_settings("dev", environ={"DOWNBEAT_CONTROL_PLANE__PROT": "9000"})
    with pytest.raises(SettingsError, match=r"DOWNBEAT_CONTROL_PLAN__PORT .*DOWNBEAT_CONTROL_PLANE"):
        load_settings("dev", environ={"DOWNBEAT_CONTROL_PLAN__PORT": "9000"})
    with pytest.raises(SettingsError, match=r"DOWNBEAT_SECRET_KY .*DOWNBEAT_SECRET_KEY"):
        load_settings("dev", environ={"DOWNBEAT_SECRET_KY": "x"})
    # Other tools share the prefix: a plain variable far from any setting is theirs.
    assert load_settings("dev", environ={"DOWNBEAT_FUZZ_EXAMPLES": "5"}).control_plane.port == 8000


def test_a_value_of_the_wrong_type_names_the_setting_and_what_it_expects() -> None:
    from downbeat.settings import SettingsError

    with pytest.raises(SettingsError, match=r"control_plane.port: expected a whole number, got '80OO'"):
        load_settings("dev", environ={"DOWNBEAT_CONTROL_PLANE__PORT": "80OO"})
    with pytest.raises(SettingsError, match=r"control_plane.csp_allow_eval: expected true or false"):
        load_settings("dev", environ={"DOWNBEAT_CONTROL_PLANE__CSP_ALLOW_EVAL": "maybe"})


def test_an_unknown_key_in_a_config_file_is_refused(tmp_path: Path) -> None:
    from downbeat import settings as module

    (tmp_path / "base.toml").write_text("[control_plane]\nprot = 9000\n")
    original = module.CONFIG_DIR
    module.CONFIG_DIR = tmp_path
    try:
        with pytest.raises(
            module.SettingsError, match=r"base.toml: unknown setting control_plane.'prot' \(did you mean 'port'\?\)"
        ):
            load_settings("dev", environ={})
    finally:
        module.CONFIG_DIR = original


def test_the_command_says_what_is_wrong_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    import os

    from downbeat.cli import main

    os.environ["DOWNBEAT_CONTROL_PLANE__PROT"] = "9000"
    try:
        assert main(["doctor"]) == 2
    finally:
        del os.environ["DOWNBEAT_CONTROL_PLANE__PROT"]
    assert "DOWNBEAT_CONTROL_PLANE__PROT names no setting" in capsys.readouterr().err
