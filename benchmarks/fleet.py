"""Synthetic fleets for the benchmark: a site repository over the bundled catalogue with N regions.

Every region extends ``prod`` with small differences (its region name, public domain, a replica
count), as operators with many regions write them. ``stress_site`` adds one component with
1,000 objects rendered from a loop.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

STRESS_OBJECTS = 1000


def region(index: int) -> str:
    return f"r{index:03d}"


def fleet_site(dest: Path, regions: int) -> list[str]:
    """Write a site repo with ``prod`` plus ``regions`` overlays extending it; return the overlay names.

    With ``regions`` 1, the fleet is ``prod`` alone (the bundled catalogue's own environment).
    """
    (dest / "overlays/prod").mkdir(parents=True)
    (dest / "ccp-gitops.yaml").write_text("catalogue: bundled\ndescription: benchmark fleet\n")
    shutil.copy(ROOT / "overlays/prod/env.yaml", dest / "overlays/prod/env.yaml")
    if regions <= 1:
        return ["prod"]
    names = []
    for index in range(1, regions + 1):
        name = region(index)
        names.append(name)
        folder = dest / "overlays" / name
        folder.mkdir()
        (folder / "env.yaml").write_text(
            "extends: prod\n"
            f"region: {name.upper()}\n"
            "values:\n"
            f"  public_domain: {name}.openstack.example.com\n"
            "components:\n"
            "  horizon:\n"
            f"    replicas: {{horizon: {2 + index % 3}}}\n"
            "  logging:\n"
            "    values:\n"
            f"      output: {{tenant_id: openstack-{name}}}\n"
        )
    return names


def stress_site(dest: Path, objects: int = STRESS_OBJECTS) -> list[str]:
    """A site with one environment that adds a component of ``objects`` ConfigMaps and Services."""
    fleet_site(dest, 1)
    comp = dest / "components/stress"
    (comp / "templates").mkdir(parents=True)
    (comp / "component.yaml").write_text(
        "name: stress\nversion: 1.0.0\ndescription: benchmark load\ndepends_on: []\n"
        f"defaults:\n  values: {{count: {objects // 2}}}\n"
    )
    (comp / "templates/objects.yaml.j2").write_text(
        "{% for i in range(values.count) %}\n"
        "---\n"
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: stress-{{ i }}\n"
        "data:\n"
        "  index: {{ i | quote }}\n"
        "  region: {{ env.region }}\n"
        "---\n"
        "apiVersion: v1\n"
        "kind: Service\n"
        "metadata:\n"
        "  name: stress-{{ i }}\n"
        "spec:\n"
        "  selector: {app: stress}\n"
        "  ports:\n"
        "    - name: http\n"
        "      port: {{ 8000 + i % 1000 }}\n"
        "{% endfor %}\n"
    )
    env = dest / "overlays/prod/env.yaml"
    env.write_text(env.read_text() + "  stress: {}\n")
    return ["prod"]


def change_option(site: Path, name: str) -> None:
    """One option change in one environment (a replica count of ``name``)."""
    env = site / "overlays" / name / "env.yaml"
    text = env.read_text()
    if name == "prod":
        text = text.replace("replicas: {memcached: 2}", "replicas: {memcached: 4}")
    else:
        text = text.replace("replicas: {horizon: ", "replicas: {horizon: 1")
    env.write_text(text)
