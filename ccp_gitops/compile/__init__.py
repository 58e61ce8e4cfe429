"""The compile pipeline: resolve the layers, render, assemble objects, waves, layout; one or many environments."""
