"""The External Secrets emulation: Password generators as ESO makes them, templates, refusals."""

from __future__ import annotations

import base64
import string

import pytest

from tests.e2e.objects import Key, RunError
from tests.e2e.secrets import generate_password, materialise, run_generator

WHERE = Key("Password", "ns", "x")


def _password(spec: dict[str, object]) -> dict[str, object]:
    return {"kind": "Password", "metadata": {"name": "x", "namespace": "ns"}, "spec": spec}


def _external_secret(template: dict[str, object] | None) -> dict[str, object]:
    target: dict[str, object] = {"name": "made"}
    if template is not None:
        target["template"] = template
    return {"kind": "ExternalSecret", "metadata": {"name": "x", "namespace": "ns"},
            "spec": {"target": target, "dataFrom": [{"sourceRef": {"generatorRef": {
                "apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "Password", "name": "x"}}}]}}


def test_the_password_has_the_spec_s_length_digits_and_no_symbols() -> None:
    pw = generate_password({"length": 32, "digits": 6, "symbols": 0, "noUpper": True, "allowRepeat": True}, WHERE)
    assert len(pw) == 32
    assert sum(c in string.digits for c in pw) == 6
    assert all(c in string.ascii_lowercase + string.digits for c in pw)


def test_secret_keys_each_get_their_own_value_encoded() -> None:
    values = run_generator(_password({"length": 32, "secretKeys": ["0", "1"], "encoding": "base64url"}))
    assert set(values) == {"0", "1"} and values["0"] != values["1"]
    assert len(base64.urlsafe_b64decode(values["0"])) == 32  # a Fernet key: 32 bytes, url-safe base64


def test_the_template_references_the_generated_password() -> None:
    name, data = materialise(_external_secret({"engineVersion": "v2", "mergePolicy": "Replace", "data": {
        "password": "{{ .password }}", "url": "mysql://u:{{ .password }}@db/x"}}),
        {Key("Password", "ns", "x"): _password({"length": 16})})
    assert name == "made"
    assert data["url"] == f"mysql://u:{data['password']}@db/x"


@pytest.mark.parametrize("template", [
    {"data": {"p": "{{ .password | upper }}"}},
    {"data": {"p": "{{ .other }}"}},
    {"engineVersion": "v1", "data": {"p": "{{ .password }}"}},
    {"mergePolicy": "Merge", "data": {"p": "{{ .password }}"}},
    {"type": "kubernetes.io/tls", "data": {"p": "{{ .password }}"}},
])
def test_unsupported_template_features_are_refused_naming_the_object(template: dict[str, object]) -> None:
    with pytest.raises(RunError, match=r"^ExternalSecret/ns/x: "):
        materialise(_external_secret(template), {Key("Password", "ns", "x"): _password({"length": 16})})
