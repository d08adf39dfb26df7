"""A thin AMI client over panoramisk: one long-lived connection, reconnect with
backoff, re-sync after reconnect, and handlers that can never kill the read loop."""

from .client import AmiClient, AmiStats

__all__ = ["AmiClient", "AmiStats"]
