"""The pages' security headers follow the settings: 'unsafe-eval' only in the test
configuration (browser automation evaluates strings), never in dev or prod; HSTS in prod."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from control_plane.app import create_app
from downbeat.settings import load_settings
from tests.conftest import make_settings


def _headers(tmp_path: Path, **control_plane: object) -> dict[str, str]:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'h.db'}")
    settings = replace(settings, control_plane=replace(settings.control_plane, **control_plane))
    answer = create_app(settings, TESTING=True).test_client().get("/login")
    assert answer.status_code == 200
    return dict(answer.headers)


def test_the_test_configuration_alone_allows_eval(tmp_path: Path) -> None:
    assert load_settings("test", environ={}).control_plane.csp_allow_eval
    for env in ("dev", "prod"):
        assert not load_settings(env, environ={"DOWNBEAT_SECRET_KEY": "x" * 40}).control_plane.csp_allow_eval
    assert "'unsafe-eval'" in _headers(tmp_path, csp_allow_eval=True)["Content-Security-Policy"]
    strict = _headers(tmp_path, csp_allow_eval=False)
    assert "script-src 'self';" in strict["Content-Security-Policy"]
    assert "'unsafe-eval'" not in strict["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in strict


def test_prod_asks_browsers_to_keep_to_https(tmp_path: Path) -> None:
    prod = load_settings("prod", environ={"DOWNBEAT_SECRET_KEY": "x" * 40})
    assert prod.control_plane.hsts_seconds >= 31536000
    headers = _headers(tmp_path, hsts_seconds=prod.control_plane.hsts_seconds)
    assert headers["Strict-Transport-Security"] == f"max-age={prod.control_plane.hsts_seconds}"
