"""Diff: compare two environment trees into a typed report of objects, config, rollout impact and risks."""
