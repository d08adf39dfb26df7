"""The HTTP API of the hotline core (aiohttp). Entry point: ``hotline.api.app.build_app``."""
