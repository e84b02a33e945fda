"""What 'the workbook keeps everything it had' means, as data that tests compare before and after a write."""
from __future__ import annotations

import openpyxl


def snapshot(path, skip_sheets=(), ignore_comments_by="xl_plan") -> dict:
    wb = openpyxl.load_workbook(path)
    out = {"sheetnames": [n for n in wb.sheetnames if n not in skip_sheets],
           "defined_names": sorted((n, str(d.attr_text)) for n, d in wb.defined_names.items())}
    for ws in wb.worksheets:
        if ws.title in skip_sheets:
            continue
        cells = {}
        for row in ws.iter_rows():
            for c in row:
                comment = c.comment.text if c.comment is not None and c.comment.author != ignore_comments_by else None
                cells[c.coordinate] = (c.value, repr((c.font, c.fill, c.border, c.alignment, c.number_format, c.protection)), comment)
        out[ws.title] = {
            "cells": cells,
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "widths": {k: v.width for k, v in ws.column_dimensions.items()},
            "heights": {k: v.height for k, v in ws.row_dimensions.items()},
            "validations": sorted((str(v.sqref), v.type, v.formula1) for v in ws.data_validations.dataValidation),
            "conditional": sorted((str(rng.sqref), tuple((r.type, tuple(r.formula or ())) for r in rules))
                                  for rng, rules in ws.conditional_formatting._cf_rules.items()),
            "freeze": ws.freeze_panes, "print_titles": ws.print_title_rows, "orientation": ws.page_setup.orientation,
            "state": ws.sheet_state,
        }
    return out
