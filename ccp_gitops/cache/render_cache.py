"""Jinja2 bytecode kept in the disk cache: templates are compiled once, not on every run."""

from __future__ import annotations

from typing import Any

from jinja2.bccache import Bucket, BytecodeCache

from ccp_gitops.cache.disk import Cache, digest


class DiskBytecodeCache(BytecodeCache):
    """Compiled templates keyed by (environment flavour, template name, template source).

    The two sandboxed environments compile one template differently (autoescape, finalize), so
    the flavour is part of the key; Jinja2 itself checks its bytecode magic and the source checksum.
    """

    def __init__(self, cache: Cache, flavour: str) -> None:
        self.cache = cache
        self.flavour = flavour

    def get_bucket(self, environment: Any, name: str, filename: str | None, source: str) -> Bucket:
        bucket = Bucket(environment, digest("jinja", self.flavour, name, filename or "", source), self.get_source_checksum(source))
        self.load_bytecode(bucket)
        return bucket

    def load_bytecode(self, bucket: Bucket) -> None:
        data = self.cache.get("jinja", bucket.key)
        if data is None:
            return
        try:
            bucket.bytecode_from_string(data)
        except Exception:  # an entry of another Python: compile again
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.cache.put("jinja", bucket.key, bucket.bytecode_to_string())
