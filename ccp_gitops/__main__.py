"""``python -m ccp_gitops``: the same as the ``ccp-gitops`` console script."""

from .cli.main import run

run()
