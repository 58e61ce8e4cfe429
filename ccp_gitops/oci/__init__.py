"""OCI artifacts: reproducible image layouts and Flux bundles of an environment."""
