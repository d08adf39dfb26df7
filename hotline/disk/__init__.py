"""Disk space: the free-space alarm and the janitor that applies the site's retention."""
