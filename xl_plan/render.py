"""Printing workbooks as a manager would: LibreOffice headless converts a workbook to PDF (every
sheet, with each sheet's own page setup), poppler's pdftoppm makes a PNG of each page. Used by the
board report (xl_plan/report_job.py) and by the tests that check the printed sheets."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import XlPlanError


def soffice() -> str | None:
    """The LibreOffice program, or None when it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(workbook: Path, out_dir: Path, *, timeout: int = 240) -> Path:
    """`workbook` printed to `out_dir/<stem>.pdf` by LibreOffice headless, with a profile of its own
    (never clashes with a LibreOffice the user has open)."""
    program = soffice()
    if program is None:
        raise XlPlanError("LibreOffice is not installed, so xl_plan cannot print to PDF.")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="xl_plan-lo-") as profile:
        proc = subprocess.run([program, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless",
                               "--convert-to", "pdf", "--outdir", str(out_dir), str(workbook)],
                              capture_output=True, text=True, timeout=timeout)
    pdf = out_dir / f"{Path(workbook).stem}.pdf"
    if proc.returncode != 0 or not pdf.exists():
        raise XlPlanError(f"LibreOffice could not print {Path(workbook).name} to PDF: {proc.stderr.strip()[:300]}")
    return pdf


def to_pngs(pdf: Path, out_dir: Path, *, dpi: int = 60, prefix: str | None = None) -> list[Path]:
    """A PNG of each page of `pdf` (`<prefix>-1.png`, ...), in page order."""
    if shutil.which("pdftoppm") is None:
        raise XlPlanError("poppler's pdftoppm is not installed, so no pictures of the pages were made.")
    prefix = prefix or pdf.stem
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(out_dir / prefix)], check=True,
                   capture_output=True, timeout=120)
    pages = sorted(out_dir.glob(f"{prefix}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    return pages


def page_sizes(pdf: Path) -> list[tuple[float, float]]:
    """Each page's (width, height) in points, from pdfinfo."""
    out = subprocess.run(["pdfinfo", "-f", "1", "-l", "9999", str(pdf)], check=True, capture_output=True,
                         text=True, timeout=60).stdout
    sizes = []
    for line in out.splitlines():
        if line.startswith("Page") and "size:" in line:
            parts = line.split("size:")[1].split()
            sizes.append((float(parts[0]), float(parts[2])))
    return sizes


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True,
                          timeout=60).stdout


def is_a4(size: tuple[float, float]) -> bool:
    w, h = sorted(size)
    return abs(w - 595.3) < 2 and abs(h - 841.9) < 2
