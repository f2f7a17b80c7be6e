"""The child process of ``isolation.run_isolated``: ``python -m image_analysis._child`` reads its work on stdin."""

import sys

from image_analysis.isolation import serve

if __name__ == "__main__":
    serve(sys.stdin.buffer)
