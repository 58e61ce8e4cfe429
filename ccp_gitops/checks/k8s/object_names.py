"""Object names and metadata: what the API server checks beyond the OpenAPI schema (names, labels, annotations)."""

from __future__ import annotations

import re
from typing import Any, Callable, Iterator

from ccp_gitops.source.schema_messages import short

_DNS1123_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_LABEL_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

_RBAC_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})
_RBAC_GROUP = "rbac.authorization.k8s.io"


def _is_dns1123_label(name: str) -> bool:
    return len(name) <= 63 and _DNS1123_LABEL_RE.match(name) is not None


def _is_dns1123_subdomain(name: str, limit: int = 253) -> bool:
    return len(name) <= limit and _DNS1123_SUBDOMAIN_RE.match(name) is not None


def _is_dns1035_label(name: str) -> bool:
    return len(name) <= 63 and _DNS1035_LABEL_RE.match(name) is not None


def _is_path_segment(name: str) -> bool:
    return name not in {".", ".."} and "/" not in name and "%" not in name


def _is_cronjob_name(name: str) -> bool:
    return _is_dns1123_subdomain(name, 52)


def _name_rule(group: str, kind: str, version: tuple[int, int]) -> tuple[str, Callable[[str], bool]]:
    """How the API server validates ``metadata.name`` of this kind: (description, predicate).

    Where a rule changed across versions or is unclear, the looser one is used: a check must
    never refuse a name the API server accepts.
    """
    label = "a DNS-1123 label (lowercase alphanumerics and '-', starting and ending alphanumeric, at most 63 characters)"
    if group == "" and kind == "Namespace":
        return label, _is_dns1123_label
    if group == "" and kind == "Service":
        if version <= (1, 34):  # RelaxedServiceNameValidation: alpha and off by default in 1.34
            return (
                "a DNS-1035 label (lowercase alphanumerics and '-', starting with a letter, at most 63 characters)",
                _is_dns1035_label,
            )
        return label, _is_dns1123_label
    if group == "apps" and kind == "StatefulSet":
        # Newer servers require a label; a dotted name never worked, its pods cannot be created.
        return label, _is_dns1123_label
    if (group == _RBAC_GROUP and kind in _RBAC_KINDS) or (
        group == "policy" and kind == "PodDisruptionBudget"
    ):
        return "a valid path segment (not '.' or '..', without '/' or '%')", _is_path_segment
    if group == "batch" and kind == "CronJob":
        return "a DNS-1123 subdomain of at most 52 characters", _is_cronjob_name
    return (
        "a DNS-1123 subdomain (lowercase alphanumerics, '-' and '.', starting and ending alphanumeric, "
        "at most 253 characters)",
        _is_dns1123_subdomain,
    )


def _qualified_name_problem(key: str) -> str | None:
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS1123_SUBDOMAIN_RE.match(prefix)):
        return "its prefix must be a DNS-1123 subdomain"
    if not name or len(name) > 63 or not _QUALIFIED_NAME_RE.match(name):
        return "its name part must be 1-63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric"
    return None


def metadata_problems(
    group: str, kind: str, version: tuple[int, int], metadata: Any
) -> Iterator[tuple[list[str | int], str]]:
    if not isinstance(metadata, dict):
        return  # the schema reports a missing or mistyped metadata
    name = metadata.get("name")
    if name is None or name == "":
        if not metadata.get("generateName"):
            yield ["metadata", "name"], "required field is missing"
    elif isinstance(name, str):
        rule, predicate = _name_rule(group, kind, version)
        if not predicate(name):
            yield ["metadata", "name"], f"{name!r} is not {rule}"
    namespace = metadata.get("namespace")
    if isinstance(namespace, str) and namespace and not _is_dns1123_label(namespace):
        yield ["metadata", "namespace"], f"{namespace!r} is not a DNS-1123 label"
    labels = metadata.get("labels")
    if isinstance(labels, dict):
        for key, value in labels.items():
            if isinstance(key, str) and (reason := _qualified_name_problem(key)):
                yield ["metadata", "labels", key], f"invalid label key: {reason}"
            if isinstance(value, str) and not (len(value) <= 63 and _LABEL_VALUE_RE.match(value)):
                yield (
                    ["metadata", "labels", key],
                    (
                        f"invalid label value {short(value)}: at most 63 alphanumerics, '-', '_' or '.', "
                        "starting and ending alphanumeric"
                    ),
                )
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict):
        for key in annotations:
            if isinstance(key, str) and (reason := _qualified_name_problem(key)):
                yield ["metadata", "annotations", key], f"invalid annotation key: {reason}"

