"""The condition standards as rules, one module a standard, each naming its source: ``nen2767`` (a defect's
condition from seriousness, intensity and extent; components combined by correction factors) and ``aashto``
(condition states by a defect's definition). Pure functions of the standards' own terms: what a photo shows and how
a model's words are read are the findings' business."""
