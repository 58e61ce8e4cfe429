"""Checks of what a compile produces: OpenStack options, Kubernetes and CRD schemas, kustomize builds."""
