"""回访 calls: every replied and verified order's caller is called back and rates the order (issue 12)."""
