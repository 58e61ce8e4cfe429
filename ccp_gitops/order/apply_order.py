"""Apply order: how Argo CD (gitops-engine sync tasks) and Flux (staged server-side apply) order a tree's objects."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Mapping, Sequence

from ccp_gitops.compile.waves import ATOI, SYNC_WAVE
from ccp_gitops.model.resid import CLUSTER_SCOPED_KINDS, split_api_version

HOOK = "argocd.argoproj.io/hook"
HELM_HOOK = "helm.sh/hook"
HELM_HOOK_WEIGHT = "helm.sh/hook-weight"

# gitops-engine pkg/sync/sync_tasks.go: syncPhaseOrder.
PHASE_ORDER: Final[Mapping[str, int]] = MappingProxyType({"PreSync": -1, "Sync": 0, "PostSync": 1, "SyncFail": 2})
HELM_PHASES: Final[Mapping[str, str]] = MappingProxyType(
    {"pre-install": "PreSync", "pre-upgrade": "PreSync", "post-install": "PostSync", "post-upgrade": "PostSync"}
)
# gitops-engine kindOrder: kind i gets rank i - len(KIND_ORDER); a kind not listed (every custom
# resource) gets 0, after all of these in the same phase and wave. Keyed by kind only, not group.
KIND_ORDER = (
    "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
    "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume",
    "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
    "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod",
    "ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job",
    "CronJob", "IngressClass", "Ingress", "APIService",
)  # fmt: skip
KIND_RANK: Final[Mapping[str, int]] = MappingProxyType({kind: i - len(KIND_ORDER) for i, kind in enumerate(KIND_ORDER)})

# fluxcd/pkg ssa ApplyAllStaged: each stage is applied, then waited on, before the next one.
FLUX_DEFINITIONS = "cluster definitions"
FLUX_CLASSES = "class definitions"
FLUX_RESOURCES = "resources"


@dataclass
class Task:
    """One object as the engine handles it: identity plus (Argo CD) phase and wave or (Flux) stage."""

    api_version: str
    kind: str
    namespace: str
    name: str
    phase: str = "Sync"
    wave: int = 0
    stage: str = ""
    crd_target: str = ""  # for a CRD: "group/Kind" of the resources it defines

    @property
    def group(self) -> str:
        return split_api_version(self.api_version)[0]

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.namespace + '/' if self.namespace else ''}{self.name}"


def _meta(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = manifest.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _annotations(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    annotations = _meta(manifest).get("annotations")
    return annotations if isinstance(annotations, dict) else {}


def _atoi(text: Any) -> int | None:
    return int(text) if isinstance(text, str) and ATOI.match(text) else None


def argo_wave(manifest: Mapping[str, Any]) -> int:
    """pkg/sync/syncwaves: the sync-wave annotation if it parses, else the Helm hook weight, else 0."""
    annotations = _annotations(manifest)
    wave = _atoi(annotations.get(SYNC_WAVE))
    if wave is None:
        wave = _atoi(annotations.get(HELM_HOOK_WEIGHT))
    return wave if wave is not None else 0


def argo_phases(manifest: Mapping[str, Any]) -> list[str]:
    """The sync phases an object runs in: ``Sync`` for ordinary resources, the hook types for hooks.

    Argo CD hook annotations win over Helm ones; ``Skip`` and the deletion hooks take no part in a sync.
    """
    annotations = _annotations(manifest)
    if HOOK in annotations:
        hooks = [h.strip() for h in str(annotations[HOOK]).split(",")]
        return [h for h in hooks if h in PHASE_ORDER]
    if HELM_HOOK in annotations:
        hooks = [HELM_PHASES.get(h.strip(), "") for h in str(annotations[HELM_HOOK]).split(",")]
        return sorted({h for h in hooks if h}, key=PHASE_ORDER.__getitem__)
    return ["Sync"]


def _task(manifest: Mapping[str, Any], default_namespace: str = "") -> Task:
    meta = _meta(manifest)
    crd_target = ""
    if manifest.get("kind") == "CustomResourceDefinition":
        spec = manifest.get("spec") or {}
        crd_target = f"{spec.get('group', '')}/{(spec.get('names') or {}).get('kind', '')}"
    api_version, kind = str(manifest.get("apiVersion", "")), str(manifest.get("kind", ""))
    if (split_api_version(api_version)[0], kind) in CLUSTER_SCOPED_KINDS:
        default_namespace = ""
    return Task(api_version, kind, str(meta.get("namespace") or default_namespace), str(meta.get("name", "")), crd_target=crd_target)


def _adjust(tasks: list[Task], dep_key: Any, ref_key: Any) -> None:
    """syncTasks.adjustDeps: move a dependency ahead of its first referrer, taking its phase and wave."""
    first: dict[str, int] = {}
    for i in range(len(tasks)):
        task = tasks[i]
        key = dep_key(task)
        if key is not None:
            index = first.get(key)
            if index is not None:
                task.wave, task.phase = tasks[index].wave, tasks[index].phase
                tasks[index + 1 : i + 1] = tasks[index:i]
                tasks[index] = task
                for k, v in first.items():
                    if v >= index:
                        first[k] = v + 1
        else:
            ref = ref_key(task)
            if ref is not None and ref not in first:
                first[ref] = i


def argo_sync_order(manifests: Sequence[Mapping[str, Any]], default_namespace: str = "") -> list[Task]:
    """The order of an Argo CD sync: by phase, wave, kind rank and name, then Namespaces and CRDs
    moved ahead of the first object that needs them. Exact ties (which Go's unstable sort leaves
    undefined) are broken by group and namespace so that the answer is deterministic."""
    tasks: list[Task] = []
    for manifest in manifests:
        for phase in argo_phases(manifest):
            task = _task(manifest, default_namespace)
            task.phase, task.wave = phase, argo_wave(manifest)
            tasks.append(task)
    tasks.sort(key=lambda t: (PHASE_ORDER[t.phase], t.wave, KIND_RANK.get(t.kind, 0), t.name, t.group, t.namespace))
    _adjust(
        tasks,
        lambda t: t.name if t.kind == "Namespace" and t.group == "" else None,
        lambda t: t.namespace or None,
    )
    _adjust(
        tasks,
        lambda t: t.crd_target if t.crd_target and t.group == "apiextensions.k8s.io" else None,
        lambda t: f"{t.group}/{t.kind}",
    )
    return tasks


def flux_stage(task: Task) -> str:
    """Which ApplyAllStaged stage an object belongs to."""
    if (task.kind == "CustomResourceDefinition" and task.group == "apiextensions.k8s.io") or (
        task.kind == "Namespace" and task.api_version == "v1"
    ):
        return FLUX_DEFINITIONS
    if task.kind == "ClusterRole" and task.group == "rbac.authorization.k8s.io":
        return FLUX_DEFINITIONS
    if task.kind.endswith("Class"):
        return FLUX_CLASSES
    return FLUX_RESOURCES


def flux_apply_stages(manifests: Sequence[Mapping[str, Any]], default_namespace: str = "") -> list[tuple[str, list[Task]]]:
    """Flux's stages for one Kustomization, non-empty ones only, objects in kustomize build (FIFO) order."""
    stages: dict[str, list[Task]] = {FLUX_DEFINITIONS: [], FLUX_CLASSES: [], FLUX_RESOURCES: []}
    for manifest in manifests:
        task = _task(manifest, default_namespace)
        task.stage = flux_stage(task)
        stages[task.stage].append(task)
    return [(name, tasks) for name, tasks in stages.items() if tasks]
