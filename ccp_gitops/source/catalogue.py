"""Where the shipped catalogue (base/, components/, overlays/) and schemas/ live, checkout or wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]
# A wheel carries them inside the package (setup.py copies them); a checkout has them beside it.
CATALOGUE_ROOT = _PACKAGE / "_catalogue" if (_PACKAGE / "_catalogue" / "overlays").is_dir() else _PACKAGE.parent
SCHEMA_DIR = CATALOGUE_ROOT / "schemas"
