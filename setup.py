"""Build hook: a wheel carries the catalogue and schemas inside the package (ccp_gitops/_catalogue)."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CATALOGUE = ("base", "components", "overlays", "schemas")


class BuildWithCatalogue(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "ccp_gitops" / "_catalogue"
        for part in CATALOGUE:
            if target.joinpath(part).exists():
                shutil.rmtree(target / part)
            shutil.copytree(Path(__file__).parent / part, target / part)


setup(cmdclass={"build_py": BuildWithCatalogue})
