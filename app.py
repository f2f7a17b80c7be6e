"""VIKTOR app: upload site photos or engineering drawings, get them back beside a vision model's description.

Thin on purpose: the parametrization, the views, the downloads and the chat, and the translation of the project's
errors into ``vkt.UserError``. The work is done by the ``image_analysis`` package next to this file.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import viktor as vkt
from viktor.api_v1 import FileResource

from image_analysis import analysis, model, photo_map, prepare, prompts, register, render, report
from image_analysis import chat as follow_up
from image_analysis import review as record
from image_analysis.errors import AnalysisError, ImageInputError, ServiceError
from image_analysis.pages import PageSpecError
from image_analysis.presets import AnalysisRequest, ConditionScale, Language, Preset
from image_analysis.store import StoreError
from image_analysis.vocabulary import CANNOT_TELL, DEFECT_TYPES, URGENCIES

MAX_UPLOAD_BYTES = 50_000_000
STORAGE_SCOPE = "workspace"
"""Where results are kept: an editor app's entity lives one session, so the workspace is what outlives it. Results are
keyed by a hash of the file's bytes with the choices and model, so only someone who uploads the same file sees its
stored result."""
SCORE_OPTIONS = list(
    dict.fromkeys([code for scale in ConditionScale for code in scale.definition.codes] + [CANNOT_TELL])
)


def _is_inspection(params: Any, **kwargs: Any) -> bool:
    return params.preset == Preset.INSPECTION.value


def _is_drawing(params: Any, **kwargs: Any) -> bool:
    return params.preset == Preset.DRAWING.value


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
    sheets = vkt.TextField(
        "Sheets of a PDF set",
        default="all",
        visible=_is_drawing,
        description="For a PDF drawing set in the Image field: all, a page such as 3, or ranges such as 2-5,8. "
        "Each sheet is analysed and listed in the drawing register (the Drawing set view).",
    )
    tiles = vkt.OptionField(
        "Drawing tiles",
        options=[
            vkt.OptionListElement("auto", "Overview plus tiles (small lettering readable)"),
            vkt.OptionListElement("off", "Overview only (fewer tokens)"),
        ],
        default="auto",
        visible=_is_drawing,
        description="The facts under the drawing show the image tokens each choice sends.",
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
    signoff = vkt.Text("Sign-off: shown at the top of every report, and the inspector named as the reviewer.")
    project = vkt.TextField("Project")
    location = vkt.TextField("Object / location")
    inspector = vkt.TextField("Inspector")
    inspection_date = vkt.TextField("Inspection date", description="For example 2026-11-20.")
    reference = vkt.TextField("Reference")
    review_intro = vkt.Text(
        "Review: fill the table with the AI's findings, then correct, add or delete rows and set each row's status. "
        "The reports use the reviewed rows; every change is marked as the inspector's."
    )
    fill_review = vkt.SetParamsButton("Review findings", method="fill_review", visible=_is_inspection)
    review = vkt.Table("Reviewed findings", visible=_is_inspection)
    review.photo = vkt.IntegerField("Photo")
    review.element = vkt.TextField("Element")
    review.defect_type = vkt.OptionField("Defect type", options=list(DEFECT_TYPES))
    review.location = vkt.TextField("Where")
    review.extent = vkt.TextField("Extent")
    review.condition_score = vkt.AutocompleteField("Condition score", options=SCORE_OPTIONS)
    review.recommended_action = vkt.TextField("Recommended action")
    review.urgency = vkt.AutocompleteField("Urgency", options=list(URGENCIES))
    review.inspector_note = vkt.TextField("Inspector's note")
    review.status = vkt.OptionField("Status", options=list(record.ORIGINS))
    review.ref = vkt.TextField("AI finding")
    forget = vkt.ActionButton("Forget the stored results of these uploads", method="forget_results")
    drawing_register = vkt.DownloadButton("Drawing register (CSV)", method="download_register", visible=_is_drawing)
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
        return vkt.WebResult(html=render.render_page(_single(params), _record(params)))

    @vkt.WebView("Photos (batch)", duration_guess=60, update_label="Analyse photos")
    def batch(self, params: Any, **kwargs: Any) -> vkt.WebResult:
        if not params.photos:
            return vkt.WebResult(html=render.render_empty_page("site photos in the Photos (batch) field"))
        photos = _batch(params, first_number=2 if params.image is not None else 1)
        return vkt.WebResult(html=render.render_report(photos, review=_record(params)))

    @vkt.WebView("Drawing set", duration_guess=60, update_label="Analyse the sheets")
    def drawing_set(self, params: Any, **kwargs: Any) -> vkt.WebResult:
        """Every chosen sheet of the PDF in the Image field, with the drawing register and the set checks."""
        if params.image is None or params.preset != Preset.DRAWING.value:
            what = "a PDF drawing set in the Image field, with the Drawing (QA) preset"
            return vkt.WebResult(html=render.render_empty_page(what))
        return vkt.WebResult(html=render.render_report(_sheets(params), "Drawing check report"))

    def download_register(self, params: Any, **kwargs: Any) -> vkt.DownloadResult:
        if params.image is None:
            raise _field_error("Upload a PDF drawing set first; the register lists its sheets.", "image")
        rows = register.build_register(_sheets(params))
        return vkt.DownloadResult(file_content=register.register_csv(rows).encode("utf-8"), file_name="register.csv")

    @vkt.MapView("Map", duration_guess=20, update_label="Show on the map")
    def map(self, params: Any, **kwargs: Any) -> vkt.MapResult:
        """Every photo with GPS as a point coloured by its worst condition score; the others in the legend."""
        if params.image is None and not params.photos:
            return vkt.MapResult([])
        analyses = _everything(params)
        scale = _request(params).scale.definition
        findings = _record(params, analyses).effective(record.ai_findings(analyses))
        placed = photo_map.photo_map(analyses, findings, scale)
        features = [
            vkt.MapPoint(
                point.lat,
                point.lon,
                title=f"{point.number}. {point.name}",
                description=point.description,
                color=vkt.Color(*point.colour),
            )
            for point in placed.points
        ]
        labels = [vkt.MapLabel(point.lat, point.lon, str(point.number), scale=14) for point in placed.points]
        legend = [(vkt.Color(*colour), label) for colour, label in placed.legend]
        if placed.without_gps:
            legend.append((vkt.Color(*photo_map.GREY), "No GPS: " + ", ".join(placed.without_gps)))
        return vkt.MapResult(features, labels=labels, legend=vkt.MapLegend(legend))

    def fill_review(self, params: Any, **kwargs: Any) -> vkt.SetParamsResult:
        """Fill the review table with the AI's findings, one row per defect per photo, numbered as in the reports."""
        rows = [
            {column: finding.to_row()[column] or None for column in REVIEW_COLUMNS}
            for finding in record.ai_findings(_everything(params))
        ]
        if not rows:
            raise _field_error(
                "There are no inspection findings to review: analyse with the Site inspection preset.", "preset"
            )
        return vkt.SetParamsResult({"review": rows})

    def forget_results(self, params: Any, **kwargs: Any) -> None:
        """Delete the stored results of the current uploads with the current choices (the next run describes them
        again once the inputs change or the cached view expires)."""
        store = _workspace_store()
        if store is None:
            raise vkt.UserError("Results are only stored on the VIKTOR platform; there is nothing to forget here.")
        request = _request(params)
        files = ([params.image] if params.image is not None else []) + list(params.photos or [])
        for file in files:
            store.forget(analysis.record_key(_upload(file), request, model.model_id()))

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
        analyses = _everything(params)
        docx = report.word_report(analyses, review=_record(params, analyses))
        return vkt.DownloadResult(file_content=docx, file_name="image-analysis-report.docx")

    def download_html(self, params: Any, **kwargs: Any) -> vkt.DownloadResult:
        analyses = _everything(params)
        html = render.render_report(analyses, review=_record(params, analyses))
        return vkt.DownloadResult(file_content=html.encode("utf-8"), file_name="image-analysis-report.html")

    def download_csv(self, params: Any, **kwargs: Any) -> vkt.DownloadResult:
        analyses = _everything(params)
        csv = report.findings_csv(analyses, _record(params, analyses))
        return vkt.DownloadResult(file_content=csv.encode("utf-8"), file_name="image-analysis-findings.csv")


