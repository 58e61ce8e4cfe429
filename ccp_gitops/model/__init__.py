"""The types every stage shares: problems with locations, object identity, objects, environments, locks."""
