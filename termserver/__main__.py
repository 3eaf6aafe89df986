"""`python -m termserver` runs the CLI."""

from termserver.cli import main

raise SystemExit(main())
