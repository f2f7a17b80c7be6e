"""``python -m image_analysis``: see ``image_analysis.cli``."""

import sys

from image_analysis.cli import main

sys.exit(main())
