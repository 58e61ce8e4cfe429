"""Release upgrades: supported paths, the five phases, their trees, the lock record and the plan."""
