"""A built-in demo worker that really trains something small and writes its own analytics."""
