"""Text output of a diff for a terminal or a log: upgrades, rollout by wave, risks, then object changes."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any, Iterator

from ccp_gitops.compile.assemble import CONFIG_DIGEST
from ccp_gitops.diff.impact import KIND_ORDER, KIND_RANK, image_change_text
from ccp_gitops.diff.model import Cause, DiffReport, Endpoint, FieldChange, FileChange, OptionChange, Rerun, ResourceChange, Restart, wave_key

_SIMPLE = re.compile(r"^[A-Za-z0-9_./:@+=-][A-Za-z0-9_./:@+=, -]*$")
SIGNS = {"added": "+", "removed": "-", "changed": "~"}


@dataclass(frozen=True)
class Line:
    """One output line and the style it gets on a colour terminal (a rich style name, or "")."""

    text: str
    style: str = ""


def fmt_value(value: Any) -> str:
    """A compact one-line rendering of a JSON value (plain words bare, everything else as JSON)."""
    if isinstance(value, str) and _SIMPLE.match(value) and value.strip() == value:
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _multiline(item: FieldChange | OptionChange) -> bool:
    return any(isinstance(v, str) and "\n" in v for v in (item.old, item.new))


def change_text(item: FieldChange | OptionChange) -> str:
    """``old -> new``, ``added: new``, ``removed (was old)``, or the redacted forms."""
    if item.redacted and item.old is None and item.new is None:
        return {"add": "added (secret, redacted)", "remove": "removed (secret, redacted)"}.get(item.op, "changed (secret, redacted)")
    suffix = " (credentials masked)" if item.redacted else ""
    if item.op == "add":
        return f"added: {fmt_value(item.new)}{suffix}"
    if item.op == "remove":
        return f"removed (was {fmt_value(item.old)}){suffix}"
    return f"{fmt_value(item.old)} -> {fmt_value(item.new)}{suffix}"


def text_diff(old: Any, new: Any) -> list[str]:
    """Unified diff lines (no file header) of two multi-line strings."""
    a = str(old or "").splitlines()
    b = str(new or "").splitlines()
    return [line for line in difflib.unified_diff(a, b, lineterm="", n=2)][2:]


def field_lines(item: FieldChange) -> list[str]:
    if _multiline(item) and not (item.redacted and item.old is None and item.new is None):
        return [f"{item.path}: {item.op}d" if item.op != "change" else f"{item.path}:"] + ["  " + d for d in text_diff(item.old, item.new)]
    return [f"{item.path}: {change_text(item)}"]


def option_text(item: OptionChange) -> str:
    return f"[{item.section}] {item.option}: {change_text(item)}"


def file_lines(item: FileChange) -> list[str]:
    """A config file's changes: one line per INI option, or its unified diff."""
    verb = {"add": "added", "remove": "removed", "change": "changed"}[item.op]
    if item.format == "binary":
        return [f"{item.name}: binary data {verb}"]
    if item.format == "ini":
        head = f"{item.name}:" if item.op == "change" else f"{item.name} ({verb}):"
        return [head] + ["  " + option_text(o) for o in item.options]
    return [f"{item.name}: {verb} (text diff)"] + ["  " + line for line in item.unified.splitlines()]


def cause_text(cause: Cause) -> str:
    return f"{cause.cause:<9} {cause.detail}"


def shown_fields(item: ResourceChange) -> list[FieldChange]:
    """The fields worth a reader's time: the config digest is implied by the config-files annotation."""
    return [f for f in item.fields if not f.path.endswith(f'["{CONFIG_DIGEST}"]')]


def endpoint_label(ep: Endpoint) -> str:
    """``main@1a2b3c4d`` / ``main (no such branch)`` / ``source (commit 1a2b3c4d)``."""
    if ep.kind == "source":
        commit = ep.source_commit
        return f"source (commit {commit[:12]})" if commit and commit != "none" else "source"
    if ep.commit is None:
        return f"{ep.rev} (no such branch)"
    label = f"{ep.rev}@{ep.commit[:10]}"
    return label if ep.exists else f"{label} (no env folder)"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def env_counts(report: DiffReport, env: str) -> str:
    restarts = sum(1 for r in report.restarts if r.env == env)
    reruns = sum(1 for r in report.reruns if r.env == env)
    risks = sum(1 for r in report.risks if r.env == env)
    objects = ", ".join(f"{report.count(c, env)} {c}" for c in ("added", "changed", "removed"))
    return f"{objects}; {plural(restarts, 'restart')}, {plural(reruns, 'job run')}, {plural(risks, 'risk')}"


def rollout(report: DiffReport, env: str) -> list[Restart | Rerun]:
    """Restarts and reruns of one environment together, in the order Argo CD applies them."""
    items: list[Restart | Rerun] = [r for r in report.restarts if r.env == env] + [r for r in report.reruns if r.env == env]
    return sorted(items, key=lambda r: (wave_key(r.wave, r.component), KIND_RANK.get(r.id.kind, len(KIND_ORDER)), str(r.id)))


