"""The inputs: find, fetch, load and validate the source tree (base/, components/, overlays/) and its schemas."""
