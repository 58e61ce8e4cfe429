"""Renderings of a diff report: text for a terminal, markdown for a pull request, JSON for tools."""
