"""Turn a validated site config into Asterisk files and prompts in the state directory."""

from __future__ import annotations

from pathlib import Path

from hotline import asterisk_runtime
from hotline.asterisk_certs import keys_inner
from hotline.edge_runtime import ACCOUNT, Edge
from hotline.config.paths import Paths
from hotline.config.site import SiteConfig
from hotline.exceptions import AsteriskRuntimeError, EdgeRuntimeError
from ivr.moh import render_moh
from ivr.prompts import DIGIT_PROMPTS
from ivr.render import render_prompts
from trunk_config import GenerateOptions, generate, kamailio, write


def _inner_dirs(paths: Paths) -> tuple[str, str, str]:
    """Where Asterisk writes recordings, finds prompts and the install's DTLS certificate, as
    Asterisk sees them."""
    try:
        rt = asterisk_runtime.load(paths)
        return rt.recordings_inner, rt.sounds_inner, keys_inner(rt)
    except AsteriskRuntimeError:
        return str(paths.state_dir / "recordings"), str(paths.sounds_dir), str(paths.state_dir / "keys")


def generate_config(site: SiteConfig, paths: Paths) -> list[Path]:
    """Write the Asterisk files to ``paths.generated_dir`` and the prompts (ivr/) to
    ``paths.sounds_dir``; ``Runtime.deploy`` copies both into Asterisk. Returns the Asterisk files.

    Prompts are rendered only when their text, voice or tools changed (see ``ivr.render``);
    a missing espeak-ng or sox is a ``PromptRenderError`` (``prompt-render``)."""
    paths.ensure()
    recordings, sounds, keys = _inner_dirs(paths)
    files = generate(site, GenerateOptions(ami_secret=paths.ami_secret(), recordings_dir=recordings,
                                           sounds_dir=sounds, agi_key=paths.agi_key(), keys_dir=keys))
    written = write(files, paths.generated_dir)
    render_prompts(paths.sounds_dir)
    # say.c's numbers for language zh (queue announcements) and the music on hold; Runtime.deploy
    # puts the digits where Asterisk looks for them (<astdatadir>/sounds/zh/digits).
    render_prompts(paths.sounds_dir / "zh" / "digits", DIGIT_PROMPTS)
    render_moh(paths.sounds_dir / "moh")
    write_logrotate(site, paths)
    return written


CEL_ROTATIONS = 30   # rotations of the CEL log kept when the site config sets no retention.cel_days


def write_logrotate(site: SiteConfig, paths: Paths) -> Path | None:
    """``<state>/logrotate-cel.conf``, the CEL log's logrotate rule (install it in /etc/logrotate.d/);
    None without a local Asterisk runtime."""
    try:
        rt = asterisk_runtime.load(paths)
    except AsteriskRuntimeError:
        return None
    keep = getattr(getattr(site, "retention", None), "cel_days", None)   # 0: for ever
    keep = CEL_ROTATIONS if keep is None else keep
    target = paths.state_dir / "logrotate-cel.conf"
    target.write_text(rt.logrotate_rule(int(keep)))
    return target


def generate_edge(site: SiteConfig, edge: Edge, user: str | None = ACCOUNT) -> list[Path]:
    """Write the edge's kamailio.cfg and dispatcher.list (``trunk_config/kamailio.py``) into its
    directory; a site config without ``edge:`` is refused (it runs on one node, without Kamailio)."""
    if site.edge is None:
        raise EdgeRuntimeError("the site config has no edge: section (a site without it runs on one node, "
                               "no Kamailio)")
    options = kamailio.EdgeOptions(files_dir=str(edge.directory), ctl_socket=str(edge.ctl_socket))
    return edge.write(kamailio.generate(site, options), user=user)
