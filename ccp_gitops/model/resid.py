"""Object identity: ResId = (group, kind, namespace, name), like kustomize's api/resid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

# Kinds that are cluster-scoped in the APIs the catalogue uses.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        ("", "Namespace"),
        ("", "PersistentVolume"),
        ("", "Node"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("storage.k8s.io", "StorageClass"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("networking.k8s.io", "IngressClass"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("external-secrets.io", "ClusterSecretStore"),
        ("generators.external-secrets.io", "ClusterGenerator"),
    }
)


def split_api_version(api_version: str) -> tuple[str, str]:
    """``apps/v1`` -> (``apps``, ``v1``); ``v1`` -> (``""``, ``v1``)."""
    if "/" in api_version:
        group, _, version = api_version.partition("/")
        return group, version
    return "", api_version


@dataclass(frozen=True, order=True)
class ResId:
    """Identity of a Kubernetes object; the API version is not part of it."""

    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: Mapping[str, Any], default_namespace: str = "") -> ResId:
        group, _ = split_api_version(str(obj.get("apiVersion", "")))
        kind = str(obj.get("kind", ""))
        meta = obj.get("metadata") or {}
        namespace = str(meta.get("namespace") or "")
        if not namespace and (group, kind) not in CLUSTER_SCOPED_KINDS:
            namespace = default_namespace
        return cls(group, kind, namespace, str(meta.get("name", "")))

    @property
    def cluster_scoped(self) -> bool:
        return (self.group, self.kind) in CLUSTER_SCOPED_KINDS

    @property
    def group_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind

    def file_name(self) -> str:
        """Stable file name for the object inside its component folder."""
        return f"{self.kind.lower()}-{self.name}.yaml"

    def __str__(self) -> str:
        ns = self.namespace or "_cluster_"
        return f"{self.group_kind}/{ns}/{self.name}"

    @classmethod
    def parse(cls, text: str) -> ResId:
        """Inverse of ``str()``: ``Deployment.apps/openstack/keystone-api``."""
        group_kind, namespace, name = text.split("/", 2)
        kind, _, group = group_kind.partition(".")
        return cls(group, kind, "" if namespace == "_cluster_" else namespace, name)
