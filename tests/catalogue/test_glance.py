"""glance: API Deployment on a file store PVC, its Jobs, and glance-api.conf wiring."""

from __future__ import annotations

from pathlib import Path

from ccp_gitops.compile.parallel import compile_all

from .support import (
    compiled,
    config_file,
    containers,
    dependency_waits,
    env_of,
    find,
    inventory,
    job_base,
    objects,
    parse_ini,
    smoke_test,
)

COMPONENT = "glance"
JOBS = ["glance-db-init", "glance-db-sync", "glance-metadefs-load", "glance-ks-register", "glance-rabbit-init", "glance-rabbit-policy"]


def _rbac(name: str) -> set[tuple[str, str]]:
    return {("ServiceAccount", name), ("Role", name + "-wait"), ("RoleBinding", name + "-wait")}


def test_inventory_prod(catalogue: Path) -> None:
    expected = {
        ("Deployment", "glance-api"),
        ("Service", "glance-api"),
        ("PersistentVolumeClaim", "glance-images"),
        ("PodDisruptionBudget", "glance-api"),
        ("Ingress", "glance-api"),
        ("ConfigMap", "glance-etc"),
        *_rbac("glance-api"),
    }
    for secret in ("glance-db", "glance-keystone", "glance-memcache", "glance-rabbitmq"):
        expected |= {("Password", secret), ("ExternalSecret", secret)}
    for job in JOBS:
        expected |= {("Job", job), *_rbac(job)}
    assert inventory(catalogue, "prod", COMPONENT) == expected | smoke_test(COMPONENT)


def test_dev_inventory_has_no_ha_or_ingress(catalogue: Path) -> None:
    kinds = {kind for kind, _ in inventory(catalogue, "dev", COMPONENT)}
    assert not kinds & {"PodDisruptionBudget", "Ingress"}


def test_dependencies(catalogue: Path) -> None:
    env = compiled(catalogue, "prod").env
    comp = env.components[COMPONENT]
    assert comp.depends_on == ["mariadb", "memcached", "keystone", "rabbitmq"]
    assert comp.wave > max(env.components[d].wave for d in comp.depends_on)


def test_api_waits_and_credentials(catalogue: Path) -> None:
    api = find(catalogue, "prod", COMPONENT, "Deployment", "glance-api")
    waits = dependency_waits(api)
    assert waits["services"] == ["mariadb", "memcached", "keystone-api", "rabbitmq"]
    assert sorted(job_base(catalogue, "prod", j) for j in waits["jobs"]) == ["glance-db-sync", "glance-ks-register", "glance-rabbit-init"]
    env = env_of(containers(api)[0])
    assert env["OS_DATABASE__CONNECTION"] == ("glance-db", "connection")
    assert env["OS_KEYSTONE_AUTHTOKEN__PASSWORD"] == ("glance-keystone", "password")
    assert env["OS_KEYSTONE_AUTHTOKEN__MEMCACHE_SECRET_KEY"] == ("glance-memcache", "secret_key")
    assert env["OS_DEFAULT__TRANSPORT_URL"] == ("glance-rabbitmq", "transport_url")
    assert api["spec"]["template"]["spec"]["serviceAccountName"] == "glance-api"


def test_job_chain(catalogue: Path) -> None:
    def waits_of(job: str) -> list[str]:
        body = find(catalogue, "prod", COMPONENT, "Job", job)
        return sorted(job_base(catalogue, "prod", j) for j in dependency_waits(body)["jobs"])

    assert waits_of("glance-db-sync") == ["glance-db-init"]
    assert waits_of("glance-metadefs-load") == ["glance-db-sync"]
    assert waits_of("glance-rabbit-policy") == ["glance-rabbit-init"]
    sync = find(catalogue, "prod", COMPONENT, "Job", "glance-db-sync")
    assert "glance-manage --config-file /etc/glance/glance-api.conf db_sync" in containers(sync)[0]["command"][-1]
    metadefs = find(catalogue, "prod", COMPONENT, "Job", "glance-metadefs-load")
    assert "db_load_metadefs" in containers(metadefs)[0]["command"][-1]
    register = containers(find(catalogue, "prod", COMPONENT, "Job", "glance-ks-register"))[0]["command"][-1]
    assert "openstack user create --or-show --domain default --password \"$SERVICE_PASSWORD\" glance" in register
    assert "internal http://glance-api:9292" in register
    assert "public https://image.openstack.example.com" in register
    policy = env_of(containers(find(catalogue, "prod", COMPONENT, "Job", "glance-rabbit-policy"))[0])
    assert policy["VHOST"] == "glance" and policy["PATTERN"] == "^notifications\\."


