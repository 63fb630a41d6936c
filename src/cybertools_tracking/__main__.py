import sys

from cybertools_tracking.cli import main

sys.exit(main())
