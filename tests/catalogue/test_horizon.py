"""horizon: Deployment + Service, local_settings.py as valid Python wired to keystone and memcached."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from ccp_gitops.compile.parallel import compile_all

from .support import compiled, config_file, containers, dependency_waits, env_of, find, inventory, objects, parse_ini, smoke_test

COMPONENT = "horizon"


def settings_of(text: str) -> tuple[dict[str, Any], dict[str, ast.expr]]:
    """Literal settings (NAME -> value) and the non-literal ones (NAME -> expression)."""
    tree = ast.parse(text)
    literals: dict[str, Any] = {}
    others: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            (target,) = node.targets
            assert isinstance(target, ast.Name)
            assert target.id not in literals and target.id not in others, f"{target.id} assigned twice"
            try:
                literals[target.id] = ast.literal_eval(node.value)
            except ValueError:
                others[target.id] = node.value
        else:
            assert isinstance(node, ast.Import), ast.dump(node)
    return literals, others


def test_inventory_prod(catalogue: Path) -> None:
    assert inventory(catalogue, "prod", COMPONENT) == {
        ("Deployment", "horizon"),
        ("Service", "horizon"),
        ("PodDisruptionBudget", "horizon"),
        ("Ingress", "horizon"),
        ("ConfigMap", "horizon-etc"),
        ("Password", "horizon-secret-key"),
        ("ExternalSecret", "horizon-secret-key"),
        ("ServiceAccount", "horizon"),
        ("Role", "horizon-wait"),
        ("RoleBinding", "horizon-wait"),
    } | smoke_test(COMPONENT)


def test_dependencies(catalogue: Path) -> None:
    env = compiled(catalogue, "prod").env
    assert env.components[COMPONENT].depends_on == ["keystone", "memcached"]
    api = find(catalogue, "prod", COMPONENT, "Deployment", "horizon")
    assert dependency_waits(api)["services"] == ["keystone-api", "memcached"]


def test_local_settings_prod(catalogue: Path) -> None:
    text = config_file(catalogue, "prod", COMPONENT, "horizon-etc", "local_settings.py")
    literals, others = settings_of(text)
    secret = others.pop("SECRET_KEY")
    assert ast.unparse(secret) == "os.environ['HORIZON_SECRET_KEY']"
    assert not others
    assert literals["DEBUG"] is False
    assert literals["OPENSTACK_KEYSTONE_URL"] == "http://keystone-api:5000/v3"
    assert literals["OPENSTACK_HOST"] == "keystone-api"
    cache = literals["CACHES"]["default"]
    assert cache["BACKEND"] == "django.core.cache.backends.memcached.PyMemcacheCache"
    assert cache["LOCATION"] == ["memcached-0.memcached:11211", "memcached-1.memcached:11211"]
    assert "dashboard.openstack.example.com" in literals["ALLOWED_HOSTS"]
    assert "horizon" in literals["ALLOWED_HOSTS"]  # the probes' Host header
    assert literals["CSRF_TRUSTED_ORIGINS"] == ["https://dashboard.openstack.example.com"]
    assert literals["SESSION_COOKIE_SECURE"] is True and literals["CSRF_COOKIE_SECURE"] is True
    assert literals["STATIC_ROOT"] == "/var/lib/horizon/static"
    assert literals["HORIZON_IMAGES_UPLOAD_MODE"] == "direct"
    assert literals["OPENSTACK_NEUTRON_NETWORK"]["enable_router"] is True


def test_local_settings_dev_without_tls(catalogue: Path) -> None:
    literals, _ = settings_of(config_file(catalogue, "dev", COMPONENT, "horizon-etc", "local_settings.py"))
    assert literals["CSRF_TRUSTED_ORIGINS"] == ["http://dashboard.openstack.example.com"]
    assert "SESSION_COOKIE_SECURE" not in literals
    assert literals["HORIZON_IMAGES_UPLOAD_MODE"] == "legacy"
    assert "horizon.openstack-dev.svc" in literals["ALLOWED_HOSTS"]
    assert "localhost" in literals["ALLOWED_HOSTS"]  # port-forward without an ingress


def test_glance_accepts_direct_uploads_from_the_dashboard(catalogue: Path) -> None:
    conf = parse_ini(config_file(catalogue, "prod", "glance", "glance-etc", "glance-api.conf"))
    assert conf["cors"]["allowed_origin"] == "https://dashboard.openstack.example.com"
    dev = parse_ini(config_file(catalogue, "dev", "glance", "glance-etc", "glance-api.conf"))
    assert not dev.has_section("cors")


def test_secret_key_never_in_git(catalogue: Path) -> None:
    for body in objects(catalogue, "prod", COMPONENT):
        assert body["kind"] != "Secret"
    deployment = find(catalogue, "prod", COMPONENT, "Deployment", "horizon")
    server = containers(deployment)[0]
    assert env_of(server)["HORIZON_SECRET_KEY"] == ("horizon-secret-key", "secret_key")
    collect = [c for c in containers(deployment, init=True) if c["name"] == "collect-static"][0]
    assert env_of(collect)["HORIZON_SECRET_KEY"] == ("horizon-secret-key", "secret_key")
    assert "django-admin compress" in collect["command"][-1]


def test_deployment_shape(catalogue: Path) -> None:
    deployment = find(catalogue, "prod", COMPONENT, "Deployment", "horizon")
    assert deployment["spec"]["replicas"] >= 2
    server = containers(deployment)[0]
    mounts = {m["mountPath"]: m for m in server["volumeMounts"]}
    settings = mounts["/var/lib/openstack/lib/python3.12/site-packages/openstack_dashboard/local/local_settings.py"]
    assert settings["subPath"] == "local_settings.py"
    probe = server["readinessProbe"]["httpGet"]
    assert probe["httpHeaders"] == [{"name": "Host", "value": "horizon"}]
    service = find(catalogue, "prod", COMPONENT, "Service", "horizon")
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http"}]
    uwsgi = parse_ini(config_file(catalogue, "prod", COMPONENT, "horizon-etc", "horizon-uwsgi.ini"))["uwsgi"]
    assert uwsgi["module"] == "openstack_dashboard.wsgi:application"
    assert uwsgi["static-map"] == "/static=/var/lib/horizon/static"
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert "horizon-etc/local_settings.py=" in annotations["ccp-gitops.io/config-files"]


def test_settings_override_and_python_literals(source_copy: Path) -> None:
    overlay = source_copy / "overlays" / "dev" / "env.yaml"
    overlay.write_text(overlay.read_text().replace(
        "  horizon:\n    values:\n",
        "  horizon:\n    values:\n      settings:\n"
        "        SESSION_TIMEOUT: 1800\n        TIME_ZONE: null\n"
        "        SITE_BRANDING: \"Ops' \\\"cloud\\\"\\n\"\n        OPENSTACK_KEYSTONE_MULTIDOMAIN_SUPPORT: true\n",
    ))
    (result,) = compile_all(source_copy, ["dev"])
    (cm,) = [o.body for o in result.objects if o.component == COMPONENT and o.id.kind == "ConfigMap"]
    literals, _ = settings_of(cm["data"]["local_settings.py"])
    assert literals["SESSION_TIMEOUT"] == 1800
    assert "TIME_ZONE" not in literals
    assert literals["SITE_BRANDING"] == "Ops' \"cloud\"\n"
    assert literals["OPENSTACK_KEYSTONE_MULTIDOMAIN_SUPPORT"] is True


def _settings_mount(result_objects: list[Any]) -> str:
    (deployment,) = [o.body for o in result_objects if o.component == COMPONENT and o.id.kind == "Deployment"]
    paths = [m["mountPath"] for m in containers(deployment)[0]["volumeMounts"] if m.get("subPath") == "local_settings.py"]
    assert len(paths) == 1
    return str(paths[0])


def test_local_settings_path_follows_the_release_image_facts(source_copy: Path) -> None:
    """The mount path comes from the release's image facts, not from a Python version in the component."""
    component_text = "".join(p.read_text() for p in (source_copy / "components" / "horizon").rglob("*") if p.is_file())
    assert "python3." not in component_text
    defaults = source_copy / "base" / "defaults.yaml"
    text = defaults.read_text()
    assert text.count("site_packages: /var/lib/openstack/lib/python3.12/site-packages") == 2
    defaults.write_text(text.replace("site_packages: /var/lib/openstack/lib/python3.12/site-packages",
                                     "site_packages: /opt/venv/lib/python3.13/site-packages"))
    (result,) = compile_all(source_copy, ["dev"], check=False)
    assert _settings_mount(result.objects) == "/opt/venv/lib/python3.13/site-packages/openstack_dashboard/local/local_settings.py"
    overlay = source_copy / "overlays" / "dev" / "env.yaml"
    overlay.write_text(overlay.read_text().replace(
        "  horizon:\n    values:\n", "  horizon:\n    values:\n      dashboard_root: /srv/horizon/openstack_dashboard\n"))
    (result,) = compile_all(source_copy, ["dev"], check=False)
    assert _settings_mount(result.objects) == "/srv/horizon/openstack_dashboard/local/local_settings.py"
