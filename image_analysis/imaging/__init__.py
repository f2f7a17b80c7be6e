"""The image stage: from uploaded bytes to exactly the pixels the vision model sees. It depends on nothing above it.

- ``kinds``: photo or drawing, and the roles an image sent plays (imports nothing: the presets use it);
- ``prepared``: the values handed on (``Preparation``, ``PreparedImage``, ``SourceImage``, a display copy);
- ``prepare``: the orchestration, ``prepare_image``;
- ``engines``: the decoders (libjpeg-turbo, libvips, pillow-heif) and the one place that picks one per upload;
- ``decode`` (Pillow and the steps every engine shares), ``encode`` (pixels to the bytes sent);
- ``vision_grid`` (the server's 28 px grid), ``tiles`` (a drawing's overview and tiles), ``integrity`` (damage a
  decoder hides), ``metadata`` (EXIF read and cleaned), ``jpeg_metadata`` (a JPEG sent as its own bytes);
- ``pdf``, ``pdf_budget``, ``pages`` (PDF sheets), ``isolation`` and ``_child`` (a decode in a process of its own).

Nothing is imported here, so that ``image_analysis.imaging.kinds`` loads no imaging library.
"""
