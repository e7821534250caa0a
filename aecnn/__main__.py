import sys

from aecnn.cli import main

sys.exit(main())
