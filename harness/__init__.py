"""voicelane harness: runs lanes and verifies what they print and write against the contracts.

The harness never imports torch; only ``trainer`` does.
"""

__version__ = "0.1.0"
