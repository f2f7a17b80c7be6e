"""Image analysis for site inspectors and QA engineers: prepare an image exactly as the vision model sees it,
ask the model to describe it, and render the image and its description together.

Modules, one per concern: ``vision_grid`` (the model's pixel grid and token count), ``prepare`` (image
preparation), ``metadata`` (EXIF facts shown, never sent), ``prompts``, ``model`` (the ``openai`` client),
``render`` (the page), ``cli`` (the command line), ``errors``.
"""
