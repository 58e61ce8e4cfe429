"""Delivery: the Argo CD and Flux objects that apply an environment's tree, and their settings."""
