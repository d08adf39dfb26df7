"""FastAGI for the 12345 hotline: one asyncio server (``server``), its routes
(``routes``, ``decide``), the AGI wire protocol (``protocol``) and latency
statistics (``stats``). ``classic/`` holds the offline, process-per-call scripts.
"""
