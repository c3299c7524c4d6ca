"""The paper's full InstantRetouch model (CVPR 2026, §3.2-3.4), built on diffusers + transformers.

* :mod:`.teacher`   - InstructPix2Pix-style multi-step teacher ``ε_φ`` trained with eq. 1.
* :mod:`.student`   - one-step generator ``G_θ``: frozen VAE encoder, one-step UNet (eq. 2) and a
  light bilateral adapter predicting the grid ``Γ (B, 12, D, Gh, Gw)`` and guidance curves.
* :mod:`.losses`    - VSD (eq. 3) with its regulariser (eq. 4), progressive timesteps, InfoNCE
  (eq. 5-6), data loss (eq. 7), bilateral loss (eq. 8); :mod:`.alignment` - the CLIP side of 5-6.
* :mod:`.distill`   - stage 1 (eq. 9) and stage 2 (eq. 10) training.
* :mod:`.export`    - ONNX export of the inference graph; :mod:`.runtime` registers engine "paper".
* :mod:`.data`      - the ``pairs.jsonl`` triplet folder format and a tool to make one from photos.
* :mod:`.cli`       - ``retouch train teacher | distill | pairs``.

Smoke run (random tiny networks, CPU, seconds)::

    retouch train pairs --photos PHOTOS --out D --count 16 --size 64
    retouch train teacher --tiny --data D --max-steps 2 --out T
    retouch train distill --tiny --stage 1 --teacher T --data D --max-steps 2 --out S1
    retouch train distill --tiny --stage 2 --teacher T --init S1 --data D --max-steps 2 --out S2
    retouch apply photo.jpg -i "make it warmer" --model S2 -o out.jpg

Real run (GPU; nothing is downloaded - every path is a local folder)::

    retouch train pairs --photos PHOTOS --out D --count 200000 --size 1024 [--source synth]
    retouch train teacher --base instruct-pix2pix/ --data D --max-steps 20000 --out T
    retouch train distill --stage 1 --teacher T --clip clip-vit-large-patch14/ --data D --out S1
    retouch train distill --stage 2 --teacher T --init S1 --clip clip-vit-large-patch14/ --data D --out S2

``--base`` is a diffusers folder (``unet/ vae/ text_encoder/ tokenizer/ scheduler/``): an
InstructPix2Pix checkpoint, or a Stable Diffusion one whose UNet is widened to 8 input channels.
``--clip`` is a transformers ``CLIPModel`` folder with its tokenizer. Hyperparameters (loss
weights, learning rates, grid size, timestep curriculum...) live in ``paper_config.json``
(:class:`.config.PaperConfig`), saved in every output folder and overridable with ``--config``.
"""
