"""OCI image layout: byte-reproducible tar+gzip layers, manifests and blobs, written to and read from a directory."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import struct
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Mapping

from ccp_gitops.model.errors import CcpError

LAYOUT_VERSION = "1.0.0"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
REF_NAME = "org.opencontainers.image.ref.name"
TITLE = "org.opencontainers.image.title"
CREATED = "org.opencontainers.image.created"
SOURCE = "org.opencontainers.image.source"
REVISION = "org.opencontainers.image.revision"
# What `flux push artifact` writes and source-controller's OCIRepository extracts (fluxcd/pkg oci).
FLUX_CONFIG_MEDIA_TYPE = "application/vnd.cncf.flux.config.v1+json"
FLUX_CONTENT_MEDIA_TYPE = "application/vnd.cncf.flux.content.v1.tar+gzip"

# https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests and distribution-spec tag grammar
TAG_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
DIGEST_PATTERN = re.compile(r"^sha256:[a-f0-9]{64}$")

FILE_MODE = 0o644
DIR_MODE = 0o755
STORED_BLOCK = 0xFFFF


class LayoutError(CcpError):
    """An OCI layout is missing, malformed, or does not match its own digests."""


@dataclass(frozen=True)
class Blob:
    """Content plus the descriptor that addresses it."""

    media_type: str
    data: bytes
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()

    def descriptor(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data)}
        if self.annotations:
            out["annotations"] = dict(sorted(self.annotations.items()))
        return out


def canonical_json(data: Any) -> bytes:
    """Compact JSON with sorted keys: the same document always gives the same bytes (and digest)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _check_path(path: str) -> PurePosixPath:
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or any(part in ("", ".", "..") for part in path.split("/")):
        raise ValueError(f"not a clean relative path for an archive entry: {path!r}")
    return pure


def deterministic_tar(files: Mapping[str, bytes]) -> bytes:
    """A tar of ``files`` (relative path -> bytes) that depends on nothing but those paths and bytes.

    Entries are sorted, every parent directory gets its own entry first, owner is 0/0 with empty
    names, mode is 0644 (files) / 0755 (directories) and every mtime is 0.
    """
    dirs: set[str] = set()
    for path in files:
        dirs.update(str(parent) for parent in _check_path(path).parents if str(parent) != ".")
    clash = dirs & set(files)
    if clash:
        raise ValueError(f"path is both a file and a directory: {sorted(clash)[0]!r}")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8") as tar:
        for path in sorted(dirs | set(files)):
            info = tarfile.TarInfo(path)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            if path in dirs:
                info.type = tarfile.DIRTYPE
                info.mode = DIR_MODE
                tar.addfile(info)
            else:
                info.mode = FILE_MODE
                info.size = len(files[path])
                tar.addfile(info, io.BytesIO(files[path]))
    return buf.getvalue()


def deterministic_gzip(data: bytes) -> bytes:
    """A gzip member (RFC 1952) of ``data`` in stored deflate blocks, written here byte by byte.

    zlib's compressed output differs between implementations (zlib, zlib-ng, Apple's and Intel's
    forks; CPython 3.14 on Windows ships zlib-ng), so compressing would tie the digest to the
    machine. Stored blocks are valid deflate that every gunzip reads, and they are identical
    everywhere. Header: no name, no comment, mtime 0, OS 255 (unknown).
    """
    out = bytearray(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff")
    chunks = [data[i : i + STORED_BLOCK] for i in range(0, len(data), STORED_BLOCK)] or [b""]
    for index, chunk in enumerate(chunks):
        final = 1 if index == len(chunks) - 1 else 0
        out += struct.pack("<BHH", final, len(chunk), len(chunk) ^ 0xFFFF) + chunk
    out += struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)
    return bytes(out)


def tar_gzip_layer(files: Mapping[str, bytes], media_type: str) -> Blob:
    """The reproducible tar+gzip layer of ``files``."""
    return Blob(media_type, deterministic_gzip(deterministic_tar(files)))


def manifest(config: Blob, layers: list[Blob], annotations: Mapping[str, str]) -> Blob:
    """An OCI image manifest over ``config`` and ``layers`` (canonical JSON, so a stable digest)."""
    body: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": config.descriptor(),
        "layers": [layer.descriptor() for layer in layers],
    }
    if annotations:
        body["annotations"] = dict(sorted(annotations.items()))
    return Blob(MANIFEST_MEDIA_TYPE, canonical_json(body))


