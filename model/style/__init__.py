"""Learned styles: a photographer's own look, learned from their before/after pairs.

A style is photo-adaptive, not one LUT. It has two parts, both fitted on the pairs:

* **per-photo renderer parameters** (exposure, white balance, tone, saturation, vignette of
  ``model.params``) predicted from statistics of the photo (:mod:`.features`) by a small ridge
  regression, so a dark photo is lifted more than a bright one and a blue cast is neutralised
  more than a neutral photo, as the photographer did;
* **one shared smooth colour grade** (a 3D LUT) fitted on what the renderer leaves over.

At prediction time both are applied to the proxy and a bilateral grid is fitted to the result
(:mod:`.predictor`), so a style is applied like every other edit: at any strength, under masks,
stacked with words, at full resolution, and it can only change tone and colour.

Files: :mod:`.reference` (how an instruction names a style), :mod:`.pairs` (reading and checking
the two folders), :mod:`.features`, :mod:`.learn`, :mod:`.predictor`, :mod:`.store` (the style
folders in the user's config directory).
"""
