"""VIKTOR app: upload site photos or engineering drawings, get them back beside a vision model's description.

Thin on purpose: the parametrization, the views, the downloads and the chat, and the translation of the project's
errors into ``vkt.UserError``. The work is done by the ``image_analysis`` package next to this file.
"""

from __future__ import annotations

import dataclasses
import functools
import io
from collections.abc import Mapping, Sequence
from typing import Any

import viktor as vkt
from viktor.api_v1 import FileResource

from image_analysis import (
    analysis,
    comparison,
    fields,
    inspection_store,
    model,
    photo_map,
    prompts,
    quality,
    register,
    reinspection,
    reports,
)
from image_analysis import chat as follow_up
from image_analysis.errors import AnalysisError, BatchTooLargeError, ImageInputError, ServiceError
from image_analysis.fields import Choices, FindingField
from image_analysis.formats import findings_workbook
from image_analysis.formats.element_workbook import read_element_list
from image_analysis.imaging.decode import FILE_TYPES
from image_analysis.imaging.pages import PageSpecError
from image_analysis.inspection import Inspection
from image_analysis.inspection.decisions import VIA_TABLE, VIA_WORKBOOK
from image_analysis.inspection.elements import ElementListError, ObjectElements, object_id
from image_analysis.observations import INTENSITIES, SERIOUSNESS, SHARES
from image_analysis.presets import CANNOT_TELL, AnalysisRequest, ConditionScale, Language, Preset
from image_analysis.progress import Progress
from image_analysis.reports import html as render
from image_analysis.reports.word_layout import DEFAULT_PAPER, Paper
from image_analysis.review import (
    DELETED,
    ORIGINS,
    SIGNOFF_LABELS,
    Review,
    ReviewError,
    SignOff,
    ai_findings,
    current_rows,
    table_rows,
)
from image_analysis.store import MemoryStore, StoreError
from image_analysis.vocabulary import CHANGES, DEFECT_TYPES, URGENCIES
from image_analysis.workspace_store import (
    DEFAULT_RETENTION,
    RETENTION_CHOICES,
    STORAGE_FAILURES,
    Retention,
    WorkspaceStore,
)

_SCORES = [score for scale in ConditionScale for score in scale.definition.scores]
SCORE_OPTIONS = [
    *sorted({score for score in _SCORES if score.isdigit()}, key=int),
    *dict.fromkeys(score for score in _SCORES if not score.isdigit()),
]
"""The scores of every scale, in the order an inspector reads them: 0-9, then the words, then "cannot tell"."""


def _column(field: FindingField) -> Any:
    """The review table's column for a finding's field, as ``fields`` declares it."""
    options = {
        Choices.ORIGINS: [*ORIGINS, DELETED],
        Choices.DEFECT_TYPES: list(DEFECT_TYPES),
        Choices.SERIOUSNESS: [*SERIOUSNESS, CANNOT_TELL],
        Choices.INTENSITY: [*INTENSITIES, CANNOT_TELL],
        Choices.SHARE: [*SHARES, CANNOT_TELL],
    }
    suggested = {Choices.SCORES: SCORE_OPTIONS, Choices.URGENCIES: list(URGENCIES)}
    if field.whole_number:
        return vkt.IntegerField(field.heading)
    if field.choices in options:
        return vkt.OptionField(field.heading, options=options[field.choices])
    if field.choices in suggested:
        return vkt.AutocompleteField(field.heading, options=suggested[field.choices])
    return vkt.TextField(field.heading)


def _review_table(table: vkt.Table) -> vkt.Table:
    """The review table: a column for each of a finding's fields, in the declared order (the workbook's)."""
    for field in fields.FINDING_FIELDS:
        setattr(table, field.name, _column(field))
    return table


def _is_inspection(params: Any, **kwargs: Any) -> bool:
    return params.upload.preset == Preset.INSPECTION.value


def _is_drawing(params: Any, **kwargs: Any) -> bool:
    return params.upload.preset == Preset.DRAWING.value


def _has_photos(params: Any, **kwargs: Any) -> bool:
    return params.upload.image is not None or bool(params.upload.photos)


THIS_INSPECTION = "inspection"
WORKSPACE = "workspace"
QUALITY_SCOPES = {
    THIS_INSPECTION: "This inspection's review",
    WORKSPACE: "Every review kept in the workspace",
}


