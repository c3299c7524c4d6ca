"""``retouch-studio [FILES...]``: the Retouch Studio desktop program."""

from __future__ import annotations

import argparse
import logging
import os
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="retouch-studio",
        description="Retouch Studio: type what you want, see it instantly, export at full resolution.",
    )
    parser.add_argument("files", nargs="*", help="photos or folders to open")
    parser.add_argument("--model", help="model folder to use instead of the one in the settings")
    parser.add_argument("--verbose", action="store_true", help="log debug messages")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

    from retouch_studio.app.settings import Settings

    settings = Settings.load()
    if args.model:
        settings.model_dir = args.model
    if not settings.use_gpu:
        # Decided before torch initialises CUDA; the setting takes effect on the next start.
        os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

    from PySide6.QtWidgets import QApplication

    from retouch_studio.app.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Retouch Studio")
    app.setOrganizationName("retouch-studio")
    app.setStyle("Fusion")
    _dark_palette(app)
    window = MainWindow(settings)
    window.show()
    if args.files:
        window.open_paths(args.files)
    return app.exec()


def _dark_palette(app) -> None:
    from PySide6.QtGui import QColor, QPalette

    p = QPalette()
    for role, color in (
        (QPalette.ColorRole.Window, QColor(45, 45, 48)),
        (QPalette.ColorRole.WindowText, QColor(225, 225, 225)),
        (QPalette.ColorRole.Base, QColor(30, 30, 32)),
        (QPalette.ColorRole.AlternateBase, QColor(45, 45, 48)),
        (QPalette.ColorRole.Text, QColor(225, 225, 225)),
        (QPalette.ColorRole.Button, QColor(55, 55, 58)),
        (QPalette.ColorRole.ButtonText, QColor(225, 225, 225)),
        (QPalette.ColorRole.Highlight, QColor(60, 110, 180)),
        (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255)),
        (QPalette.ColorRole.ToolTipBase, QColor(30, 30, 32)),
        (QPalette.ColorRole.ToolTipText, QColor(225, 225, 225)),
    ):
        p.setColor(role, color)
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor(130, 130, 135))
    p.setColor(QPalette.ColorRole.Link, QColor(138, 180, 248))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(120, 120, 120))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(120, 120, 120))
    app.setPalette(p)


if __name__ == "__main__":
    sys.exit(main())
