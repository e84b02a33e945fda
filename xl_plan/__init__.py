"""xl_plan: a council's improvement action plan, in its own Excel layout, with Python behind it."""
__version__ = "0.1.0"
