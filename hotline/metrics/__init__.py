"""Hotline KPIs over the store: the report API and the Prometheus exposition."""
