"""Schema checks against the real bundled Kubernetes schemas and the real CRDs in ../shared/crds."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from ccp_gitops.checks.k8s.schema import (
    SchemaChecker,
    UnsupportedKubernetesVersion,
    resolve_version,
    supported_versions,
)
from ccp_gitops.model.problems import Location

CRDS = Path(__file__).resolve().parents[1].parent / "shared" / "crds"
ORIGIN = Location("env/dev/keystone/deployment-keystone-api.yaml", 1, 1)


@pytest.fixture(scope="module")
def checker() -> SchemaChecker:
    return SchemaChecker("1.33", [CRDS])


def deployment() -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": "keystone", "app.kubernetes.io/component": "api"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "keystone-api", "namespace": "openstack", "labels": dict(labels)},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": dict(labels)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"}},
            "template": {
                "metadata": {
                    "labels": dict(labels),
                    "annotations": {"ccp.openstack.org/config-digest": "abc123"},
                },
                "spec": {
                    "containers": [
                        {
                            "name": "keystone-api",
                            "image": "registry.example.org/openstack/keystone:2024.1",
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["keystone-wsgi-public"],
                            "ports": [{"name": "api", "containerPort": 5000, "protocol": "TCP"}],
                            "env": [
                                {"name": "OS_LOG_LEVEL", "value": "INFO"},
                                {
                                    "name": "DB_PASSWORD",
                                    "valueFrom": {"secretKeyRef": {"name": "keystone-db", "key": "password"}},
                                },
                            ],
                            "resources": {
                                "requests": {"cpu": "250m", "memory": "512Mi"},
                                "limits": {"memory": "1Gi"},
                            },
                            "readinessProbe": {
                                "httpGet": {"path": "/v3", "port": "api"},
                                "periodSeconds": 10,
                            },
                            "volumeMounts": [{"name": "etc", "mountPath": "/etc/keystone", "readOnly": True}],
                        }
                    ],
                    "volumes": [{"name": "etc", "configMap": {"name": "keystone-etc"}}],
                },
            },
        },
    }


def password() -> dict[str, Any]:
    return {
        "apiVersion": "generators.external-secrets.io/v1alpha1",
        "kind": "Password",
        "metadata": {"name": "keystone-db-password", "namespace": "openstack"},
        # allowRepeat, length and noUpper are required but defaulted, so they may be omitted.
        "spec": {"digits": 5, "symbols": 0},
    }


def external_secret() -> dict[str, Any]:
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "keystone-db", "namespace": "openstack"},
        "spec": {
            "refreshInterval": "0",
            "refreshPolicy": "CreatedOnce",
            "target": {"name": "keystone-db", "creationPolicy": "Owner"},
            "dataFrom": [
                {
                    "sourceRef": {
                        "generatorRef": {
                            "apiVersion": "generators.external-secrets.io/v1alpha1",
                            "kind": "Password",
                            "name": "keystone-db-password",
                        }
                    }
                }
            ],
        },
    }


def messages(checker: SchemaChecker, obj: dict[str, Any]) -> list[str]:
    return [p.message for p in checker.check(obj, ORIGIN)]


def test_supported_versions_and_mapping() -> None:
    versions = supported_versions()
    assert "1.33" in versions
    assert resolve_version("1.33") == "1.33"
    assert resolve_version("v1.33.4") == "1.33"
    with pytest.raises(UnsupportedKubernetesVersion, match="older"):
        resolve_version("1.1")
    with pytest.raises(UnsupportedKubernetesVersion, match="newer"):
        resolve_version("1.999")
    with pytest.raises(UnsupportedKubernetesVersion, match="not a version"):
        resolve_version("latest")


def test_valid_deployment_passes(checker: SchemaChecker) -> None:
    assert checker.check(deployment(), ORIGIN) == []


def test_unknown_field_reported_with_path(checker: SchemaChecker) -> None:
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    problems = checker.check(obj, ORIGIN)
    assert [p.message for p in problems] == [
        "Deployment.apps/openstack/keystone-api: spec.template.spec.containers[0].imagePullPolcy: "
        "unknown field (did you mean 'imagePullPolicy'?)"
    ]
    assert problems[0].location == ORIGIN


def test_unknown_metadata_field_reported(checker: SchemaChecker) -> None:
    obj = deployment()
    obj["metadata"]["label"] = {"a": "b"}
    assert messages(checker, obj) == [
        "Deployment.apps/openstack/keystone-api: metadata.label: unknown field (did you mean 'labels'?)"
    ]


def test_wrong_type_reported(checker: SchemaChecker) -> None:
    obj = deployment()
    obj["spec"]["replicas"] = "3"
    obj["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = [5000]
    assert messages(checker, obj) == [
        "Deployment.apps/openstack/keystone-api: spec.replicas: expected integer, got string '3'",
        "Deployment.apps/openstack/keystone-api: spec.template.spec.containers[0].ports[0].containerPort: "
        "expected integer, got array [5000]",
    ]


def test_enum_quantity_and_int_range(checker: SchemaChecker) -> None:
    obj = deployment()
    container = obj["spec"]["template"]["spec"]["containers"][0]
    container["imagePullPolicy"] = "Sometimes"
    container["resources"]["limits"]["memory"] = "1GB"
    obj["spec"]["replicas"] = 2**40
    assert messages(checker, obj) == [
        "Deployment.apps/openstack/keystone-api: spec.replicas: 1099511627776 is out of range (maximum 2147483647)",
        "Deployment.apps/openstack/keystone-api: spec.template.spec.containers[0].imagePullPolicy: "
        "'Sometimes' is not one of ['Always', 'Never', 'IfNotPresent']",
        "Deployment.apps/openstack/keystone-api: spec.template.spec.containers[0].resources.limits.memory: "
        "'1GB' is not a Kubernetes quantity such as 500m, 2, 1Gi or 1e3",
    ]


def test_missing_required_field(checker: SchemaChecker) -> None:
    obj = deployment()
    del obj["spec"]["template"]["spec"]["containers"][0]["name"]
    assert messages(checker, obj) == [
        "Deployment.apps/openstack/keystone-api: spec.template.spec.containers[0]: 'name' is a required property"
    ]


def test_int_or_string_accepts_both_and_null(checker: SchemaChecker) -> None:
    obj = deployment()
    obj["spec"]["strategy"]["rollingUpdate"] = {"maxUnavailable": None, "maxSurge": 1}
    obj["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"] = 5000
    assert checker.check(obj, ORIGIN) == []


def test_names_and_labels_checked(checker: SchemaChecker) -> None:
    obj = deployment()
    obj["metadata"]["name"] = "Keystone_API"
    obj["metadata"]["labels"]["app.kubernetes.io/version"] = "2024.1+build.7"
    assert messages(checker, obj) == [
        'Deployment.apps/openstack/Keystone_API: metadata.labels["app.kubernetes.io/version"]: invalid label '
        "value '2024.1+build.7': at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric",
        "Deployment.apps/openstack/Keystone_API: metadata.name: 'Keystone_API' is not a DNS-1123 subdomain "
        "(lowercase alphanumerics, '-' and '.', starting and ending alphanumeric, at most 253 characters)",
    ]
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "ccp:reader"},
    }
    assert checker.check(role, ORIGIN) == []


@pytest.mark.parametrize(
    ("version", "kind", "name", "valid"),
    [
        ("1.33", "Service", "keystone-api", True),
        ("1.33", "Service", "1keystone", False),  # DNS-1035 label before RelaxedServiceNameValidation
        ("1.37", "Service", "1keystone", True),
        ("1.33", "Service", "keystone.api", False),
        ("1.33", "Namespace", "openstack", True),
        ("1.33", "Namespace", "open.stack", False),
        ("1.33", "ConfigMap", "keystone.etc", True),
        ("1.33", "ConfigMap", "a" * 254, False),
    ],
)
def test_name_rules_per_kind(version: str, kind: str, name: str, valid: bool) -> None:
    checker = SchemaChecker(version, [])
    obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}}
    assert (checker.check(obj, ORIGIN) == []) is valid


def test_statefulset_and_cronjob_names(checker: SchemaChecker) -> None:
    sts = deployment()
    sts["kind"] = "StatefulSet"
    del sts["spec"]["strategy"]
    sts["spec"]["serviceName"] = "mariadb"
    sts["metadata"]["name"] = "mariadb.galera"
    assert messages(checker, sts) == [
        "StatefulSet.apps/openstack/mariadb.galera: metadata.name: 'mariadb.galera' is not a DNS-1123 label "
        "(lowercase alphanumerics and '-', starting and ending alphanumeric, at most 63 characters)"
    ]
    cron: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "k" * 53, "namespace": "openstack"},
        "spec": {
            "schedule": "@hourly",
            "jobTemplate": {"spec": {"template": deployment()["spec"]["template"]}},
        },
    }
    assert len(messages(checker, cron)) == 1
    cron["metadata"]["name"] = "keystone-token-flush"
    assert messages(checker, cron) == []


def test_external_secret_with_password_generator_passes(checker: SchemaChecker) -> None:
    assert checker.check(password(), ORIGIN) == []
    assert checker.check(external_secret(), ORIGIN) == []


def test_external_secret_v1beta1_not_served(checker: SchemaChecker) -> None:
    obj = external_secret()
    obj["apiVersion"] = "external-secrets.io/v1beta1"
    assert messages(checker, obj) == [
        "ExternalSecret.external-secrets.io/openstack/keystone-db: external-secrets.io/v1beta1 ExternalSecret "
        "is not served by CRD externalsecrets.external-secrets.io; served versions: v1"
    ]


def test_custom_resource_errors(checker: SchemaChecker) -> None:
    obj = external_secret()
    obj["metadata"]["name"] = "keystone_db"
    obj["spec"]["target"]["bogus"] = True
    obj["spec"]["refreshInterval"] = 5
    obj["spec"]["dataFrom"][0]["sourceRef"]["generatorRef"]["kind"] = "Pasword"
    assert messages(checker, obj) == [
        "ExternalSecret.external-secrets.io/openstack/keystone_db: metadata.name: 'keystone_db' is not a "
        "DNS-1123 subdomain (lowercase alphanumerics, '-' and '.', starting and ending alphanumeric, "
        "at most 253 characters)",
        "ExternalSecret.external-secrets.io/openstack/keystone_db: spec.dataFrom[0].sourceRef.generatorRef.kind: "
        "'Pasword' is not one of the 18 allowed values (did you mean 'Password'?)",
        "ExternalSecret.external-secrets.io/openstack/keystone_db: spec.refreshInterval: expected string, "
        "got integer 5",
        "ExternalSecret.external-secrets.io/openstack/keystone_db: spec.target.bogus: unknown field",
    ]


def test_custom_resource_metadata_is_object_meta(checker: SchemaChecker) -> None:
    obj = password()
    obj["metadata"]["lables"] = {"a": "b"}
    assert messages(checker, obj) == [
        "Password.generators.external-secrets.io/openstack/keystone-db-password: metadata.lables: "
        "unknown field (did you mean 'labels'?)"
    ]


def test_nullable_field_set_to_null_passes(checker: SchemaChecker) -> None:
    obj = external_secret()
    obj["status"] = {"refreshTime": None}
    assert checker.check(obj, ORIGIN) == []
    # A field that is not nullable does not take null.
    obj["status"] = {"syncedResourceVersion": None}
    assert messages(checker, obj) == [
        "ExternalSecret.external-secrets.io/openstack/keystone-db: status.syncedResourceVersion: "
        "expected string, got null (the field is not nullable)"
    ]


def test_flux_kustomization_passes(checker: SchemaChecker) -> None:
    obj: dict[str, Any] = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "keystone", "namespace": "flux-system"},
        "spec": {
            "interval": "10m",
            "path": "./env/dev/keystone",
            "prune": True,
            "wait": True,
            "timeout": "5m",
            "sourceRef": {"kind": "GitRepository", "name": "env-repo"},
            "dependsOn": [{"name": "mariadb"}, {"name": "memcached"}],
            "targetNamespace": "openstack",
        },
    }
    assert checker.check(obj, ORIGIN) == []
    del obj["spec"]["prune"]
    assert messages(checker, obj) == [
        "Kustomization.kustomize.toolkit.fluxcd.io/flux-system/keystone: spec: 'prune' is a required property"
    ]


def test_argocd_application_passes(checker: SchemaChecker) -> None:
    obj: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": "dev-keystone",
            "namespace": "argocd",
            "annotations": {"argocd.argoproj.io/sync-wave": "2"},
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": {
            "project": "dev",
            "source": {
                "repoURL": "https://git.example.org/env.git",
                "targetRevision": "main",
                "path": "env/dev/keystone",
            },
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "openstack"},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": ["CreateNamespace=true", "PruneLast=true"],
                "retry": {"limit": 5, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"}},
            },
        },
    }
    assert checker.check(obj, ORIGIN) == []


def test_preserve_unknown_fields_allows_anything_there(checker: SchemaChecker) -> None:
    obj: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "dev-horizon", "namespace": "argocd"},
        "spec": {
            "project": "dev",
            "source": {
                "repoURL": "https://charts.example.org",
                "chart": "horizon",
                "targetRevision": "1.0.0",
                "helm": {"valuesObject": {"anything": {"goes": [1, "two"]}}},
            },
            "destination": {"server": "https://kubernetes.default.svc"},
        },
    }
    assert checker.check(obj, ORIGIN) == []


def test_unknown_kind_is_an_error(checker: SchemaChecker) -> None:
    obj = {
        "apiVersion": "openstack.org/v1",
        "kind": "Keystone",
        "metadata": {"name": "k", "namespace": "openstack"},
    }
    [message] = messages(checker, obj)
    assert message.startswith("Keystone.openstack.org/openstack/k: no schema for openstack.org/v1 Keystone: ")
    assert "no CustomResourceDefinition" in message
    # Schema files exist for sub-structures such as Affinity, but they are not kinds.
    assert len(messages(checker, {"apiVersion": "v1", "kind": "Affinity", "metadata": {"name": "a"}})) == 1
    # A removed version of a built-in kind says which versions exist.
    old = deployment()
    old["apiVersion"] = "extensions/v1beta1"
    assert messages(checker, old) == [
        "Deployment.extensions/openstack/keystone-api: no schema for extensions/v1beta1 Deployment: not a "
        f"built-in kind of Kubernetes 1.33 and no CustomResourceDefinition for it in {CRDS}"
    ]
    old["apiVersion"] = "apps/v1beta2"
    assert messages(checker, old) == [
        "Deployment.apps/openstack/keystone-api: apps/v1beta2 Deployment does not exist in Kubernetes 1.33 "
        "(available: apps/v1)"
    ]


def test_missing_api_version_or_kind(checker: SchemaChecker) -> None:
    assert messages(checker, {"metadata": {"name": "x"}}) == [
        "object x: apiVersion and kind must be a non-empty string"
    ]
    assert messages(checker, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": "x"}) == [
        "ConfigMap/_cluster_/: metadata: expected object, got string 'x'"
    ]


def test_validators_are_built_once_and_reused() -> None:
    checker = SchemaChecker("1.33", [CRDS])
    assert checker.validators_built == 0
    first = checker.validator_for("apps/v1", "Deployment")
    assert checker.validators_built == 1
    for _ in range(20):
        assert checker.check(deployment(), ORIGIN) == []
        assert checker.check(external_secret(), ORIGIN) == []
    assert checker.validator_for("apps/v1", "Deployment") is first
    # jsonschema-rs found every object valid: ExternalSecret's Python validator was not needed
    assert checker.validators_built == 1
    # Errors do not poison the cache either; the Python validator of a rejected object is built once.
    broken = copy.deepcopy(deployment())
    broken["spec"]["replicas"] = "x"
    assert len(checker.check(broken, ORIGIN)) == 1
    assert checker.validator_for("apps/v1", "Deployment") is first
    bad_secret = copy.deepcopy(external_secret())
    bad_secret["spec"] = "x"
    for _ in range(2):
        assert len(checker.check(bad_secret, ORIGIN)) == 1
    assert checker.validators_built == 2  # Deployment and ExternalSecret, once each
    with pytest.raises(LookupError, match="not served"):
        checker.validator_for("external-secrets.io/v1beta1", "ExternalSecret")


def test_crd_directory_problems(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("kind: CustomResourceDefinition\nspec: [unclosed\n")
    (tmp_path / "other.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    checker = SchemaChecker("1.33", [CRDS, tmp_path])
    assert [p.location.path for p in checker.crd_problems] == [str(tmp_path / "broken.yaml")]
    with pytest.raises(NotADirectoryError):
        SchemaChecker("1.33", [tmp_path / "missing"])


def test_oldest_and_newest_bundled_versions_work() -> None:
    for version in (supported_versions()[0], supported_versions()[-1]):
        checker = SchemaChecker(version, [])
        assert checker.check(deployment(), ORIGIN) == []
