"""Bundle stage: one environment of an env repo commit as a reproducible Flux OCI artifact, checked against its lock."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ccp_gitops.compile.layout import LOCK_FILE, bundle_layer
from ccp_gitops.model.errors import EXIT_INPUT, CcpError
from ccp_gitops.model.lock import Lock
from ccp_gitops.oci.image import (
    CREATED,
    FLUX_CONFIG_MEDIA_TYPE,
    FLUX_CONTENT_MEDIA_TYPE,
    REVISION,
    SOURCE,
    TAG_PATTERN,
    TITLE,
    Blob,
    LayoutError,
    extract_tar_gzip,
    manifest,
    read_layout,
    write_layout,
)
from ccp_gitops.repo.commit import EnvRepo, RepoError, open_repo, read_files
from ccp_gitops.source.inputs import env_name
from ccp_gitops.source.tree import DNS_LABEL


class BundleInputError(CcpError):
    """Bad input to ``bundle``: unknown env or revision, unusable output directory, bad tag."""

    exit_code = EXIT_INPUT


class BundleMismatch(CcpError):
    """The env folder at that commit is not what its lock says the compiler wrote."""


@dataclass(frozen=True)
class Bundle:
    """One environment at one commit as an OCI artifact: the lock as config, the folder as the layer."""

    env: str
    commit: str
    revision: str
    created: str
    source: str
    tag: str
    config: Blob
    layer: Blob
    manifest: Blob
    verified: bool

    @property
    def digest(self) -> str:
        return self.manifest.digest


@dataclass(frozen=True)
class EnvCommit:
    """The files of ``env/<env>/`` at one commit, with the commit's identity and time."""

    env: str
    rev: str
    commit: str
    created: str
    files: dict[str, bytes]


