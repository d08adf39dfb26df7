"""The hotspot warning (热点预警): orders or calls about one subject or area rising above their
recent baseline, raised to supervisors on the wallboard and in the API."""