class Parametrization(vkt.Parametrization):
    upload = vkt.Tab("Upload and analyse")
    upload.intro = vkt.Text(
        "Upload a site photo or an engineering drawing, or a batch of photos. The vision model's description "
        "appears beside each image exactly as the model saw it. Location and camera data are shown but never "
        "sent to the model."
    )
    upload.image = vkt.FileField(
        "Image",
        file_types=FILE_TYPES,
        max_size=analysis.max_upload_bytes(),
        description="A site photo or drawing: JPEG, PNG, WebP, HEIC, GIF, TIFF, BMP or PDF, "
        f"up to {analysis.max_upload_bytes() // 1_000_000} MB.",
    )
    upload.page = vkt.IntegerField(
        "PDF page", default=1, min=1, description="For a PDF drawing: the page to analyse (the first is 1)."
    )
    upload.photos = vkt.MultiFileField(
        "Photos (batch)",
        file_types=FILE_TYPES,
        max_size=analysis.max_upload_bytes(),
        description=f"Up to {analysis.MAX_BATCH} site photos, analysed together and numbered in upload order.",
    )
    upload.preset = vkt.OptionField(
        "Preset",
        options=[vkt.OptionListElement(preset.value, preset.label) for preset in Preset],
        default=Preset.GENERAL.value,
        variant="radio",
        description="Site inspection: findings and a condition score. Drawing: title block, notes and questions; "
        "sent lossless, a large sheet as an overview plus tiles.",
    )
    upload.sheets = vkt.TextField(
        "Sheets of a PDF set",
        default="all",
        visible=_is_drawing,
        description="For a PDF drawing set in the Image field: all, a page such as 3, or ranges such as 2-5,8. "
        "Each sheet is analysed and listed in the drawing register (the Drawing set view).",
    )
    upload.tiles = vkt.OptionField(
        "Drawing tiles",
        options=[
            vkt.OptionListElement("auto", "Overview plus tiles (small lettering readable)"),
            vkt.OptionListElement("off", "Overview only (fewer tokens)"),
        ],
        default="auto",
        visible=_is_drawing,
        description="The facts under the drawing show the image tokens each choice sends.",
    )
    upload.scale = vkt.OptionField(
        "Condition scale",
        options=[vkt.OptionListElement(scale.value, scale.definition.name) for scale in ConditionScale],
        default=ConditionScale.NEN2767.value,
        visible=_is_inspection,
    )
    upload.language = vkt.OptionField(
        "Language",
        options=[vkt.OptionListElement(language.value, language.label) for language in Language],
        default=Language.EN.value,
    )
    upload.question = vkt.TextAreaField(
        "Question or instruction (optional)",
        description="For example: 'Is the crack near the column wider than 0.3 mm?' or 'List every note.'",
    )
    upload.chat = vkt.Chat(
        "Ask about the image",
        method="ask",
        first_message="Ask a follow-up question about the image in the Image field, e.g. 'Is this crack structural?'",
        placeholder="Ask about the image",
    )

    review = vkt.Tab("Review and sign-off")
    review.signoff = vkt.Text("Sign-off: shown at the top of every report, and the inspector named as the reviewer.")
    review.client = vkt.TextField("Client")
    review.project = vkt.TextField("Project")
    review.location = vkt.TextField("Object / location")
    review.inspector = vkt.TextField("Inspector")
    review.inspection_date = vkt.TextField("Inspection date", description="For example 2026-11-20.")
    review.reference = vkt.TextField("Reference")
    review.final = vkt.BooleanField(
        "Issue as final",
        description="The report's status becomes Final once every finding is reviewed; until then it stays a draft.",
    )
    review.review_intro = vkt.Text(
        "Review: fill the table with the AI's findings, then correct, add or delete rows and set each row's status. "
        "Press Review findings again to keep your changes with this entity: each row then shows the origin the "
        "reports give it (edited, added with its own ref, deleted), and every change is marked as the inspector's. "
        "In a new session an empty table is filled with the review as it was kept."
    )
    review.fill_review = vkt.SetParamsButton("Review findings", method="fill_review", visible=_is_inspection)
    review.workbook = vkt.FileField(
        "Reviewed workbook",
        file_types=[".xlsx"],
        max_size=findings_workbook.MAX_BYTES,
        visible=_is_inspection,
        description="The findings workbook (Reports: Findings (Excel)) after review in Excel or LibreOffice Calc.",
    )
    review.fill_from_workbook = vkt.SetParamsButton(
        "Fill the review table from the workbook", method="fill_from_workbook", visible=_is_inspection
    )
    review.findings = _review_table(vkt.Table("Reviewed findings", visible=_is_inspection))
    review.quality_scope = vkt.OptionField(
        "Measure the AI on",
        options=[vkt.OptionListElement(value, label) for value, label in QUALITY_SCOPES.items()],
        default=THIS_INSPECTION,
        visible=_is_inspection,
        description="The Quality view and its workbook: this review, or every review kept in the workspace (each "
        "editor shares its review there when it is kept, unless results are kept for the session only).",
    )

    compare = vkt.Tab("Compare with the previous inspection")
    compare.intro = vkt.Text(
        "Name the object and upload its element list (CSV or Excel: element_id, name, kind, material, location, "
        "lat, lon, quantity, replacement_value). Each photo is assigned to an element (suggested from its file name, "
        "the previous inspection's photo at the same place, or the model's words; type over a suggestion to make "
        "it yours); the Compare view then sets each element beside the latest earlier inspection of the object "
        "kept in the workspace. The model suggests what changed; you decide in the changes CSV."
    )
    compare.object_id = vkt.TextField("Object id", description="For example BR-10: the same id at every inspection.")
    compare.elements = vkt.FileField("Element list", file_types=[".csv", ".xlsx"], max_size=20_000_000)
    compare.fill_elements = vkt.SetParamsButton("Suggest each photo's element", method="fill_elements")
    compare.element_photos = vkt.Table("Photos and their elements")
    compare.element_photos.photo = vkt.IntegerField("Photo")
    compare.element_photos.file = vkt.TextField("File")
    compare.element_photos.element = vkt.TextField("Element")
    compare.element_photos.assigned_by = vkt.TextField("Assigned by")
    compare.fill_changes = vkt.SetParamsButton("Fill the changes to decide", method="fill_changes")
    compare.changes = vkt.Table(
        "Changes to decide",
        description="One row per previous defect seen again: the model's suggestion, and your decision. Kept when "
        "the Compare view is updated.",
    )
    compare.changes.element = vkt.TextField("Element")
    compare.changes.photo = vkt.IntegerField("Photo")
    compare.changes.file = vkt.TextField("File")
    compare.changes.previous_photo = vkt.TextField("Previous photo")
    compare.changes.ref = vkt.TextField("Previous defect id")
    compare.changes.previous_defect = vkt.TextField("Previous defect")
    compare.changes.suggested = vkt.TextField("The model suggests")
    compare.changes.decided = vkt.OptionField("You decide", options=list(CHANGES))
    compare.changes.note = vkt.TextField("Your note")
    compare.decisions = vkt.FileField(
        "Decided changes",
        file_types=[".csv"],
        max_size=5_000_000,
        description="The changes CSV (download it below the Compare view's section) with the 'decided' column "
        "filled in: unchanged, worse, better, repaired, not visible or cannot tell.",
    )
    compare.changes_csv = vkt.DownloadButton("Changes to decide (CSV)", method="download_changes", longpoll=True)

    reports = vkt.Tab("Reports and stored results")
    reports.downloads = vkt.Section("Downloads", initially_expanded=True)
    reports.downloads.paper = vkt.OptionField(
        "Paper",
        options=[paper.value for paper in Paper],
        default=DEFAULT_PAPER.value,
        description="The Word and PDF report's paper.",
    )
    reports.downloads.word_report = vkt.DownloadButton("Word report", method="download_word", longpoll=True)
    reports.downloads.pdf_report = vkt.DownloadButton("PDF report", method="download_pdf", longpoll=True)
    reports.downloads.html_report = vkt.DownloadButton("HTML report", method="download_html", longpoll=True)
    reports.downloads.findings_workbook = vkt.DownloadButton(
        "Findings (Excel)", method="download_workbook", longpoll=True, visible=_is_inspection
    )
    reports.downloads.findings_csv = vkt.DownloadButton("Findings (CSV)", method="download_csv", longpoll=True)
    reports.downloads.quality_workbook = vkt.DownloadButton(
        "How often the AI is right (Excel)", method="download_quality", longpoll=True, visible=_is_inspection
    )
    reports.downloads.drawing_register = vkt.DownloadButton(
        "Drawing register (CSV)", method="download_register", longpoll=True, visible=_is_drawing
    )
    reports.stored = vkt.Section("Stored results", initially_expanded=True)
    reports.stored.about = vkt.Text(
        "Descriptions are kept so that nothing is described (and paid for) twice: the description, the photo's "
        "date, GPS and camera, and a small copy of the image. Never the original file."
    )
    reports.stored.retention = vkt.OptionField(
        "Keep results",
        options=[vkt.OptionListElement(value, label) for value, label in RETENTION_CHOICES.items()],
        default=DEFAULT_RETENTION,
        description="Older results count as missing and are deleted when read. This editor session only: "
        "nothing outlives the session.",
    )
    reports.stored.forget = vkt.ActionButton(
        "Forget the stored results of these uploads", method="forget_results", visible=_has_photos
    )


