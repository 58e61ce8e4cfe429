"""Command-line interface: one module per verb; only this package prints and picks exit codes."""
