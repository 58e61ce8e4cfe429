"""Refusals: an unsupported release path, a release change while an upgrade is unfinished, a skipped version step."""

from __future__ import annotations

from typing import Any, Callable

from ccp_gitops.model.environment import Environment
from ccp_gitops.model.problems import Location, Problem
from ccp_gitops.upgrade.phases import LAST
from ccp_gitops.upgrade.rules import mariadb_problem, path_problem, rabbitmq_problem, steps
from ccp_gitops.upgrade.state import Deployed, UpgradeState

# "You should ensure all required steps from the previous upgrade have been completed, such as
# data migrations" (nova doc/source/admin/upgrades.rst, "Plan your upgrade").
UNFINISHED_RULE = "the online data migrations of an upgrade must complete before the next release change (nova doc/source/admin/upgrades.rst)"


def release_origin(env: Environment) -> Location:
    """Where ``openstack_release`` was set (the last layer that set it)."""
    found = env.settings_origins.get(("openstack_release",))
    return found[-1] if found else Location("base/defaults.yaml", 1, 1)


def _unfinished(env: str, state: UpgradeState) -> str:
    return (
        f"env/{env} is at {state.label}, online data migrations pending: "
        f"continue with `ccp-gitops upgrade env/{env} --next` until it completes; {UNFINISHED_RULE}"
    )


def start_problems(env: Environment, deployed: Deployed, target: str) -> list[Problem]:
    """Why ``env`` may not start an upgrade to ``target`` now (empty: it may)."""
    where = release_origin(env)
    if deployed.in_progress and deployed.upgrade is not None:
        return [Problem(where, "a second release change before the first completed: " + _unfinished(env.name, deployed.upgrade))]
    running = deployed.running
    if running is None:
        return [Problem(where, f"env/{env.name} was never compiled: there is nothing to upgrade (compile it at its current release first)")]
    if running == target:
        return [Problem(where, f"env/{env.name} already runs {target}: a change of image tags or digests within a release is a plain compile")]
    message = path_problem(running, target)
    if message is None:
        return []
    hops = steps(running, target)
    hint = f"; upgrade through {' -> '.join([running, *hops])}, one upgrade at a time" if len(hops) > 1 else ""
    return [Problem(where, message + hint)]


def compile_problems(env: Environment, deployed: Deployed) -> list[Problem]:
    """Why a plain compile of ``env`` must not write: an unfinished upgrade, or a release change outside ``upgrade``."""
    where = release_origin(env)
    if deployed.in_progress and deployed.upgrade is not None:
        state = deployed.upgrade
        return [Problem(where, f"env/{env.name} is at {state.label}: `ccp-gitops upgrade env/{env.name}` recompiles this phase, `--next` moves on (phases 1-{LAST})")]
    running = deployed.running
    if running is not None and running != env.release:
        return [Problem(where, f"openstack_release {env.release} differs from {running}, which env/{env.name} runs: a release change is a staged upgrade: `ccp-gitops upgrade env/{env.name} --to {env.release}` (docs/upgrades.md)")]
    return []


def version_step_problems(old: Environment, new: Environment) -> list[Problem]:
    """Infrastructure version steps the new release takes: RabbitMQ one minor series at a time, MariaDB
    (Galera) one documented series step at a time."""
    problems = []
    for name, comp in new.components.items():
        before = old.components.get(name)
        if before is None:
            continue
        for container, ref in sorted(comp.values["images"].items()):
            rule = STEP_RULES.get(_repository_name(ref))
            if rule is None:
                continue
            message = rule(str(before.values["images"].get(container, ref)), str(ref))
            if message is not None:
                where = comp.origin(("images", container)) or Location(f"components/{name}/component.yaml", 1, 1)
                problems.append(Problem(where, f"{name}: images.{container}: {message}"))
    return problems


# The images whose version steps are checked, by the last part of their repository name.
STEP_RULES: dict[str, Callable[[str, str], str | None]] = {"rabbitmq": rabbitmq_problem, "mariadb": mariadb_problem}


def _repository_name(ref: Any) -> str:
    repository = str(ref).rsplit("@", 1)[0].rsplit(":", 1)[0]
    return repository.rsplit("/", 1)[-1]
