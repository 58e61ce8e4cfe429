"""The CRD scan: it finds exactly the kinds a full parse finds, says when it is unsure, and spares unused files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ccp_gitops.checks.k8s.crd_index import CrdIndex, scan_kinds
from ccp_gitops.checks.k8s.schema import SchemaChecker

CRDS = Path(__file__).resolve().parents[2] / "shared" / "crds"
CRD = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: xs.x.io\nspec:\n  group: x.io\n  names:\n    kind: X\n    plural: xs\n  scope: Namespaced\n  versions: []\n"


def test_scan_agrees_with_a_full_parse_on_real_crds() -> None:
    files = sorted(CRDS.glob("*.yaml"))
    assert len(files) >= 10
    for path in files:
        raw = path.read_bytes()
        parsed = {(d["spec"]["group"], d["spec"]["names"]["kind"]) for d in yaml.load_all(raw, Loader=yaml.CSafeLoader) if d}
        assert scan_kinds(raw) == frozenset(parsed), path.name


@pytest.mark.parametrize(
    "text",
    [
        CRD.replace("    kind: X\n", "    kind: X # a comment\n"),
        CRD.replace("  names:\n    kind: X\n    plural: xs\n", "  names: {kind: X, plural: xs}\n"),
        CRD.replace("  group: x.io", "  group: &g x.io"),
        "%YAML 1.2\n---\n" + CRD,
        '{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition"}',
        CRD.replace("apiextensions.k8s.io/v1\n", "apiextensions.k8s.io/v1beta1\n"),
        CRD.replace("\n", "\r\n"),
        "kind: CustomResourceDefinition\nspec: [unclosed\n",
        CRD + "<<: {spec: {}}\n",
    ],
)
def test_scan_is_unsure_of_anything_but_the_usual_layout(text: str) -> None:
    assert scan_kinds(text.encode()) is None


def test_scan_reads_several_documents_and_skips_other_kinds() -> None:
    other = CRD.replace("x.io", "y.io").replace("kind: X", "kind: Y")
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n" + CRD + "---\n# only a comment\n---\n" + other
    assert scan_kinds(text.encode()) == frozenset({("x.io", "X"), ("y.io", "Y")})


def test_only_the_files_of_used_kinds_are_parsed() -> None:
    index = CrdIndex((CRDS,))
    crd = index.get(("external-secrets.io", "ExternalSecret"))
    assert crd is not None and "v1" in crd.served_names()
    assert [p.name for p in index._parsed] == ["external-secrets.io_externalsecrets.yaml"]
    assert index.problems() == []
    assert len(index._parsed) == 1  # every file was read with certainty and defines its own kind


def test_an_override_is_compared_and_an_unsure_file_parsed(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(CRD)
    (tmp_path / "b.yaml").write_text(CRD.replace("plural: xs", "plural: xes").replace("versions: []", "versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]"))
    (tmp_path / "c.json").write_text('{"kind": "ConfigMap"}')
    checker = SchemaChecker("1.33", [tmp_path])
    assert [p.message for p in checker.crd_problems] == [f"CRD xs.x.io overrides the different one in {tmp_path / 'a.yaml'}"]
    assert checker.validator_for("x.io/v1", "X") is not None
