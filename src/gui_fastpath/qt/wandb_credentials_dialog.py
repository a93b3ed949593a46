"""Asks for a W&B API key, only when the user has asked to sync or go online."""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from gui_fastpath.wandb.credentials import (
    CredentialError,
    Credentials,
    CredentialStore,
    keyring_available,
)

__all__ = ["CredentialDialog"]


class CredentialDialog(QDialog):
    """A password field; on OK the key goes to the store (memory, or keyring if ticked).

    :attr:`credentials` holds the result after acceptance. A refused key keeps the dialog
    open with the reason shown under the field.
    """

    def __init__(
        self,
        base_url: str,
        store: CredentialStore,
        *,
        purpose: str = "sync this run",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("W&B API key")
        self.base_url = base_url
        self.store = store
        self.credentials: Credentials | None = None
        self.notice = ""
        """Set when the key was accepted but the OS keyring refused it."""
        intro = QLabel(
            f"To {purpose}, enter your API key for {base_url}.\n"
            "It is kept in memory for this session and given to wandb through its "
            "environment; it is never written to disk."
        )
        intro.setWordWrap(True)
        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("API key")
        self.remember = QCheckBox("Also keep it in the OS keyring")
        if not keyring_available():
            self.remember.setEnabled(False)
            self.remember.setToolTip("Install the 'keyring' package to use the OS keyring.")
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020;")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (intro, self.key_edit, self.remember, self.error, buttons):
            layout.addWidget(widget)

    def accept(self) -> None:
        try:
            self.credentials = self.store.remember(
                self.base_url, self.key_edit.text(), use_keyring=self.remember.isChecked()
            )
        except CredentialError as exc:
            kept = self.store.find(self.base_url) if self.remember.isChecked() else None
            if kept is None:  # the key itself was refused: say why, let the user retype
                self.error.setText(str(exc))
                self.error.show()
                return
            self.credentials, self.notice = kept, str(exc)  # the keyring failed, not the key
        finally:
            self.key_edit.clear()  # the widget keeps no copy once we are done with it
        super().accept()
