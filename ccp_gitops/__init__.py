"""ccp-gitops: compile OpenStack control-plane components and overlays into GitOps env repos."""

__version__ = "0.1.0"
