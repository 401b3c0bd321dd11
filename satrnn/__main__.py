import sys

from satrnn.cli import main

sys.exit(main())
