"""One module per `satrnn` subcommand; each defines `register(subparsers)` (see analyses/clikit.py)."""