def _git(repo: EnvRepo, *args: str) -> str | None:
    proc = repo.run(*args, check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def resolve_rev(repo: EnvRepo, rev: str | None) -> tuple[str, str]:
    """``rev`` (default: the branch HEAD names) -> (how to call it in messages, commit sha)."""
    if rev is None:
        rev = _git(repo, "symbolic-ref", "-q", "--short", "HEAD") or "HEAD"
    sha = None if rev.startswith("-") else _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    if not sha:
        raise BundleInputError(f"unknown revision {rev!r} in the env repo {repo.working_tree_dir or repo.git_dir}")
    return rev, sha


def flux_revision(commit: str, branch: str | None) -> str:
    """Flux's revision format: ``<branch>@sha1:<sha>``, or ``sha1:<sha>`` with no branch.

    The branch is the environment's delivery branch from the lock, not the ``--rev`` used to
    find the commit, so naming one commit by branch or by sha gives one digest.
    """
    return f"{branch}@sha1:{commit}" if branch else f"sha1:{commit}"


def commit_time(repo: EnvRepo, sha: str) -> str:
    """The commit's committer time as RFC 3339 UTC: the ``created`` annotation (no clock involved)."""
    seconds = int(_git(repo, "show", "-s", "--format=%ct", sha) or "0")
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_env_commit(repo_path: Path, env: str, rev: str | None) -> EnvCommit:
    """The env folder at ``rev`` from the env repo at ``repo_path``."""
    name = env_name(env)
    if not DNS_LABEL.match(name):
        raise BundleInputError(f"invalid environment {env!r}: name it env/NAME, overlays/NAME or NAME")
    try:
        repo = open_repo(repo_path, create=False)
    except RepoError as exc:
        raise BundleInputError(str(exc)) from None
    shown, sha = resolve_rev(repo, rev)
    root = f"env/{name}"
    files = {p: d for p, d in read_files(repo, sha, root).items() if p.startswith(root + "/")}
    if not files:
        listing = _git(repo, "ls-tree", "--name-only", sha, "--", "env/") or ""
        known = ", ".join(sorted(p.removeprefix("env/") for p in listing.splitlines())) or "none"
        raise BundleInputError(f"unknown environment {name!r}: no env/{name}/ at {shown} (environments there: {known})")
    return EnvCommit(name, shown, sha, commit_time(repo, sha), files)


def default_tag(env: str, commit: str) -> str:
    """``<env>-<12 hex of the commit>``: unique per commit, so never moved to other content."""
    return f"{env}-{commit[:12]}"


def build_bundle(snapshot: EnvCommit, tag: str | None = None, source: str | None = None) -> Bundle:
    """The artifact of ``snapshot``; raises BundleMismatch when the folder disagrees with its lock."""
    root = f"env/{snapshot.env}"
    lock_path = f"{root}/{LOCK_FILE}"
    raw_lock = snapshot.files.get(lock_path)
    if raw_lock is None:
        raise BundleInputError(f"{lock_path} is missing at {snapshot.rev}: not a folder written by ccp-gitops compile")
    try:
        raw: Any = json.loads(raw_lock)
    except ValueError:
        raise BundleMismatch(f"{lock_path} at {snapshot.rev} is not valid JSON") from None
    if not isinstance(raw, dict):
        raise BundleMismatch(f"{lock_path} at {snapshot.rev} is not a JSON object")
    lock = Lock.of(raw)
    record = lock.bundle
    tag = tag or default_tag(snapshot.env, snapshot.commit)
    check_tag(tag)
    source = source or record.get("source")
    if not source:
        raise BundleInputError(f"{lock_path} records no source URL: pass --source URL")
    layer = bundle_layer(snapshot.files, root)
    recorded = lock.bundle_layer_digest
    if recorded is not None and recorded != layer.digest:
        raise BundleMismatch(
            f"{root} at {snapshot.rev} gives content layer {layer.digest} but its lock records {recorded}: "
            f"the folder was edited after compile, or compiled by another ccp-gitops version "
            f"(lock: {lock.text('compiler_version') or '?'}); recompile it, then bundle"
        )
    config = Blob(FLUX_CONFIG_MEDIA_TYPE, raw_lock, {TITLE: lock_path})
    revision = flux_revision(snapshot.commit, record.get("branch"))
    annotations = {CREATED: snapshot.created, REVISION: revision, SOURCE: str(source)}
    return Bundle(
        snapshot.env,
        snapshot.commit,
        revision,
        snapshot.created,
        str(source),
        tag,
        config,
        layer,
        manifest(config, [layer], annotations),
        recorded is not None,
    )


def check_tag(tag: str) -> None:
    if not TAG_PATTERN.match(tag):
        raise BundleInputError(f"invalid tag {tag!r}: 1 to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'")


def check_output(output: Path) -> None:
    """``output`` must be missing or an empty directory (not a symlink: the layout replaces it)."""
    if output.is_symlink():
        raise BundleInputError(f"{output}: is a symlink; name a new or empty directory for --output")
    if output.exists() and not output.is_dir():
        raise BundleInputError(f"{output}: exists and is not a directory; name a new or empty directory for --output")
    if output.is_dir() and any(output.iterdir()):
        raise BundleInputError(f"{output}: directory is not empty; name a new or empty directory for --output")


def run_bundle(
    repo_path: Path, env: str, rev: str | None, output: Path, tag: str | None = None, source: str | None = None
) -> Bundle:
    """Bundle ``env`` at ``rev`` of the env repo into a new OCI image layout at ``output``."""
    check_output(output)
    if tag is not None:
        check_tag(tag)
    bundle = build_bundle(read_env_commit(repo_path, env, rev), tag, source)
    write_layout(output, [bundle.config, bundle.layer], bundle.manifest, bundle.tag)
    return bundle


def read_bundle(layout: Path, tag: str | None = None) -> dict[str, bytes]:
    """The env files an OCI layout holds: path -> bytes, comparable with ``commit.read_files``.

    Reads the first Flux content layer (as source-controller does). When the config blob is a
    ccp-gitops lock, it is returned at its recorded path and must name that same layer.
    Raises LayoutError on anything malformed or inconsistent.
    """
    artifact = read_layout(layout, tag)
    layers = [layer for layer in artifact.layers if layer.media_type == FLUX_CONTENT_MEDIA_TYPE]
    if not layers:
        raise LayoutError(f"{layout}: manifest {artifact.digest} has no {FLUX_CONTENT_MEDIA_TYPE} layer")
    files = extract_tar_gzip(layers[0].data)
    lock_path = artifact.config.annotations.get(TITLE, "")
    if artifact.config.media_type == FLUX_CONFIG_MEDIA_TYPE and lock_path.endswith("/" + LOCK_FILE):
        try:
            raw = json.loads(artifact.config.data)
        except ValueError:
            raise LayoutError(f"{layout}: config {artifact.config.digest} is not a JSON lock") from None
        recorded = Lock.of(raw).bundle_layer_digest if isinstance(raw, dict) else None
        if recorded is not None and recorded != layers[0].digest:
            raise LayoutError(f"{layout}: its lock records layer {recorded} but the manifest holds {layers[0].digest}")
        if lock_path in files or lock_path.startswith("/") or ".." in lock_path.split("/"):
            raise LayoutError(f"{layout}: config title {lock_path!r} is not a path the layer leaves free")
        files[lock_path] = artifact.config.data
    return dict(sorted(files.items()))
