"""The README's five-minute tour works as written (the block between the tour markers)."""

import re
import subprocess
from pathlib import Path

import pytest

from tests.interop.conftest import CHANCERY
from tests.interop.server import free_port

pytestmark = [pytest.mark.interop, pytest.mark.slow]
README = Path(__file__).parents[2] / "README.md"


def tour_script() -> str:
    text = README.read_text()
    block = re.search(r"<!-- tour:begin -->\s*```bash\n(.*?)```\s*<!-- tour:end -->", text, re.DOTALL)
    assert block, "the README lost its tour markers"
    return block.group(1)


def test_the_readme_tour_runs_as_written(tmp_path: Path) -> None:
    script = "set -euo pipefail\n" + tour_script()
    env = {
        "PATH": f"{Path(CHANCERY).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "CHANCERY_PORT": str(free_port()),
        "CHANCERY_KDF_SCRYPT_N": "16384",  # the tour's scrypt cost, lowered for test speed only
    }
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": OK") == 2  # both openssl verify lines
    assert '"status":"revoked"' in result.stdout.replace(" ", "")
    assert (tmp_path / "chancery-data" / "chancery.db").exists()
    assert (tmp_path / "chancery-data").stat().st_mode & 0o777 == 0o700
