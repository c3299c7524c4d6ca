"""Faces: RetinaFace (mobilenet0.25) boxes and five landmarks, and soft face / skin masks.

The detector is the ONNX export of biubug6/Pytorch_Retinaface's mobilenet0.25 model (see the
model card in ``resources/models/regions``). Its outputs are anchor offsets; decoding follows the
reference implementation (strides 8/16/32, two anchor sizes per stride, variances 0.1 / 0.2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from retouch_studio.model.regions import sessions

_STRIDES = (8, 16, 32)
_ANCHOR_SIZES = ((16, 32), (64, 128), (256, 512))
_VARIANCE = (0.1, 0.2)
# The network was trained on BGR input minus these channel means.
_BGR_MEAN = np.array([104.0, 117.0, 123.0], np.float32)


@dataclass(frozen=True)
class Face:
    """One face in the coordinates of the image it was found in.

    box: ``(x0, y0, x1, y1)``; landmarks: ``(5, 2)`` = right eye, left eye, nose, mouth corners.
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray


def _anchors(h: int, w: int) -> np.ndarray:
    rows = []
    for stride, sizes in zip(_STRIDES, _ANCHOR_SIZES):
        ny, nx = math.ceil(h / stride), math.ceil(w / stride)
        yy, xx = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
        centres = np.stack([(xx.ravel() + 0.5) * stride, (yy.ravel() + 0.5) * stride], 1)
        for_cell = np.repeat(centres, len(sizes), 0)
        wh = np.tile(np.array(sizes, np.float32)[:, None].repeat(2, 1), (len(centres), 1))
        rows.append(np.concatenate([for_cell, wh], 1))
    return np.concatenate(rows).astype(np.float32)


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    order = list(np.argsort(-scores))
    keep = []
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order:
        i = order.pop(0)
        keep.append(i)
        if not order:
            break
        rest = np.array(order)
        ix0 = np.maximum(boxes[i, 0], boxes[rest, 0])
        iy0 = np.maximum(boxes[i, 1], boxes[rest, 1])
        ix1 = np.minimum(boxes[i, 2], boxes[rest, 2])
        iy1 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
        overlap = inter / (area[i] + area[rest] - inter + 1e-9)
        order = [j for j, o in zip(order, overlap) if o < iou]
    return keep


def detect_faces(rgb: np.ndarray, score: float | None = None) -> list[Face]:
    """Faces in ``rgb`` ``(h, w, 3)`` float32 in ``[0, 1]`` (a proxy: long edge ~640 px)."""
    cfg = sessions.config()["faces"]
    score = cfg["score"] if score is None else score
    h, w = rgb.shape[:2]
    x = (rgb[..., ::-1] * 255.0 - _BGR_MEAN).transpose(2, 0, 1)[None].astype(np.float32)
    loc, conf, marks = sessions.session("faces").run(None, {"input": np.ascontiguousarray(x)})
    anchors = _anchors(h, w)
    loc, conf, marks = loc[0], conf[0][:, 1], marks[0]
    keep = conf > score
    if not keep.any():
        return []
    a, loc, conf, marks = anchors[keep], loc[keep], conf[keep], marks[keep]
    centre = a[:, :2] + loc[:, :2] * _VARIANCE[0] * a[:, 2:]
    size = a[:, 2:] * np.exp(loc[:, 2:] * _VARIANCE[1])
    boxes = np.concatenate([centre - size / 2, centre + size / 2], 1)
    points = a[:, None, :2] + marks.reshape(-1, 5, 2) * _VARIANCE[0] * a[:, None, 2:]
    faces = []
    for i in _nms(boxes, conf, cfg["nms_iou"]):
        x0, y0, x1, y1 = np.clip(boxes[i], 0, [w, h, w, h])
        faces.append(Face((float(x0), float(y0), float(x1), float(y1)), float(conf[i]), points[i]))
    return faces


def face_mask(faces: list[Face], shape: tuple[int, int]) -> np.ndarray:
    """Soft ellipses over the faces: ``(h, w)`` float32, 1 inside, a smooth rim of ~15 %."""
    h, w = shape
    out = np.zeros((h, w), np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for f in faces:
        x0, y0, x1, y1 = f.box
        # RetinaFace boxes run from the brows to the chin; the forehead sits above them.
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - 0.08 * (y1 - y0)
        rx, ry = 0.55 * (x1 - x0), 0.62 * (y1 - y0)
        d = np.sqrt(((xx - cx) / max(rx, 1.0)) ** 2 + ((yy - cy) / max(ry, 1.0)) ** 2)
        t = np.clip((1.0 - d) / 0.15, 0.0, 1.0)
        np.maximum(out, t * t * (3.0 - 2.0 * t), out=out)
    return out


def skin_likelihood(rgb: np.ndarray, faces: list[Face], lab: np.ndarray) -> np.ndarray:
    """How close each pixel's colour is to the skin of the faces found: ``(h, w)`` in ``[0, 1]``.

    The skin colour is sampled on the cheeks and nose (between the landmarks, away from eyes and
    mouth), so it adapts to each photo's light and to each person; chroma (a, b) weighs more than
    lightness, which shading changes.
    """
    h, w = rgb.shape[:2]
    samples = []
    for f in faces:
        eye_r, eye_l, nose, mouth_r, mouth_l = f.landmarks
        eye_dist = max(float(np.hypot(*(eye_l - eye_r))), 2.0)
        for p in (nose, (eye_r + mouth_r) / 2, (eye_l + mouth_l) / 2):
            r = max(1, int(0.18 * eye_dist))
            x, y = int(round(p[0])), int(round(p[1]))
            patch = lab[max(0, y - r): min(h, y + r + 1), max(0, x - r): min(w, x + r + 1)]
            if patch.size:
                samples.append(patch.reshape(-1, 3))
    if not samples:
        return np.zeros((h, w), np.float32)
    s = np.concatenate(samples)
    centre = np.median(s, 0)
    spread = np.maximum(np.percentile(np.abs(s - centre), 80, axis=0), [12.0, 5.0, 6.0])
    z = (lab - centre) / (2.5 * spread)
    d2 = 0.3 * z[..., 0] ** 2 + z[..., 1] ** 2 + z[..., 2] ** 2
    return np.exp(-0.5 * d2).astype(np.float32)
