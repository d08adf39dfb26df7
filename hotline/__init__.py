"""12345 hotline call-centre core: wiring, config, AMI client, store, API and CLI."""

__version__ = "0.1.0"
