"""One module per `satrnn` subcommand; each defines `register(subparsers)` (see satrnn/clikit.py)."""
