#!/usr/bin/env python
"""Django's command-line utility for govflow."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govflow.settings.local")
    from govflow.cli import main as run

    run(sys.argv)


if __name__ == "__main__":
    main()
