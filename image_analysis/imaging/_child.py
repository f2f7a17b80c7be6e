"""The child process of ``isolation.run_isolated``: ``python -m image_analysis.imaging._child`` reads its work on
stdin."""

import sys

from image_analysis.imaging.isolation import serve

if __name__ == "__main__":
    serve(sys.stdin.buffer)
