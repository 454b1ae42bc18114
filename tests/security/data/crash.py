"""Stands in for govflow/security/inspector.py in a test: the real
inspection server, whose parser dies as a crashing parser would (SIGSEGV) in
the child checking the file. Run with `python -I`, so it loads the inspector
by its path."""

import importlib.util
import os
import signal
import sys
from pathlib import Path

INSPECTOR = Path(__file__).resolve().parents[3] / "govflow" / "security" / "inspector.py"
spec = importlib.util.spec_from_file_location("inspector", INSPECTOR)
inspector = importlib.util.module_from_spec(spec)
spec.loader.exec_module(inspector)


def findings(kind, path, limits):
    os.kill(os.getpid(), signal.SIGSEGV)


inspector.findings = findings
sys.exit(inspector.main(sys.argv[1:]))
