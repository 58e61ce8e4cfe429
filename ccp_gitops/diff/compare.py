"""Diff stage: compare environments (fresh compile vs env-repo branch, or two revisions) into a DiffReport."""

from __future__ import annotations

from pathlib import Path

from ccp_gitops.checks.stage import upgrade_problems_by_component
from ccp_gitops.compile.parallel import compile_each_slim
from ccp_gitops.compile.pipeline import CompiledTree, open_session
from ccp_gitops.compile.spec import SessionSpec
from ccp_gitops.diff.impact import lock_waves, object_wave, reruns, restarts, upgrades
from ccp_gitops.diff.model import DiffError, DiffReport, Endpoint, EnvironmentInfo, ResourceChange, Risk, wave_key
from ccp_gitops.diff.objects import object_changes, pairs
from ccp_gitops.diff.risks import risks
from ccp_gitops.diff.sides import GitRepo, Tree, object_file, parse_objects, read_lock
from ccp_gitops.model.lock import Lock
from ccp_gitops.model.problems import Location
from ccp_gitops.source.inputs import env_name, overlay_names

SOURCE_LABEL = "source"


def _endpoint(kind: str, rev: str | None, commit: str | None, tree: Tree, lock: Lock | None) -> Endpoint:
    def text(key: str) -> str | None:
        return lock.text(key) if lock else None

    return Endpoint(
        "source" if kind == "source" else "rev",
        rev,
        commit,
        tree.exists,
        text("source_commit"),
        text("compiler_version"),
        text("openstack_release"),
    )


def compare_env(
    report: DiffReport,
    env: str,
    old: Tree,
    new: Tree,
    sides: tuple[tuple[str, str | None, str | None], tuple[str, str | None, str | None]],
    repo: GitRepo | None,
) -> None:
    """Add one environment's differences to ``report``; only files whose bytes differ are parsed."""
    differing = sorted(p for p in set(old.blobs) | set(new.blobs) if old.blobs.get(p) != new.blobs.get(p))
    wanted = [p for p in differing if object_file(new, p)]
    for tree in (old, new):
        if repo is not None:
            repo.read(tree, [tree.lock_path] + [p for p in wanted if p in tree.blobs])
    old_lock, new_lock = read_lock(old), read_lock(new)
    either = new_lock or old_lock
    namespace = either.namespace if either else ""
    old_objs = parse_objects(old, [p for p in wanted if p in old.blobs], namespace)
    new_objs = parse_objects(new, [p for p in wanted if p in new.blobs], namespace)
    changed = pairs(old_objs, new_objs)
    waves = lock_waves(old_lock, new_lock)
    (old_kind, old_rev, old_commit), (new_kind, new_rev, new_commit) = sides
    report.environments.append(
        EnvironmentInfo(env, _endpoint(old_kind, old_rev, old_commit, old, old_lock), _endpoint(new_kind, new_rev, new_commit, new, new_lock))
    )
    resources = []
    for pair in changed:
        side = pair.new or pair.old
        assert side is not None
        wave = object_wave(side, waves)
        if pair.old is None:
            resources.append(ResourceChange(env, pair.id, pair.component, "added", wave))
        elif pair.new is None:
            resources.append(ResourceChange(env, pair.id, pair.component, "removed", wave))
        else:
            fields, files = object_changes(pair)
            resources.append(ResourceChange(env, pair.id, pair.component, "changed", wave, fields, files))
    resources.sort(key=lambda r: (wave_key(r.wave, r.component), r.id))
    report.resources.extend(resources)
    releases, comps = upgrades(env, old_lock, new_lock, changed, waves)
    report.releases.extend(releases)
    report.upgrades.extend(comps)
    report.restarts.extend(restarts(env, changed, waves))
    report.reruns.extend(reruns(env, changed, waves))
    report.risks.extend(risks(env, changed, old_lock, new_lock, waves))


def source_envs(source_dir: Path) -> list[str]:
    """Every overlay of a source tree (the default environments of a source diff)."""
    return overlay_names(source_dir)


