"""Caches: the content-addressed disk cache, per-object memos, and the build fingerprint that scopes them."""
