"""Names shared by whoever registers a model and whoever serves it.

Training registers the graded warning model under one name and moves aliases; serving resolves
``models:/<name>@champion``. Both read the names here, so the service never imports the
training pipeline (and its optimisation libraries) only to learn a string.
"""

from __future__ import annotations

from typing import Final

MODEL_NAME: Final = "red-credit-warning"
CHALLENGER: Final = "challenger"
CHAMPION: Final = "champion"
