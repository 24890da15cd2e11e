"""Text sections of ``pmcore demo``, one module per topic."""
