"""JSON output of a diff: the stable, documented schema in schemas/diff-report.schema.json."""

from __future__ import annotations

import json
from typing import Any

from ccp_gitops.diff.model import (
    Cause,
    DiffReport,
    Endpoint,
    FieldChange,
    FileChange,
    OptionChange,
    ResourceChange,
)
from ccp_gitops.model.resid import ResId
from ccp_gitops.source.catalogue import SCHEMA_DIR

SCHEMA_VERSION = 1
SCHEMA_PATH = SCHEMA_DIR / "diff-report.schema.json"
SCHEMA_ID = "https://ccp-gitops.dev/schemas/diff-report.schema.json"


def _values(item: FieldChange | OptionChange) -> dict[str, Any]:
    out: dict[str, Any] = {"op": item.op}
    if item.redacted:
        out["redacted"] = True
    if item.op != "add" and (item.old is not None or not item.redacted):
        out["old"] = item.old
    if item.op != "remove" and (item.new is not None or not item.redacted):
        out["new"] = item.new
    return out


def _field(item: FieldChange) -> dict[str, Any]:
    return {"path": item.path, **_values(item)}


def _option(item: OptionChange) -> dict[str, Any]:
    return {"section": item.section, "option": item.option, **_values(item)}


def _file(item: FileChange) -> dict[str, Any]:
    out: dict[str, Any] = {"name": item.name, "op": item.op, "format": item.format}
    if item.format == "ini":
        out["options"] = [_option(o) for o in item.options]
    elif item.format == "text":
        out["unified_diff"] = item.unified
    return out


def _id(rid: ResId) -> dict[str, Any]:
    return {"id": str(rid), "group": rid.group, "kind": rid.kind, "namespace": rid.namespace, "name": rid.name}


def _resource(item: ResourceChange) -> dict[str, Any]:
    out: dict[str, Any] = {"env": item.env, **_id(item.id), "component": item.component, "wave": item.wave, "change": item.change}
    out["fields"] = [_field(f) for f in item.fields]
    out["config_files"] = [_file(f) for f in item.files]
    return out


def _cause(item: Cause) -> dict[str, Any]:
    out: dict[str, Any] = {"cause": item.cause, "detail": item.detail}
    if item.container is not None:
        out["container"] = item.container
    if item.file is not None:
        out["file"] = item.file
    return out


def _endpoint(item: Endpoint) -> dict[str, Any]:
    return {
        "kind": item.kind,
        "rev": item.rev,
        "commit": item.commit,
        "exists": item.exists,
        "source_commit": item.source_commit,
        "compiler_version": item.compiler_version,
        "openstack_release": item.openstack_release,
    }


def report_data(report: DiffReport) -> dict[str, Any]:
    """The report as plain JSON data, keys in schema order."""
    return {
        "schema_version": SCHEMA_VERSION,
        "summary": {
            "added": report.count("added"),
            "changed": report.count("changed"),
            "removed": report.count("removed"),
            "upgrades": len(report.upgrades) + len(report.releases),
            "restarts": len(report.restarts),
            "reruns": len(report.reruns),
            "risks": len(report.risks),
        },
        "environments": [{"name": e.name, "from": _endpoint(e.old), "to": _endpoint(e.new)} for e in report.environments],
        "resources": [_resource(r) for r in report.resources],
        "upgrades": {
            "releases": [{"env": r.env, "old": r.old, "new": r.new} for r in report.releases],
            "components": [
                {
                    "env": u.env,
                    "component": u.component,
                    "wave": u.wave,
                    "version": {"old": u.old_version, "new": u.new_version},
                    "images": [{"name": i.name, "op": i.op, "old": i.old, "new": i.new} for i in u.images],
                }
                for u in report.upgrades
            ],
        },
        "restarts": [
            {"env": r.env, **_id(r.id), "component": r.component, "wave": r.wave, "causes": [_cause(c) for c in r.causes], "note": r.note}
            for r in report.restarts
        ],
        "reruns": [
            {
                "env": r.env,
                **_id(r.id),
                "component": r.component,
                "wave": r.wave,
                "job": r.job,
                "replaces": str(r.replaces) if r.replaces else None,
                "causes": [_cause(c) for c in r.causes],
            }
            for r in report.reruns
        ],
        "risks": [
            {
                "env": r.env,
                "id": str(r.id) if r.id else None,
                "component": r.component,
                "wave": r.wave,
                "severity": r.severity,
                "rule": r.rule,
                "message": r.message,
            }
            for r in report.risks
        ],
    }


def with_phases(data: dict[str, Any], report: DiffReport) -> dict[str, Any]:
    """``upgrade_phases`` when the change is a release upgrade (absent otherwise)."""
    if report.phases:
        data["upgrade_phases"] = [
            {"env": p.env, "phase": p.number, "name": p.name, "summary": p.summary, "steps": p.steps, "risks": p.risks}
            for p in report.phases
        ]
    return data


def render_json(report: DiffReport) -> str:
    """Pretty JSON (two-space indent, schema key order, UTF-8 as is), ending in a newline."""
    return json.dumps(with_phases(report_data(report), report), indent=2, ensure_ascii=False) + "\n"
