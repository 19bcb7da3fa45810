"""The pipeline benchmark's parts; `benchmarks/pipeline_bench.py` is the command."""

import sys
from pathlib import Path

# The benchmark also runs from a checkout without chotdon installed (`python benchmarks/...`).
_REPO_ROOT = str(Path(__file__).resolve().parents[2])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)
