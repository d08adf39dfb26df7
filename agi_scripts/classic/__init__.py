"""Classic (process-per-call) AGI scripts: diagnostics only, never on the call path."""
