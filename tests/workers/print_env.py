"""Prints the fast-lane environment it was given, one NAME=value line each."""

import os

for name in (
    "GUI_FASTPATH_LANE",
    "GUI_FASTPATH_RUN_DIR",
    "GUI_FASTPATH_TENSORBOARD_DIR",
    "WANDB_DIR",
    "WANDB_MODE",
    "DISABLE_TELEMETRY",
    "MY_SETTING",
):
    print(f"{name}={os.environ.get(name)}")
