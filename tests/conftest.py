import os
from pathlib import Path

import numpy as np
import pytest

REAL_DATA = Path(os.environ.get("PHYSIOAFFECT_REAL_DATA",
                                Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def real_data_dir():
    if not REAL_DATA.is_dir():
        pytest.skip(f"real recordings folder {REAL_DATA} is absent")
    return REAL_DATA
