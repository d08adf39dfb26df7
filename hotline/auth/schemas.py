"""Bodies of the auth routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from hotline.http.body import StrictBody


class LoginBody(StrictBody):
    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
