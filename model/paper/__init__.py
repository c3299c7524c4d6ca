"""The paper's full InstantRetouch model (CVPR 2026, §3.2-3.4), built on diffusers + transformers.

* :mod:`.teacher`  - InstructPix2Pix-style multi-step teacher ``ε_φ`` trained with eq. 1.
* :mod:`.student`  - one-step generator ``G_θ``: frozen VAE encoder, one-step UNet (eq. 2) and a
  light bilateral adapter predicting the grid ``Γ (B, 12, D, Gh, Gw)`` and guidance curves.
* :mod:`.losses`   - VSD (eq. 3) with its regulariser (eq. 4), progressive timesteps, prompt
  alignment (eqs. 5-6), data loss (eq. 7), bilateral loss (eq. 8).
* :mod:`.distill`  - stage 1 (eq. 9) and stage 2 (eq. 10) training.
* :mod:`.export`   - ONNX export of the inference graph; :mod:`.runtime` registers engine "paper".
* :mod:`.data`     - the ``pairs.jsonl`` triplet folder format and a tool to make one from photos.
* :mod:`.cli`      - ``retouch train teacher`` / ``retouch train distill`` / ``retouch train pairs``.

Everything runs with tiny random-initialised networks (``tiny=True``) on CPU; real runs load local
diffusers / CLIP folders and never download anything.
"""