class Controller(vkt.Controller):
    label = "Image analysis"
    parametrization = Parametrization

    @vkt.WebView("Analysis", duration_guess=20, update_label="Analyse image")
    def analysis(self, params: Any, **kwargs: Any) -> vkt.WebResult:
        if params.upload.image is None:
            return vkt.WebResult(html=render.render_empty_page())
        return vkt.WebResult(html=reports.html_page(_single(params), _review(params)))

    @vkt.WebView("Photos (batch)", duration_guess=60, update_label="Analyse photos")
    def batch(self, params: Any, **kwargs: Any) -> vkt.WebResult:
        if not params.upload.photos:
            return vkt.WebResult(html=render.render_empty_page("site photos in the Photos (batch) field"))
        photos = _batch(params, first_number=2 if params.upload.image is not None else 1)
        return vkt.WebResult(html=reports.html_report(photos, review=_review(params)))

    @vkt.WebView("Drawing set", duration_guess=60, update_label="Analyse the sheets", visible=_is_drawing)
    def drawing_set(self, params: Any, **kwargs: Any) -> vkt.WebResult:
        """Every chosen sheet of the PDF in the Image field, with the drawing register and the set checks."""
        if params.upload.image is None or params.upload.preset != Preset.DRAWING.value:
            what = "a PDF drawing set in the Image field, with the Drawing (QA) preset"
            return vkt.WebResult(html=render.render_empty_page(what))
        return vkt.WebResult(html=reports.html_report(_sheets(params)))

    @vkt.WebView("Quality", duration_guess=20, update_label="Measure the AI's findings", visible=_is_inspection)
    def quality(self, params: Any, **kwargs: Any) -> vkt.WebResult:
        """How often the AI is right in this inspection's review: the quality page ``evaluate`` writes."""
        return vkt.WebResult(html=reports.quality_page(_quality(params)))

    def download_quality(self, params: Any, **kwargs: Any) -> vkt.DownloadResult:
        """Every AI finding of the inspection with what the inspector decided on it, and the figures."""
        content = reports.quality_workbook(_quality(params))
        return vkt.DownloadResult(file_content=content, file_name="image_analysis_quality.xlsx")

    @vkt.WebView("Compare", duration_guess=30, update_label="Compare the inspections")
    def compare_view(self, params: Any, **kwargs: Any) -> vkt.WebResult:
        """Each element beside the previous inspection of the object: the changes page ``compare`` writes."""
        return vkt.WebResult(html=reports.changes_page(_reinspection(params, kwargs)))

    def download_changes(self, params: Any, **kwargs: Any) -> vkt.DownloadResult:
        content = reports.changes_csv(_reinspection(params, kwargs)).encode("utf-8")
        return vkt.DownloadResult(file_content=content, file_name="image_analysis_changes.csv")

    def fill_changes(self, params: Any, **kwargs: Any) -> vkt.SetParamsResult:
        """Fill the table of changes to decide: the model's suggestion per previous defect, the decisions kept."""
        compared = _reinspection(params, kwargs)
        rows = reports.change_rows(compared)
        try:  # the table as filled is what it says now: a row set back to it later is a decision again
            filled = reports.decisions_from_rows(rows, "Changes to decide")
            reinspection.decide(_record(params), compared.current, filled, _signoff(params).inspector, "table")
        except StoreError as error:
            vkt.UserMessage.warning(f"The change decisions could not be kept with the entity ({error}).")
        return vkt.SetParamsResult({"compare": {"changes": rows}})

    def fill_elements(self, params: Any, **kwargs: Any) -> vkt.SetParamsResult:
        """Fill the table of photos and their elements with the suggestions (a photo typed over keeps its own)."""
        elements = _elements(params)
        analyses = _everything(params)
        record = _record(params)
        current = _as_table_says(params, _current(params, record, analyses, elements), elements)
        before = _previous(params, current, kwargs)
        placed = reinspection.placed_photos(before.inspection, before.results) if before else []
        assigned = reinspection.assign(current, analyses, elements, placed)
        _keep_assignment(params, record, assigned, kwargs)
        return vkt.SetParamsResult({"compare": {"element_photos": reinspection.assignment_rows(assigned)}})

    def download_register(self, params: Any, **kwargs: Any) -> vkt.DownloadResult:
        if params.upload.image is None:
            raise _field_error("Upload a PDF drawing set first; the register lists its sheets.", "upload.image")
        rows = register.build_register(_sheets(params))
        return vkt.DownloadResult(file_content=register.register_csv(rows).encode("utf-8"), file_name="register.csv")

    @vkt.MapView("Map", duration_guess=20, update_label="Show on the map", visible=_is_inspection)
    def map(self, params: Any, **kwargs: Any) -> vkt.MapResult:
        """Every photo with GPS as a point coloured by its worst condition score; the others in the legend."""
        if params.upload.image is None and not params.upload.photos:
            return vkt.MapResult([])
        analyses = _everything(params)
        scale = _request(params).scale.definition
        findings = _review(params, analyses).effective(ai_findings(analyses))
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
        """Keep the review table's rows as the inspector's decisions, and fill the table with every finding as the
        record now stands, numbered as in the reports, each row with the origin the reports will give it: the
        model's findings for photos not reviewed, the kept decisions when the table is empty (a new editor session),
        rows of uploads no longer there dropped."""
        analyses = _everything(params)
        if not ai_findings(analyses):
            raise _field_error(
                "There are no inspection findings to review: analyse with the Site inspection preset.",
                "upload.preset",
            )
        rows = current_rows(params.review.findings or [], analyses)
        record = _record(params)
        if rows:
            recorded = _kept_review(params, record, analyses, _review(params, analyses, rows), VIA_TABLE, kwargs)
        else:
            try:
                recorded = inspection_store.editor_review(record, analyses, _request(params), _signoff(params))
            except StoreError as error:  # not the AI's rows instead: kept again, they would undo the review
                raise vkt.UserError(
                    f"The review kept with this entity could not be read ({error}) Try again."
                ) from None
        return vkt.SetParamsResult({"review": {"findings": _table(recorded, analyses)}})

    def fill_from_workbook(self, params: Any, **kwargs: Any) -> vkt.SetParamsResult:
        """Fill the review table (and the sign-off fields the workbook fills in) from the reviewed workbook: its
        rows as the inspector left them, each AI finding whose row is gone marked deleted. The workbook is checked
        whole against the current analyses first; a bad cell is marked on the upload field, sheet, row and column."""
        if params.review.get("workbook") is None:
            raise _field_error("Upload the reviewed findings workbook first.", "review.workbook")
        analyses = _everything(params)
        try:
            book = findings_workbook.read_review_workbook(params.review.workbook.file.getvalue_binary())
            problem = book.mismatch(analyses)
            if problem is not None:
                raise problem
            scale = _request(params).scale.definition
            given = _signoff(params).overridden_by(book.signoff)
            reviewed = Review.from_rows(given, book.rows, analyses, scale, before=_kept(params, analyses, given))
        except ReviewError as error:
            findings = (findings_workbook.finding_headings(), findings_workbook.FINDINGS)
            named = error if error.sheet else error.named(*findings)
            raise _field_error(f"Reviewed workbook, {named}.", "review.workbook") from None
        chosen = _elements_chosen(params, analyses, book.elements_chosen, kwargs)
        recorded = _kept_review(params, _record(params), analyses, reviewed, VIA_WORKBOOK, kwargs)
        rows = _table(recorded, analyses)
        signoff = {field: getattr(book.signoff, name) for name, field in SIGNOFF_FIELDS.items()}
        filled = {field: value for field, value in signoff.items() if value}  # a blank cell leaves the field as it is
        if book.signoff.final:
            filled["final"] = True
        compare = {"compare": {"element_photos": reinspection.assignment_rows(chosen)}} if chosen else {}
        return vkt.SetParamsResult({"review": {"findings": rows, **filled}, **compare})

    def forget_results(self, params: Any, **kwargs: Any) -> None:
        """Delete every stored result of the current uploads (every sheet of a set, every preset and model), and
        make the next view describe them again (the cached views are keyed by a counter that this raises)."""
        store = _workspace_store(params)
        if store is None:
            raise vkt.UserError("Results are only stored on the VIKTOR platform; there is nothing to forget here.")
        files = ([params.upload.image] if params.upload.image is not None else []) + list(params.upload.photos or [])
        try:
            removed = sum(store.forget(analysis.record_prefix(_upload(file).data)) for file in files)
            store.next_generation()
        except StoreError as error:
            raise vkt.UserError(f"{error} Try again in a moment.") from None
        results = "1 stored result" if removed == 1 else f"{removed} stored results"
        vkt.UserMessage.success(f"{results} forgotten; the next view describes the uploads again.")

    def ask(self, params: Any, **kwargs: Any) -> vkt.ChatResult:
        """Follow-up questions: the same prepared image (prepared again from the upload: what is cached is a
        display copy) and the first description go with every turn."""
        conversation = params.upload.chat
        if params.upload.image is None:
            return vkt.ChatResult(conversation, follow_up.NO_IMAGE)
        analysed = _single(params)
        try:
            vkt.progress_message("Preparing the image for the question")
            analysed = analysis.with_sent_images(analysed, _upload(params.upload.image))
            settings = model.ServiceSettings.from_environment(model.model_id())
            return vkt.ChatResult(conversation, follow_up.reply(conversation.get_messages(), analysed, settings))
        except (ServiceError, ImageInputError) as error:
            return vkt.ChatResult(conversation, str(error))
        except ValueError:
            return vkt.ChatResult(conversation, "Ask a question about the image.")

    def download_word(self, params: Any, **kwargs: Any) -> vkt.DownloadResult:
        analyses = _everything(params)
        docx = reports.word_report(analyses, review=_review(params, analyses), paper=_paper(params))
        return vkt.DownloadResult(file_content=docx, file_name="image_analysis_report.docx")

    def download_pdf(self, params: Any, **kwargs: Any) -> vkt.DownloadResult:
        """The Word report as PDF, converted by the platform (``vkt.convert_word_to_pdf``)."""
        analyses = _everything(params)
        docx = reports.word_report(analyses, review=_review(params, analyses), paper=_paper(params))
        vkt.progress_message("Converting the report to PDF")
        try:
            converted = vkt.convert_word_to_pdf(io.BytesIO(docx))
        except vkt.errors.Error as error:
            raise vkt.UserError(f"The PDF could not be made ({error}); download the Word report instead.") from None
        return vkt.DownloadResult(file_content=converted.getvalue_binary(), file_name="image_analysis_report.pdf")

    def download_html(self, params: Any, **kwargs: Any) -> vkt.DownloadResult:
        analyses = _everything(params)
        html = reports.html_report(analyses, review=_review(params, analyses))
        return vkt.DownloadResult(file_content=html.encode("utf-8"), file_name="image_analysis_report.html")

    def download_workbook(self, params: Any, **kwargs: Any) -> vkt.DownloadResult:
        """The findings workbook, to review in Excel or Calc and upload again (Reviewed workbook)."""
        if _request(params).preset is not Preset.INSPECTION:
            raise _field_error("The findings workbook is for site inspections: choose that preset.", "upload.preset")
        analyses = _everything(params)
        columns = _element_columns(params, analyses, kwargs)
        content = reports.findings_workbook(analyses, _review(params, analyses), columns)
        return vkt.DownloadResult(file_content=content, file_name="image_analysis_findings.xlsx")

    def download_csv(self, params: Any, **kwargs: Any) -> vkt.DownloadResult:
        analyses = _everything(params)
        csv = reports.findings_csv(analyses, _review(params, analyses))
        return vkt.DownloadResult(file_content=csv.encode("utf-8"), file_name="image_analysis_findings.csv")


