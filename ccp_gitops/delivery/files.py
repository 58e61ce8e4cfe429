"""Delivery files of an environment: the folders of every engine it is delivered by."""

from __future__ import annotations

from ccp_gitops.cache.memo import Emitter, emit_object
from ccp_gitops.delivery.argocd import argocd_folders
from ccp_gitops.delivery.flux import flux_folders
from ccp_gitops.delivery.settings import Delivery, Folder, folder_files, settings, where
from ccp_gitops.model.environment import Environment
from ccp_gitops.model.objects import Obj
from ccp_gitops.model.problems import InputError, Problem
from ccp_gitops.model.resid import ResId


def _check_unique(env: Environment, folders: dict[str, Folder]) -> None:
    """Two generated delivery objects with one identity would overwrite each other: refuse."""
    seen: dict[ResId, str] = {}
    problems = []
    for path, folder in folders.items():
        for manifest in folder.manifests:
            rid = ResId.of(manifest)
            if rid in seen:
                problems.append(Problem(where(env), f"two delivery objects are both {rid} ({seen[rid]} and {path}): rename the component or cluster"))
            seen.setdefault(rid, path)
    if problems:
        raise InputError(problems)


def delivery_files(
    env: Environment, objs: list[Obj], engines: list[str] | None = None, emit: Emitter = emit_object
) -> tuple[Delivery, dict[str, bytes]]:
    """The delivery folders of every chosen engine, keyed by path relative to the environment folder."""
    delivery = settings(env, engines)
    folders: dict[str, Folder] = {}
    if "argocd" in delivery.engines:
        folders.update(argocd_folders(env, delivery, objs))
    if "flux" in delivery.engines:
        folders.update(flux_folders(env, delivery, objs))
    _check_unique(env, folders)
    return delivery, {f"{path}/{name}": data for path, folder in folders.items() for name, data in folder_files(folder, emit).items()}

