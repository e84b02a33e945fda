"""One log file for the CLI and the ribbon: details of unexpected errors go here, never on screen."""
from __future__ import annotations

import logging
import os
from pathlib import Path


def log_path() -> Path:
    override = os.environ.get("XL_PLAN_LOG")
    if override:
        return Path(override)
    return Path.home() / ".xl_plan" / "xl_plan.log"


def get_logger() -> logging.Logger:
    logger = logging.getLogger("xl_plan")
    path = log_path()
    current = [h for h in logger.handlers if getattr(h, "baseFilename", None) == str(path.absolute())]
    if not current:
        for old in list(logger.handlers):   # the log file moved (XL_PLAN_LOG changed)
            logger.removeHandler(old)
            old.close()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
        except OSError:
            handler = logging.NullHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def log_exception(exc: BaseException) -> Path:
    get_logger().error("unexpected error: %s", exc, exc_info=exc)
    return log_path()
