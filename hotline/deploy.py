"""Turn a validated site config into Asterisk files in the state directory."""

from __future__ import annotations

from pathlib import Path

from hotline import asterisk_runtime
from hotline.config.paths import Paths
from hotline.config.site import SiteConfig
from hotline.exceptions import AsteriskRuntimeError
from trunk_config import GenerateOptions, generate, write


def recordings_inner(paths: Paths) -> str:
    """Where Asterisk writes recordings, as Asterisk sees it (needs an installed runtime)."""
    try:
        return asterisk_runtime.load(paths).recordings_inner
    except AsteriskRuntimeError:
        return str(paths.state_dir / "recordings")


def generate_config(site: SiteConfig, paths: Paths) -> list[Path]:
    paths.ensure()
    files = generate(site, GenerateOptions(ami_secret=paths.ami_secret(), recordings_dir=recordings_inner(paths)))
    return write(files, paths.generated_dir)
