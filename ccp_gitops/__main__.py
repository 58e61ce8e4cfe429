"""``python -m ccp_gitops``: the same as the ``ccp-gitops`` console script."""

from ccp_gitops.cli.main import run

run()
