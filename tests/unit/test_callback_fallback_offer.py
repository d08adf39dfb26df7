"""The max-wait fallback offers a callback only to numbers the callback dialler dials (issue 8,
item 6): digits only, 5 to 20, the queue-callback key's rule (hotline.callbacks.model.dialable)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hotline.callbacks.model import dialable
from hotline.config import load_site
from trunk_config import GenerateOptions, generate

SITE = Path(__file__).resolve().parents[1] / "golden" / "routing" / "site.yaml"
OPTIONS = GenerateOptions(ami_secret="golden-ami-secret-0123456789", recordings_dir="/var/spool/asterisk/monitor")


def fallback_context(queue: str) -> list[str]:
    text = generate(load_site(SITE, environ={}), OPTIONS)["extensions.conf"]
    block = text.split(f"[hotline-fallback-{queue}]\n", 1)[1].split("\n\n", 1)[0]
    return block.splitlines()


def offered(lines: list[str], callerid: str) -> bool:
    """Whether the caller hears the offer: the context's first GotoIf about withheld numbers,
    evaluated as Asterisk would for ``callerid`` (after FILTER of the digits, when set)."""
    digits = "".join(c for c in callerid if c in "0123456789")
    goto = next(line for line in lines if "GotoIf(" in line and "withheld" in line)
    cond, target = re.search(r"GotoIf\(\$\[(.*)\]\?(.*)\)$", goto).groups()  # type: ignore[union-attr]
    expr = (cond.replace("${LEN(${CB_NUM})}", str(len(digits))).replace("${CB_NUM}", digits)
            .replace("${CALLERID(num)}", callerid).replace(" = ", " == ").replace(" & ", " and ")
            .replace(" | ", " or "))
    result = bool(eval(expr))  # noqa: S307 - the test's own generated expression, numbers and quotes only
    return result if target.startswith("offer") else not result


@pytest.mark.parametrize("callerid", ["13800138000", "051383531111", "12345", "anonymous", "", "1234",
                                      "+8613800138000", "123456789012345678901", "110"])
def test_the_offer_follows_the_dialler_rule(callerid: str) -> None:
    assert offered(fallback_context("callme"), callerid) == dialable(callerid)


def test_the_request_carries_the_digits_the_dialler_dials() -> None:
    request = next(line for line in fallback_context("callme") if "HOTLINE_CALLBACK_REQUEST" in line)
    assert "HOTLINE_CALLBACK_REQUEST,${CB_NUM}|" in request
