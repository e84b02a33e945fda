"""xl_plan: a council's improvement action plan, in its own Excel layout, with Python behind it.

The public API is imported on first use, so that `import xl_plan.excel.ribbon` (what every
ribbon click starts with) does not pay for modules the button does not need."""
__version__ = "0.1.0"

_API = {
    "read_plan": "xl_plan.layout.detect",
    "validate": "xl_plan.validate",
    "parse_timescale": "xl_plan.timescales",
    "carried_forward": "xl_plan.carried",
    "merge_returns": "xl_plan.jobs",
    "consolidate": "xl_plan.jobs",
}

__all__ = [*_API, "__version__"]


def __getattr__(name: str):
    if name in _API:
        import importlib

        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'xl_plan' has no attribute {name!r}")
