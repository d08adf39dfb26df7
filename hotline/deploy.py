"""Turn a validated site config into Asterisk files in the state directory."""

from __future__ import annotations

from pathlib import Path

from hotline import asterisk_runtime
from hotline.config.paths import Paths
from hotline.config.site import SiteConfig
from hotline.exceptions import AsteriskRuntimeError
from trunk_config import GenerateOptions, generate, write


def _inner_dirs(paths: Paths) -> tuple[str, str]:
    """Where Asterisk writes recordings and finds prompts, as Asterisk sees them."""
    try:
        rt = asterisk_runtime.load(paths)
        return rt.recordings_inner, rt.sounds_inner
    except AsteriskRuntimeError:
        return str(paths.state_dir / "recordings"), str(paths.sounds_dir)


def generate_config(site: SiteConfig, paths: Paths) -> list[Path]:
    paths.ensure()
    recordings, sounds = _inner_dirs(paths)
    files = generate(site, GenerateOptions(ami_secret=paths.ami_secret(), recordings_dir=recordings,
                                           sounds_dir=sounds))
    return write(files, paths.generated_dir)
