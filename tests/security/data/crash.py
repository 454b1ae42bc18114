"""Stands in for govflow/security/inspector.py in a test: dies as a parser
crash would (SIGSEGV)."""

import os
import signal

os.kill(os.getpid(), signal.SIGSEGV)
