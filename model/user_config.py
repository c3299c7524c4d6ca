"""Where the user's own files live: presets, learned styles.

``<platformdirs user config dir>/retouch-studio``, or the folder named by the environment variable
``RETOUCH_CONFIG_DIR`` (tests use it).
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "retouch-studio"


def config_dir() -> Path:
    override = os.environ.get("RETOUCH_CONFIG_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