def _quality(params: Any) -> quality.Quality:
    """The outcomes of the AI's findings measured: in this inspection's review as the reports take it (the table's
    rows, else the review kept with the entity), or in every review kept in the workspace; a ``UserError`` while
    nothing is reviewed."""
    if params.review.get("quality_scope") == WORKSPACE:
        return _workspace_quality(params)
    if _request(params).preset is not Preset.INSPECTION:
        raise _field_error("Quality is measured on site inspections: choose that preset.", "upload.preset")
    analyses = _everything(params)
    vkt.progress_message("Measuring the AI's findings against the review")
    review = _review(params, analyses)
    record = _record(params)
    if not review.reviewed_photos:
        review = _kept(params, analyses, review.signoff) or review
    if not review.reviewed_photos:
        raise vkt.UserError(
            "No finding is reviewed yet: review the findings (Review and sign-off tab), then measure the AI."
        )
    inspection = inspection_store.editor_inspection(record, analyses, _request(params))
    found = quality.outcomes(inspection, analyses, review)
    return quality.evaluate(found, _request(params).scale.definition, 1)


class _ReadingProgress(Progress):
    """How far the workspace's reviews are read, said in the view's progress message."""

    def file(self, done: int, total: int) -> None:
        vkt.progress_message(f"Read {done} of {total} reviews kept in the workspace", round(100 * done / (total or 1)))


