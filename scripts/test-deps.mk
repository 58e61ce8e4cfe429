# Test prerequisites that do not come from PyPI; the Makefile includes this file.
# skopeo reads the OCI layouts that `ccp-gitops bundle` writes (tests/test_bundle.py).
# CI runs as root; elsewhere run `sudo make test-deps` once.
.PHONY: test-deps
test-deps:
	command -v skopeo >/dev/null || (apt-get update -qq && apt-get install -y -qq skopeo)