def write_layout(output: Path, blobs: list[Blob], manifest_blob: Blob, tag: str) -> None:
    """Write an OCI image layout holding ``manifest_blob`` tagged ``tag`` into ``output``.

    ``output`` must be missing or an empty directory. The layout is built in a sibling temporary
    directory and renamed into place, so an interrupted write leaves no half-written layout.
    """
    if not TAG_PATTERN.match(tag):
        raise ValueError(f"invalid tag {tag!r}: up to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'")
    parent = output.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".tmp", dir=parent))
    try:
        (tmp / "blobs" / "sha256").mkdir(parents=True)
        for blob in [*blobs, manifest_blob]:
            (tmp / "blobs" / "sha256" / blob.digest.removeprefix("sha256:")).write_bytes(blob.data)
        (tmp / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": LAYOUT_VERSION}))
        entry = Blob(manifest_blob.media_type, manifest_blob.data, {REF_NAME: tag}).descriptor()
        index = {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": [entry]}
        (tmp / "index.json").write_bytes(canonical_json(index))
        for path in [tmp, *tmp.rglob("*")]:
            path.chmod(DIR_MODE if path.is_dir() else FILE_MODE)
        os.replace(tmp, output)  # an empty directory is replaced atomically (rename(2))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@dataclass(frozen=True)
class Artifact:
    """One manifest read back from a layout, with its verified config and layer blobs."""

    tag: str | None
    digest: str
    manifest: dict[str, Any]
    config: Blob
    layers: list[Blob]

    @property
    def annotations(self) -> dict[str, str]:
        return dict(self.manifest.get("annotations") or {})


def _json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        raise LayoutError(f"{path.parent}: not an OCI image layout (no {path.name})") from None
    except ValueError as exc:
        raise LayoutError(f"{path}: {what} is not valid JSON ({exc})") from None


def _blob(layout: Path, descriptor: Any) -> Blob:
    if not isinstance(descriptor, dict) or not DIGEST_PATTERN.match(str(descriptor.get("digest", ""))):
        raise LayoutError(f"{layout}: malformed or non-sha256 descriptor {descriptor!r}")
    digest = str(descriptor["digest"])
    path = layout / "blobs" / "sha256" / digest.removeprefix("sha256:")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LayoutError(f"{layout}: blob {digest} is missing") from None
    blob = Blob(str(descriptor.get("mediaType", "")), data, dict(descriptor.get("annotations") or {}))
    if blob.digest != digest or len(data) != descriptor.get("size"):
        raise LayoutError(f"{layout}: blob {digest} does not match its digest or size (corrupted layout)")
    return blob


def read_layout(layout: Path, tag: str | None = None) -> Artifact:
    """The manifest tagged ``tag`` (or the only one when ``tag`` is None), every blob digest checked."""
    if not layout.is_dir():
        raise LayoutError(f"{layout}: not an OCI image layout (not a directory)")
    marker = _json(layout / "oci-layout", "oci-layout")
    if not isinstance(marker, dict) or "imageLayoutVersion" not in marker:
        raise LayoutError(f"{layout}: not an OCI image layout (oci-layout has no imageLayoutVersion)")
    index = _json(layout / "index.json", "index.json")
    entries = [m for m in (index.get("manifests") or []) if isinstance(m, dict)] if isinstance(index, dict) else []
    tags = [str((m.get("annotations") or {}).get(REF_NAME)) for m in entries if (m.get("annotations") or {}).get(REF_NAME)]
    if tag is not None:
        entries = [m for m in entries if (m.get("annotations") or {}).get(REF_NAME) == tag]
        if not entries:
            raise LayoutError(f"{layout}: no manifest tagged {tag!r} (tags: {', '.join(tags) or 'none'})")
    if len(entries) != 1:
        raise LayoutError(f"{layout}: holds {len(entries)} manifests; name one by tag (tags: {', '.join(tags) or 'none'})")
    blob = _blob(layout, entries[0])
    try:
        body = json.loads(blob.data)
    except ValueError:
        raise LayoutError(f"{layout}: manifest {blob.digest} is not JSON") from None
    if not isinstance(body, dict) or body.get("mediaType", MANIFEST_MEDIA_TYPE) != MANIFEST_MEDIA_TYPE:
        raise LayoutError(f"{layout}: {blob.digest} is not an OCI image manifest")
    found = (entries[0].get("annotations") or {}).get(REF_NAME)
    return Artifact(
        str(found) if found else None,
        blob.digest,
        body,
        _blob(layout, body.get("config")),
        [_blob(layout, d) for d in body.get("layers") or []],
    )


def extract_tar_gzip(data: bytes) -> dict[str, bytes]:
    """Regular files of a tar+gzip layer: path -> bytes. Links, devices and unsafe paths are refused."""
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar:
                name = member.name.removeprefix("./").rstrip("/")
                if member.isdir() or not name:
                    continue
                if not member.isfile():
                    raise LayoutError(f"layer entry {member.name!r} is not a regular file or directory")
                try:
                    _check_path(name)
                except ValueError as exc:
                    raise LayoutError(str(exc)) from None
                handle = tar.extractfile(member)
                files[name] = handle.read() if handle is not None else b""
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise LayoutError(f"layer is not a readable tar+gzip archive: {exc}") from None
    return files
