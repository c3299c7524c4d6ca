"""One-click region selections and region words in the app.

The Select menu's Subject / Sky / People / Faces / Background each add a layer whose mask starts
from that region (found by ``model.regions`` on the photo, refined to its edges at any size); the
brush then adds to it or erases from it, and typing an instruction while that layer is current
says what to do there (until then it is an auto correction inside the region). An instruction
that names regions ("warmer, brighten the faces") becomes one layer per region.
"""

from __future__ import annotations

from PySide6.QtGui import QAction

SELECTIONS = (
    ("Select &Subject", "subject"),
    ("Select S&ky", "sky"),
    ("Select &People", "people"),
    ("Select &Faces", "faces"),
    ("Select &Background", "background"),
)


def add_select_menu(window) -> None:
    menu = window.menuBar().addMenu("&Select")
    window.select_actions = {}
    for label, region in SELECTIONS:
        action = QAction(label, window, triggered=lambda _checked=False, r=region: select_region(window, r))
        menu.addAction(action)
        window.select_actions[region] = action


def region_note(doc, region: str) -> tuple[bool, str]:
    from retouch_studio.model.regions.masks import region_mask

    found = region_mask(doc.pixels, region)  # cached by content: the preview reuses it
    return found.found, found.note


def select_region(window, region: str):
    """A new layer masked to ``region``; says so when the photo has none."""
    doc = window.doc
    if doc is None:
        window.show_message("Open a photo first (Ctrl+O or drop files on the window).", error=True)
        return None
    found, note = region_note(doc, region)
    layer = doc.add_layer("", window.settings.default_strength, edge_aware=window.settings.edge_aware, region=region)
    window._after_edit()
    if found:
        window.show_message(f"Selected the {region} ({note}): type what to do there; the brush adds to it, erase removes.")
    else:
        window.show_message(f"{note[:1].upper()}{note[1:]}: this layer changes nothing until you paint it.")
    return layer


def apply_region_words(window, text: str, new_layer: bool = False):
    """Layers for an instruction that names regions; None when it names none (stays global).

    Typed while a fresh selection (a region layer with no instruction yet) is current, a text
    without region words becomes that layer's instruction.
    """
    from retouch_studio.model.regions.words import names_a_region, split_regions

    doc = window.doc
    current = doc.current_layer()
    if not names_a_region(text):
        if not new_layer and current is not None and current.region and not current.instruction:
            return doc.replace_layer(doc.current, f"Instruction “{text}”", instruction=text, kind="instruction")
        return None
    layer = None
    for clause in split_regions(text):
        layer = doc.add_layer(
            clause.text, window.settings.default_strength, edge_aware=window.settings.edge_aware,
            region=clause.region, invert=clause.invert,
        )  # fmt: skip
    return layer
