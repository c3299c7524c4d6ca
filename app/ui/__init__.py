"""Qt widgets of the Retouch Studio desktop program (plus their Qt-free state in document/preview/export)."""
