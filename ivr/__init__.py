"""Menus and prompts as data, and flows that do not know the transport (issue #4).

* :mod:`ivr.prompts`: the prompt texts (Mandarin), by the name the dialplan plays them by;
* :mod:`ivr.render`: prompts rendered offline to 8 kHz WAV (espeak-ng, sox), cached;
* :mod:`ivr.hours`: whether a department answers now (office hours, Chinese working days).

Nothing here talks to Asterisk: the dialplan plays ``${HOTLINE_SOUNDS}/<name>`` and the
FastAGI server asks :func:`ivr.hours.is_open`.
"""
