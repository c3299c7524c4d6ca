"""People: MediaPipe's selfie segmentation, run on a crop around each face found.

The selfie model separates a foreground person from the background but is trained on people
close to the camera, and on its own it also marks parrots, hats and lamps. So it only runs where
a face says a person is: on a square crop around each face that reaches down to the knees, which
also gives small people in a wide shot the 256 px they need. A person whose face is hidden or
turned away is therefore not found (the model card says so).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from retouch_studio.model.regions import sessions
from retouch_studio.model.regions.faces import Face

MAX_PEOPLE = 12


def body_box(face: Face, w: int, h: int) -> tuple[int, int, int, int]:
    """A square crop around a face reaching well below it (where the body usually is)."""
    x0, y0, x1, y1 = face.box
    fw, fh = x1 - x0, y1 - y0
    side = max(6.5 * fh, 5.0 * fw)
    cx = (x0 + x1) / 2
    top = y0 - 0.9 * fh
    box = [cx - side / 2, top, cx + side / 2, top + side]
    return tuple(int(round(v)) for v in (max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3])))


def people_mask(rgb: np.ndarray, faces: list[Face]) -> np.ndarray:
    """``(h, w)`` float32 in ``[0, 1]``: the people whose faces are in ``faces``."""
    h, w = rgb.shape[:2]
    out = np.zeros((h, w), np.float32)
    edge = sessions.config()["people"]["input"]
    sess = sessions.session("people")
    name = sess.get_inputs()[0].name
    for face in sorted(faces, key=lambda f: -(f.box[2] - f.box[0]))[:MAX_PEOPLE]:
        x0, y0, x1, y1 = body_box(face, w, h)
        if x1 - x0 < 4 or y1 - y0 < 4:
            continue
        crop = rgb[y0:y1, x0:x1]
        im = Image.fromarray((np.clip(crop, 0, 1) * 255 + 0.5).astype(np.uint8)).resize((edge, edge), Image.Resampling.BILINEAR)
        x = (np.asarray(im, np.float32) / 255.0).transpose(2, 0, 1)[None]
        prob = sess.run(None, {name: x})[0][0, 0]
        prob = np.asarray(Image.fromarray(prob.astype(np.float32), mode="F").resize((x1 - x0, y1 - y0), Image.Resampling.BILINEAR))
        # The crop's own person is the blob under the face; others in the crop get their own run.
        np.maximum(out[y0:y1, x0:x1], _blob_under_face(prob, face, x0, y0), out=out[y0:y1, x0:x1])
    return out


def _blob_under_face(prob: np.ndarray, face: Face, ox: int, oy: int) -> np.ndarray:
    from scipy import ndimage

    labels, n = ndimage.label(prob > 0.5)
    if n == 0:
        return np.zeros_like(prob)
    fx0, fy0, fx1, fy1 = (int(round(v)) for v in (face.box[0] - ox, face.box[1] - oy, face.box[2] - ox, face.box[3] - oy))
    hit = np.unique(labels[max(fy0, 0): max(fy1, 1), max(fx0, 0): max(fx1, 1)])
    hit = hit[hit > 0]
    if hit.size == 0:
        return np.zeros_like(prob)
    keep = ndimage.binary_dilation(np.isin(labels, hit), iterations=2)
    return np.where(keep, prob, 0.0).astype(np.float32)
