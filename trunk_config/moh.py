"""musiconhold.conf: the hotline's own class of music on hold (synthesised by ivr.moh)."""

from __future__ import annotations

from ivr.moh import MOH_CLASS, moh_conf_class

from .conf import ConfFile


def render(sounds_dir: str) -> str:
    """``sounds_dir`` as Asterisk sees it; the music is in its ``moh`` folder."""
    conf = ConfFile()
    conf.section("general")
    conf.section(MOH_CLASS, moh_conf_class(f"{sounds_dir}/moh"), comment="callers waiting in a queue (waiting: music)")
    return conf.text()
