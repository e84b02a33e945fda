"""xl_plan: a council's improvement action plan, in its own Excel layout, with Python behind it."""
__version__ = "0.1.0"

from .layout.detect import read_plan  # noqa: E402
from .validate import validate  # noqa: E402
from .jobs import consolidate, merge_returns  # noqa: E402

__all__ = ["read_plan", "validate", "merge_returns", "consolidate", "__version__"]
