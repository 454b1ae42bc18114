"""Stands in for govflow/security/inspector.py in a test: the real
inspection server, whose parser waits forever (on nothing, using no CPU) in
the child checking the file."""

import importlib.util
import sys
import time
from pathlib import Path

INSPECTOR = Path(__file__).resolve().parents[3] / "govflow" / "security" / "inspector.py"
spec = importlib.util.spec_from_file_location("inspector", INSPECTOR)
inspector = importlib.util.module_from_spec(spec)
spec.loader.exec_module(inspector)


def findings(kind, path, limits):
    while True:
        time.sleep(60)


inspector.findings = findings
sys.exit(inspector.main(sys.argv[1:]))
