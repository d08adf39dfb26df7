"""The reconciliation report (issue 15, item 5): our records against Asterisk's CDR and queue_log."""