def test_glance_api_conf(catalogue: Path) -> None:
    conf = parse_ini(config_file(catalogue, "prod", COMPONENT, "glance-etc", "glance-api.conf"))
    assert conf["DEFAULT"]["enabled_backends"] == "file:file"
    assert conf["DEFAULT"]["public_endpoint"] == "https://image.openstack.example.com"
    assert conf["glance_store"]["default_backend"] == "file"
    assert conf["file"]["filesystem_store_datadir"] == "/var/lib/glance/data/images/"
    for reserved in ("os_glance_staging_store", "os_glance_tasks_store"):
        assert conf[reserved]["filesystem_store_datadir"].startswith("/var/lib/glance/data/")
    auth = conf["keystone_authtoken"]
    assert auth["www_authenticate_uri"] == "https://identity.openstack.example.com"
    assert auth["auth_url"] == "http://keystone-api:5000"
    assert auth["auth_type"] == "password"
    assert auth["username"] == "glance"
    assert auth["project_name"] == "service"
    assert auth["memcached_servers"] == "memcached-0.memcached:11211,memcached-1.memcached:11211"
    assert auth["region_name"] == "RegionOne"
    assert "password" not in auth and "memcache_secret_key" not in auth  # from the environment only
    assert "connection" not in conf["database"]
    assert conf["paste_deploy"]["flavor"] == "keystone"
    assert conf["oslo_messaging_notifications"]["driver"] == "messagingv2"
    dev = parse_ini(config_file(catalogue, "dev", COMPONENT, "glance-etc", "glance-api.conf"))
    assert dev["DEFAULT"]["public_endpoint"] == "http://image.openstack.example.com"


def test_paste_and_uwsgi(catalogue: Path) -> None:
    paste = parse_ini(config_file(catalogue, "prod", COMPONENT, "glance-etc", "glance-api-paste.ini"))
    root = paste["composite:glance-api-keystone"]  # glance loads `glance-api` + `-` + paste_deploy.flavor
    assert (root["/"], root["/healthcheck"]) == ("api", "healthcheck")
    pipeline = paste["pipeline:api"]["pipeline"].split()
    assert pipeline[-1] == "rootapp"
    for element in pipeline[:-1]:
        assert paste.has_section(f"filter:{element}"), element
    assert "authtoken" in pipeline
    # probes need no token; oslo.middleware's Healthcheck is an app only (a filter fails to load)
    assert paste["app:healthcheck"]["paste.app_factory"] == "oslo_middleware:Healthcheck.app_factory"
    uwsgi = parse_ini(config_file(catalogue, "prod", COMPONENT, "glance-etc", "glance-api-uwsgi.ini"))["uwsgi"]
    assert uwsgi["module"] == "glance.wsgi.api:application"  # glance-wsgi-api is gone in 2026.1
    assert uwsgi["http-socket"] == ":9292"


def test_storage_modes(catalogue: Path) -> None:
    prod_pvc = find(catalogue, "prod", COMPONENT, "PersistentVolumeClaim", "glance-images")
    assert prod_pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    prod_api = find(catalogue, "prod", COMPONENT, "Deployment", "glance-api")
    assert prod_api["spec"]["strategy"]["type"] == "RollingUpdate"
    assert prod_api["spec"]["replicas"] >= 2
    dev_pvc = find(catalogue, "dev", COMPONENT, "PersistentVolumeClaim", "glance-images")
    assert dev_pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    dev_api = find(catalogue, "dev", COMPONENT, "Deployment", "glance-api")
    assert dev_api["spec"]["strategy"] == {"type": "Recreate"}
    mounts = {m["mountPath"]: m["name"] for m in containers(dev_api)[0]["volumeMounts"]}
    assert mounts["/var/lib/glance/data"] == "images"
    assert dev_api["spec"]["template"]["spec"]["securityContext"]["fsGroup"] == 42424


def test_notifications_off(source_copy: Path) -> None:
    overlay = source_copy / "overlays" / "dev" / "env.yaml"
    overlay.write_text(overlay.read_text().replace(
        "  glance:\n    values:\n", "  glance:\n    values:\n      notifications: {enabled: false}\n"))
    (result,) = compile_all(source_copy, ["dev"])
    bodies = [o.body for o in result.objects if o.component == COMPONENT]
    names = {b["metadata"]["labels"].get("ccp-gitops.io/job", b["metadata"]["name"]) for b in bodies}
    assert not {"glance-rabbit-init", "glance-rabbit-policy", "glance-rabbitmq"} & names
    (cm,) = [b for b in bodies if b["kind"] == "ConfigMap"]
    assert parse_ini(cm["data"]["glance-api.conf"])["oslo_messaging_notifications"]["driver"] == "noop"
    (api,) = [b for b in bodies if b["kind"] == "Deployment"]
    assert "OS_DEFAULT__TRANSPORT_URL" not in env_of(api["spec"]["template"]["spec"]["containers"][0])


def test_no_secret_material(catalogue: Path) -> None:
    for body in objects(catalogue, "prod", COMPONENT):
        assert body["kind"] != "Secret"
