"""Region masks for local edits: faces, skin, people, subject, sky and background.

``masks.region_mask`` finds a region on the photo's proxy with the shipped models
(``resources/models/regions``, onnxruntime on the CPU); ``model.recipe.layer_mask`` refines it to
full resolution with the bilateral grid; ``words.split_regions`` reads region words in an
instruction. This package never imports Qt.
"""

REGIONS = ("faces", "skin", "people", "subject", "sky", "background")
