"""The building blocks of the site config: constrained scalar types and the strict base model.

Every string that ends up in an Asterisk file is constrained here by a pattern, so the
generators never see a value that could break out of its line (no CR/LF, no ``;``, no ``,``).
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# --- constrained scalar types -------------------------------------------------

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
"""Identifiers that become Asterisk section or variable values: ascii, lower case."""

QueueName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
"""A queue name: ascii lower case, digits and underscore (it is validated again in the dialplan)."""

PhoneNumber = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{3,20}$")]
"""A dialable number: digits with an optional leading + (3 to 20 digits)."""

SeatId = Annotated[str, StringConstraints(pattern=r"^[0-9]{3,8}$")]
"""A seat (agent) number, which is also its SIP user name."""

Secret = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@%+=:/-]{8,64}$")]
"""A SIP or AMI secret: 8 to 64 printable characters that are safe in a conf file."""

Label = Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=r"^[^\x00-\x1f\x7f;\[\]]+$")]
"""Human text (Chinese allowed), never written into a dialplan application argument."""

HostName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.:-]{1,253}$")]

NODE_NAME = r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}"
"""A node's name, Asterisk's ``systemname``: the prefix of every call id it makes
(``node01-1796159078.0``; the call-id rule is ``hotline.spine.ids``)."""

NodeName = Annotated[str, StringConstraints(pattern=rf"^{NODE_NAME}$")]

Port = Annotated[int, Field(ge=1, le=65535)]


def check_cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError as exc:
        raise ValueError(f"not an IP network: {exc}") from None
    return value


class Model(BaseModel):
    """Every section: unknown fields refused, frozen, strings stripped."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True,
                              coerce_numbers_to_str=True)
