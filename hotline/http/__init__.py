"""The HTTP kit every feature's routes use: strict JSON bodies (``body``), query strings
(``query``), JSON responses (``responses``) and OpenAPI builders (``oas``).

It imports no feature; features import it. The application itself (middlewares, ``/status``,
``/openapi.json``) is assembled in ``hotline.api.app``.
"""
