"""Callbacks (issue #3): queue callback (keep your place, be called back) and callbacks a seat
takes for abandoned calls. ``model`` is pure, ``services`` drives Asterisk, ``http`` serves it."""
