"""What can go wrong with a managed TensorBoard, as exceptions that say what to do."""

from __future__ import annotations

__all__ = ["DataServerUnavailable", "TensorBoardError", "TensorBoardStartError"]


class TensorBoardError(Exception):
    """A managed TensorBoard could not be started or reached (the message is one line)."""


class TensorBoardStartError(TensorBoardError):
    """TensorBoard or its data server exited (or hung) during start-up."""

    def __init__(self, message: str, *, stderr: str = "", returncode: int | None = None) -> None:
        super().__init__(message)
        self.stderr = stderr
        """The end of the process's stderr, with the access secret redacted."""
        self.returncode = returncode


class DataServerUnavailable(TensorBoardError):
    """TensorBoard's Rust data server (``tensorboard-data-server``) cannot be used here."""
