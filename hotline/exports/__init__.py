"""Tables leave the API as CSV (UTF-8 with BOM, RFC 4180, injection-safe) or XLSX, streamed page by page."""
