"""Campaign scale: thousands of photos and PDF sets prepared once into request shards, answered by a batch engine (or
by any OpenAI-compatible server), imported into the store, and read back for the campaign report.

One module a step, each with one reason to change:

- ``folder``: the campaign folder, its manifest and file names, the ids that tie a request to its answer and result;
- ``workers``: a map on worker processes, in order and bounded in flight (in this process for one worker);
- ``prepare``: inputs walked, prepared in workers, written into shards (``campaign prepare``);
- ``run``: the shards sent to a live server, answers written line by line, resumable (``campaign run``);
- ``batch_api``: the shards through a provider's batch API (``campaign submit``, ``status``, ``fetch``);
- ``importer``: every answer into the store as a live run keeps it (``campaign import``);
- ``stored``: the campaign read back from the store, one photo at a time (``campaign report``);
- ``record``: the campaign as one inspection of the store, its sign-off kept with it;
- ``changes``: with ``--previous``, each photo assigned to an element and a change request per photo whose element
  the previous inspection photographed (``compare``'s request, in one more shard).

The names below are the steps' public ones, for the command line, the campaign report and the benchmarks.
"""

from image_analysis.campaign.batch_api import BatchState, campaign_status, fetch_campaign, submit_campaign
from image_analysis.campaign.changes import bring_previous, prepare_changes
from image_analysis.campaign.folder import (
    CHANGE_SHARD_PREFIX,
    COMPARISON,
    ERROR_KEY,
    FORMATS,
    MANIFEST,
    CampaignError,
    Comparison,
    Manifest,
    ManifestEntry,
    Settings,
    campaign_folder,
    images_per_request,
    request_id,
)
from image_analysis.campaign.importer import ImportSummary, import_results
from image_analysis.campaign.prepare import PrepareSummary, batch_level, local_engine, prepare_campaign
from image_analysis.campaign.record import campaign_signoff, keep_campaign_inspection
from image_analysis.campaign.run import Answerer, RunSummary, result_line, run_campaign
from image_analysis.campaign.stored import NOT_IMPORTED, Photo, Shown, StoredCampaign
from image_analysis.campaign.workers import MAX_WORKERS

__all__ = [
    "CHANGE_SHARD_PREFIX",
    "COMPARISON",
    "ERROR_KEY",
    "FORMATS",
    "MANIFEST",
    "MAX_WORKERS",
    "NOT_IMPORTED",
    "Answerer",
    "BatchState",
    "CampaignError",
    "Comparison",
    "ImportSummary",
    "Manifest",
    "ManifestEntry",
    "Photo",
    "PrepareSummary",
    "RunSummary",
    "Settings",
    "Shown",
    "StoredCampaign",
    "batch_level",
    "bring_previous",
    "campaign_folder",
    "campaign_signoff",
    "campaign_status",
    "fetch_campaign",
    "images_per_request",
    "import_results",
    "keep_campaign_inspection",
    "local_engine",
    "prepare_campaign",
    "prepare_changes",
    "request_id",
    "result_line",
    "run_campaign",
    "submit_campaign",
]
