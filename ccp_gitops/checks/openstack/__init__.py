"""OpenStack checks: config values against each release's real option catalogue."""
