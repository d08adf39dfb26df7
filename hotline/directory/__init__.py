"""The directory (issue #4): departments with their hotlines, duty phones and office hours,
and every legacy number, from the site config (which ``hotline import-csv`` writes).

``services`` builds and searches it (pure, in memory), ``schemas`` validates the query,
``http`` serves ``GET /api/directory`` and ``GET /api/directory/{number}``.
"""
