# Test prerequisites of the operator-experience verbs; the lead hooks `ux-deps` into `make test`.
# Graphviz's `dot` renders `ccp-gitops graph --format svg` (tests/test_graph.py runs the real one).
# CI runs as root; elsewhere run `sudo make ux-deps` once.
.PHONY: ux-deps
ux-deps:
	command -v dot >/dev/null || (apt-get update -qq && apt-get install -y -qq graphviz)
