"""`python -m gru2lstm`: the same command line as `gru2lstm` (cli.py)."""

from gru2lstm.cli import main

raise SystemExit(main())
