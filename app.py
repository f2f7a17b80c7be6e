"""VIKTOR app: upload a site photo or an engineering drawing, get it back beside a vision model's description.

Thin on purpose: the parametrization, one view, and the translation of the project's errors into
``vkt.UserError``. The work is done by the ``image_analysis`` package next to this file.
"""

from __future__ import annotations

from typing import Any

import viktor as vkt
from viktor.api_v1 import FileResource

from image_analysis import model, prepare, prompts, render
from image_analysis.errors import ImageInputError, ServiceError


class Parametrization(vkt.Parametrization):
    intro = vkt.Text(
        "Upload a site photo or an engineering drawing. The vision model's description appears beside the "
        "image exactly as the model saw it. Location and camera data are shown but never sent to the model."
    )
    image = vkt.FileField(
        "Image",
        file_types=prepare.FILE_TYPES,
        max_size=50_000_000,
        description="A site photo or drawing: JPEG, PNG, WebP, HEIC, GIF, TIFF or BMP, up to 50 MB.",
    )
    question = vkt.TextAreaField(
        "Question or instruction (optional)",
        description="For example: 'Is the crack near the column wider than 0.3 mm?' or 'List every note.'",
    )
    preset = vkt.OptionField(
        "Image type",
        options=[
            vkt.OptionListElement(prepare.Preset.AUTO.value, "Detect from the image"),
            vkt.OptionListElement(prepare.Preset.PHOTO.value, "Photo"),
            vkt.OptionListElement(prepare.Preset.DRAWING.value, "Drawing (lossless, in tiles when large)"),
        ],
        default=prepare.Preset.AUTO.value,
        description="A drawing is sent lossless, and a large sheet as an overview plus tiles so that small "
        "lettering stays readable.",
    )


class Controller(vkt.Controller):
    label = "Image analysis"
    parametrization = Parametrization

    @vkt.WebView("Analysis", duration_guess=20, update_label="Analyse image")
    def analysis(self, params: Any, **kwargs: Any) -> vkt.WebResult:
        if params.image is None:
            return vkt.WebResult(html=render.render_empty_page())
        question = params.question or ""
        prompt = prompts.build_prompt(question)
        preset = params.preset or prepare.Preset.AUTO.value
        try:
            result = analyse_upload(
                image=params.image,
                preset=preset,
                system_prompt=prompt.system,
                user_prompt=prompt.user,
                model_name=model.model_id(),
            )
        except ImageInputError as error:
            message = str(error)
            raise vkt.UserError(message, input_violations=[vkt.InputViolation(message, fields=["image"])]) from None
        except ServiceError as error:
            raise vkt.UserError(str(error)) from None
        preparation = prepare.Preparation.from_json(result["preparation"])
        description = model.Description.from_json(result["description"])
        return vkt.WebResult(html=render.render_page(preparation, description, question=question))


@vkt.memoize
def analyse_upload(*, image: FileResource, preset: str, system_prompt: str, user_prompt: str, model_name: str) -> dict:
    """Prepare the upload and describe it; memoized on the upload, preset, prompt and model (keyword-only, so that
    every call makes the same key).

    Re-opening the view costs no download and no fair-usage tokens. Errors are not cached. The result holds the
    encoded images (tens to a few hundred kB; up to ~1 MB for a tiled drawing).
    """
    preparation = prepare.prepare_image(image.file.getvalue_binary(), image.filename, preset=prepare.Preset(preset))
    settings = model.ServiceSettings.from_environment(model_name)
    description = model.describe(preparation.images, prompts.Prompt(system_prompt, user_prompt), settings)
    return {"preparation": preparation.to_json(), "description": description.to_json()}
