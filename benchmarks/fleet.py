"""Synthetic fleets for the benchmark: a site repository over the bundled catalogue with N regions.

Every region extends ``prod`` with small differences (its region name, public domain, a replica
count), as operators with many regions write them. ``stress_site`` adds one component with
1,000 objects rendered from a loop.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

STRESS_OBJECTS = 1000


def region(index: int) -> str:
    return f"r{index:03d}"


def prod_site(dest: Path) -> list[str]:
    """A site repo with the bundled catalogue's ``prod`` overlay alone."""
    (dest / "overlays/prod").mkdir(parents=True)
    (dest / "ccp-gitops.yaml").write_text("catalogue: bundled\ndescription: benchmark fleet\n")
    shutil.copy(ROOT / "overlays/prod/env.yaml", dest / "overlays/prod/env.yaml")
    return ["prod"]


def fleet_site(dest: Path, regions: int) -> list[str]:
    """A site repo with ``prod`` plus ``regions`` overlays extending it; return the regions' names."""
    prod_site(dest)
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
    prod_site(dest)
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


def set_option(site: Path, name: str, value: int) -> None:
    """Set one option of one environment: a replica count (memcached in prod, horizon in a region)."""
    env = site / "overlays" / name / "env.yaml"
    key = "memcached" if name == "prod" else "horizon"
    text, count = re.subn(rf"replicas: {{{key}: \d+}}", f"replicas: {{{key}: {value}}}", env.read_text())
    assert count == 1, f"no {key} replicas in {env}"
    env.write_text(text)
