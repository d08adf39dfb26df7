"""The audit log: who did what through the API."""
