"""Call recordings served by the API (``GET /api/calls/{call_id}/recording``), every read audited."""
