"""TensorBoard for the Fast Analytics Path (Qt-free): managed servers, event reader, archive."""
