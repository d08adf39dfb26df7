"""The call's spine: pure descriptions every party shares (the call plan derived from the site
config, the CEL mark vocabulary, call ids, the caller-number rule). Imports only hotline.config and
the base modules; never a live service, the config generator or the FastAGI server."""
