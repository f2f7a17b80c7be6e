"""How often the AI is right: what became of its findings in the inspectors' reviews (``outcomes``), gathered from a
store (``gather``), measured (``measures``) overall and per defect type, element, model, prompt version and month
(``evaluation``)."""

from image_analysis.quality.evaluation import Quality, evaluate
from image_analysis.quality.gather import Gathered, gather
from image_analysis.quality.outcomes import Outcome, outcomes

__all__ = ["Gathered", "Outcome", "Quality", "evaluate", "gather", "outcomes"]
