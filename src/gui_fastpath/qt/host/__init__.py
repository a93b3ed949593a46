"""A reference host: the same extension points as MOSAIC, loading the plugin by entry points."""
