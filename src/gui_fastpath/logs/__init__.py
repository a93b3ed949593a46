"""Worker log files: tail-following without reading whole files (Qt-free)."""

from gui_fastpath.logs.tail import FileTail, TailChunk

__all__ = ["FileTail", "TailChunk"]
