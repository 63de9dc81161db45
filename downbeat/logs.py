"""Logging set up once per process from configs/logging.toml."""

from __future__ import annotations

import logging
import sys
import tomllib

from downbeat.settings import CONFIG_DIR

__all__ = ["configure_logging"]


def configure_logging(level: str = "INFO") -> None:
    config = tomllib.loads((CONFIG_DIR / "logging.toml").read_text())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(config["format"], config.get("datefmt")))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name, name_level in config.get("levels", {}).items():
        logging.getLogger(name).setLevel(name_level)