def _workspace_quality(params: Any) -> quality.Quality:
    """Every review the workspace's editors kept and shared (``_share``), measured; a ``UserError`` on the scope
    field while there is none, or when the storage cannot be read."""
    field = "review.quality_scope"
    workspace = _workspace_store(params)
    if workspace is None or workspace.retention.scope != WORKSPACE:
        where = "outside VIKTOR" if workspace is None else "while results are kept for this editor session only"
        raise _field_error(f"No review is shared with the workspace {where}: measure this inspection's review.", field)
    try:
        gathered = quality.gather(inspection_store.InspectionStore(workspace), progress=_ReadingProgress())
    except StoreError as error:
        raise _field_error(f"The workspace's reviews could not be read ({error}) Try again.", field) from None
    if not gathered.inspections and gathered.unreadable:
        raise _field_error(
            f"No review kept in the workspace can be measured. Left out: {gathered.unreadable[0]}", field
        )
    if not gathered.inspections:
        raise _field_error(
            "No reviewed inspection is kept in the workspace yet: review the findings (Review findings) in each "
            "editor, then measure the AI.",
            field,
        )
    for line in gathered.unreadable[:3]:
        vkt.UserMessage.warning(f"Left out: {line}")
    return quality.evaluate(gathered.outcomes, gathered.scale, gathered.inspections)


def _elements(params: Any) -> ObjectElements:
    """The object's element list from the upload; a ``UserError`` on the field that is missing or wrong."""
    given = params.compare.get("object_id") or ""
    try:
        wanted = object_id(given)
    except ElementListError as error:
        raise _field_error(f"{error}.", "compare.object_id") from None
    upload = params.compare.get("elements")
    if upload is None:
        raise _field_error("Upload the object's element list (CSV or Excel) first.", "compare.elements")
    try:
        found = read_element_list(upload.file.getvalue_binary(), upload.filename)
    except ElementListError as error:
        raise _field_error(f"{error}.", "compare.elements") from None
    return ObjectElements(wanted, params.review.get("location") or "", found)


def _current(
    params: Any, record: inspection_store.InspectionStore, analyses: list[analysis.Analysis], elements: ObjectElements
) -> Inspection:
    """The editor's inspection of the object, signed off as the fields say (its date decides what is previous)."""
    current = inspection_store.editor_inspection(record, analyses, _request(params)).signed_off(_signoff(params))
    return dataclasses.replace(current, object_id=elements.object_id)


