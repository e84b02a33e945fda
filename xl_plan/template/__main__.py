"""``python -m xl_plan.template build [OUT]``: rebuild workbook_template.xlsm."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in ("build",) or len(argv) > 2:
        print("usage: python -m xl_plan.template build [OUT]", file=sys.stderr)
        return 2
    from . import TemplateError
    from .build import DEFAULT_OUT, build_template
    try:
        out = build_template(argv[1] if len(argv) > 1 else DEFAULT_OUT)
    except TemplateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"built {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
