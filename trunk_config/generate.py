"""Generate every Asterisk file the site config determines."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hotline.config.site import SiteConfig
from hotline.filemodes import GROUP_READ, PRIVATE, write_file

from . import dialplan, manager, moh, pjsip, queues, webrtc
from .conf import ConfFile


@dataclass(frozen=True)
class GenerateOptions:
    ami_secret: str
    recordings_dir: str  # as Asterisk sees it
    static: bool = False  # no FastAGI step: Asterisk alone (the benchmark's baseline)
    sounds_dir: str = "/usr/share/asterisk/sounds/hotline"  # generated prompts, as Asterisk sees them
    agi_key: str = ""   # the key FastAGI's routes are signed with (hotline-route checks it)
    keys_dir: str = webrtc.DEFAULT_KEYS_DIR   # the install's DTLS certificate, as Asterisk sees it


def _rtp(site: SiteConfig) -> str:
    a = site.asterisk
    return ConfFile().section("general", [("rtpstart", a.rtp_start), ("rtpend", a.rtp_end),
                                          ("strictrtp", "seqno"),
                                          # browsers (WebRTC) need ICE; SIP phones and trunks never use it
                                          ("icesupport", "yes" if webrtc.browser_seats(site) else "no")]).text()


def generate(site: SiteConfig, options: GenerateOptions) -> dict[str, str]:
    fa = site.asterisk.fastagi
    agi_host = "127.0.0.1" if fa.bind in ("0.0.0.0", "::") else fa.bind
    return {
        "pjsip.conf": pjsip.render(site, options.keys_dir),
        "http.conf": webrtc.render_http(site, options.keys_dir),
        "extensions.conf": dialplan.render(site, dialplan.DialplanOptions(
            agi_url=None if options.static else f"agi://{agi_host}:{fa.port}",
            recordings_dir=options.recordings_dir, sounds_dir=options.sounds_dir, agi_key=options.agi_key)),
        "queues.conf": queues.render(site, options.sounds_dir),
        "musiconhold.conf": moh.render(options.sounds_dir),
        "queuerules.conf": queues.render_rules(site),
        "manager.conf": manager.render(site, options.ami_secret),
        "rtp.conf": _rtp(site),
    }


def write(files: dict[str, str], outdir: Path) -> list[Path]:
    """Write all files to ``outdir`` atomically (each via a temp file and rename)."""
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in sorted(files.items()):
        target = outdir / name
        tmp = target.with_suffix(target.suffix + ".tmp")
        # Secrets (seat/trunk passwords, the AMI secret) are in these files: never world-readable.
        # 0640: the group (the Asterisk service account) reads them; manager.conf only its owner.
        write_file(tmp, text, PRIVATE if name == "manager.conf" else GROUP_READ)
        tmp.replace(target)
        written.append(target)
    return written
