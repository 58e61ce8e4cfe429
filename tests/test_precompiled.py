"""Templates compiled at build time: found by content only, the same code as compiling at run time, located errors."""

from __future__ import annotations

from pathlib import Path

from ccp_gitops.compile.precompiled import PACKAGE_DIR, module_name, settings_key
from ccp_gitops.compile.template_env import file_environment, manifest_environment, precompile_catalogue, render_template
from ccp_gitops.model.problems import Problem

ROOT = Path(__file__).resolve().parents[1]
FAILING = "a: 1\nb: 2\n{{ fail('no ' ~ what) }}\n"


def test_precompiled_code_is_what_jinja_compiles(tmp_path: Path) -> None:
    count = precompile_catalogue(ROOT, tmp_path / "pre")
    assert count > 50
    names = [p.relative_to(ROOT).as_posix() for p in ROOT.glob("components/*/templates/*.yaml.j2")]
    env = manifest_environment({}, None)
    settings = settings_key(env)
    for name in names:
        source = (ROOT / name).read_text(encoding="utf-8")
        module = tmp_path / "pre" / f"{module_name(settings, name, source)}.py"
        assert module.read_text() == env.compile(source, name, name, raw=True), name


def test_installed_package_carries_the_catalogue_compiled() -> None:
    # `make install` / `pip install -e .` ran the build hook; a wheel carries them too (test_packaging)
    templates = {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8") for p in ROOT.glob("components/*/templates/*.yaml.j2")}
    env = manifest_environment(templates, None)
    for name in templates:
        template = env.get_template(name)
        assert template.filename == name
        assert Path(template.root_render_func.__code__.co_filename).parent == PACKAGE_DIR, name


def test_an_edited_template_never_uses_the_old_compiled_copy(tmp_path: Path) -> None:
    name = "components/x/templates/cm.yaml.j2"
    old, new = "data: {{ value }}\n", "data: {{ value }}-changed\n"
    compiled = tmp_path / "pre"
    from ccp_gitops.compile.precompiled import CatalogueLoader, write_precompiled

    write_precompiled({"manifest": (manifest_environment({}, None), [(name, old)])}, compiled)
    for text, expected in ((old, "data: 1\n"), (new, "data: 1-changed\n")):
        env = manifest_environment({}, None)
        env.loader = CatalogueLoader({name: text}, compiled)
        template = env.get_template(name)
        from_build = Path(template.root_render_func.__code__.co_filename).parent == compiled
        assert from_build == (text == old)
        assert template.render(value=1) == expected


def test_errors_in_precompiled_templates_name_the_template_and_line(tmp_path: Path) -> None:
    from ccp_gitops.compile.precompiled import CatalogueLoader, write_precompiled

    name = "components/x/files/bad.conf.j2"
    compiled = tmp_path / "pre"
    write_precompiled({"file": (file_environment({}, None), [(name, FAILING)])}, compiled)
    env = file_environment({}, None)
    env.loader = CatalogueLoader({name: FAILING}, compiled)
    assert Path(env.get_template(name).root_render_func.__code__.co_filename).parent == compiled
    problems: list[Problem] = []
    assert render_template(env, name, {"what": "way"}, problems) is None
    assert [str(p) for p in problems] == [f"{name}:3:1: no way"]