def diff_source(spec: SessionSpec, names: list[str], repo_path: Path, from_rev: str | None = None) -> DiffReport:
    """Compile ``names`` (default: every overlay) as ``spec`` says and compare with the env repo (the delivery branch, or ``from_rev``)."""
    session = open_session(spec)
    compiled = list(compile_each_slim(session, [env_name(n) for n in names or source_envs(spec.source_dir)], spec.jobs))
    repo = GitRepo(repo_path)
    fixed = repo.resolve(from_rev) if from_rev is not None else None
    listings: dict[str, dict[str, Tree]] = {}
    report = DiffReport()
    for item in compiled:
        rev = from_rev if from_rev is not None else item.delivery.branch
        commit = fixed if fixed is not None else repo.branch(rev)
        root = item.tree.root
        if commit is not None and commit not in listings:
            listings[commit] = repo.list_envs(commit, rev)
        old = (listings.get(commit) or {}).get(item.env.name) if commit else None
        old = old or Tree(root, rev)
        new = Tree.from_files(root, SOURCE_LABEL, item.tree.files)
        sides = (("rev", rev, commit), ("source", None, None))
        compare_env(report, item.env.name, old, new, sides, repo)
        report.risks.extend(_option_risks(item, read_lock(old)))
        from ccp_gitops.diff.phases import release_change  # compiles the phases: loaded only for a diff

        phases, refusals = release_change(session, item.env, read_lock(old))
        report.phases.extend(phases)
        report.risks.extend(refusals)
    return report


def _option_risks(item: CompiledTree, old_lock: Lock | None) -> list[Risk]:
    """Options the source sets that the new OpenStack release removed or deprecated."""
    old_release = (old_lock.release if old_lock else None) or item.env.release
    docs = {name: Location(f"components/{name}/component.yaml", 1, 1) for name in item.env.components}
    return [
        Risk(item.env.name, component, "medium", "openstack-option-release", f"{problem.location}: {problem.message}", None, item.env.components[component].wave)
        for component, problem in upgrade_problems_by_component(item.env, old_release, docs)
    ]


BUNDLE_PREFIX = "oci:"


def _bundle_side(spec: str) -> dict[str, Tree]:
    """``oci:DIR`` or ``oci:DIR:TAG`` (skopeo's syntax): the environment an OCI bundle holds."""
    from ccp_gitops.oci.bundle import read_bundle
    from ccp_gitops.oci.image import LayoutError

    location = spec[len(BUNDLE_PREFIX) :]
    directory, _, tag = location.partition(":") if not Path(location).is_dir() else (location, "", "")
    try:
        files = read_bundle(Path(directory), tag or None)
    except (LayoutError, OSError) as exc:
        raise DiffError(f"{spec}: not a readable ccp-gitops bundle: {exc}") from None
    roots = sorted({"/".join(p.split("/")[:2]) for p in files if p.startswith("env/")})
    if len(roots) != 1:
        raise DiffError(f"{spec}: a bundle must hold exactly one env/<env>/ folder (found {len(roots)})")
    return {roots[0].split("/")[1]: Tree.from_files(roots[0], spec, files)}


def _rev_side(spec: str, repo: GitRepo | None) -> tuple[dict[str, Tree], str | None]:
    """The environments of one side: an env-repo revision or an OCI bundle, and the commit if any."""
    if spec.startswith(BUNDLE_PREFIX):
        return _bundle_side(spec), None
    assert repo is not None
    commit = repo.resolve(spec)
    return repo.list_envs(commit, spec), commit


def diff_revs(repo_path: Path, from_rev: str, to_rev: str, names: list[str]) -> DiffReport:
    """Compare the environments of two env-repo revisions or OCI bundles (default: every environment in either)."""
    needs_repo = not (from_rev.startswith(BUNDLE_PREFIX) and to_rev.startswith(BUNDLE_PREFIX))
    repo = GitRepo(repo_path) if needs_repo else None
    old_envs, old_commit = _rev_side(from_rev, repo)
    new_envs, new_commit = _rev_side(to_rev, repo)
    # a bundle holds one environment: by default compare just that one
    bundled = [envs for spec, envs in ((from_rev, old_envs), (to_rev, new_envs)) if spec.startswith(BUNDLE_PREFIX)]
    default = sorted(set().union(*bundled)) if bundled else sorted(set(old_envs) | set(new_envs))
    wanted = list(dict.fromkeys(env_name(n) for n in names)) or default
    unknown = [n for n in wanted if n not in old_envs and n not in new_envs]
    if unknown:
        known = ", ".join(sorted(set(old_envs) | set(new_envs))) or "none"
        raise DiffError(f"unknown environment {unknown[0]!r}: no env/{unknown[0]}/ in {from_rev} or {to_rev} (found: {known})")
    report = DiffReport()
    for name in wanted:
        old = old_envs.get(name) or Tree(f"env/{name}", from_rev)
        new = new_envs.get(name) or Tree(f"env/{name}", to_rev)
        compare_env(report, name, old, new, (("rev", from_rev, old_commit), ("rev", to_rev, new_commit)), repo)
    return report
