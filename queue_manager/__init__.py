"""Seats, queues, agent states and metrics as pure functions (no I/O, no Asterisk)."""
