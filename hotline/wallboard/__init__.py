"""The live wallboard: a static page, the live event stream it reads, and caller-number masking."""
