"""Asterisk configuration generated from the site config (pjsip, dialplan, queues, manager, rtp).

``generate(site, ...)`` returns ``{file name: text}``; nothing is written unless the
whole site config validated, and nothing is ever edited in place.
"""

from .generate import GenerateOptions, generate, write

__all__ = ["GenerateOptions", "generate", "write"]