def _request(params: Any) -> AnalysisRequest:
    return AnalysisRequest(
        preset=Preset(params.preset or Preset.GENERAL.value),
        language=Language(params.language or Language.EN.value),
        scale=ConditionScale(params.scale or ConditionScale.NEN2767.value),
        question=params.question or "",
        page=params.page or 1,
        tiles=params.get("tiles") or "auto",
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


def _sheets(params: Any) -> list[analysis.Analysis]:
    """The chosen sheets of the PDF in the Image field (one sheet for any other file), numbered from 1."""
    try:
        pages = analysis.chosen_pages(_upload(params.image), params.get("sheets") or "all") or [params.page or 1]
    except PageSpecError as error:
        raise _field_error(str(error), "sheets") from None
    except ImageInputError as error:
        raise _field_error(str(error), "image") from None
    if len(pages) > analysis.MAX_BATCH:
        raise _field_error(f"{len(pages)} sheets: at most {analysis.MAX_BATCH} at once; choose a range.", "sheets")
    try:
        results = analyse_sheets(image=params.image, pages=pages, **_memo_key(_request(params)))
    except IncompleteBatchError as incomplete:
        results = incomplete.results
    except ServiceError as error:
        raise vkt.UserError(str(error)) from None
    return [analysis.Analysis.from_json(result) for result in results]


def _single(params: Any) -> analysis.Analysis:
    """The memoized analysis of the Image field; a problem becomes a ``vkt.UserError``."""
    try:
        return analysis.Analysis.from_json(analyse_upload(image=params.image, **_memo_key(_request(params))))
    except ImageInputError as error:
        raise _field_error(str(error), "image") from None
    except ServiceError as error:
        raise vkt.UserError(str(error)) from None


REVIEW_COLUMNS = (
    "photo",
    "element",
    "defect_type",
    "location",
    "extent",
    "condition_score",
    "recommended_action",
    "urgency",
    "inspector_note",
    "status",
    "ref",
)


def _record(params: Any, analyses: list[analysis.Analysis] | None = None) -> record.Review:
    """The sign-off and the reviewed rows; the rows are checked against the analyses (all of them, numbered as in
    the reports), which are only gathered when there are rows. A bad row is marked on the review table."""
    signoff = record.SignOff(
        params.project, params.location, params.inspector, params.inspection_date, params.reference
    )
    rows = params.review or []
    if not rows:
        return record.Review(signoff)
    analyses = analyses if analyses is not None else _everything(params)
    try:
        return record.Review(signoff, tuple(record.reviewed(rows, analyses, _request(params).scale.definition)))
    except record.ReviewError as error:
        raise _field_error(f"Reviewed findings, {error}.", "review") from None


def _batch(params: Any, first_number: int = 1) -> list[analysis.Analysis]:
    """The analyses of the Photos field, in upload order, numbered from ``first_number`` (as in the reports); a
    failed photo carries its own message."""
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
    return [
        dataclasses.replace(analysis.Analysis.from_json(result), number=number)
        for number, result in enumerate(results, start=first_number)
    ]


def _everything(params: Any) -> list[analysis.Analysis]:
    """What a report covers: the Image first, then the batch photos, numbered in that order."""
    single = [_single(params)] if params.image is not None else []
    photos = _batch(params, first_number=len(single) + 1) if params.photos else []
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
    settings = model.ServiceSettings.from_environment(model_name)
    result = analysis.analyse(_upload(image), choices, settings, store=_workspace_store())
    if result.failed_at == analysis.INPUT:
        raise ImageInputError(result.error)
    if result.error:
        raise ServiceError(result.error)
    return result.to_json()


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
    uploads = [_upload(photo) for photo in photos]
    results = analysis.analyse_batch(uploads, choices, settings, progress=_progress, store=_workspace_store())
    serialised = [result.to_json() for result in results]
    if any(result.error for result in results):
        raise IncompleteBatchError(serialised)
    return serialised


def _upload(file: FileResource) -> analysis.Upload:
    return analysis.Upload(file.filename, file.file.getvalue_binary())


class _WorkspaceStore:
    """Results kept in ``vkt.Storage`` (workspace scope, no time limit) by ``analysis.record_key``: reopening the
    editor or re-running a batch describes only the photos without a stored result."""

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            return json.loads(vkt.Storage().get(key, scope=STORAGE_SCOPE).getvalue_binary())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise StoreError(f"The stored result could not be read ({error}).") from None

    def put(self, key: str, value: dict[str, Any]) -> None:
        try:
            vkt.Storage().set(key, data=vkt.File.from_data(json.dumps(value)), scope=STORAGE_SCOPE)
        except OSError as error:
            raise StoreError(f"The result could not be stored ({error}).") from None

    def forget(self, key: str) -> None:
        try:
            vkt.Storage().delete(key, scope=STORAGE_SCOPE)
        except FileNotFoundError:
            pass


def _workspace_store() -> _WorkspaceStore | None:
    """The store on the platform; ``None`` where there is no ``vkt.Storage`` (running outside VIKTOR)."""
    try:
        vkt.Storage()
    except OSError:
        return None
    return _WorkspaceStore()


@vkt.memoize
def analyse_sheets(
    *,
    image: FileResource,
    pages: list[int],
    request: dict,
    system_prompt: str,
    user_prompt: str,
    model_name: str,
) -> list[dict]:
    """The sheets of a PDF set, each one entry of a batch; cached only when every sheet succeeded."""
    choices = AnalysisRequest.from_json(request)
    settings = model.ServiceSettings.from_environment(model_name)
    uploads = analysis.sheet_uploads(_upload(image), pages)
    results = analysis.analyse_batch(uploads, choices, settings, progress=_progress, store=_workspace_store())
    serialised = [result.to_json() for result in results]
    if any(result.error for result in results):
        raise IncompleteBatchError(serialised)
    return serialised


def _progress(done: int, total: int) -> None:
    vkt.progress_message(f"Analysed {done} of {total} photos", percentage=round(100 * done / total))
