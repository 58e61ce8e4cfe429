"""Build hook: a wheel carries the catalogue and schemas inside the package (ccp_gitops/_catalogue),
and the catalogue's Jinja2 templates compiled (ccp_gitops/_precompiled, see ccp_gitops/compile/precompiled.py).

An editable install compiles the templates into the source tree instead (git ignores the folder).
"""

import shutil
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
CATALOGUE = ("base", "components", "overlays", "schemas")


def precompile(package_dir: Path) -> None:
    sys.path.insert(0, str(HERE))
    try:
        from ccp_gitops.compile.template_env import precompile_catalogue
    finally:
        sys.path.remove(str(HERE))
    precompile_catalogue(HERE, package_dir / "_precompiled")


class BuildWithCatalogue(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            precompile(HERE / "ccp_gitops")
            return
        target = Path(self.build_lib) / "ccp_gitops" / "_catalogue"
        for part in CATALOGUE:
            if target.joinpath(part).exists():
                shutil.rmtree(target / part)
            shutil.copytree(HERE / part, target / part)
        precompile(Path(self.build_lib) / "ccp_gitops")


setup(cmdclass={"build_py": BuildWithCatalogue})
