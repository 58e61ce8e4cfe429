"""The e2e pod runner: runs a compiled env tree's pods as processes on this machine (issue 12)."""
