"""Objects: one rendered Kubernetes object with its identity, component and origin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ccp_gitops.model.problems import Location
from ccp_gitops.model.resid import ResId


@dataclass
class Obj:
    """One rendered Kubernetes object, its identity, component and the template that made it."""

    id: ResId
    body: dict[str, Any]
    component: str
    origin: Location
