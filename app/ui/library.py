"""What a photographer keeps about a photo besides its edits: flag, rating, named snapshots (no Qt).

Stored in the photo's sidecar next to the recipe (``app.ui.export.save_sidecar`` extras), so they
survive a restart and travel with the photo. A flag is ``"pick"``, ``"reject"`` or ``""``; a rating
0-5 stars; a snapshot a named copy of the layers (``model.recipe`` layer dicts).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from retouch_studio.app.ui.document import LayerState, layers_from_recipe, to_recipe_layer

FLAGS = ("", "pick", "reject")
FILTERS = ("All photos", "Picks", "Not rejected", "Rated 1+", "Rated 2+", "Rated 3+", "Rated 4+", "Rated 5")


@dataclass
class Library:
    rating: int = 0
    flag: str = ""
    snapshots: list = field(default_factory=list)  # [{"name": str, "layers": [layer dicts]}]

    @staticmethod
    def from_extras(extras: dict) -> "Library":
        rating = extras.get("rating", 0)
        flag = extras.get("flag", "")
        snaps = extras.get("snapshots", [])
        return Library(
            int(rating) if isinstance(rating, int) and 0 <= rating <= 5 else 0,
            flag if flag in FLAGS else "",
            [s for s in snaps if isinstance(s, dict) and isinstance(s.get("name"), str) and isinstance(s.get("layers"), list)]
            if isinstance(snaps, list) else [],
        )

    def extras(self) -> dict:
        return {"rating": self.rating, "flag": self.flag, "snapshots": self.snapshots}

    def badge(self) -> str:
        """Filmstrip text: ⚑ for a pick, ✕ for a reject, stars for the rating."""
        mark = {"pick": "⚑ ", "reject": "✕ "}.get(self.flag, "")
        return mark + "★" * self.rating

    def passes(self, filter_name: str) -> bool:
        if filter_name == "Picks":
            return self.flag == "pick"
        if filter_name == "Not rejected":
            return self.flag != "reject"
        if filter_name.startswith("Rated"):
            return self.rating >= int(filter_name.split()[1].rstrip("+"))
        return True

    def take_snapshot(self, name: str, layers: tuple[LayerState, ...]) -> None:
        from dataclasses import asdict

        self.snapshots = [s for s in self.snapshots if s["name"] != name]
        self.snapshots.append({"name": name, "layers": [asdict(to_recipe_layer(x)) for x in layers]})

    def snapshot_layers(self, name: str) -> tuple[LayerState, ...] | None:
        from retouch_studio.model.recipe import Recipe

        for s in self.snapshots:
            if s["name"] == name:
                return layers_from_recipe(Recipe.from_dict({"layers": s["layers"]}, f"snapshot {name!r}"))
        return None
