"""VIKTOR app: upload site photos or engineering drawings, get them back beside a vision model's description.

Thin on purpose: the parametrization, the views, the downloads and the chat, and the translation of the project's
errors into ``vkt.UserError``. The work is done by the ``image_analysis`` package next to this file.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import viktor as vkt
from viktor.api_v1 import FileResource

from image_analysis import analysis, model, prepare, prompts, render, report
from image_analysis import chat as follow_up
from image_analysis.errors import AnalysisError, ImageInputError, ServiceError
from image_analysis.presets import AnalysisRequest, ConditionScale, Language, Preset

MAX_UPLOAD_BYTES = 50_000_000


def _is_inspection(params: Any, **kwargs: Any) -> bool:
    return params.preset == Preset.INSPECTION.value


class Parametrization(vkt.Parametrization):
    intro = vkt.Text(
        "Upload a site photo or an engineering drawing, or a batch of photos. The vision model's description "
        "appears beside each image exactly as the model saw it. Location and camera data are shown but never "
        "sent to the model."
    )
    image = vkt.FileField(
        "Image",
        file_types=prepare.FILE_TYPES,
        max_size=MAX_UPLOAD_BYTES,
        description="A site photo or drawing: JPEG, PNG, WebP, HEIC, GIF, TIFF, BMP or PDF, up to 50 MB.",
    )
    page = vkt.IntegerField(
        "PDF page", default=1, min=1, description="For a PDF drawing: the page to analyse (the first is 1)."
    )
    photos = vkt.MultiFileField(
        "Photos (batch)",
        file_types=prepare.FILE_TYPES,
        max_size=MAX_UPLOAD_BYTES,
        description=f"Up to {analysis.MAX_BATCH} site photos, analysed together and numbered in upload order.",
    )
    preset = vkt.OptionField(
        "Preset",
        options=[vkt.OptionListElement(preset.value, preset.label) for preset in Preset],
        default=Preset.GENERAL.value,
        variant="radio",
        description="Site inspection: findings and a condition score. Drawing: title block, notes and questions; "
        "sent lossless, a large sheet as an overview plus tiles.",
    )
    scale = vkt.OptionField(
        "Condition scale",
        options=[vkt.OptionListElement(scale.value, scale.definition.name) for scale in ConditionScale],
        default=ConditionScale.NEN2767.value,
        visible=_is_inspection,
    )
    language = vkt.OptionField(
        "Language",
        options=[vkt.OptionListElement(language.value, language.label) for language in Language],
        default=Language.EN.value,
    )
    question = vkt.TextAreaField(
        "Question or instruction (optional)",
        description="For example: 'Is the crack near the column wider than 0.3 mm?' or 'List every note.'",
    )
    chat = vkt.Chat(
        "Ask about the image",
        method="ask",
        first_message="Ask a follow-up question about the image in the Image field, e.g. 'Is this crack structural?'",
        placeholder="Ask about the image",
    )
    word_report = vkt.DownloadButton("Word report", method="download_word")
    html_report = vkt.DownloadButton("HTML report", method="download_html")
    findings_csv = vkt.DownloadButton("Findings (CSV)", method="download_csv")


class Controller(vkt.Controller):
    label = "Image analysis"
    parametrization = Parametrization

    @vkt.WebView("Analysis", duration_guess=20, update_label="Analyse image")
    def analysis(self, params: Any, **kwargs: Any) -> vkt.WebResult:
        if params.image is None:
            return vkt.WebResult(html=render.render_empty_page())
        return vkt.WebResult(html=render.render_page(_single(params)))

    @vkt.WebView("Photos (batch)", duration_guess=60, update_label="Analyse photos")
    def batch(self, params: Any, **kwargs: Any) -> vkt.WebResult:
        if not params.photos:
            return vkt.WebResult(html=render.render_empty_page("site photos in the Photos (batch) field"))
        return vkt.WebResult(html=render.render_report(_batch(params)))

    def ask(self, params: Any, **kwargs: Any) -> vkt.ChatResult:
        """Follow-up questions: the same prepared image and the first description go with every turn."""
        conversation = params.chat
        if params.image is None:
            return vkt.ChatResult(conversation, follow_up.NO_IMAGE)
        analysed = _single(params)
        try:
            settings = model.ServiceSettings.from_environment(model.model_id())
            return vkt.ChatResult(conversation, follow_up.reply(conversation.get_messages(), analysed, settings))
        except ServiceError as error:
            return vkt.ChatResult(conversation, str(error))
        except ValueError:
            return vkt.ChatResult(conversation, "Ask a question about the image.")

    def download_word(self, params: Any, **kwargs: Any) -> vkt.DownloadResult:
        docx = report.word_report(_everything(params))
        return vkt.DownloadResult(file_content=docx, file_name="image-analysis-report.docx")

    def download_html(self, params: Any, **kwargs: Any) -> vkt.DownloadResult:
        html = render.render_report(_everything(params))
        return vkt.DownloadResult(file_content=html.encode("utf-8"), file_name="image-analysis-report.html")

    def download_csv(self, params: Any, **kwargs: Any) -> vkt.DownloadResult:
        csv = report.findings_csv(_everything(params))
        return vkt.DownloadResult(file_content=csv.encode("utf-8"), file_name="image-analysis-findings.csv")


def _request(params: Any) -> AnalysisRequest:
    return AnalysisRequest(
        preset=Preset(params.preset or Preset.GENERAL.value),
        language=Language(params.language or Language.EN.value),
        scale=ConditionScale(params.scale or ConditionScale.NEN2767.value),
        question=params.question or "",
        page=params.page or 1,
    )


def _memo_key(request: AnalysisRequest) -> dict[str, Any]:
    """The arguments that key the memoized calls: the choices and the exact prompt and model they produce."""
    prompt = prompts.build_prompt(request)
    return {
        "request": request.to_json(),
        "system_prompt": prompt.system,
        "user_prompt": prompt.user,
        "model_name": model.model_id(),
    }


def _single(params: Any) -> analysis.Analysis:
    """The memoized analysis of the Image field; a problem becomes a ``vkt.UserError``."""
    try:
        return analysis.Analysis.from_json(analyse_upload(image=params.image, **_memo_key(_request(params))))
    except ImageInputError as error:
        raise _field_error(str(error), "image") from None
    except ServiceError as error:
        raise vkt.UserError(str(error)) from None


def _batch(params: Any) -> list[analysis.Analysis]:
    """The analyses of the Photos field, in upload order; a failed photo carries its own message."""
    if len(params.photos) > analysis.MAX_BATCH:
        raise _field_error(
            f"{len(params.photos)} photos were uploaded; at most {analysis.MAX_BATCH} can be analysed at once.",
            "photos",
        )
    try:
        results = analyse_photos(photos=params.photos, **_memo_key(_request(params)))
    except IncompleteBatchError as incomplete:
        results = incomplete.results
    except ServiceError as error:
        raise vkt.UserError(str(error)) from None
    return [analysis.Analysis.from_json(result) for result in results]


def _everything(params: Any) -> list[analysis.Analysis]:
    """What a report covers: the Image first, then the batch photos, numbered in that order."""
    single = [_single(params)] if params.image is not None else []
    photos = _batch(params) if params.photos else []
    if not single and not photos:
        raise _field_error("Upload an image or photos first; the report describes them.", "image")
    return [dataclasses.replace(result, number=number) for number, result in enumerate([*single, *photos], start=1)]


def _field_error(message: str, field: str) -> vkt.UserError:
    return vkt.UserError(message, input_violations=[vkt.InputViolation(message, fields=[field])])


class IncompleteBatchError(AnalysisError):
    """A batch in which some photo failed: raised past ``vkt.memoize`` so that it is not cached (a re-run retries)."""

    def __init__(self, results: list[dict]) -> None:
        super().__init__("Some photos could not be analysed.")
        self.results = results


@vkt.memoize
def analyse_upload(
    *,
    image: FileResource,
    request: dict,
    system_prompt: str,
    user_prompt: str,
    model_name: str,
) -> dict:
    """Prepare and describe one upload. Memoized on the upload, the choices, the exact prompt and the model
    (keyword-only, so every call makes the same key): re-opening the view or downloading a report costs no
    download and no fair-usage tokens. Errors are raised, so they are never cached."""
    choices = AnalysisRequest.from_json(request)
    upload = analysis.Upload(image.filename, image.file.getvalue_binary())
    preparation = analysis.prepare(upload, choices)
    settings = model.ServiceSettings.from_environment(model_name)
    description = analysis.describe(preparation, choices, settings)
    return analysis.Analysis(1, upload.name, choices, preparation, description).to_json()


@vkt.memoize
def analyse_photos(
    *,
    photos: list[FileResource],
    request: dict,
    system_prompt: str,
    user_prompt: str,
    model_name: str,
) -> list[dict]:
    """Analyse a batch concurrently, with progress. Cached only when every photo succeeded; otherwise
    ``IncompleteBatchError`` carries the results past the cache, so that running it again retries."""
    choices = AnalysisRequest.from_json(request)
    settings = model.ServiceSettings.from_environment(model_name)
    uploads = [analysis.Upload(photo.filename, photo.file.getvalue_binary()) for photo in photos]
    results = analysis.analyse_batch(uploads, choices, settings, progress=_progress)
    serialised = [result.to_json() for result in results]
    if any(result.error for result in results):
        raise IncompleteBatchError(serialised)
    return serialised


def _progress(done: int, total: int) -> None:
    vkt.progress_message(f"Analysed {done} of {total} photos", percentage=round(100 * done / total))
