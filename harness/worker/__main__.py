import sys

from harness.worker.entry import main

sys.exit(main())
