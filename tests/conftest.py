import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # tests run against this checkout
    sys.path.insert(0, str(ROOT))

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES = {
    "birmingham": FIXTURES / "birmingham_2023_plan.xlsx",
    "barking": FIXTURES / "barking_dagenham_2014_plan.xlsx",
    "city": FIXTURES / "city_of_london_2017_plan.xlsx",
}


@pytest.fixture
def sample(tmp_path):
    """Copy a sample plan into tmp_path (never touch the fixtures) and return its path."""
    def _copy(name: str) -> Path:
        src = SAMPLES[name]
        dst = tmp_path / src.name
        shutil.copyfile(src, dst)
        return dst
    return _copy


@pytest.fixture(autouse=True)
def _log_to_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("XL_PLAN_LOG", str(tmp_path / "xl_plan.log"))