def _previous(params: Any, current: Inspection, context: dict[str, Any]) -> reinspection.Before | None:
    """What the workspace keeps of the object before ``current`` (shared by its editors); ``None`` when there is
    nothing (or nothing is kept in the workspace), or it cannot be read (said in a warning)."""
    workspace = _workspace_store(params)
    if workspace is None or workspace.retention.scope != WORKSPACE:
        return None
    shared = inspection_store.InspectionStore(workspace)
    itself = inspection_store.shared_id(context.get("entity_id", ""))
    try:
        before = reinspection.before(shared, current, also_itself=itself)
    except StoreError as error:
        vkt.UserMessage.warning(f"The previous inspection could not be read ({error}).")
        return None
    for line in before.unreadable[:3] if before else ():
        vkt.UserMessage.warning(f"Left out of the history: {line}")
    return before


def _as_table_says(params: Any, current: Inspection, elements: ObjectElements) -> Inspection:
    """``current`` with each photo's element as the table of photos says (typed over: the inspector's)."""
    try:
        return reinspection.from_rows(current, params.compare.get("element_photos") or [], elements)
    except ValueError as error:
        raise _field_error(f"Photos and their elements, {error}.", "compare.element_photos") from None


def _element_columns(
    params: Any, analyses: list[analysis.Analysis], context: dict[str, Any]
) -> findings_workbook.ElementColumns | None:
    """The findings workbook's element columns, when the inspection names its object and its element list is
    uploaded (the previous condition and change from the workspace's earlier inspection); a problem there is a
    warning, never a workbook lost."""
    if not params.compare.get("object_id") or params.compare.get("elements") is None:
        return None
    try:
        elements = _elements(params)
        record = _record(params)
        current = _as_table_says(params, _current(params, record, analyses, elements), elements)
        findings = reinspection.record_findings(record, current, analyses)
    except (vkt.UserError, StoreError) as error:
        vkt.UserMessage.warning(f"The workbook is made without the photos' elements ({error}).")
        return None
    before = _previous(params, current, context)
    return reports.element_columns(reinspection.reinspection(elements, current, analyses, findings, before))


def _elements_chosen(
    params: Any, analyses: list[analysis.Analysis], typed: Mapping[int, str], context: dict[str, Any]
) -> Inspection | None:
    """The editor's inspection with each photo's element as the reviewed workbook's Photos sheet says, kept; ``None``
    when the workbook has no element column or no element list is uploaded."""
    if not typed or params.compare.get("elements") is None:
        return None
    elements = _elements(params)
    record = _record(params)
    current = _as_table_says(params, _current(params, record, analyses, elements), elements)
    try:
        chosen = reinspection.from_workbook(current, typed, elements)
    except reinspection.NotAnElement as error:
        message = f"Reviewed workbook, sheet {findings_workbook.PHOTOS}, {error}."
        raise _field_error(message, "review.workbook") from None
    _keep_assignment(params, record, chosen, context)
    return chosen


def _keep_assignment(
    params: Any, record: inspection_store.InspectionStore, inspection: Inspection, context: dict[str, Any]
) -> None:
    """Keep the photos' elements with the entity, and share them with the workspace as its review is shared."""
    try:
        record.save(inspection)
        _share(params, record, context)
    except StoreError as error:
        vkt.UserMessage.warning(f"The photos' elements could not be kept with the entity ({error}).")


def _reinspection(params: Any, context: dict[str, Any]) -> reinspection.Reinspection:
    """This inspection beside the previous one of its object: the photos' elements as the table says, one request
    per photo whose element was photographed before (answers kept in the workspace), the decisions uploaded."""
    if _request(params).preset is not Preset.INSPECTION:
        raise _field_error("Inspections are compared with the site inspection preset.", "upload.preset")
    elements = _elements(params)
    analyses = _everything(params)
    record = _record(params)
    current = _as_table_says(params, _current(params, record, analyses, elements), elements)
    _keep_assignment(params, record, current, context)
    try:
        findings = reinspection.record_findings(record, current, analyses)
    except StoreError as error:
        raise vkt.UserError(f"The review kept with this entity could not be read ({error}) Try again.") from None
    before = _previous(params, current, context)
    answers: list[comparison.ChangeAnswer] = []
    if before is not None:
        requests = reinspection.change_requests(elements, before, current, analyses, _request(params).language)
        vkt.progress_message(f"Comparing {len(requests)} photos with the previous inspection's")
        try:
            settings = model.ServiceSettings.from_environment(model.model_id())
        except ServiceError as error:
            raise vkt.UserError(str(error)) from None
        answers = comparison.compare_all(requests, settings, _workspace_store(params))
    decisions = _change_decisions(params, record, current)
    return reinspection.reinspection(elements, current, analyses, findings, before, answers, decisions)


def _change_decisions(
    params: Any, record: inspection_store.InspectionStore, current: Inspection
) -> list[reinspection.ChangeDecision]:
    """The decisions kept with the entity, after what the uploaded changes CSV and the table of changes to decide say
    anew is kept (each is read as a source of its own: left as it was, it undoes nothing said since)."""
    upload = params.compare.get("decisions")
    try:
        read = reports.read_changes_csv(upload.file.getvalue_binary(), upload.filename) if upload else None
    except reports.ChangesFileError as error:
        raise _field_error(f"{error}.", "compare.decisions") from None
    try:
        table = reports.decisions_from_rows(params.compare.get("changes") or [], "Changes to decide")
    except reports.ChangesFileError as error:
        raise _field_error(f"{error}.", "compare.changes") from None
    inspector = _signoff(params).inspector
    try:
        if read is not None:
            reinspection.decide(record, current, read, inspector, "changes CSV")
        reinspection.decide(record, current, table, inspector, "table")
        return reinspection.change_decisions(record, inspection_store.EDITOR)
    except StoreError as error:
        vkt.UserMessage.warning(f"The change decisions could not be kept with the entity ({error}).")
        return []


