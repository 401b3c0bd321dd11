import sys

from satrnn.analyses.cli import main

sys.exit(main())