def rollout_step(item: Restart | Rerun) -> tuple[str, str, str]:
    """(action, object, remark) of one rollout step: restart, rerun (replacing a Job) or run (a new Job)."""
    if isinstance(item, Restart):
        return "restart", str(item.id), ""
    if item.replaces is not None:
        return "rerun", str(item.id), f"replaces {item.replaces.name}"
    return "run", str(item.id), "new Job"


def rollout_head(item: Restart | Rerun) -> str:
    action, name, remark = rollout_step(item)
    return f"{action:<7} {name}" + (f" ({remark})" if remark else "")


def wave_label(wave: int | None) -> str:
    return "wave ?" if wave is None else f"wave {wave}"


def _resource_lines(item: ResourceChange) -> Iterator[Line]:
    style = {"added": "green", "removed": "red", "changed": "yellow"}[item.change]
    yield Line(f"    {SIGNS[item.change]} {item.id}", style)
    for field in shown_fields(item):
        for n, text in enumerate(field_lines(field)):
            yield Line(f"        {text}", _diff_style(text) if n else "")
    for config in item.files:
        for n, text in enumerate(file_lines(config)):
            yield Line(f"        {text}", _diff_style(text.strip()) if n else "")


def _diff_style(text: str) -> str:
    stripped = text.strip()
    if stripped.startswith("+") and not stripped.startswith("+++"):
        return "green"
    if stripped.startswith("-") and not stripped.startswith("---"):
        return "red"
    return "dim" if stripped.startswith("@@") else ""


def _upgrade_lines(report: DiffReport, env: str) -> list[Line]:
    """The release and component upgrades of ``env``, then the phases of a release upgrade."""
    out: list[Line] = []
    releases = [r for r in report.releases if r.env == env]
    upgrades = [u for u in report.upgrades if u.env == env]
    if releases or upgrades:
        out.append(Line(""))
        out.append(Line("Upgrades", "bold"))
        for rel in releases:
            out.append(Line(f"  OpenStack release {rel.old} -> {rel.new}", "cyan"))
        for up in upgrades:
            version = f" {up.old_version} -> {up.new_version}" if up.old_version != up.new_version else ""
            out.append(Line(f"  {up.component} ({wave_label(up.wave)}){version}"))
            for image in up.images:
                out.append(Line(f"    {image.name}: {image_change_text(image.old, image.new)}", "cyan"))
    phases = [p for p in report.phases if p.env == env]
    if phases:
        out.append(Line(""))
        out.append(Line(f"Upgrade phases (one commit each: ccp-gitops upgrade env/{env} --to {releases[0].new if releases else '...'}, then --next)", "bold"))
        for phase in phases:
            out.append(Line(f"  phase {phase.number} {phase.name}: {phase.summary}", "bold"))
            out.extend(Line(f"    {step}", "magenta") for step in phase.steps)
            out.extend(Line(f"    risk {risk}", "yellow") for risk in phase.risks)
    return out


def report_lines(report: DiffReport) -> list[Line]:
    """The whole text report as styled lines."""
    out: list[Line] = []
    for info in report.environments:
        env = info.name
        if out:
            out.append(Line(""))
        out.append(Line(f"env/{env}: {endpoint_label(info.old)} -> {endpoint_label(info.new)}", "bold"))
        comps = report.components(env)
        if not comps and not any(r.env == env for r in report.releases):
            out.append(Line("  no changes"))
            continue
        out.append(Line(f"  {env_counts(report, env)}"))
        out.extend(_upgrade_lines(report, env))
        steps = rollout(report, env)
        if steps:
            out.append(Line(""))
            out.append(Line("Rollout (in sync-wave order)", "bold"))
            current: object = object()
            for step in steps:
                if step.wave != current:
                    current = step.wave
                    out.append(Line(f"  {wave_label(step.wave)}", "bold"))
                out.append(Line(f"    {rollout_head(step)}", "magenta"))
                if isinstance(step, Restart) and step.note:
                    out.append(Line(f"        note: {step.note}"))
                for cause in step.causes:
                    out.append(Line(f"        {cause_text(cause)}"))
        risks = [r for r in report.risks if r.env == env]
        if risks:
            out.append(Line(""))
            out.append(Line("Risks", "bold"))
            for risk in risks:
                style = "bold red" if risk.severity == "high" else "yellow"
                subject = str(risk.id) if risk.id else f"component {risk.component}"
                out.append(Line(f"  {risk.severity.upper():<6} {subject} [{risk.rule}]", style))
                out.append(Line(f"         {risk.message}"))
        resources = [r for r in report.resources if r.env == env]
        if resources:
            out.append(Line(""))
            out.append(Line("Changes", "bold"))
            for comp, wave in comps:
                items = [r for r in resources if r.component == comp]
                if items:
                    out.append(Line(f"  {comp or '(env root)'} ({wave_label(wave)})", "bold"))
                    for item in items:
                        out.extend(_resource_lines(item))
    return out


def render_text(report: DiffReport) -> str:
    """Plain text (no colour), ending in a newline."""
    return "".join(line.text + "\n" for line in report_lines(report))