def _request(params: Any) -> AnalysisRequest:
    choices = params.upload
    return AnalysisRequest(
        preset=Preset(choices.preset or Preset.GENERAL.value),
        language=Language(choices.language or Language.EN.value),
        scale=ConditionScale(choices.scale or ConditionScale.NEN2767.value),
        question=choices.question or "",
        page=choices.page or 1,
        tiles=choices.get("tiles") or "auto",
    )


def _paper(params: Any) -> str:
    return params.reports.downloads.get("paper") or DEFAULT_PAPER


def _retention(params: Any) -> str:
    return params.reports.stored.get("retention") or DEFAULT_RETENTION


def _memo_key(params: Any) -> dict[str, Any]:
    """The arguments that key the memoized calls: the choices and the exact prompt and model they produce, where
    results are kept, and the forget counter (so that no cached view from before a Forget is served)."""
    request = _request(params)
    prompt = prompts.build_prompt(request)
    store = _workspace_store(params)
    return {
        "request": request.to_json(),
        "system_prompt": prompt.system,
        "user_prompt": prompt.user,
        "model_name": model.model_id(),
        "retention": _retention(params),
        "generation": store.generation() if store else 0,
    }


def _kept_again(params: Any, results: list[dict]) -> list[analysis.Analysis]:
    """Results from a memoized call, with another try at keeping those the store refused, and one line for the
    user about any that still are not kept."""
    analyses = analysis.keep([analysis.Analysis.from_json(result) for result in results], _workspace_store(params))
    message = analysis.not_kept_message(analyses)
    if message:
        vkt.UserMessage.warning(message)
    return analyses


def _sheets(params: Any) -> list[analysis.Analysis]:
    """The chosen sheets of the PDF in the Image field (one sheet for any other file), numbered from 1."""
    try:
        spec = params.upload.get("sheets") or "all"
        pages = analysis.chosen_pages(_upload(params.upload.image), spec) or [params.upload.page or 1]
    except PageSpecError as error:
        raise _field_error(str(error), "upload.sheets") from None
    except ImageInputError as error:
        raise _field_error(str(error), "upload.image") from None
    try:
        analysis.check_batch_size(len(pages), "sheets", "Choose a range of sheets.")
    except BatchTooLargeError as error:
        raise _field_error(str(error), "upload.sheets") from None
    try:
        results = analyse_sheets(image=params.upload.image, pages=pages, **_memo_key(params))
    except IncompleteBatchError as incomplete:
        results = incomplete.results
    except ServiceError as error:
        raise vkt.UserError(str(error)) from None
    return _kept_again(params, results)


def _single(params: Any) -> analysis.Analysis:
    """The memoized analysis of the Image field; a problem becomes a ``vkt.UserError``."""
    try:
        [result] = _kept_again(params, [analyse_upload(image=params.upload.image, **_memo_key(params))])
    except ImageInputError as error:
        raise _field_error(str(error), "upload.image") from None
    except ServiceError as error:
        raise vkt.UserError(str(error)) from None
    return result


def _review_columns() -> tuple[str, ...]:
    return tuple(field.name for field in fields.FINDING_FIELDS)


def _signoff(params: Any) -> SignOff:
    given = params.review
    values = {name: given.get(field) or "" for name, field in SIGNOFF_FIELDS.items()}
    return SignOff(**values, final=bool(given.get("final")))


def _review(
    params: Any, analyses: list[analysis.Analysis] | None = None, rows: list[dict[str, Any]] | None = None
) -> Review:
    """The sign-off and the reviewed rows (the table's, unless given); the rows are checked against the analyses
    (all of them, numbered as in the reports), which are only gathered when there are rows. A bad row is marked on
    the review table."""
    signoff = _signoff(params)
    rows = rows if rows is not None else params.review.findings or []
    if not rows:
        return Review(signoff)
    analyses = analyses if analyses is not None else _everything(params)
    try:
        scale = _request(params).scale.definition
        return Review.from_rows(signoff, rows, analyses, scale, before=_kept(params, analyses, signoff))
    except ReviewError as error:
        raise _field_error(f"Reviewed findings, {error.named(fields.headings())}.", "review.findings") from None


SIGNOFF_FIELDS = {name: name for name in SIGNOFF_LABELS} | {"date": "inspection_date"}
"""Where each sign-off field is in the Review and sign-off tab."""


def _batch(params: Any, first_number: int = 1) -> list[analysis.Analysis]:
    """The analyses of the Photos field, in upload order, numbered from ``first_number`` (as in the reports), the
    same file uploaded twice once; a failed photo carries its own message."""
    photos = params.upload.photos
    try:
        analysis.check_batch_size(len(photos), "photos", "Upload fewer, or split them over entities.")
    except BatchTooLargeError as error:
        raise _field_error(str(error), "upload.photos") from None
    try:
        results = analyse_photos(photos=photos, **_memo_key(params))
    except IncompleteBatchError as incomplete:
        results = incomplete.results
    except ServiceError as error:
        raise vkt.UserError(str(error)) from None
    return _filed(_kept_again(params, results), first_number)


def _everything(params: Any) -> list[analysis.Analysis]:
    """What a report covers: the Image first, then the batch photos, numbered in that order (a file given twice
    once, with its other name)."""
    single = [_single(params)] if params.upload.image is not None else []
    photos = _batch(params, first_number=len(single) + 1) if params.upload.photos else []
    if not single and not photos:
        raise _field_error("Upload an image or photos first; the report describes them.", "upload.image")
    return _filed([*single, *photos])


def _filed(results: list[analysis.Analysis], first_number: int = 1) -> list[analysis.Analysis]:
    """``results`` numbered from ``first_number`` as an inspection files them: the same bytes uploaded twice (a
    phone's copy, ``photo_001 (1).jpg``) are one photo, described once, listed once with its other name."""
    _, shown = Inspection(inspection_store.EDITOR).filed(results)
    return [dataclasses.replace(result, number=result.number + first_number - 1) for result in shown]


