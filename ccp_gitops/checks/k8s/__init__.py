"""Kubernetes checks: strict OpenAPI and CRD schemas, object names and metadata."""
