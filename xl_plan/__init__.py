"""xl_plan: a council's improvement action plan, in its own Excel layout, with Python behind it."""
__version__ = "0.1.0"

from .layout.detect import read_plan  # noqa: E402
from .validate import validate  # noqa: E402
from .carried import carried_forward  # noqa: E402

__all__ = ["read_plan", "validate", "carried_forward", "__version__"]
