"""``python -m image_analysis``: see ``image_analysis.cli``."""

import os
import sys

from image_analysis.cli import main

try:
    code = main()
    sys.stdout.flush()
except BrokenPipeError:  # the reader went away (``... | head``): not an error worth a traceback
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    code = 1
sys.exit(code)
