"""Training, evaluation and export of Warden's default moderation model (models/minilm-moderation).

    spec.toml / spec.py   what the model is trained to be: candidate labels, sources, quotas, the ship bar (data)
    moderation_data.py    the eight sources, their label policy, dedupe and splits; synth_data.py: synthetic rows
    splits.py             the examples of one run, tokenized and split
    fit.py                encoder parity, the training loop, the ablation runs
    post_train.py         ship decision, thresholds, export, evaluation, speed, golden file -> the run's results
    results.py            the results file (results.json in the model folder)
    card.py               manifest.json and MODEL_CARD.md rendered from the results file (card_template.md)
    common.py, metrics.py, export.py, bert_encoder.py, fast_graph.py, golden_fp32.py: what the steps share

One entry point, from the repository root:  PYTHONPATH=scripts python3 -m train --help  (pipeline.py)
"""