def _record(params: Any) -> inspection_store.InspectionStore:
    """Where the editor's inspection and its decisions are kept: the entity's storage, as long as its results (the
    session's, when the results are kept for the session); in memory outside VIKTOR."""
    try:
        vkt.Storage()
    except STORAGE_FAILURES:
        return inspection_store.InspectionStore(MemoryStore())
    return inspection_store.InspectionStore(WorkspaceStore(vkt.Storage, Retention.of_record(_retention(params))))


def _kept(params: Any, analyses: list[analysis.Analysis], signoff: SignOff) -> Review | None:
    """The review kept with the entity, which the table's rows were filled from (a score left as it stands there
    follows a changed observation); ``None`` when none can be read."""
    try:
        return inspection_store.editor_review(_record(params), analyses, _request(params), signoff)
    except StoreError:
        return None


def _kept_review(
    params: Any,
    record: inspection_store.InspectionStore,
    analyses: list[analysis.Analysis],
    given: Review,
    via: str,
    entity: dict[str, Any],
) -> Review:
    """The review kept as decisions with the editor's inspection (and shared with the workspace), as the record now
    stands; when the storage refuses it, the same review made in memory, and one line saying it was not kept."""
    request = _request(params)
    try:
        recorded = inspection_store.keep_editor_review(record, analyses, request, given, via)
    except StoreError as error:
        vkt.UserMessage.warning(f"The review could not be kept with the entity ({error}); the table has it.")
        memory = inspection_store.InspectionStore(MemoryStore())
        return inspection_store.keep_editor_review(memory, analyses, request, given, via)
    try:
        _share(params, record, entity)
    except StoreError as error:
        vkt.UserMessage.warning(f"The review was kept with the entity, not shared with the workspace ({error}).")
    return recorded


def _share(params: Any, record: inspection_store.InspectionStore, entity: dict[str, Any]) -> None:
    """Share the editor's kept review with the workspace, where the Quality view reads every editor's; not when
    results are kept for the session only (nothing is to outlive it), nor outside VIKTOR."""
    workspace = _workspace_store(params)
    if workspace is None or workspace.retention.scope != WORKSPACE or entity.get("entity_id") is None:
        return
    shared = inspection_store.InspectionStore(workspace)
    inspection_store.share_editor(record, shared, entity["entity_id"], str(entity.get("entity_name") or ""))


def _table(recorded: Review, analyses: list[analysis.Analysis]) -> list[dict[str, Any]]:
    """The review table's rows for the record as it stands, each with the origin the reports give it."""
    return [{column: row.get(column) or None for column in _review_columns()} for row in table_rows(recorded, analyses)]


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
    retention: str,
    generation: int,
) -> dict:
    """Prepare and describe one upload. Memoized on the upload, the choices, the exact prompt and the model
    (keyword-only, so every call makes the same key): re-opening the view or downloading a report costs no
    download and no fair-usage tokens. What is cached is a display copy (``Analysis.for_display``). Errors are
    raised, so they are never cached."""
    vkt.progress_message("Analysing the image")
    choices = AnalysisRequest.from_json(request)
    settings = model.ServiceSettings.from_environment(model_name)
    store = _store(retention)
    result = analysis.analyse(_upload(image), choices, settings, store=store)
    if result.failed_at == analysis.INPUT:
        raise ImageInputError(result.error)
    if result.error:
        raise ServiceError(result.error)
    return result.for_display().to_json()


@vkt.memoize
def analyse_photos(
    *,
    photos: list[FileResource],
    request: dict,
    system_prompt: str,
    user_prompt: str,
    model_name: str,
    retention: str,
    generation: int,
) -> list[dict]:
    """Analyse a batch concurrently, with progress, each upload read only when its turn comes. Cached only when
    every photo succeeded; otherwise ``IncompleteBatchError`` carries the results past the cache, so that running
    it again retries."""
    uploads = [functools.partial(_upload, photo) for photo in photos]
    return _analyse_many(uploads, request, model_name, retention, "photos")


@vkt.memoize
def analyse_sheets(
    *,
    image: FileResource,
    pages: list[int],
    request: dict,
    system_prompt: str,
    user_prompt: str,
    model_name: str,
    retention: str,
    generation: int,
) -> list[dict]:
    """The sheets of a PDF set, each one entry of a batch; cached only when every sheet succeeded."""
    return _analyse_many(analysis.sheet_uploads(_upload(image), pages), request, model_name, retention, "sheets")


def _analyse_many(
    uploads: Sequence[analysis.UploadSource], request: dict, model_name: str, retention: str, noun: str
) -> list[dict]:
    def progress(done: int, total: int) -> None:
        vkt.progress_message(f"Analysed {done} of {total} {noun}", percentage=round(100 * done / total))

    vkt.progress_message(f"Analysing {len(uploads)} {noun}", percentage=0)
    choices = AnalysisRequest.from_json(request)
    settings = model.ServiceSettings.from_environment(model_name)
    results = analysis.analyse_batch(uploads, choices, settings, progress=progress, store=_store(retention))
    serialised = [result.for_display().to_json() for result in results]
    if any(result.error for result in results):
        raise IncompleteBatchError(serialised)
    return serialised


def _upload(file: FileResource) -> analysis.Upload:
    return analysis.Upload(file.filename, file.file.getvalue_binary())


def _store(retention: str) -> WorkspaceStore | None:
    """The store on the platform; ``None`` where there is no ``vkt.Storage`` (running outside VIKTOR)."""
    try:
        vkt.Storage()
    except STORAGE_FAILURES:
        return None
    return WorkspaceStore(vkt.Storage, Retention.from_choice(retention))


def _workspace_store(params: Any) -> WorkspaceStore | None:
    return _store(_retention(params))
