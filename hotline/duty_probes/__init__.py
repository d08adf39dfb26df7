"""Duty-phone dial tests of the member units (issue 12): probes, their tries, 不通 events."""
