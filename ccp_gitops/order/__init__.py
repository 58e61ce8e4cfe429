"""Order: the dependency graph of components and the order Argo CD and Flux apply a tree in."""
