import sys

from crawler_compliance.cli import main

sys.exit(main())
