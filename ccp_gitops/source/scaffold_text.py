"""The text of the files ``ccp-gitops init`` writes into a new site repository."""

from __future__ import annotations

SCHEMAS = ".ccp-gitops/schemas"

SITE_YAML = """\
# yaml-language-server: $schema={schemas}/site.schema.json
# A ccp-gitops site repository. Its overlays/ (and its own base/ and components/, when it has
# them) are layered over the catalogue shipped with the installed ccp-gitops: upgrading
# ccp-gitops upgrades the catalogue, nothing is copied into this repository.
catalogue: bundled
description: {description}
# Components from other git repositories, pinned by tag or commit. They are fetched into a
# local cache (`ccp-gitops fetch`), layered between the catalogue and this repository, and
# recorded with their commit in every environment's lock file.
# sources:
#   - name: keystone-extras
#     git: https://git.example.com/openstack/ccp-keystone-extras.git
#     ref: v1.4.0            # a tag or a commit; a branch is refused (it moves)
#     path: components       # the folder holding component folders (or one component.yaml)
"""

ENV_HEADER = """\
# yaml-language-server: $schema=../../{schemas}/env.schema.json
"""

EXAMPLE_ENV = """\
{header}# One environment of this site, layered over the catalogue: base defaults, then each
# component's defaults, then this file (and its parent's, with `extends: <overlay>`).
# `ccp-gitops explain {name} keystone` shows every value and the file and line that set it.
description: Example environment; copy or rename this folder for each of yours.
namespace: openstack-{name}
# Pin the OpenStack release here; unset, it follows the catalogue of the installed
# ccp-gitops (today {release}).
# openstack_release: "{release}"
# delivery:
#   repo_url: https://git.example.com/openstack/env-repo.git
#   branch: main
#   engines: [argocd]            # and/or flux
components:
{enabled}
{others}"""

README = """\
# {title}

A ccp-gitops site repository: the environments of
this OpenStack control plane, layered over the component catalogue that ships with ccp-gitops
{version}.

```
ccp-gitops.yaml          catalogue: bundled, and components from other git repositories (sources:)
overlays/<env>/env.yaml  one environment: components, replicas, images, config, delivery
base/defaults.yaml       (optional) site-wide defaults over the catalogue's base
components/<name>/       (optional) your own components, or replacements of catalogue ones
.ccp-gitops/schemas/     JSON Schemas of the files above, for editors
```

## Use

```sh
pip install -r requirements.txt            # the ccp-gitops version this site is tested with
ccp-gitops validate --all                  # every check, nothing written
ccp-gitops explain {example} keystone           # each value and the file:line that set it
ccp-gitops graph {example} --format svg -o {example}.svg   # components by wave (needs Graphviz)
ccp-gitops compile env/{example} --repo ../env-repo  # render and commit to the env repo
```

## Upgrading ccp-gitops

The catalogue is not copied here: bump `ccp-gitops` in `requirements.txt`, then
`ccp-gitops compile --all --dry-run` (or `ccp-gitops diff`) shows what the new catalogue changes.
Pin `openstack_release` in an overlay to keep a release across upgrades. After an upgrade,
`ccp-gitops init --update-schemas .` refreshes the editor schemas in `.ccp-gitops/schemas/`
(the compiler always validates against its own schemas, so a stale copy only affects editors).

## Editors

Every YAML file starts with `# yaml-language-server: $schema=...` pointing at
`.ccp-gitops/schemas/`: with the YAML extension of VS Code (or any editor using
yaml-language-server) overlays complete and are checked as you type, on every clone.

## pre-commit and CI

- `.pre-commit-config.yaml` runs `ccp-gitops validate --all` when overlays, components or
  `ccp-gitops.yaml` change (`pip install pre-commit && pre-commit install`).
- `.pre-commit-hooks.yaml` defines the same hook for repositories that reference this one.
- `.github/workflows/ccp-gitops.yml` validates every pull request.

## Components from other repositories

List them under `sources:` in `ccp-gitops.yaml`, pinned by tag or commit. `ccp-gitops fetch`
fetches them into `$CCP_CACHE` (default `~/.cache/ccp-gitops`); compiles fetch on demand and
work offline once fetched. Each environment's lock file records the commit used.
"""

PRE_COMMIT_HOOK = """\
- id: ccp-gitops-validate
  name: ccp-gitops validate
  description: Validate every environment of a ccp-gitops site (schemas, layering, templates, objects); writes nothing.
  entry: ccp-gitops validate --all
  language: system
  files: {files}
  pass_filenames: false
"""

PRE_COMMIT_HOOKS = """\
# pre-commit hook definitions (https://pre-commit.com/#creating-new-hooks): the hook this site
# runs, for repositories that reference it. It uses the ccp-gitops installed on PATH.
{hook}"""

PRE_COMMIT_CONFIG = """\
# pre-commit (https://pre-commit.com): `pip install pre-commit && pre-commit install`.
# The hook uses the ccp-gitops on PATH (pip install -r requirements.txt). To let pre-commit
# install a pinned ccp-gitops itself, use the hook the ccp-gitops repository defines instead:
#   - repo: <URL of the ccp-gitops repository>
#     rev: v{version}
#     hooks: [{{id: ccp-gitops-validate}}]
repos:
  - repo: local
    hooks:
{hook}"""

WORKFLOW = """\
# Validate every environment of this site on each pull request and push.
name: ccp-gitops
on:
  pull_request:
  push:
    branches: [main]
jobs:
  validate:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: pip install -r requirements.txt
      - name: Components from other repositories
        run: ccp-gitops fetch
      - name: Validate
        run: ccp-gitops validate --all
      - name: What would change
        run: ccp-gitops compile --all --dry-run --repo env-repo
"""

REQUIREMENTS = """\
# The ccp-gitops this site is tested with; its bundled catalogue is the base of every overlay.
ccp-gitops=={version}
"""

GITIGNORE = """\
/env-repo/
"""

SCHEMAS_README = """\
Copies of the JSON Schemas of ccp-gitops {version}, for editors (`# yaml-language-server:
$schema=...` lines). They are inside the repository so that they work on every clone and do
not move when ccp-gitops is upgraded or reinstalled; refresh them after an upgrade with
`ccp-gitops init --update-schemas .`. ccp-gitops itself validates with its own copies.
"""
