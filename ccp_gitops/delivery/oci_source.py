"""Flux OCI delivery: the ``OCIRepository`` that replaces the ``GitRepository`` when an overlay says ``delivery.source: oci``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from ccp_gitops.oci.image import DIGEST_PATTERN, FLUX_CONTENT_MEDIA_TYPE, TAG_PATTERN

API_VERSION = "source.toolkit.fluxcd.io/v1"
KIND = "OCIRepository"
PROVIDERS = ("generic", "aws", "azure", "gcp")
# The duration pattern of the CRD's spec.interval.
DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$")
SETTINGS = ("url", "tag", "digest", "interval", "provider", "secret_ref", "insecure")


@dataclass(frozen=True)
class OciSource:
    """Where Flux pulls an environment's bundle from: a repository plus a tag or a digest.

    A tag follows whatever is pushed to it (``skopeo copy oci:DIR:TAG docker://...:prod``);
    a digest (``sha256:...``, the ``digest:`` line of ``ccp-gitops bundle``) pins one bundle,
    which is how a release tested in staging is promoted to prod unchanged.
    """

    url: str
    tag: str | None = None
    digest: str | None = None
    interval: str = "5m"
    provider: str = "generic"
    secret_ref: str | None = None
    insecure: bool = False

    def problems(self) -> list[str]:
        """What is wrong with these settings, one message per problem (empty when valid)."""
        out: list[str] = []
        host, _, repository = self.url.removeprefix("oci://").partition("/")
        if not self.url.startswith("oci://") or not host or not repository:
            out.append(f"url: {self.url!r} must be oci://HOST/REPOSITORY (e.g. oci://registry.example.com/openstack-env)")
        elif "@" in repository or ":" in repository:
            out.append(f"url: {self.url!r} must name the repository only; give the tag or digest separately")
        if (self.tag is None) == (self.digest is None):
            out.append("give exactly one of tag and digest")
        if self.tag is not None and not TAG_PATTERN.match(self.tag):
            out.append(f"tag: {self.tag!r} is not an OCI tag (1 to 128 of [A-Za-z0-9_.-], not starting with '.' or '-')")
        if self.digest is not None and not DIGEST_PATTERN.match(self.digest):
            out.append(f"digest: {self.digest!r} must be sha256: followed by 64 lower-case hex digits")
        if not DURATION.match(self.interval):
            out.append(f"interval: {self.interval!r} is not a duration like 1m, 30s or 1h30m")
        if self.provider not in PROVIDERS:
            out.append(f"provider: {self.provider!r} is not one of {', '.join(PROVIDERS)}")
        return out

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], default_tag: str) -> OciSource:
        """From an overlay's ``delivery.oci`` mapping; the tag defaults to ``default_tag`` when no digest is given."""
        unknown = sorted(set(settings) - set(SETTINGS))
        if unknown:
            raise ValueError(f"unknown delivery.oci setting(s) {', '.join(unknown)}; allowed: {', '.join(SETTINGS)}")
        digest = settings.get("digest")
        tag = settings.get("tag", None if digest is not None else default_tag)
        secret = settings.get("secret_ref")
        return cls(
            url=str(settings.get("url", "")),
            tag=None if tag is None else str(tag),
            digest=None if digest is None else str(digest),
            interval=str(settings.get("interval", "5m")),
            provider=str(settings.get("provider", "generic")),
            secret_ref=None if secret is None else str(secret),
            insecure=bool(settings.get("insecure", False)),
        )


def oci_repository(name: str, namespace: str, source: OciSource) -> dict[str, Any]:
    """The Flux ``OCIRepository`` (v1) for ``source``; ValueError lists every problem of ``source``.

    ``layerSelector`` names the bundle's content layer explicitly, so Flux extracts exactly the
    ``env/<env>/`` tree that ``ccp-gitops bundle`` packed; a Kustomization keeps the same
    ``path`` whether its ``sourceRef`` is this or the ``GitRepository``.
    """
    problems = source.problems()
    if problems:
        raise ValueError("; ".join(problems))
    ref = {"digest": source.digest} if source.digest is not None else {"tag": str(source.tag)}
    spec: dict[str, Any] = {
        "interval": source.interval,
        "url": source.url,
        "ref": ref,
        "provider": source.provider,
        "layerSelector": {"mediaType": FLUX_CONTENT_MEDIA_TYPE, "operation": "extract"},
    }
    if source.secret_ref is not None:
        spec["secretRef"] = {"name": source.secret_ref}
    if source.insecure:
        spec["insecure"] = True
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": name, "namespace": namespace}, "spec": spec}
