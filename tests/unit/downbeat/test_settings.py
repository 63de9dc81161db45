from __future__ import annotations

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
