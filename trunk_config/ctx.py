"""A dialplan context being written: ``[name]`` and its extensions, each a list of steps."""

from __future__ import annotations

from .conf import safe


class Ctx:
    """Appends one context to ``lines``: a blank line, ``; comment``, ``[name]``, then extensions.

    A step written ``"(label)App()"`` gives its priority a label (``same => n(label),App()``)."""

    def __init__(self, lines: list[str], name: str, comment: str | None = None) -> None:
        self.lines = lines
        lines.append("")
        if comment:
            lines.append(f"; {safe(comment)}")
        lines.append(f"[{safe(name)}]")

    def exten(self, ext: str, *steps: str) -> Ctx:
        first, *rest = steps
        self.lines.append(f"exten => {safe(ext)},1,{safe(first)}")
        for step in rest:
            label = ""
            if step.startswith("("):
                label, step = step[:step.index(")") + 1], step[step.index(")") + 1:]
            self.lines.append(f" same => n{safe(label)},{safe(step)}")
        return self
