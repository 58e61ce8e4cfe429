"""The README chapter on delivery: how to bootstrap each engine, what it creates, and why it is built this way."""

from __future__ import annotations

from ccp_gitops.delivery.settings import CLUSTERS_DIR, Delivery
from ccp_gitops.model.environment import Environment
from ccp_gitops.model.objects import Obj


def _kinds(objs: list[Obj]) -> str:
    kinds = sorted({o.id.group_kind for o in objs if o.id.cluster_scoped and o.id.kind != "Namespace"})
    return ", ".join(f"`{k}`" for k in kinds)


def readme_section(env: Environment, d: Delivery, objs: list[Obj]) -> str:
    """The README's delivery chapter: how to bootstrap each engine and why it is built this way."""
    clusters = ", ".join(f"`{t.key}`" for t in d.targets) if d.fleet else f"`{d.targets[0].server or d.targets[0].name}`"
    out = [
        "## Delivery",
        "",
        f"Env repo `{d.repo_url}`, branch `{d.branch}`; {'fleet' if d.fleet else 'cluster'}: {clusters}; namespace `{d.namespace}`.",
        "`ccp-gitops plan env/" + d.env + "` prints the order in which each engine applies this environment.",
        "",
        "Inside every component, objects carry resource waves (`argocd.argoproj.io/sync-wave`): 0 secret generators,",
        "1 ExternalSecrets, 2 configuration (ConfigMaps, Services, RBAC, volumes), 3 Jobs, 4 workloads, 5 Ingresses and",
        "LoadBalancer Services (after the workloads they route to); an object that waits for another one (a Deployment",
        "for its db-sync Job, a bootstrap Job for its API Service) goes after it. Generated passwords (ExternalSecrets and their generators) and",
        "PersistentVolumeClaims carry `argocd.argoproj.io/sync-options: Prune=false,Delete=false` and",
        "`kustomize.toolkit.fluxcd.io/prune: disabled`: removing a component never regenerates a password or drops data.",
    ]
    if "argocd" in d.engines:
        out += _argocd_section(d, objs)
    if "flux" in d.engines:
        out += _flux_section(d)
    return "\n".join(out) + "\n"


def _argocd_section(d: Delivery, objs: list[Obj]) -> list[str]:
    """How Argo CD is bootstrapped, what it creates, and why argocd-cm gets a health check."""
    root = f"ApplicationSet `{d.env}` (one app of apps per cluster, syncing `{d.root}/{d.folder('argocd')}/{CLUSTERS_DIR}/<cluster>`)" if d.fleet else f"Application `{d.env}` (the app of apps, syncing `{d.root}/{d.folder('argocd')}`)"
    out = [
        "",
        "### Argo CD",
        "",
        "Bootstrap once, and again when the delivery settings or the cluster-scoped kinds change:",
        "",
        "```sh",
        f"kubectl apply -k {d.root}/{d.bootstrap('argocd')}",
        "```",
        "",
        f"- AppProject `{d.project}`: components come only from the env repo, go only to namespace `{d.namespace}` of the",
        f"  environment's cluster(s), and may create only Namespace `{d.namespace}`" + (f" and {_kinds(objs)}" if _kinds(objs) else "") + " at cluster scope.",
        f"- AppProject `{d.project}-root`: the app of apps may only create Applications in `{d.argocd_namespace}`.",
        f"- {root}: one Application per component with `argocd.argoproj.io/sync-wave` set to the component's wave,",
        "  automated sync with prune and self-heal, retries with backoff, `CreateNamespace=true` and `PruneLast=true`",
        "  (Jobs are named after their content, so the old ones are pruned once the new ones are healthy).",
        f"- ConfigMap `{d.argocd_namespace}/argocd-cm`, key `resource.customizations.health.argoproj.io_Application`.",
        "",
        "**Why argocd-cm.** Argo CD 1.8 removed the health check of `Application` resources. Without it a child",
        "Application counts as healthy the moment it exists, so the app of apps creates every wave at once and a",
        "service starts before the database and message queue it needs. The key restores the check (Progressing",
        "until the child reports its health, then the child's own health), so wave N+1 starts only once every",
        "Application of wave N is Healthy. `kubectl apply` adds this one key and leaves the rest of argocd-cm alone;",
        "if argocd-cm is managed elsewhere (the Helm chart's `configs.cm`, an operator), add the key there instead.",
        "Caveat (argo-cd#4577): on an update a child can report its previous Healthy status for a moment, so waves",
        "order first installs strictly and upgrades on a best-effort basis.",
    ]
    return out


def _flux_section(d: Delivery) -> list[str]:
    """How Flux is bootstrapped and what it creates."""
    out = [
        "",
        "### Flux",
        "",
        "Bootstrap once, and again when the delivery settings change:",
        "",
        "```sh",
        f"kubectl apply -k {d.root}/{d.bootstrap('flux')}",
        "```",
        "",
        f"- GitRepository `{d.flux_namespace}/{d.env}`: branch `{d.branch}`, only `{d.root}/` in the artifact.",
        f"- Kustomization `{d.flux_namespace}/{d.env}` applies `{d.root}/{d.folder('flux')}`: one Kustomization per component"
        + (" and cluster" if d.fleet else "") + " with `dependsOn` its dependencies,",
        "  `wait: true` (a dependency is ready only once all its objects are healthy), a timeout, prune and a retry",
        "  interval, after a Kustomization that creates the namespace (Flux does not create namespaces).",
        "- No post-build substitution: `${...}` in rendered configuration files reaches the pods unchanged.",
    ]
    remote = [f"`{t.kubeconfig_secret}`" for t in d.targets if t.kubeconfig_secret]
    if remote:
        out.append(f"- Remote clusters are reached through kubeConfig Secrets (key `value`) in `{d.flux_namespace}`: {', '.join(remote)}.")
    return out
