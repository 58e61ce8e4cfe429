"""The run's one node and whether a pod may be scheduled on it (nodeSelector, required node affinity)."""

from __future__ import annotations

from tests.e2e.objects import Obj, RunError

NODE = "e2e-node"
# One all-in-one node, labelled as an operator labels the nodes of a small cloud: control plane,
# compute and network roles (the catalogue's default node label sets), and the well-known labels.
NODE_LABELS = {
    "kubernetes.io/hostname": NODE,
    "kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "openstack-control-plane": "enabled",
    "openstack-compute-node": "enabled",
    "openstack-network-node": "enabled",
}


def _expression_holds(expr: Obj) -> bool:
    key, op = str(expr["key"]), str(expr["operator"])
    values = [str(v) for v in expr.get("values") or []]
    if op == "In":
        return NODE_LABELS.get(key) in values
    if op == "NotIn":
        return NODE_LABELS.get(key) not in values
    if op == "Exists":
        return key in NODE_LABELS
    if op == "DoesNotExist":
        return key not in NODE_LABELS
    raise RunError(f"node affinity operator {op} is not supported by the runner")


def fits_node(spec: Obj) -> bool:
    """True when the pod's nodeSelector and required node affinity accept the run's node."""
    selector = {str(k): str(v) for k, v in (spec.get("nodeSelector") or {}).items()}
    if any(NODE_LABELS.get(k) != v for k, v in selector.items()):
        return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if not required:
        return True
    terms = required.get("nodeSelectorTerms") or []
    if any(t.get("matchFields") for t in terms):
        raise RunError("node affinity matchFields is not supported by the runner")
    return any(all(_expression_holds(e) for e in t.get("matchExpressions") or []) for t in terms)


def pod_hostname(spec: Obj, name: str) -> str:
    """The hostname a pod's containers see: the node's with hostNetwork (they share its UTS
    namespace), else `spec.hostname` or the pod's name."""
    if spec.get("hostNetwork"):
        return NODE
    return str(spec.get("hostname") or name)
