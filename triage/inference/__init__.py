"""The stages of the in-process predictor, one job each; `triage.predictor.OnnxTriager`
composes them per request.

- `text`: what needs only the text (TF-IDF non-zeros, language, the heads' text half);
- `heads`: the heads graph, calibration, top-k, thresholds and the category hierarchy;
- `explanation`: the terms behind each prediction and the most similar past tickets;
- `auto_reply`: the auto-reply matcher's index and its safe-to-send rule;
- `arrays`: the small numpy helpers they share.

Everything here is numpy and onnxruntime: no pandas, no scikit-learn, no torch.
"""
